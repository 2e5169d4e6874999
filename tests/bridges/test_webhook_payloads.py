"""Contract tests of every webhook payload, driven through the real services.

Each scenario below runs the services a shopper, an approver or staff would trigger (checkout
through the storefront API, approvals through the API, payments, invoices, shipping, edits,
supplier acknowledgements, stock adjustments, the "send test event" button) and reads the
outbox rows they wrote. Every payload is checked against its family's schema: the exact key
set, the type of every value, public-id prefixes, money as strings. docs/webhooks.md is held
to the same schemas and to the key sets the services really emit, so the guide cannot drift.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Max
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from bridges.events import EVENT_TYPES
from bridges.models import WebhookDelivery, WebhookEndpoint
from bridges.webhooks import outbound
from bridges.webhooks import services as webhooks
from carts.constants import CartStatus
from carts.models import Cart
from catalog.models import Product
from catalog.services import product_adjust_stock
from fulfillment import services as fulfillment
from fulfillment.constants import (
    ItemCondition,
    RefundMethod,
    ReturnReason,
    ReturnStatus,
    ShipmentStatus,
)
from orderflow import config
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders import services
from orders.constants import (
    CancelReason,
    FulfillmentStatus,
    InvoiceStatus,
    OrderStatus,
    PaymentKind,
    PaymentRecordStatus,
    PaymentStatus,
    SupplierOrderStatus,
    TransactionKind,
    TransactionResult,
)
from orders.models import Order, SupplierOrder
from quotes import services as quotes
from quotes.constants import QuoteRequestStatus, QuoteStatus
from quotes.models import QuoteApprovalLevel
from recovery import services as recovery
from recovery import tokens as recovery_tokens
from tests import factories
from tests.fulfillment.shipping import ship_lines
from tests.quotes.conftest import approver, line, policy_rules

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
STAFF = Actor.system("ops@example.com")


# --- value types -------------------------------------------------------------------------------

class Nullable:
    def __init__(self, inner):
        self.inner = inner


class ListOf:
    def __init__(self, inner, *, min_items: int = 0):
        self.inner, self.min_items = inner, min_items


class OneOf:
    def __init__(self, *values):
        self.values = frozenset(values)


class Address:
    """An address as the cart API takes it: these keys are always there, the optional ones
    only when the buyer gave them."""

    required = {"full_name": str, "line1": str, "city": str, "country": re.compile(r"[A-Z]{2}")}
    optional = {"company_name": str, "line2": str, "region": str, "postal_code": str,
                "phone": str}


def public_id(prefix: str) -> re.Pattern:
    return re.compile(rf"{prefix}_[0-9a-hjkmnp-tv-z]{{26}}")


MONEY = re.compile(r"-?\d+\.\d{2}")  # JMD has two minor digits
CURRENCY = re.compile(r"[A-Z]{3}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")  # ISO 8601, UTC
DATE = re.compile(r"\d{4}-\d\d-\d\d")
RATE = re.compile(r"\d+\.\d{4}")
ORDER_NUMBER = re.compile(r"OF-\d{6,}")


def check(value, spec, path: str = "data") -> None:
    """Assert that ``value`` has exactly the shape ``spec`` describes."""
    if isinstance(spec, Nullable):
        if value is not None:
            check(value, spec.inner, path)
    elif isinstance(spec, OneOf):
        assert value in spec.values, f"{path}: {value!r} is not one of {sorted(spec.values)}"
    elif isinstance(spec, re.Pattern):
        assert isinstance(value, str) and spec.fullmatch(value), \
            f"{path}: {value!r} does not match {spec.pattern}"
    elif isinstance(spec, ListOf):
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        assert len(value) >= spec.min_items, f"{path}: expected at least {spec.min_items} items"
        for i, item in enumerate(value):
            check(item, spec.inner, f"{path}[{i}]")
    elif spec is Address:
        assert isinstance(value, dict), f"{path}: expected an address object, got {value!r}"
        missing = set(Address.required) - set(value)
        unknown = set(value) - set(Address.required) - set(Address.optional)
        assert not missing and not unknown, f"{path}: missing {missing}, unknown {unknown}"
        for key, item in value.items():
            check(item, {**Address.required, **Address.optional}[key], f"{path}.{key}")
    elif isinstance(spec, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        assert set(value) == set(spec), (
            f"{path}: keys differ; missing {sorted(set(spec) - set(value))}, "
            f"unexpected {sorted(set(value) - set(spec))}")
        for key, item_spec in spec.items():
            check(value[key], item_spec, f"{path}.{key}")
    elif spec is int:
        assert isinstance(value, int) and not isinstance(value, bool), \
            f"{path}: expected an integer, got {value!r}"
    else:
        assert isinstance(value, spec), \
            f"{path}: expected {spec.__name__}, got {type(value).__name__} {value!r}"


def key_paths(value, spec, path: str = "") -> set[str]:
    """The structural keys of ``value`` (``lines[].sku``), following ``spec`` into nested
    objects and lists of objects; free-form objects (addresses, metadata) are leaves."""
    if isinstance(spec, Nullable):
        return key_paths(value, spec.inner, path) if value is not None else set()
    if isinstance(spec, ListOf) and isinstance(value, list):
        return set().union(*(key_paths(item, spec.inner, f"{path}[]") for item in value))
    if isinstance(spec, dict) and isinstance(value, dict):
        paths = set()
        for key in value:
            paths.add(f"{path}{key}")
            if key in spec:
                paths |= key_paths(value[key], spec[key], f"{path}{key}.")
        return paths
    return set()


# --- the schemas, one per event family ---------------------------------------------------------

PAYMENT = {
    "id": public_id("pay"),
    "kind": OneOf(*PaymentKind.values),
    "reference": Nullable(str),
    "amount": MONEY,
    "currency": CURRENCY,
    "status": OneOf(*PaymentRecordStatus.values),
    "captured": MONEY,
    "refunded": MONEY,
    "refund_owed": MONEY,
    "amount_due": MONEY,
}
ORDER_LINE = {
    "id": public_id("ol"),
    "sku": str,
    "name": str,
    "quantity": int,
    "order_uom": Nullable(str),
    "order_quantity": Nullable(int),
    "quantity_shipped": int,
    "unit_price": MONEY,
    "line_subtotal": MONEY,
    "tax_rate": RATE,
    "tax_amount": MONEY,
    "line_total": MONEY,
    "metadata": dict,
}
ORDER = {
    "id": public_id("ord"),
    "number": ORDER_NUMBER,
    "status": OneOf(*OrderStatus.values),
    "payment_status": OneOf(*PaymentStatus.values),
    "fulfillment_status": OneOf(*FulfillmentStatus.values),
    "channel": str,
    "customer_id": Nullable(public_id("cus")),
    "company_id": Nullable(public_id("co")),
    "email": str,
    "currency": CURRENCY,
    "subtotal": MONEY,
    "tax_total": MONEY,
    "shipping_total": MONEY,
    "total": MONEY,
    "shipping_method": Nullable(str),
    "shipping_address": Nullable(Address),
    "billing_address": Nullable(Address),
    "lines": ListOf(ORDER_LINE, min_items=1),
    "payments": ListOf(PAYMENT),
    "notes": str,
    "external_reference": Nullable(str),
    "metadata": dict,
    "approval_levels": ListOf(int),
    "cancel_reason": Nullable(OneOf(*CancelReason.values)),
    "decline_reason": Nullable(str),
    "placed_at": TIMESTAMP,
    "confirmed_at": Nullable(TIMESTAMP),
    "approved_at": Nullable(TIMESTAMP),
    "declined_at": Nullable(TIMESTAMP),
    "completed_at": Nullable(TIMESTAMP),
    "canceled_at": Nullable(TIMESTAMP),
    "exported_at": Nullable(TIMESTAMP),
}
PAYMENT_EVENT = {
    "order_id": public_id("ord"),
    "order_number": ORDER_NUMBER,
    "payment_status": OneOf(*PaymentStatus.values),
    "payment": PAYMENT,
    "transaction": {
        "id": public_id("ptx"),
        "kind": OneOf(*TransactionKind.values),
        "result": OneOf(*TransactionResult.values),
        "amount": MONEY,
        "currency": CURRENCY,
        "reference": Nullable(str),
        "occurred_at": TIMESTAMP,
    },
}
INVOICE = {
    "id": public_id("inv"),
    "number": re.compile(r"INV-\d{6,}"),
    "status": OneOf(*InvoiceStatus.values),
    "order_id": public_id("ord"),
    "order_number": ORDER_NUMBER,
    "company_id": Nullable(public_id("co")),
    "customer_id": Nullable(public_id("cus")),
    "amount": MONEY,
    "currency": CURRENCY,
    "issued_at": TIMESTAMP,
    "due_date": DATE,
    "paid_at": Nullable(TIMESTAMP),
    "voided_at": Nullable(TIMESTAMP),
}
SUPPLIER_ORDER = {
    "id": public_id("so"),
    "number": re.compile(r"SO-\d{6,}-\d+"),
    "status": OneOf(*SupplierOrderStatus.values),
    "supplier": str,
    "order_id": public_id("ord"),
    "order_number": ORDER_NUMBER,
    "shipping_method": Nullable(str),
    "shipping_address": Nullable(Address),
    "lines": ListOf({"sku": str, "name": str, "quantity": int}, min_items=1),
    "created_at": TIMESTAMP,
    "acknowledged_at": Nullable(TIMESTAMP),
    "canceled_at": Nullable(TIMESTAMP),
}
CART = {
    "id": public_id("cart"),
    "status": OneOf(*CartStatus.values),
    "channel": str,
    "customer_id": Nullable(public_id("cus")),
    "email": Nullable(str),
    "currency": CURRENCY,
    "total": MONEY,
    "created_at": TIMESTAMP,
}
# Abandoned-cart recovery's cart events: the cart and when (and through which step) it moved.
CART_SCHEMAS = {
    "cart.abandoned": {**CART, "abandoned_at": TIMESTAMP, "last_activity_at": TIMESTAMP},
    "cart.recovered": {**CART, "recovered_at": TIMESTAMP, "step": Nullable(int)},
    "cart.expired": {**CART, "expired_at": TIMESTAMP},
}
PRODUCT_STOCK = {
    "product_id": public_id("prod"),
    "sku": str,
    "stock_on_hand": int,
    "stock_reserved": int,
    "delta": int,
    "reason": str,
}
WEBHOOK_TEST = {"endpoint_id": public_id("whe"), "message": str, "requested_by": str}
WEBHOOK_ENDPOINT = {
    "endpoint_id": public_id("whe"), "url": str, "description": str, "is_active": bool,
    "reason": str, "automatic": bool, "failing_since": Nullable(TIMESTAMP),
    "disabled_at": Nullable(TIMESTAMP), "pending_deliveries": int, "changed_by": str,
}
SHIPMENT = {
    "id": public_id("shp"),
    "number": re.compile(r"SH-\d{6,}"),
    "status": OneOf(*ShipmentStatus.values),
    "order_id": public_id("ord"),
    "order_number": ORDER_NUMBER,
    "supplier_order_id": Nullable(public_id("so")),
    "carrier": Nullable(str),
    "service": Nullable(str),
    "tracking_number": Nullable(str),
    "tracking_url": Nullable(re.compile(r"https?://\S+")),
    "weight_grams": Nullable(int),
    "lines": ListOf({"line_id": public_id("ol"), "sku": str, "name": str, "quantity": int},
                    min_items=1),
    "created_at": TIMESTAMP,
    "shipped_at": Nullable(TIMESTAMP),
    "delivered_at": Nullable(TIMESTAMP),
    "canceled_at": Nullable(TIMESTAMP),
}
RETURN = {
    "id": public_id("ret"),
    "rma_number": Nullable(re.compile(r"RMA-\d{6,}")),
    "status": OneOf(*ReturnStatus.values),
    "order_id": public_id("ord"),
    "order_number": ORDER_NUMBER,
    "comment": str,
    "instructions": Nullable(str),
    "reject_reason": Nullable(str),
    "refund_method": Nullable(OneOf(*RefundMethod.values)),
    "refund_amount": MONEY,
    "currency": CURRENCY,
    "lines": ListOf({"line_id": public_id("ol"), "sku": str, "name": str, "quantity": int,
                     "reason": OneOf(*ReturnReason.values), "reason_text": Nullable(str),
                     "quantity_received": int, "condition": Nullable(OneOf(*ItemCondition.values)),
                     "restock": bool}, min_items=1),
    "requested_at": TIMESTAMP,
    "authorized_at": Nullable(TIMESTAMP),
    "rejected_at": Nullable(TIMESTAMP),
    "received_at": Nullable(TIMESTAMP),
    "refunded_at": Nullable(TIMESTAMP),
    "closed_at": Nullable(TIMESTAMP),
}

QUOTE_REQUEST = {
    "id": public_id("qr"),
    "number": re.compile(r"QR-\d{6,}"),
    "status": OneOf(*QuoteRequestStatus.values),
    "channel": str,
    "company_id": public_id("co"),
    "customer_id": Nullable(public_id("cus")),
    "cart_id": Nullable(public_id("cart")),
    "notes": str,
    "requested_delivery_date": Nullable(DATE),
    "lines": ListOf({"sku": str, "name": str, "quantity": int,
                     "target_unit_price": Nullable(MONEY), "notes": str}, min_items=1),
    "created_at": TIMESTAMP,
}
QUOTE = {
    "id": public_id("quo"),
    "number": re.compile(r"Q-\d{6,}"),
    "status": OneOf(*QuoteStatus.values),
    "version": int,
    "channel": str,
    "company_id": public_id("co"),
    "customer_id": Nullable(public_id("cus")),
    "request_id": Nullable(public_id("qr")),
    "order_id": Nullable(public_id("ord")),
    "conversion_error": Nullable(dict),
    "decline_reason": Nullable(str),
    "changes_comment": Nullable(str),
    "valid_until": DATE,
    "currency": CURRENCY,
    "subtotal": MONEY,
    "tax_total": MONEY,
    "shipping_total": MONEY,
    "total": MONEY,
    "terms": str,
    "approval_levels": ListOf(int),
    "lines": ListOf({"sku": str, "name": str, "quantity": int, "list_price": MONEY,
                     "unit_price": MONEY, "discount_percent": re.compile(r"\d+\.\d{2}"),
                     "tax_rate": RATE, "line_total": MONEY, "notes": str}, min_items=1),
    "sent_at": Nullable(TIMESTAMP),
    "accepted_at": Nullable(TIMESTAMP),
    "converted_at": Nullable(TIMESTAMP),
}
# An approver's (level set) or the buyer's (level null) decision; null on the quote.approved
# of a quote no rule matched.
QUOTE_DECISION = {**QUOTE, "decision": Nullable({
    "level": Nullable(int), "decision": OneOf("approved", "declined"), "by": str,
    "comment": str})}
QUOTE_CHANGES = {**QUOTE, "requested_by": OneOf("approver", "buyer"), "comment": str}
QUOTE_SCHEMAS = {
    "quote.requested": QUOTE_REQUEST,
    "quote.approval_recorded": QUOTE_DECISION,
    "quote.approved": QUOTE_DECISION,
    "quote.declined": QUOTE_DECISION,
    "quote.changes_requested": QUOTE_CHANGES,
}

FAMILIES = {
    "order": ORDER, "payment": PAYMENT_EVENT, "invoice": INVOICE,
    "supplier_order": SUPPLIER_ORDER, "cart": CART, "product": PRODUCT_STOCK,
    "webhook": WEBHOOK_TEST, "shipment": SHIPMENT, "return": RETURN,
    "webhook_endpoint": WEBHOOK_ENDPOINT,
}


def schema_of(event_type: str) -> dict:
    if event_type in CART_SCHEMAS:
        return CART_SCHEMAS[event_type]
    if event_type.startswith("quote."):
        return QUOTE_SCHEMAS.get(event_type, QUOTE)
    return FAMILIES[event_type.split(".", 1)[0]]


# What each type says about the thing it reports (checked on real payloads and doc examples).
EXPECT = {
    "cart.abandoned": {"status": "abandoned"},
    "webhook_endpoint.disabled": {"is_active": False, "automatic": True},
    "webhook_endpoint.enabled": {"is_active": True, "reason": "", "disabled_at": None,
                                 "failing_since": None},
    "cart.recovered": {"status": "active", "step": 1},
    "cart.expired": {"status": "expired"},
    "order.confirmed": {"status": "confirmed"},
    "order.approval_requested": {"status": "awaiting_approval"},
    "order.approval_recorded": {"status": "awaiting_approval"},
    "order.approved": {"status": "confirmed"},
    "order.declined": {"status": "declined"},
    "order.canceled": {"status": "canceled"},
    "order.completed": {"status": "completed", "fulfillment_status": "fulfilled"},
    "invoice.issued": {"status": "issued"},
    "invoice.paid": {"status": "paid"},
    "invoice.voided": {"status": "void"},
    "supplier_order.created": {"status": "open"},
    "supplier_order.acknowledged": {"status": "acknowledged"},
    "supplier_order.canceled": {"status": "canceled"},
    "shipment.created": {"status": "pending"},
    "shipment.shipped": {"status": "shipped"},
    "shipment.delivered": {"status": "delivered"},
    "shipment.canceled": {"status": "canceled"},
    "return.requested": {"status": "requested", "rma_number": None},
    "return.authorized": {"status": "authorized"},
    "return.rejected": {"status": "rejected"},
    "return.received": {"status": "received"},
    "return.refunded": {"status": "refunded", "refund_method": "payment"},
    "return.closed": {"status": "closed"},
    "quote.requested": {"status": "open"},
    "quote.created": {"status": "draft", "version": 1},
    "quote.approval_recorded": {"status": "pending_approval", "decision.decision": "approved"},
    "quote.approved": {"status": "approved"},
    "quote.declined": {"status": "declined", "decision.decision": "declined"},
    "quote.changes_requested": {"status": "changes_requested"},
    "quote.sent": {"status": "sent"},
    "quote.accepted": {"status": "accepted"},
    "quote.expiring": {"status": "sent"},
    "quote.expired": {"status": "expired"},
    "quote.withdrawn": {"status": "withdrawn"},
    "quote.converted": {"status": "converted", "conversion_error": None},
    "quote.conversion_failed": {"status": "accepted", "order_id": None},
    **{
        f"payment.{verb}{suffix}": {"transaction.kind": kind, "transaction.result": result}
        for kind, verb in [("authorize", "authorized"), ("capture", "captured"),
                           ("refund", "refunded"), ("void", "voided")]
        for suffix, result in [("", "succeeded"), ("_failed", "failed")]
    },
}


def check_expectations(event_type: str, data: dict) -> None:
    for dotted, expected in EXPECT.get(event_type, {}).items():
        value = data
        for part in dotted.split("."):
            value = value[part]
        assert value == expected, f"{event_type}: {dotted} is {value!r}, expected {expected!r}"


# --- scenarios: the real services, as their users drive them -----------------------------------

def user_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def checkout(shop, client, lines, payment: dict, **extra) -> Order:
    cart_id = shop.ready_cart(client, lines)
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": payment, **extra},
                           format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(public_id=response.json()["id"])


def cod_order(shop) -> Order:
    """A registered shopper pays cash on delivery: confirmed at once, forwarded to the two
    outside suppliers of its products."""
    customer = factories.CustomerFactory()
    return checkout(shop, shop.shopper(customer), [("COF-250", 2), ("RICE-5KG", 1)],
                    {"kind": "cod"}, notes="Leave at the gate")


def card_order(shop) -> Order:
    """A guest pays through an outside provider: waits for the capture."""
    return checkout(shop, shop.client(shop.secret), [("MUG", 2)],
                    {"kind": "payment_intent", "reference": "pi_3PqR7sJm"},
                    email="guest@example.com")


def b2b_order(shop) -> tuple[Order, dict]:
    """A company buyer on credit terms, over both approval thresholds."""
    company = factories.CompanyFactory(credit_limit=Decimal("1000000.00"))
    approvers = {}
    for level in (1, 2):
        user = factories.UserFactory()
        customer = factories.CustomerFactory(company=company, user=user)
        factories.CompanyApproverFactory(company=company, customer=customer, level=level)
        approvers[level] = user
    factories.OrderApprovalRuleFactory(company=company, threshold=Decimal("5000.00"), level=1)
    factories.OrderApprovalRuleFactory(company=company, threshold=Decimal("20000.00"), level=2)
    buyer = factories.CustomerFactory(company=company)
    order = checkout(shop, shop.shopper(buyer), [("COF-250", 10)], {"kind": "terms"})
    assert order.status == OrderStatus.AWAITING_APPROVAL
    return order, approvers


def scenario_cod_lifecycle(shop) -> None:
    order = cod_order(shop)
    first = SupplierOrder.objects.filter(order=order).order_by("id").first()
    services.supplier_order_acknowledge(supplier_order=first, actor=STAFF)
    coffee = order.lines.get(sku="COF-250")
    edit = services.order_edit_stage(order=order, actor=STAFF, changes={
        "update_lines": [{"id": coffee.public_id, "quantity": 3}]})
    services.order_edit_apply(edit=edit, actor=STAFF)
    lines = list(order.lines.order_by("id"))
    ship_lines(order=order, actor=STAFF,
                              quantities={lines[0].public_id: lines[0].quantity})
    ship_lines(order=order, actor=STAFF,
                              quantities={line.public_id: line.quantity for line in lines[1:]})
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    services.invoice_mark_paid(invoice=order.invoices.get(), actor=STAFF, reference="DEP-8841")


def scenario_cancel(shop) -> None:
    order = cod_order(shop)
    services.invoice_issue(order=order, actor=STAFF)
    services.order_cancel(order=order, actor=STAFF, reason=CancelReason.CUSTOMER,
                          note="Ordered twice by mistake")


def scenario_card_payment(shop) -> None:
    order = card_order(shop)
    payment = order.payments.get()
    kwargs = {"order": order, "payment": payment, "actor": STAFF}
    services.payment_authorize(**kwargs, reference="pi_3PqR7sJm", result="failed",
                               message="card_declined")
    services.payment_authorize(**kwargs, reference="pi_3PqR7sJm")
    services.payment_capture(**kwargs, reference="ch_3PqR8tKn", result="failed",
                             message="processing_error")
    services.payment_capture(**kwargs, reference="ch_3PqR8tKn")
    services.payment_refund(**kwargs, amount=Decimal("500.00"), reference="re_3PqS1aLp",
                            result="failed", message="insufficient_balance")
    services.payment_refund(**kwargs, amount=Decimal("500.00"), reference="re_3PqS1aLp")


def scenario_void(shop) -> None:
    order = card_order(shop)
    payment = order.payments.get()
    kwargs = {"order": order, "payment": payment, "actor": STAFF}
    services.payment_authorize(**kwargs, reference="pi_3PqT4bMq")
    services.payment_void(**kwargs, reference="pi_3PqT4bMq", result="failed",
                          message="provider_unavailable")
    services.payment_void(**kwargs, reference="pi_3PqT4bMq")


def scenario_b2b_approved(shop) -> None:
    order, approvers = b2b_order(shop)
    url = f"/api/v1/orders/{order.public_id}/approve"
    for level, comment in [(1, "Budget ok"), (2, "Fine for Q3")]:
        response = user_client(approvers[level]).post(url, {"comment": comment}, format="json")
        assert response.status_code == 200, response.content


def scenario_b2b_declined(shop) -> None:
    order, approvers = b2b_order(shop)
    response = user_client(approvers[1]).post(f"/api/v1/orders/{order.public_id}/decline",
                                              {"reason": "Not in this quarter"}, format="json")
    assert response.status_code == 200, response.content


def scenario_stock(shop) -> None:
    product_adjust_stock(product=Product.objects.get(sku="COF-250"), delta=24,
                         reason="Delivery 1234", actor=STAFF)


def scenario_shipments_and_returns(shop) -> None:
    order = checkout(shop, shop.client(shop.secret), [("COF-250", 2), ("MUG", 1)],
                     {"kind": "payment_intent", "reference": "pi_3PqZ0aLk"},
                     email="guest@example.com")
    payment = order.payments.get()
    services.payment_capture(order=order, payment=payment, actor=STAFF, reference="ch_3PqZ")
    coffee, mug = order.lines.get(sku="COF-250"), order.lines.get(sku="MUG")
    first = fulfillment.shipment_create(order=order, actor=STAFF, carrier="DHL",
                                        tracking_number="JD014600006281",
                                        lines={coffee.public_id: 1})
    fulfillment.shipment_ship(shipment=first, actor=STAFF)
    fulfillment.shipment_deliver(shipment=first, actor=STAFF)
    wrong = fulfillment.shipment_create(order=order, actor=STAFF)
    fulfillment.shipment_cancel(shipment=wrong, actor=STAFF, reason="Wrong box")
    rest = fulfillment.shipment_create(order=order, actor=STAFF, carrier="Knutsford",
                                       service="Express", tracking_number="KE-55120",
                                       weight_grams=900)
    fulfillment.shipment_ship(shipment=rest, actor=STAFF)
    returned = fulfillment.return_request(
        order=order, actor=STAFF, comment="The mug arrived chipped.",
        lines=[{"line_id": mug.public_id, "quantity": 1, "reason": "damaged",
                "reason_text": "Chipped handle"}])
    fulfillment.return_authorize(return_request=returned, actor=STAFF,
                                 instructions="Send it to 12 Harbour St, Kingston.")
    fulfillment.return_receive(return_request=returned, actor=STAFF, lines={
        mug.public_id: {"quantity": 1, "condition": "damaged", "restock": False}})
    fulfillment.return_refund(return_request=returned, actor=STAFF, reference="re_3PqZ")
    fulfillment.return_close(return_request=returned, actor=STAFF)
    refused = fulfillment.return_request(
        order=order, actor=STAFF, lines=[{"line_id": coffee.public_id, "quantity": 1,
                                          "reason": "no_longer_needed"}])
    fulfillment.return_reject(return_request=refused, actor=STAFF,
                              reason="Opened coffee cannot be returned.")


def scenario_test_event(shop) -> None:
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]):
        endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hooks",
                                                    event_types=["order.*"])
    webhooks.webhook_endpoint_send_test(endpoint=endpoint, actor=STAFF)


def scenario_endpoint_disabled(shop) -> None:
    """An endpoint whose every attempt has failed for longer than the window is disabled by
    the delivery engine; staff switch it back on."""
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]):
        endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hooks",
                                                    event_types=["order.*"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - settings.ORDERFLOW_WEBHOOK_DISABLE_AFTER
        - timedelta(minutes=1))
    cod_order(shop)
    webhooks.outbox_dispatch()
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]):
        webhooks.endpoint_deliver_due(endpoint.pk, rounds=1)  # port 9: refused, a failure
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    webhooks.webhook_endpoint_enable(endpoint=endpoint, actor=STAFF)


class QuoteDesk:
    """The quote world of tests/quotes (its policy rules and two approval levels) on the
    payload tests' shop: a company buyer on terms, a sales author, a manager and finance."""

    def __init__(self, shop, *, credit_limit: str = "500000.00"):
        from django.contrib.auth.models import Group

        self.shop = shop
        self.company = factories.CompanyFactory(credit_limit=Decimal(credit_limit),
                                                payment_terms="NET30")
        self.buyer = factories.CustomerFactory(company=self.company)
        factories.AddressFactory(customer=None, company=self.company,
                                 is_default_shipping=True)
        if not QuoteApprovalLevel.objects.exists():
            sales = Group.objects.create(name="Sales managers")
            finance = Group.objects.create(name="Finance")
            QuoteApprovalLevel.objects.create(level=1, name="Sales managers", group=sales)
            QuoteApprovalLevel.objects.create(level=2, name="Finance", group=finance)
            policy_rules()
            approver("manager", sales)
            approver("finance", finance)
        levels = {lv.level: lv.group for lv in QuoteApprovalLevel.objects.all()}
        self.level1 = levels[1].user_set.get()
        self.level2 = levels[2].user_set.get()
        self.author = factories.StaffUserFactory()
        self.actor = Actor.staff(self.author)
        self.buyer_actor = Actor.system(self.buyer.email)

    def quote(self, *lines, request=None, valid_days: int = 14):
        return quotes.quote_create(
            actor=self.actor, author=self.author, request=request,
            company=None if request else self.company, customer=None if request else self.buyer,
            channel=None if request else self.shop.channel, lines=list(lines) or [line()],
            valid_until=timezone.localdate() + timedelta(days=valid_days),
            shipping_total=Decimal("1500"))

    def sent(self, **kwargs):
        """A quote no rule matched (approved at submit), sent to the buyer."""
        quote = quotes.quote_submit(quote=self.quote(**kwargs), actor=self.actor)
        assert quote.status == QuoteStatus.APPROVED
        return quotes.quote_send(quote=quote, actor=self.actor)

    def decide(self, verb: str, quote, user, **kwargs):
        return getattr(quotes, f"quote_{verb}")(quote=quote, user=user,
                                                actor=Actor.staff(user), **kwargs)


