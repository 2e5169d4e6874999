"""Staff read a company's credit in a real browser: the outstanding balance (what
orders.selectors.company_outstanding counts) and the open terms order, which links to its
order page; then the customer page with the company and the recent order."""

from decimal import Decimal

import pytest

from customers.models import Address
from orderflow.display import money
from orders.selectors import company_outstanding
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_company_shows_its_outstanding_balance_and_open_terms_order(visit, staff):
    company = factories.CompanyFactory(code="blue-mountain", name="Blue Mountain Traders",
                                       credit_limit=Decimal("500000.00"), currency="JMD")
    buyer = factories.CustomerFactory(company=company, email="buyer@bluemountain.example")
    Address.objects.create(company=company, full_name="Receiving desk",
                           company_name="Blue Mountain Traders", line1="12 Harbour Street",
                           city="Kingston", region="Kingston", country="JM",
                           is_default_shipping=True, is_default_billing=True)
    product = factories.ProductFactory(sku="COMPANY-SKU", stock_on_hand=50)
    order = make_order(status="confirmed", kind="terms", company=company, customer=buyer,
                       lines=[(product, 4)], currency="JMD")
    outstanding = company_outstanding(company=company)
    assert outstanding == order.total > 0

    visit.login("ops")
    visit.goto("/admin/customers/company/", "company list")
    page = visit.page
    page.fill("#searchbar, input[name=q]", "blue-mountain")
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    visit.shot("search by code")
    assert money(company.credit_limit, "JMD") in visit.text("#result_list")
    assert "Net 30 days" in visit.text("#result_list")

    visit.click("#result_list a:text-is('blue-mountain')", "company page")
    assert visit.text("#company-outstanding").strip() == money(outstanding, "JMD")
    assert visit.text("#company-available").strip().startswith(
        money(company.credit_limit - outstanding, "JMD"))
    assert visit.text("#company-credit-limit").strip() == "JMD 500,000.00"
    open_orders = visit.text("#company-open-orders")
    assert order.number in open_orders and money(order.total, "JMD") in open_orders
    assert "Confirmed" in open_orders
    assert visit.page.input_value("input[name=credit_limit]") == "500000.00"

    visit.click(f"#company-open-orders a:text-is('{order.number}')", "the open order")
    assert order.number in visit.text("#order-number")

    visit.goto(f"/admin/customers/customer/{buyer.pk}/change/", "customer page")
    assert "Blue Mountain Traders" in visit.text("#customer-company")
    assert order.number in visit.text("#customer-orders")
    assert "12 Harbour Street" in visit.text("#customer-shipping")  # the company's default
    assert "{" not in visit.text("#customer-addresses")
