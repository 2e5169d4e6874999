"""The invoice page in the admin: the amount in the currency (not ``400.0000``), and its Mark
paid / Void buttons offered only while it is issued, each through its service."""

import pytest
from django.contrib.messages import get_messages

from orderflow.timeline import Actor
from orders import services
from orders.models import Invoice
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(db):
    order = make_order(status="confirmed", kind="terms",
                       company=factories.CompanyFactory(name="Harbour Street Wholesale"))
    return services.invoice_issue(order=order, actor=Actor.system("test"))


def test_the_invoice_page_shows_money_in_its_currency(admin_client_logged, invoice):
    html = admin_client_logged.get(f"/admin/orders/invoice/{invoice.pk}/change/"
                                   ).content.decode()
    assert f"JMD {invoice.amount:,.2f}" in html
    assert f"{invoice.amount:.4f}" not in html  # the raw MoneyField value
    assert 'name="_save"' not in html
    assert 'id="action-mark-paid"' in html and 'id="action-void"' in html


def test_mark_paid_runs_the_service_and_the_buttons_go(admin_client_logged, invoice):
    response = admin_client_logged.post(f"/admin/orders/invoice/{invoice.pk}/mark-paid/",
                                        {"reference": "BANK-1"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"{invoice.number} paid."]
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    html = admin_client_logged.get(f"/admin/orders/invoice/{invoice.pk}/change/"
                                   ).content.decode()
    assert 'id="action-mark-paid"' not in html and 'id="action-void"' not in html
    refused = admin_client_logged.post(f"/admin/orders/invoice/{invoice.pk}/void/")
    assert refused.status_code == 302  # a stale page: the refusal is the message
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    assert "cannot go from 'paid' to 'void'" in str(list(get_messages(refused.wsgi_request)))