def scenario_quote_negotiation(shop) -> None:
    """A buyer's request becomes a quote at 30 % off (levels 1 and 2); finance sends it back,
    the revision is approved level by level, sent, accepted and converted to an order."""
    desk = QuoteDesk(shop)
    request = quotes.quote_request_create(
        channel=shop.channel, company=desk.company, customer=desk.buyer, actor=desk.buyer_actor,
        notes="Monthly hotel restock", requested_delivery_date=timezone.localdate()
        + timedelta(days=30),
        lines=[{"sku": "COF-250", "quantity": 40, "target_unit_price": Decimal("2000.00")}])
    quote = desk.quote(line(quantity=40, discount_percent=Decimal("30")), request=request)
    quote = quotes.quote_submit(quote=quote, actor=desk.actor)
    assert quote.current.approval_levels == [1, 2]
    quote = desk.decide("approve", quote, desk.level1, comment="Volume justifies it.")
    quote = desk.decide("request_changes", quote, desk.level2, comment="Make it 28 %.")
    quote = quotes.quote_revise(quote=quote, actor=desk.actor,
                                lines=[line(quantity=40, discount_percent=Decimal("28"))])
    quote = quotes.quote_submit(quote=quote, actor=desk.actor)
    quote = desk.decide("approve", quote, desk.level1, comment="Volume justifies it.")
    quote = desk.decide("approve", quote, desk.level2, comment="Within budget.")
    assert quote.status == QuoteStatus.APPROVED
    quote = quotes.quote_send(quote=quote, actor=desk.actor)
    quote = quotes.quote_accept(quote=quote, actor=desk.buyer_actor, version=quote.version)
    assert quote.status == QuoteStatus.CONVERTED and quote.order_id


