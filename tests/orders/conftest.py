"""Orders in any status, with lines that really hold stock, and the people around them."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import stock_reserve
from orders.models import Order, OrderEvent, OrderLine
from tests import factories
from tests.storefront import build_storefront


@pytest.fixture
def shop(db):
    return build_storefront()


def make_order(*, status="confirmed", lines=((None, 2),), kind="cod", company=None,
               customer=None, channel=None, approval_levels=(), **fields) -> Order:
    """An order with lines reserving stock (``(product or None, quantity)``) and one payment
    of ``kind`` for the total."""
    built = []
    for product, quantity in lines:
        product = product or factories.ProductFactory(stock_on_hand=50)
        built.append((product, quantity))
    stock_reserve(items=built)
    total = sum((p.list_price * q for p, q in built), Decimal("0"))
    order = factories.OrderFactory(
        status=status, total=total, subtotal=total, company=company, customer=customer,
        channel=channel or factories.ChannelFactory(), approval_levels=list(approval_levels),
        **{"email": customer.email if customer else "buyer@example.com", **fields})
    for product, quantity in built:
        factories.OrderLineFactory(order=order, product=product, quantity=quantity,
                                   quantity_reserved=quantity if product.track_inventory
                                   else 0)
    factories.PaymentFactory(order=order, kind=kind, amount=total)
    return order


def reserved(product) -> int:
    return Product.objects.get(pk=product.pk).stock_reserved


def timeline(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).order_by("id")
                .values_list("type", flat=True))


def line_reserved(order) -> list[int]:
    return list(OrderLine.objects.filter(order=order).order_by("id")
                .values_list("quantity_reserved", flat=True))


def user_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def company_with_approvers(db):
    """A company with a level-1 and a level-2 approver (each with a login) and a buyer."""
    company = factories.CompanyFactory(credit_limit=Decimal("1000000.00"))
    approvers = {}
    for level in (1, 2):
        user = factories.UserFactory(username=f"approver{level}-{company.code}")
        customer = factories.CustomerFactory(company=company, user=user)
        factories.CompanyApproverFactory(company=company, customer=customer, level=level)
        approvers[level] = user
    buyer = factories.CustomerFactory(company=company)
    return company, approvers, buyer
