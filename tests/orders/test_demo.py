import pytest

from orders.demo import seed_orders_demo
from orders.models import OrderApprovalRule
from tests import factories

pytestmark = pytest.mark.django_db


def test_seed_orders_demo_is_idempotent():
    approver = factories.CompanyApproverFactory()
    for _ in range(2):
        seed_orders_demo(company=approver.company, approver=approver.customer)
    assert list(OrderApprovalRule.objects.values_list("level", "threshold")) == [
        (1, 100000), (2, 300000)]