def scenario_quote_declines(shop) -> None:
    """An approver declines one quote; the buyer asks for changes on another, declines a third;
    staff withdraw a fourth."""
    desk = QuoteDesk(shop)
    quote = quotes.quote_submit(quote=desk.quote(line(discount_percent=Decimal("15"))),
                                actor=desk.actor)
    desk.decide("reject", quote, desk.level1, reason="Margin too thin for this account.")
    quotes.quote_buyer_request_changes(quote=desk.sent(), actor=desk.buyer_actor,
                                       comment="Can you add 20 more?")
    quotes.quote_decline(quote=desk.sent(), actor=desk.buyer_actor,
                         reason="We found a better price.")
    quotes.quote_withdraw(quote=desk.sent(), actor=desk.actor, reason="Price list changed.")


def scenario_quote_conversion_failed(shop) -> None:
    """The buyer accepts a quote over the company's credit limit: it stays accepted."""
    desk = QuoteDesk(shop, credit_limit="1000.00")
    quote = quotes.quote_accept(quote=desk.sent(), actor=desk.buyer_actor)
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.conversion_error["code"] == "over_credit_limit"


def scenario_quote_expiry(shop) -> None:
    """Beat's reminder for a quote ending in two days, then its expiry once the date moved
    into the past (as tests/quotes does)."""
    desk = QuoteDesk(shop)
    quote = desk.sent(valid_days=2)
    assert quotes.quotes_remind() == 1
    type(quote.current).objects.filter(pk=quote.current_id).update(
        valid_until=timezone.localdate() - timedelta(days=1))
    assert quotes.quotes_expire() == 1


