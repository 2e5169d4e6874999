"""The printable invoice as a PDF: from the admin's Download PDF button and from
``GET /api/v1/invoices/{id}.pdf`` (or ``?format=pdf``), scoped like the invoice itself."""

import re
import zlib

import pytest
from django.urls import reverse

from orderflow.timeline import Actor
from orders import services
from orders.presenters import invoice_pdf
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def pdf_text(document: bytes) -> str:
    """The text drawn on the pages: each content stream inflated (fpdf2 compresses them)."""
    assert document.startswith(b"%PDF-")
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            chunks.append(stream)
    text = b"\n".join(chunks).decode("latin-1")
    return "".join(re.findall(r"\(((?:[^()\\]|\\.)*)\)\s*Tj", text)).replace("\\", "")


@pytest.fixture
def invoice(db):
    company = factories.CompanyFactory(name="Blue Mountain Traders", tax_id="TRN-123")
    product = factories.ProductFactory(sku="PDF-SKU-1", name="Coffee beans 1kg")
    order = make_order(status="confirmed", company=company, lines=[(product, 3)])
    return services.invoice_issue(order=order, actor=ACTOR)


def test_the_pdf_shows_the_number_lines_buyer_and_formatted_money(invoice):
    order = invoice.order
    text = pdf_text(invoice_pdf(invoice))
    assert f"Invoice {invoice.number}" in text
    assert "PDF-SKU-1" in text and "Coffee beans 1kg" in text
    assert "Blue Mountain Traders" in text and "Tax id TRN-123" in text
    assert f"JMD {invoice.amount:,.2f}" in text  # as the admin formats money
    assert f"JMD {order.lines.get().unit_price:,.2f}" in text
    # Uncompressed, the same words are in the file as they are.
    assert invoice.number.encode() in invoice_pdf(invoice, compress=False)


def test_names_outside_latin1_do_not_break_the_document(invoice):
    line = invoice.order.lines.get()
    line.name = "Łódź kawa — 1 kg → żółw"
    line.save(update_fields=["name"])
    text = pdf_text(invoice_pdf(invoice))
    assert "Lódz kawa - 1 kg -> zólw" in text  # ó is Latin-1


def test_api_pdf_for_the_buyer_and_404_for_anyone_else(shop, staff_client):
    buyer, stranger = factories.CustomerFactory(), factories.CustomerFactory()
    invoice = services.invoice_issue(order=make_order(customer=buyer, channel=shop.channel),
                                     actor=ACTOR)
    mine = shop.shopper(buyer)
    response = mine.get(f"/api/v1/invoices/{invoice.public_id}.pdf")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    assert invoice.number in pdf_text(response.content)

    by_format = mine.get(f"/api/v1/invoices/{invoice.public_id}?format=pdf")
    assert by_format.status_code == 200 and by_format.content.startswith(b"%PDF-")
    by_accept = mine.get(f"/api/v1/invoices/{invoice.public_id}", HTTP_ACCEPT="application/pdf")
    assert by_accept.status_code == 200 and by_accept.content.startswith(b"%PDF-")
    assert mine.get(f"/api/v1/invoices/{invoice.public_id}").json()["number"] == invoice.number

    for url in (f"/api/v1/invoices/{invoice.public_id}.pdf",
                f"/api/v1/invoices/{invoice.public_id}?format=pdf"):
        refused = shop.shopper(stranger).get(url)
        assert refused.status_code == 404
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "not_found"
    assert staff_client.get(f"/api/v1/invoices/{invoice.public_id}.pdf").status_code == 200
    assert staff_client.get("/api/v1/invoices/inv_nope.pdf").status_code == 404


def test_admin_download_pdf_button(invoice, admin_client_logged):
    page = admin_client_logged.get(reverse("admin:orders_invoice_change", args=[invoice.pk]))
    download = reverse("admin:orders_invoice_download_pdf", args=[invoice.pk])
    html = page.content.decode()
    assert download in html and "Download PDF" in html
    response = admin_client_logged.get(download)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert invoice.number in pdf_text(response.content)
