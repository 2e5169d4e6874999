"""Mass assignment: no request body sets a status, a total, a price, the channel, the buyer,
the company or a payment date.

Every serializer that takes a request body is found from the source (``validated(X, …)``,
``X(data=…)``, a bridge ``Action(scope, X, …)``, or a class named ``…Input``), so a new
input serializer is checked without anyone remembering. Its writable fields (nested ones
too) may not carry those names, apart from the few listed below, each with why it is safe.
Unknown fields are ignored (DRF drops them): the storefront flow proves it end to end.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import get_resolver
from rest_framework import serializers

import bridges.hmac.actions  # noqa: F401  (its input serializers, for the walk below)
from carts.models import Cart
from orders.models import Order
from tests import factories
from tests.storefront import ADDRESS

ROOT = Path(__file__).resolve().parents[2]
APPS = ("catalog", "customers", "carts", "orders", "quotes", "fulfillment", "bridges")
FORBIDDEN = {
    "status", "payment_status", "fulfillment_status", "subtotal", "tax_total",
    "shipping_total", "discount_total", "total", "line_total", "channel", "channel_id",
    "customer", "customer_id", "company", "company_id", "paid_at", "price", "prices",
    "unit_price", "list_price", "amount",
}
# (serializer, field): why a body may name it.
ALLOWED = {
    ("TransactionInput", "amount"): "staff or the order's payment integration records what "
                                    "the provider moved; bounded by the balance (409)",
    ("ReturnRefundInput", "amount"): "staff only; bounded by what was captured",
    ("QuoteLineInput", "unit_price"): "staff write quotes: pricing a quote is the job",
    ("QuoteEditInput", "shipping_total"): "staff only (quote authoring)",
    ("QuoteCreateInput", "shipping_total"): "staff only (quote authoring)",
    ("QuoteCreateInput", "company"): "staff only: whom the quote is for",
    ("QuoteCreateInput", "customer_id"): "staff only: whom the quote is for",
    ("ShopperTokenInput", "customer_id"): "a secret key names the shopper it signs in "
                                          "(of its own channel's customers)",
    ("ConvertToOrderInput", "customer"): "the guest's contact details (email, name, phone), "
                                         "not a customer record",
}
INPUT_USE = re.compile(
    r"validated\((?:\w+\.)?(\w+)|\b(\w+)\(data=|Action\(BridgeScope\.\w+,\s*(\w+)")


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def input_serializers() -> dict[str, type]:
    assert get_resolver().url_patterns  # imports every view module
    named = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in INPUT_USE.finditer(path.read_text()):
                named.add(next(g for g in match.groups() if g))
    found = {}
    for cls in _subclasses(serializers.BaseSerializer):
        if not cls.__module__.startswith(APPS):
            continue
        if cls.__name__ in named or cls.__name__.endswith("Input"):
            found[f"{cls.__module__}.{cls.__name__}"] = cls
    return found


def writable(serializer, prefix=""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        yield type(serializer).__name__, prefix, name
        child = getattr(field, "child", field)
        if isinstance(child, serializers.BaseSerializer) and child is not serializer:
            yield from writable(child, f"{prefix}{name}.")


def test_input_serializers_are_found():
    names = {path.rsplit(".", 1)[1] for path in input_serializers()}
    assert {"CartCreateInput", "CartLineAddInput", "CheckoutInput", "QuoteRequestInput",
            "ItemsAddInput", "ConvertToOrderInput", "WebhookEndpointInput"} <= names
    assert len(names) >= 40


def test_no_input_serializer_writes_a_protected_field():
    found = []
    for path, cls in sorted(input_serializers().items()):
        for owner, prefix, name in writable(cls()):
            if name in FORBIDDEN and (owner, name) not in ALLOWED:
                found.append(f"{path}: {prefix}{name}")
    assert not found, "a request body may set:\n" + "\n".join(found)


HOSTILE = {"status": "converted", "payment_status": "paid", "total": "0.01",
           "subtotal": "0.01", "tax_total": "0", "shipping_total": "0", "unit_price": "0.01",
           "price": "0.01", "prices": {"COF-250": "0.01"}, "line_total": "0.01",
           "channel": "B2B_PORTAL", "customer": "cus_x", "customer_id": "cus_x",
           "company": "co_x", "company_id": "co_x", "paid_at": "2020-01-01T00:00:00Z"}


@pytest.mark.django_db
def test_a_storefront_sending_protected_fields_changes_nothing(shop):
    factories.ChannelFactory(code="B2B_PORTAL")
    buyer = factories.CustomerFactory()
    client = shop.client(shop.secret)
    response = client.post("/api/v1/carts", {**HOSTILE, "email": "g@example.com"},
                           format="json")
    assert response.status_code == 201, response.content
    cart = Cart.objects.get(public_id=response.json()["id"])
    assert (cart.status, cart.channel_id, cart.customer_id) == ("active", shop.channel.pk, None)
    line = client.post(f"/api/v1/carts/{cart.public_id}/lines",
                       {**HOSTILE, "sku": "COF-250", "quantity": 2}, format="json")
    assert line.status_code == 201, line.content
    assert client.put(f"/api/v1/carts/{cart.public_id}/addresses",
                      {**HOSTILE, "shipping_address": ADDRESS},
                      format="json").status_code == 200
    assert client.post(f"/api/v1/carts/{cart.public_id}/shipping-method",
                       {**HOSTILE, "code": "standard"}, format="json").status_code == 200
    priced = client.post(f"/api/v1/carts/{cart.public_id}/price", HOSTILE, format="json")
    assert priced.status_code == 200, priced.content
    assert priced.json()["lines"][0]["unit_price"] == "2450.00"  # the list price
    order = client.post("/api/v1/checkout", {
        **HOSTILE, "cart_id": cart.public_id, "payment": {"kind": "cod", **HOSTILE},
        "email": "g@example.com", "customer_id": buyer.public_id}, format="json")
    assert order.status_code == 201, order.content
    db = Order.objects.get(public_id=order.json()["id"])
    assert db.channel_id == shop.channel.pk and db.customer_id is None and db.company_id is None
    assert db.total == Decimal(priced.json()["total"]) and db.total > Decimal("4900")
    assert db.payment_status == "unpaid" and db.status == "confirmed"
    assert all(p.transactions.count() == 0 for p in db.payments.all())