def scenario_cart_recovery(shop) -> None:
    """A guest leaves a cart with an e-mail; beat marks it abandoned and sends step 1; the
    shopper follows its link. Another cart sits idle for a month and expires."""
    client = shop.client(shop.secret)
    carts = []
    for email in ("sasha@example.com", "gone@example.com"):
        cart_id = shop.ready_cart(client, [("COF-250", 2)])
        assert client.put(f"/api/v1/carts/{cart_id}/email", {"email": email},
                          format="json").status_code == 200
        carts.append(Cart.objects.get(public_id=cart_id))
    Cart.objects.filter(pk=carts[0].pk).update(
        last_activity_at=timezone.now() - timedelta(hours=2))
    Cart.objects.filter(pk=carts[1].pk).update(
        last_activity_at=timezone.now() - timedelta(days=31))
    assert recovery.carts_expire() == [carts[1].pk]
    assert recovery.carts_abandon() == [carts[0].pk]
    sent = recovery.reminder_send(cart_pk=carts[0].pk)
    recovery.link_follow(token=recovery_tokens.link_token(sent))


SCENARIOS = {
    "cart_recovery": scenario_cart_recovery,
    "cod_lifecycle": scenario_cod_lifecycle,
    "cancel": scenario_cancel,
    "card_payment": scenario_card_payment,
    "void": scenario_void,
    "b2b_approved": scenario_b2b_approved,
    "b2b_declined": scenario_b2b_declined,
    "stock": scenario_stock,
    "test_event": scenario_test_event,
    "endpoint_disabled": scenario_endpoint_disabled,
    "shipments_and_returns": scenario_shipments_and_returns,
    "quote_negotiation": scenario_quote_negotiation,
    "quote_declines": scenario_quote_declines,
    "quote_conversion_failed": scenario_quote_conversion_failed,
    "quote_expiry": scenario_quote_expiry,
}

