"""An invoice in a real browser: the Download PDF button (an unfold detail action) sends the
document, and Print opens the printable page."""

import pytest

from orderflow.timeline import Actor
from orders import services
from tests import factories
from tests.browser.conftest import ARTIFACTS
from tests.orders.conftest import make_order
from tests.orders.test_invoice_pdf import pdf_text

pytestmark = pytest.mark.django_db(transaction=True)


def test_download_the_invoice_pdf_and_open_the_printable_page(visit, staff):
    company = factories.CompanyFactory(name="Harbour Street Wholesale")
    product = factories.ProductFactory(sku="BROWSER-PDF", name="Blue Mountain coffee 1kg")
    order = make_order(status="confirmed", company=company, lines=[(product, 4)])
    invoice = services.invoice_issue(order=order, actor=Actor.system("test"))

    visit.login("ops")
    page = visit.goto(f"/admin/orders/invoice/{invoice.pk}/change/", "invoice page")
    button = page.get_by_role("link", name="Download PDF")
    assert button.is_visible()
    with page.expect_download() as download:
        button.click()
    saved = ARTIFACTS / "test_download_the_invoice_pdf_and_open_the_printable_page" / \
        f"{invoice.number}.pdf"
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"{invoice.number}.pdf"
    text = pdf_text(saved.read_bytes())
    assert invoice.number in text and "BROWSER-PDF" in text
    assert "Harbour Street Wholesale" in text and f"JMD {invoice.amount:,.2f}" in text

    page.get_by_role("link", name="Print").click()
    page.wait_for_load_state("load")
    visit.shot("printable invoice")
    assert page.inner_text("h1") == f"Invoice {invoice.number}"
    assert page.inner_text("#invoice-amount") == f"JMD {invoice.amount:,.2f}"
