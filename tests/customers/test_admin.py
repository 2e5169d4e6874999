"""The company and customer pages tell their story: credit (limit, outstanding through
orders.selectors.company_outstanding, available), terms, approvers and open orders; the
customer's company, default addresses as addresses and recent orders."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Address, CompanyApprover
from orders.selectors import company_open_orders, customer_recent_orders
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return factories.CompanyFactory(code="acme", name="Acme Hardware",
                                    credit_limit=Decimal("1000000"), currency="JMD")


def test_company_page_shows_credit_terms_approvers_and_open_orders(admin_client_logged, company):
    buyer = factories.CustomerFactory(company=company, first_name="Ann", last_name="Buyer")
    CompanyApprover.objects.create(company=company, customer=buyer, level=1)
    open_order = make_order(status="confirmed", kind="terms", company=company, customer=buyer)
    closed = make_order(status="canceled", kind="terms", company=company, customer=buyer)
    assert list(company_open_orders(company=company)) == [open_order]

    page = admin_client_logged.get(reverse("admin:customers_company_change", args=[company.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "JMD 1,000,000.00" in html  # the limit, formatted
    outstanding = open_order.total
    assert f"JMD {outstanding:,.2f}" in html
    assert f"JMD {Decimal('1000000') - outstanding:,.2f}" in html  # available
    assert "Net 30 days" in html and "level 1" in html
    assert reverse("admin:orders_order_change", args=[open_order.pk]) in html
    assert closed.number not in html
    assert 'value="1000000.00"' in html  # the form's limit in the currency's minor unit


def test_company_over_its_limit_says_so(admin_client_logged, company):
    company.credit_limit = Decimal("1")
    company.save()
    make_order(status="confirmed", kind="terms", company=company)
    html = admin_client_logged.get(
        reverse("admin:customers_company_change", args=[company.pk])).content.decode()
    assert "over limit" in html and "JMD 0.00" in html


def test_company_list_shows_limit_and_terms_and_finds_by_code(admin_client_logged, company):
    factories.CompanyFactory(code="other", name="Other Ltd")
    html = admin_client_logged.get(
        reverse("admin:customers_company_changelist") + "?q=acme").content.decode()
    assert "JMD 1,000,000.00" in html and "Net 30 days" in html
    assert "Other Ltd" not in html


def test_customer_page_shows_company_addresses_and_recent_orders(admin_client_logged, company):
    buyer = factories.CustomerFactory(company=company)
    Address.objects.create(customer=buyer, full_name="Ann Buyer", line1="1 King Street",
                           city="Kingston", country="JM", is_default_shipping=True)
    orders = [make_order(status="confirmed", customer=buyer, company=company) for _ in range(2)]
    assert set(customer_recent_orders(customer=buyer)) == set(orders)

    html = admin_client_logged.get(
        reverse("admin:customers_customer_change", args=[buyer.pk])).content.decode()
    assert "Acme Hardware" in html
    assert "1 King Street" in html and "&quot;line1&quot;" not in html
    for order in orders:
        assert order.number in html