# The scenario that shows each catalogued type (others may emit it too).
SHOWN_BY = {
    "cart.created": "cod_lifecycle",
    "cart.abandoned": "cart_recovery",
    "cart.recovered": "cart_recovery",
    "cart.expired": "cart_recovery",
    "order.created": "cod_lifecycle",
    "order.confirmed": "cod_lifecycle",
    "order.updated": "cod_lifecycle",
    "order.fulfillment_updated": "cod_lifecycle",
    "order.completed": "cod_lifecycle",
    "order.canceled": "cancel",
    "order.approval_requested": "b2b_approved",
    "order.approval_recorded": "b2b_approved",
    "order.approved": "b2b_approved",
    "order.declined": "b2b_declined",
    "payment.authorized": "card_payment",
    "payment.authorized_failed": "card_payment",
    "payment.captured": "card_payment",
    "payment.captured_failed": "card_payment",
    "payment.refunded": "card_payment",
    "payment.refunded_failed": "card_payment",
    "payment.voided": "void",
    "payment.voided_failed": "void",
    "invoice.issued": "cod_lifecycle",
    "invoice.paid": "cod_lifecycle",
    "invoice.voided": "cancel",
    "supplier_order.created": "cod_lifecycle",
    "supplier_order.updated": "cod_lifecycle",
    "supplier_order.acknowledged": "cod_lifecycle",
    "supplier_order.canceled": "cancel",
    "product.stock_changed": "stock",
    "webhook.test": "test_event",
    "webhook_endpoint.disabled": "endpoint_disabled",
    "webhook_endpoint.enabled": "endpoint_disabled",
    **{f"shipment.{verb}": "shipments_and_returns"
       for verb in ("created", "shipped", "delivered", "canceled")},
    **{f"return.{verb}": "shipments_and_returns"
       for verb in ("requested", "authorized", "rejected", "received", "refunded", "closed")},
    **{f"quote.{verb}": "quote_negotiation"
       for verb in ("requested", "created", "revised", "submitted", "approval_recorded",
                    "approved", "changes_requested", "sent", "accepted", "converted")},
    "quote.declined": "quote_declines",
    "quote.withdrawn": "quote_declines",
    "quote.conversion_failed": "quote_conversion_failed",
    "quote.expiring": "quote_expiry",
    "quote.expired": "quote_expiry",
}
# Catalogued types no service emits yet, with the reason (none today).
NOT_EMITTED_YET: dict[str, str] = {}

