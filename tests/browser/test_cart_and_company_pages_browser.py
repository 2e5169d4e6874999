"""A cart's and a company's pages in a real browser, on seed-like data: the abandoned cart
with the recovery e-mails it got (money in the currency, no raw four-decimal amount
anywhere), the company's unpaid invoices (the overdue one marked) and its quotes in
negotiation, and the customer's page with their company's credit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from carts.models import Cart, CartLine
from orderflow.display import money
from orderflow.timeline import Actor
from orders import services as order_services
from orders.models import Invoice
from orders.selectors import company_outstanding
from recovery.models import RecoveryEmail
from tests import factories
from tests.orders.conftest import make_order
from tests.quotes.conftest import line, make_quote, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_abandoned_cart_shows_the_recovery_emails_it_got(visit, staff):
    buyer = factories.CustomerFactory(email="shopper@example.com")
    now = timezone.now()
    cart = Cart.objects.create(
        channel=factories.ChannelFactory(), customer=buyer, email=buyer.email, currency="JMD",
        subtotal=Decimal("12000"), tax_total=Decimal("1800"), total=Decimal("13800"),
        version=1, priced_version=1, priced_at=now, status="abandoned",
        abandoned_at=now - timedelta(hours=5))
    CartLine.objects.create(cart=cart, product=factories.ProductFactory(sku="LEFT-BEHIND"),
                            quantity=4, unit_price=Decimal("3000"),
                            line_subtotal=Decimal("12000"), tax_rate=Decimal("0.15"),
                            tax_amount=Decimal("1800"), line_total=Decimal("13800"))
    RecoveryEmail.objects.create(cart=cart, step=1, to=buyer.email, currency="JMD",
                                 subject="You left something in your cart",
                                 total=Decimal("13800"), sent_at=now - timedelta(hours=4))
    RecoveryEmail.objects.create(cart=cart, step=2, to=buyer.email, currency="JMD",
                                 subject="Your cart is still waiting", total=Decimal("13800"),
                                 sent_at=now - timedelta(hours=1), sent_by="ops",
                                 link_opened_at=now - timedelta(minutes=20))

    visit.login("ops")
    page = visit.goto(f"/admin/carts/cart/{cart.pk}/change/", "abandoned cart")
    assert "Abandoned" in visit.text("#cart-status")
    recovery = visit.text("#cart-recovery")
    assert "You left something in your cart" in recovery
    assert "Your cart is still waiting" in recovery and "JMD 13,800.00" in recovery
    assert "schedule" in recovery and "ops" in recovery  # who sent each
    assert "LEFT-BEHIND" in visit.text("#cart-lines")
    page.click("#content summary, fieldset.collapse summary, h2:text-is('Details')")
    visit.shot("details unfolded")
    assert ".0000" not in visit.text("body")
    assert not page.is_visible("input[name=_save], button[name=_save]")
    visit.click("#cart-recovery a:text-is('recovery page')", "its recovery page")
    assert cart.public_id in visit.text("body")


def test_a_company_shows_unpaid_invoices_and_quotes_and_the_customer_its_credit(
        visit, world, staff):  # noqa: F811 - the fixture's value
    company = world.company
    paid_late = make_order(status="confirmed", kind="terms", company=company,
                           customer=world.buyer)
    current = make_order(status="confirmed", kind="terms", company=company,
                         customer=world.buyer)
    actor = Actor.system("test")
    overdue = order_services.invoice_issue(order=paid_late, actor=actor)
    Invoice.objects.filter(pk=overdue.pk).update(
        due_date=timezone.localdate() - timedelta(days=10))  # issued long ago
    due = order_services.invoice_issue(order=current, actor=actor)
    quote = make_quote(world, [line("COF-250", 3)])

    visit.login("ops")
    visit.goto(f"/admin/customers/company/{company.pk}/change/", "company page")
    invoices = visit.text("#company-invoices")
    assert overdue.number in invoices and due.number in invoices
    assert invoices.count("overdue") == 1
    assert money(due.amount, due.currency) in invoices
    quotes = visit.text("#company-quotes")
    assert quote.number in quotes and "Draft" in quotes
    assert money(quote.current.total, quote.currency) in quotes
    outstanding = company_outstanding(company=company)
    assert visit.text("#company-outstanding").strip() == money(outstanding, company.currency)

    visit.click(f"#company-invoices a:text-is('{overdue.number}')", "the overdue invoice")
    assert visit.page.is_visible("#invoice-overdue")
    visit.goto(f"/admin/customers/company/{company.pk}/change/", "company page again")
    visit.click(f"#company-quotes a:text-is('{quote.number}')", "the quote")
    assert quote.number in visit.text("#quote-number")

    visit.goto(f"/admin/customers/customer/{world.buyer.pk}/change/", "customer page")
    credit = visit.text("#customer-credit")
    assert "JMD 500,000.00" in credit
    assert money(company.credit_limit - outstanding, company.currency) in credit
