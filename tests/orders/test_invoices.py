"""Invoices and the credit a company has in use."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders import services
from orders.selectors import company_outstanding
from tests import factories
from tests.fulfillment.shipping import ship_lines
from tests.orders.conftest import make_order, user_client

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def test_outstanding_counts_unpaid_invoices_and_open_terms_orders_once():
    company = factories.CompanyFactory(payment_terms="NET15")
    terms = make_order(kind="terms", company=company, lines=[(None, 10)])  # 1000.00
    shipped = make_order(kind="terms", company=company, lines=[(None, 5)])  # 500.00
    make_order(kind="cod", company=company, lines=[(None, 3)])  # COD, no invoice: not credit
    make_order(kind="terms", company=company, lines=[(None, 1)], status="canceled")
    assert company_outstanding(company=company) == Decimal("1500.00")

    line = shipped.lines.get()
    ship_lines(order=shipped, quantities={line.public_id: 5}, actor=ACTOR)
    invoice = shipped.invoices.get()
    assert invoice.amount == Decimal("500.00")
    assert (invoice.due_date - timezone.localdate()).days == 15
    assert company_outstanding(company=company) == Decimal("1500.00")  # not 2000

    services.invoice_mark_paid(invoice=invoice, actor=ACTOR, reference="bank-7")
    invoice.refresh_from_db()
    shipped.refresh_from_db()
    assert invoice.status == "paid" and shipped.payment_status == "paid"
    assert company_outstanding(company=company) == Decimal("1000.00")

    cod_invoice = services.invoice_issue(
        order=make_order(kind="cod", company=company, lines=[(None, 2)]), actor=ACTOR)
    assert company_outstanding(company=company) == Decimal("1200.00")
    services.invoice_void(invoice=cod_invoice, actor=ACTOR)
    services.order_cancel(order=terms, actor=ACTOR)
    assert company_outstanding(company=company) == Decimal("0.00")
    assert [e.type for e in OutboxEvent.objects.filter(type__startswith="invoice.")] == [
        "invoice.issued", "invoice.paid", "invoice.issued", "invoice.voided"]


def test_checkout_credit_check_counts_invoices(shop):
    company = factories.CompanyFactory(credit_limit=Decimal("10000.00"))
    buyer = factories.CustomerFactory(company=company)
    services.invoice_issue(order=make_order(kind="cod", company=company,
                                            lines=[(None, 50)]), actor=ACTOR)  # 5000 unpaid
    client = shop.shopper(buyer)
    cart_id = shop.ready_cart(client, [("RICE-5KG", 3)])  # 6300 + 1200
    response = client.post("/api/v1/checkout", {"cart_id": cart_id,
                                                "payment": {"kind": "terms"}}, format="json")
    assert response.status_code == 409
    assert response.json()["outstanding"] == "5000.00"


def test_a_paid_order_is_invoiced_as_paid_and_a_second_invoice_is_refused():
    order = make_order(kind="cod")
    services.payment_capture(order=order, payment=order.payments.get(), actor=ACTOR)
    invoice = services.invoice_issue(order=order, actor=ACTOR)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    with pytest.raises(Exception) as refused:
        services.invoice_issue(order=order, actor=ACTOR)
    assert refused.value.code == "invoice_exists"
    with pytest.raises(Exception) as refused:
        services.invoice_void(invoice=invoice, actor=ACTOR)
    assert refused.value.code == "invalid_transition"


def test_invoice_list_shopper_sees_own_staff_all_filters_work(shop, staff_client):
    mine = factories.CustomerFactory()
    theirs = factories.CustomerFactory()
    own = services.invoice_issue(order=make_order(customer=mine, channel=shop.channel),
                                 actor=ACTOR)
    other = services.invoice_issue(order=make_order(customer=theirs, channel=shop.channel),
                                   actor=ACTOR)
    services.invoice_mark_paid(invoice=other, actor=ACTOR)

    listed = shop.shopper(mine).get("/api/v1/invoices").json()["results"]
    assert [i["id"] for i in listed] == [own.public_id]
    assert listed[0]["number"].startswith("INV-") and listed[0]["status"] == "issued"
    assert shop.shopper(mine).get(f"/api/v1/invoices/{other.public_id}").status_code == 404

    every = staff_client.get("/api/v1/invoices").json()["results"]
    assert {i["id"] for i in every} == {own.public_id, other.public_id}
    paid = staff_client.get("/api/v1/invoices?status=paid").json()["results"]
    assert [i["id"] for i in paid] == [other.public_id]
    today = timezone.localdate().isoformat()
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert len(staff_client.get(f"/api/v1/invoices?due_date_before={yesterday}")
               .json()["results"]) == 0  # no company: due on the day of issue
    assert len(staff_client.get(f"/api/v1/invoices?issued_at_after={today}T00:00:00Z")
               .json()["results"]) == 2
    assert staff_client.get("/api/v1/invoices?status=bogus").status_code == 400
    assert user_client(factories.UserFactory()).get("/api/v1/invoices").json()["results"] == []