# Events are plain JSON once written, so each scenario runs once per session and later tests
# read what it emitted.
_EMITTED: dict[str, list[dict]] = {}


def emitted_by(scenario: str, request) -> list[dict]:
    if scenario not in _EMITTED:
        shop = request.getfixturevalue("shop")
        before = OutboxEvent.objects.aggregate(last=Max("id"))["last"] or 0
        SCENARIOS[scenario](shop)
        _EMITTED[scenario] = [
            {"type": e.type, "payload": e.payload,
             "channel": e.channel.code if e.channel_id else None,
             "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id}
            for e in OutboxEvent.objects.filter(id__gt=before).select_related("channel")
            .order_by("id")
        ]
    return _EMITTED[scenario]


def events_of(event_type: str, request) -> list[dict]:
    events = [e for e in emitted_by(SHOWN_BY[event_type], request) if e["type"] == event_type]
    assert events, f"scenario {SHOWN_BY[event_type]!r} emitted no {event_type}"
    return events


# --- contract tests ----------------------------------------------------------------------------

def test_every_catalogued_type_has_a_scenario_or_a_reason():
    assert set(SHOWN_BY) | set(NOT_EMITTED_YET) == set(EVENT_TYPES)
    assert not set(SHOWN_BY) & set(NOT_EMITTED_YET)


# Where each family's public id sits in ``data``: the outbox row's aggregate id, which the
# delivery log searches.
AGGREGATE_ID = {
    "order": "id", "cart": "id", "invoice": "id", "supplier_order": "id",
    "payment": "payment.id", "product": "product_id", "webhook": None,
    "shipment": "id", "return": "id", "quote": "id", "webhook_endpoint": "endpoint_id",
}


@pytest.mark.parametrize("event_type", sorted(SHOWN_BY))
def test_payload_contract(event_type, request):
    family = event_type.split(".", 1)[0]
    for event in events_of(event_type, request):
        data = event["payload"]
        check(data, schema_of(event_type))
        check_expectations(event_type, data)
        if "channel" in data:
            assert data["channel"] == "ECOMMERCE"
            # A quote request has no currency of its own (its target prices are the company's).
            assert data.get("currency", "JMD") == "JMD"
        # An endpoint's channel filter reads the row's channel: the order's (or cart's), and
        # none for stock, which is not per channel.
        expected_channel = None if family in ("product", "webhook", "webhook_endpoint") \
            else "ECOMMERCE"
        assert event["channel"] == expected_channel
        if AGGREGATE_ID[family]:
            value = data
            for part in AGGREGATE_ID[family].split("."):
                value = value[part]
            assert event["aggregate_id"] == value


def test_failed_payment_events_carry_the_payment_unchanged(request):
    """A refused transaction is reported, but the sums on the payment do not move."""
    events = emitted_by("card_payment", request)
    sequence = [(e["type"], e["payload"]["payment"]["captured"],
                 e["payload"]["payment"]["refunded"]) for e in events
                if e["type"].startswith("payment.")]
    assert sequence == [
        ("payment.authorized_failed", "0.00", "0.00"),
        ("payment.authorized", "0.00", "0.00"),
        ("payment.captured_failed", "0.00", "0.00"),
        ("payment.captured", "4649.98", "0.00"),
        ("payment.refunded_failed", "4649.98", "0.00"),
        ("payment.refunded", "4649.98", "500.00"),
    ]


def test_every_type_the_services_emit_is_catalogued(request):
    seen = set()
    for scenario in SCENARIOS:
        for event in emitted_by(scenario, request):
            assert event["type"] in EVENT_TYPES, f"{event['type']} is not in EVENT_TYPES"
            check(event["payload"], schema_of(event["type"]), f"{event['type']}.data")
            seen.add(event["type"])
    assert seen == set(SHOWN_BY), f"not emitted by any scenario: {set(SHOWN_BY) - seen}"


# --- the envelope and the request --------------------------------------------------------------

@override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"])
def test_envelope_contract(shop):
    endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hooks",
                                                event_types=["*"])
    cod_order(shop)
    webhooks.outbox_dispatch()
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint)
                      .select_related("event").order_by("sequence"))
    # The order the guide's "Ordering" section describes: supplier orders before the order.
    assert [d.event_type for d in deliveries] == [
        "cart.created", "supplier_order.created", "supplier_order.created", "order.created",
        "order.confirmed"]
    assert [d.sequence for d in deliveries] == list(range(1, len(deliveries) + 1))
    for delivery in deliveries:
        raw = webhooks.webhook_body(delivery)
        body = json.loads(raw)
        assert list(body) == ["id", "type", "created_at", "sequence", "data"]
        check(body, {"id": public_id("evt"), "type": str, "created_at": TIMESTAMP,
                     "sequence": int, "data": dict}, "envelope")
        assert body["id"] == delivery.event.public_id
        assert body["type"] == delivery.event.type
        assert body["sequence"] == delivery.sequence
        assert body["data"] == delivery.event.payload
        created = datetime.fromisoformat(body["created_at"])
        assert created.utcoffset() == timedelta(0)
        assert abs(created - delivery.event.created_at) < timedelta(milliseconds=1)
        check(body["data"], schema_of(body["type"]))


