"""The invoice page in a real browser: the amount in the currency (never ``400.0000``), the
buyer and the order it bills; Mark paid and Void offered while it is issued, each through its
service, the outcome shown as the admin message and the changed badge."""

import pytest

from orderflow.display import money
from orderflow.timeline import Actor
from orders import services
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def issued_invoice(kind="terms"):
    company = factories.CompanyFactory(name="Harbour Street Wholesale")
    product = factories.ProductFactory(sku="INV-PAGE", stock_on_hand=20)
    order = make_order(status="confirmed", kind=kind, company=company, lines=[(product, 4)])
    return services.invoice_issue(order=order, actor=Actor.system("test"))


def test_mark_an_invoice_paid_from_its_page(visit, staff):
    invoice = issued_invoice()
    visit.login("ops")
    visit.goto("/admin/orders/invoice/", "invoice list")
    page = visit.click(f"#result_list a:text-is('{invoice.number}')", "invoice page")
    assert "Issued" in visit.text("#invoice-status")
    assert visit.text("#invoice-amount").strip() == money(invoice.amount, invoice.currency)
    assert "Harbour Street Wholesale" in visit.text("#invoice-buyer")
    assert invoice.order.number in visit.text("#invoice-order")
    assert ".0000" not in visit.text("#main, main, body")
    assert not page.is_visible("input[name=_save], button[name=_save]")

    page = visit.click("#action-mark-paid", "mark paid confirmation")
    page.fill("input[name=reference]", "BANK-7781")
    page = visit.click("#confirm", "paid")
    assert f"{invoice.number} paid." in visit.text("body")
    assert "Paid" in visit.text("#invoice-status")
    assert "Paid" in visit.text("#invoice-order")  # the order's payment badge followed
    assert not page.is_visible("#action-mark-paid") and not page.is_visible("#action-void")
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_void_an_invoice_from_its_page(visit, staff):
    invoice = issued_invoice()
    visit.login("ops")
    visit.goto(f"/admin/orders/invoice/{invoice.pk}/change/", "invoice page")
    visit.click("#action-void", "void confirmation")
    page = visit.click("#confirm", "voided")
    assert f"{invoice.number} voided." in visit.text("body")
    assert "Void" in visit.text("#invoice-status")
    assert not page.is_visible("#action-void")
