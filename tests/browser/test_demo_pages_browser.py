"""The demo store (seed_demo) in a real browser: staff open a sent quote, the overdue invoice,
a cart, the demo company, its buyer and the demo bridge connection, as after `make run`. Each
page reads in words and formatted money — no four-decimal amount, no raw JSON, no Save where
nothing is editable. Screenshots under var/test-artifacts/browser/<test>/."""

import re

import pytest
from django.core.management import call_command

from bridges.models import InboundConnection
from carts.models import Cart
from customers.models import Company
from orders.models import Invoice
from orders.selectors import invoice_overdue_filter
from quotes.models import Quote

pytestmark = pytest.mark.django_db(transaction=True)

RAW_AMOUNT = re.compile(r"\b\d+\.\d{4}\b")  # 138775.0000


@pytest.fixture
def demo(tmp_path, settings, staff):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))


def read(visit, path: str, name: str, story: str, *, editable: bool = False) -> str:
    page = visit.goto(path, name)
    text = visit.text(story)
    assert not RAW_AMOUNT.search(visit.text("body")), name
    assert '{"' not in text, name  # addresses and parameters are not raw JSON
    if not editable:
        assert not page.is_visible("input[name=_save], button[name=_save]"), name
    return text


def test_the_demo_store_pages_read_well(visit, demo):
    visit.login("ops")
    sent = Quote.objects.filter(status="sent").order_by("pk").first()
    assert sent is not None
    text = read(visit, f"/admin/quotes/quote/{sent.pk}/change/", "sent demo quote",
                "#quote-story")
    assert sent.number in text and "Sent" in text and "JMD " in text
    assert visit.page.is_visible("#action-withdraw")
    assert not visit.page.is_visible("#action-send")  # sent already

    overdue = Invoice.objects.filter(invoice_overdue_filter()).first()
    assert overdue is not None
    text = read(visit, f"/admin/orders/invoice/{overdue.pk}/change/", "overdue demo invoice",
                "#invoice-story")
    assert "overdue" in text and "JMD " in text
    assert visit.page.is_visible("#action-mark-paid")

    cart = Cart.objects.exclude(lines=None).order_by("pk").first()
    text = read(visit, f"/admin/carts/cart/{cart.pk}/change/", "demo cart", "#cart-story")
    assert cart.public_id in text and "Recovery e-mails" in text

    company = Company.objects.exclude(orders=None).order_by("pk").first()
    text = read(visit, f"/admin/customers/company/{company.pk}/change/", "demo company",
                "#company-story", editable=True)
    assert "Outstanding" in text and "Unpaid invoices" in text
    buyer = company.customers.order_by("pk").first()
    if buyer is not None:
        read(visit, f"/admin/customers/customer/{buyer.pk}/change/", "demo buyer",
             "#customer-story", editable=True)

    connection = InboundConnection.objects.get(name="Demo headless storefront")
    text = read(visit, f"/admin/bridges/inboundconnection/{connection.pk}/change/",
                "demo connection", "#connection-story", editable=True)
    assert connection.client_id in text and connection.secret not in visit.page.content()