@override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"])
def test_request_headers_are_the_documented_ones_and_verify(shop):
    endpoint = webhooks.webhook_endpoint_create(
        url="http://127.0.0.1:9/hooks", event_types=["cart.*"],
        custom_headers={"X-Tenant": "shop-1"})
    endpoint = webhooks.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=STAFF)
    shop.client(shop.secret).post("/api/v1/carts", {"email": "sasha@example.com"},
                                  format="json")
    webhooks.outbox_dispatch()
    _, batch = webhooks.deliveries_claim(endpoint_id=endpoint.pk)
    (delivery,) = batch
    body = webhooks.webhook_body(delivery)
    headers = webhooks.webhook_headers(endpoint, delivery, body, timestamp=int(time.time()))

    assert set(headers) - {"X-Tenant"} == documented_headers()
    assert headers["webhook-id"] == json.loads(body)["id"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == outbound.USER_AGENT
    assert headers["x-orderflow-attempt"] == "1"
    assert headers["x-orderflow-delivery-id"] == delivery.public_id
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    # Each secret verifies on its own: a receiver that still has the old one keeps working.
    for secret in (endpoint.secret, endpoint.previous_secret):
        assert Webhook(secret).verify(body, headers)["id"] == headers["webhook-id"]


# --- docs/webhooks.md --------------------------------------------------------------------------

def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def doc_section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", doc_text(), re.M | re.S)
    assert match, f"docs/webhooks.md has no '## {title}' section"
    return match.group(1)


def documented_headers() -> set[str]:
    return set(re.findall(r"^\| `([a-z-]+)` \|", doc_section("The request"), re.M))


def documented_examples() -> dict[str, str | None]:
    """``### <type>`` heading → the first json block under it (None when it has none)."""
    section = doc_section("Event types")
    examples = {}
    for match in re.finditer(r"^### `?([a-z_]+\.[a-z_]+)`?\s*\n(.*?)(?=^### |\Z)", section,
                             re.M | re.S):
        block = re.search(r"```json\n(.*?)```", match.group(2), re.S)
        assert match.group(1) not in examples, f"{match.group(1)} is documented twice"
        examples[match.group(1)] = block.group(1) if block else None
    return examples


def test_every_catalogued_type_is_documented_and_nothing_else():
    documented = set(documented_examples())
    assert set(EVENT_TYPES) - set(NOT_EMITTED_YET) <= documented, \
        f"not in docs/webhooks.md: {sorted(set(EVENT_TYPES) - documented)}"
    assert documented <= set(EVENT_TYPES), \
        f"documented but not catalogued: {sorted(documented - set(EVENT_TYPES))}"


@pytest.mark.parametrize("event_type", sorted(SHOWN_BY))
def test_doc_example_matches_what_the_service_emits(event_type, request):
    raw = documented_examples().get(event_type)
    assert raw is not None, f"docs/webhooks.md: ### {event_type} has no ```json example"
    example = json.loads(raw)
    check(example, {"id": public_id("evt"), "type": str, "created_at": TIMESTAMP,
                    "sequence": int, "data": dict}, f"{event_type} example")
    assert example["type"] == event_type
    schema = schema_of(event_type)
    check(example["data"], schema, f"{event_type} example.data")
    check_expectations(event_type, example["data"])
    real = events_of(event_type, request)[-1]["payload"]
    assert key_paths(example["data"], schema) == key_paths(real, schema)


def test_doc_states_the_codes_rules_and_defaults():
    text = " ".join(doc_text().split())
    assert config.RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert "5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h" in text
    assert "`5,300,1800,7200,18000,36000,36000`" in text
    assert settings.ORDERFLOW_WEBHOOK_RETRY_JITTER == 0.2 and "±20 %" in text
    assert webhooks.RETRYABLE_CLIENT_ERRORS == {408, 409, 425, 429}
    assert "408, 409, 425 and 429" in text
    assert settings.ORDERFLOW_WEBHOOK_DISABLE_AFTER == timedelta(days=5)
    assert "failing for 5 days" in text
    assert settings.ORDERFLOW_SECRET_ROTATION_GRACE == timedelta(hours=24)
    assert "grace in hours, default 24" in text
    assert outbound.USER_AGENT in text
    endpoint = WebhookEndpoint()
    for field, shown in [("timeout_seconds", "`10`"), ("max_attempts", "`8`"),
                         ("ordering", "`parallel`"), ("retry_client_errors", "`false`")]:
        assert json.dumps(getattr(endpoint, field)).strip('"') in shown
        assert f"| `{field}` | {shown} |" in text


# --- the guide's code, run as written ----------------------------------------------------------

def doc_code(first_line: str) -> str:
    """The guide's fenced code block whose first line is ``first_line`` (its file name)."""
    for match in re.finditer(r"```(?:python|js)\n(.*?)```", doc_text(), re.S):
        if match.group(1).startswith(first_line):
            return match.group(1)
    pytest.fail(f"docs/webhooks.md has no code block starting with {first_line!r}")


@pytest.fixture
def signed(shop):
    """A real request signed during a secret rotation: the event id, and (secret, body,
    headers, accepted) cases a verifier must get right."""
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]):
        endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hooks",
                                                    event_types=["cart.created"])
    endpoint = webhooks.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=STAFF)
    shop.client(shop.secret).post("/api/v1/carts", {"metadata": {"note": "Café ☕"}},
                                  format="json")
    webhooks.outbox_dispatch()
    _, (delivery,) = webhooks.deliveries_claim(endpoint_id=endpoint.pk)
    body = webhooks.webhook_body(delivery)
    now = int(time.time())
    headers = webhooks.webhook_headers(endpoint, delivery, body, timestamp=now)
    stale = webhooks.webhook_headers(endpoint, delivery, body, timestamp=now - 6 * 60)
    other = webhooks.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=STAFF)
    cases = [  # (secret, body, headers, accepted)
        (endpoint.secret, body, headers, True),
        (endpoint.previous_secret, body, headers, True),
        (endpoint.secret, body.replace(b'"cart.created"', b'"cart.createe"'), headers, False),
        (other.secret, body, headers, False),  # a secret that never signed it
        (endpoint.secret, body, stale, False),  # outside the 5 minute tolerance
        (endpoint.secret, body, {k: v for k, v in headers.items()
                                 if k != "webhook-signature"}, False),
    ]
    return json.loads(body)["id"], cases


def test_doc_stdlib_verifier(signed):
    event_id, cases = signed
    namespace: dict = {}
    exec(doc_code("# verify_webhook.py"), namespace)  # noqa: S102 - the guide's own code
    for secret, body, headers, accepted in cases:
        if accepted:
            assert namespace["verify_webhook"](secret, headers, body)["id"] == event_id
        else:
            with pytest.raises(ValueError):
                namespace["verify_webhook"](secret, headers, body)


def test_doc_standardwebhooks_view(signed, monkeypatch):
    from django.test import RequestFactory

    event_id, cases = signed
    for secret, body, headers, accepted in cases:
        monkeypatch.setenv("ORDERFLOW_WEBHOOK_SECRET", secret)
        handled: list = []
        namespace: dict = {"handle": handled.append}
        exec(doc_code("# views.py"), namespace)  # noqa: S102 - the guide's own code
        request = RequestFactory().post("/hooks/orderflow", data=body,
                                        content_type="application/json",
                                        headers={k: v for k, v in headers.items()
                                                 if k != "content-type"})
        response = namespace["orderflow_webhook"](request)
        assert response.status_code == (204 if accepted else 401)
        assert [e["id"] for e in handled] == ([event_id] if accepted else [])


@pytest.mark.skipif(not shutil.which("node"), reason="needs node")
def test_doc_node_verifier(signed, tmp_path):
    event_id, cases = signed
    (tmp_path / "verify-webhook.js").write_text(doc_code("// verify-webhook.js"))
    (tmp_path / "run.js").write_text(
        'const { verifyWebhook } = require("./verify-webhook");\n'
        'const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));\n'
        "console.log(JSON.stringify(cases.map((c) => {\n"
        '  try { return verifyWebhook(c.secret, c.headers, Buffer.from(c.body, "base64")).id; }\n'
        "  catch (err) { return null; }\n"
        "})));\n")
    payload = json.dumps([{"secret": s, "headers": h, "body": base64.b64encode(b).decode()}
                          for s, b, h, _ in cases])
    result = subprocess.run(["node", "run.js"], cwd=tmp_path, input=payload, text=True,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [event_id if ok else None for *_, ok in cases]


@pytest.fixture
def doc_receiver(tmp_path):
    """The guide's receiver.py, running on a free port with the secret it is given."""
    script = tmp_path / "receiver.py"
    script.write_text(doc_code("# receiver.py"))
    started = []

    def start(secret: str) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, str(script), str(port)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "ORDERFLOW_WEBHOOK_SECRET": secret})
        started.append(process)
        assert process.stdout.readline().startswith("listening on"), "receiver did not start"
        return f"http://127.0.0.1:{port}/hooks/orderflow"

    yield start, started
    for process in started:
        process.kill()
        process.wait(timeout=10)


@override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"])
def test_doc_receiver_gets_verifies_and_deduplicates(shop, doc_receiver):
    start, processes = doc_receiver
    endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hooks",
                                                event_types=["cart.*"])
    url = start(endpoint.secret)
    endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, url=url)
    stranger = webhooks.webhook_endpoint_create(url=url, event_types=["cart.*"])  # other secret
    webhooks.webhook_endpoint_send_test(endpoint=endpoint, actor=STAFF)
    shop.client(shop.secret).post("/api/v1/carts", {"email": "sasha@example.com"},
                                  format="json")
    webhooks.outbox_dispatch()
    for target in (endpoint, stranger):
        webhooks.endpoint_deliver_due(target.pk)

    mine = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("sequence")
    assert [(d.event_type, d.status) for d in mine] == [
        ("webhook.test", "succeeded"), ("cart.created", "succeeded")]
    refused = WebhookDelivery.objects.get(endpoint=stranger)
    assert (refused.status, refused.last_status_code) == ("dead", 401)
    # A replay reaches the receiver again with the same webhook-id; it answers 2xx, once.
    webhooks.webhook_delivery_replay(delivery=mine.last(), actor=STAFF)
    webhooks.endpoint_deliver_due(endpoint.pk)
    assert mine.last().status == "succeeded" and mine.last().attempts == 2

    processes[0].kill()
    output = processes[0].communicate(timeout=10)[0].splitlines()
    assert [line.split()[1] for line in output if not line.startswith("refused")] == [
        "webhook.test", "cart.created"]
    assert [line for line in output if line.startswith("refused")] == [
        "refused: no matching signature"]
