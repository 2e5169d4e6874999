"""Order API shapes. An order is shown by ``orders.presenters.OrderSerializer`` (shared with
checkout and the bridge); its detail adds what only this API shows. Each output serializer's
declared fields produce its output; the webhooks' payloads are built apart, in
``orders.events``. Inputs whitelist what a client may send."""

from decimal import ROUND_HALF_UP, Decimal

from rest_framework import serializers

from carts.presenters import CartLineAddInput
from orderflow.money import exponent, to_decimal
from orders.constants import CancelReason
from orders.presenters import (
    AddressSerializer,
    AddressSnapshotField,
    AmountField,
    OptionalCharField,
    OrderSerializer,
    PaymentSerializer,
    ShipmentSerializer,
    UTCDateTimeField,
)


class TransactionSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    kind = serializers.CharField()
    result = serializers.CharField()
    amount = AmountField()
    currency = serializers.CharField()
    reference = OptionalCharField()
    message = serializers.CharField()
    occurred_at = UTCDateTimeField()


class PaymentDetailSerializer(PaymentSerializer):
    transactions = TransactionSerializer(many=True, source="transactions.all")


class ApprovalSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    decision = serializers.CharField()
    by = serializers.CharField(source="actor_label")
    comment = serializers.CharField()
    at = UTCDateTimeField(source="created_at")


class InvoiceSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    order_id = serializers.CharField(source="order.public_id")
    order_number = serializers.CharField(source="order.number")
    company_id = serializers.CharField(source="company.public_id", allow_null=True)
    customer_id = serializers.CharField(source="customer.public_id", allow_null=True)
    amount = AmountField()
    currency = serializers.CharField()
    issued_at = UTCDateTimeField()
    due_date = serializers.DateField()
    paid_at = UTCDateTimeField(allow_null=True)
    voided_at = UTCDateTimeField(allow_null=True)


class SupplierOrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class SupplierOrderSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    supplier = serializers.CharField(source="supplier.code")
    order_id = serializers.CharField(source="order.public_id")
    order_number = serializers.CharField(source="order.number")
    shipping_method = OptionalCharField(source="order.shipping_method_name")
    shipping_address = AddressSnapshotField(source="order.shipping_address", allow_null=True)
    lines = SupplierOrderLineSerializer(many=True, source="lines.all")
    created_at = UTCDateTimeField()
    acknowledged_at = UTCDateTimeField(allow_null=True)
    canceled_at = UTCDateTimeField(allow_null=True)


class OrderDetailSerializer(OrderSerializer):
    """One order with its payments' transactions, invoices, approvals, supplier orders and
    shipments (with tracking)."""

    payments = PaymentDetailSerializer(many=True, source="payments.all")
    invoices = InvoiceSerializer(many=True, source="invoices.all")
    approvals = ApprovalSerializer(many=True, source="approvals.all")
    supplier_orders = SupplierOrderSerializer(many=True, source="supplier_orders.all")
    shipments = ShipmentSerializer(many=True, source="shipments.all")


# --- the list --------------------------------------------------------------------------------

_TIMESTAMP = UTCDateTimeField()


def _timestamp(value):
    return None if value is None else _TIMESTAMP.to_representation(value)


def _amount(value, exp: Decimal):
    """``format_amount`` with the currency's exponent looked up once per order."""
    return None if value is None else str(to_decimal(value).quantize(exp,
                                                                      rounding=ROUND_HALF_UP))


def _optional(value):
    return str(value) if value else None


def _dict(value):
    return None if value is None else {str(key): item for key, item in value.items()}


def _line(line, exp: Decimal) -> dict:
    return {
        "id": str(line.public_id), "sku": str(line.sku), "name": str(line.name),
        "quantity": int(line.quantity), "order_uom": _optional(line.order_uom),
        "order_quantity": None if line.order_quantity is None else int(line.order_quantity),
        "quantity_shipped": int(line.quantity_shipped),
        "unit_price": _amount(line.unit_price, exp),
        "line_subtotal": _amount(line.line_subtotal, exp),
        "tax_rate": str(line.tax_rate), "tax_amount": _amount(line.tax_amount, exp),
        "line_total": _amount(line.line_total, exp), "metadata": _dict(line.metadata),
    }


def _payment(payment, exp: Decimal) -> dict:
    return {
        "id": str(payment.public_id), "kind": str(payment.kind),
        "reference": _optional(payment.reference), "amount": _amount(payment.amount, exp),
        "currency": str(payment.currency), "status": str(payment.status),
        "captured": _amount(payment.amount_captured, exp),
        "refunded": _amount(payment.amount_refunded, exp),
        "refund_owed": _amount(payment.refund_owed, exp),
        "amount_due": _amount(payment.amount_due, exp),
    }


def _prefetched(order, to_attr: str, related: str):
    """The list ``orders.selectors.order_list`` prefetched into ``to_attr``, else the
    related manager's rows."""
    rows = getattr(order, to_attr, None)
    return getattr(order, related).all() if rows is None else rows


class OrderListSerializer(OrderSerializer):
    """The orders of a list page in exactly ``OrderSerializer``'s shape — the same declared
    fields, so the same schema and the same JSON, lines and payments included — built by
    plain functions instead of DRF's walk over every field of every order, line and payment
    (a page of 50 costs a fraction of it: docs/analytics.md, Performance).
    tests/orders/test_list_cost.py holds the two outputs equal, key by key and in order."""

    def to_representation(self, order):
        currency = order.currency
        exp = exponent(currency)
        customer, company = order.customer, order.company
        return {
            "id": str(order.public_id), "number": str(order.number),
            "status": str(order.status), "payment_status": str(order.payment_status),
            "fulfillment_status": str(order.fulfillment_status),
            "channel": str(order.channel.code),
            "customer_id": None if customer is None else str(customer.public_id),
            "company_id": None if company is None else str(company.public_id),
            "email": str(order.email), "currency": str(currency),
            "subtotal": _amount(order.subtotal, exp),
            "tax_total": _amount(order.tax_total, exp),
            "shipping_total": _amount(order.shipping_total, exp),
            "total": _amount(order.total, exp),
            "shipping_method": _optional(order.shipping_method_name),
            "shipping_address": _dict(order.shipping_address),
            "billing_address": _dict(order.billing_address),
            "lines": [_line(line, exp)
                      for line in _prefetched(order, "page_lines", "lines")],
            "payments": [_payment(payment, exp)
                         for payment in _prefetched(order, "page_payments", "payments")],
            "notes": str(order.notes),
            "external_reference": _optional(order.external_reference),
            "metadata": _dict(order.metadata),
            "approval_levels": None if order.approval_levels is None else [
                None if level is None else int(level) for level in order.approval_levels],
            "cancel_reason": _optional(order.cancel_reason),
            "decline_reason": _optional(order.decline_reason),
            "placed_at": _timestamp(order.placed_at),
            "confirmed_at": _timestamp(order.confirmed_at),
            "approved_at": _timestamp(order.approved_at),
            "declined_at": _timestamp(order.declined_at),
            "completed_at": _timestamp(order.completed_at),
            "canceled_at": _timestamp(order.canceled_at),
            "exported_at": _timestamp(order.exported_at),
        }


# --- inputs ----------------------------------------------------------------------------------

class CommentInput(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                    default="")


class DeclineInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CancelInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=CancelReason.choices, default=CancelReason.STAFF)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class TransactionInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=4, required=False,
                                      min_value=0, help_text="Default: the whole balance.")
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                      default="", help_text="The provider's operation id.")
    occurred_at = serializers.DateTimeField(required=False)
    result = serializers.ChoiceField(choices=["succeeded", "failed"], default="succeeded")
    message = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                    default="")


class OrderIdsInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1,
                                max_length=500)


class MarkedExportedSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.CharField())
    exported_at = serializers.DictField(child=serializers.DateTimeField())


class InvoicePaidInput(serializers.Serializer):
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                      default="")
    occurred_at = serializers.DateTimeField(required=False)


# --- edits -----------------------------------------------------------------------------------

class EditAddLineInput(CartLineAddInput):
    """A new line: the same shape and rules as adding a line to a cart."""


class EditUpdateLineInput(serializers.Serializer):
    id = serializers.CharField(max_length=40, help_text="The order line id (ol_…).")
    quantity = serializers.IntegerField(min_value=1, required=False,
                                        help_text="New quantity in base units.")
    order_quantity = serializers.IntegerField(
        min_value=1, required=False, help_text="New quantity in the line's order unit.")

    def validate(self, attrs):
        if ("quantity" in attrs) == ("order_quantity" in attrs):
            raise serializers.ValidationError("Send quantity or order_quantity.")
        return attrs


class OrderEditInput(serializers.Serializer):
    """The changes wanted; at least one. Lines that are not named stay as they are."""

    add_lines = EditAddLineInput(many=True, required=False)
    update_lines = EditUpdateLineInput(many=True, required=False)
    remove_lines = serializers.ListField(child=serializers.CharField(max_length=40),
                                         required=False, help_text="Order line ids.")
    shipping_address = AddressSerializer(required=False)
    billing_address = AddressSerializer(required=False)
    shipping_method = serializers.CharField(max_length=40, required=False,
                                            help_text="A shipping method code.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                 default="")

    def validate(self, attrs):
        if not any(k in attrs for k in ("add_lines", "update_lines", "remove_lines",
                                         "shipping_address", "billing_address",
                                         "shipping_method")):
            raise serializers.ValidationError("Nothing to change.")
        return attrs


class EditPreviewLineSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="Null for an added line.")
    sku = serializers.CharField()
    name = serializers.CharField()
    change = serializers.ChoiceField(choices=["unchanged", "changed", "added", "removed"])
    quantity = serializers.IntegerField()
    quantity_before = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    order_uom = serializers.CharField(allow_null=True)
    order_quantity = serializers.IntegerField(allow_null=True)
    unit_price = serializers.CharField()
    price_source = serializers.CharField()
    tax_rate = serializers.CharField()
    line_subtotal = serializers.CharField()
    tax_amount = serializers.CharField()
    line_total = serializers.CharField()


class EditTotalsSerializer(serializers.Serializer):
    subtotal = serializers.CharField()
    tax_total = serializers.CharField()
    shipping_total = serializers.CharField()
    total = serializers.CharField()


class EditBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    paid = serializers.CharField(help_text="Captured minus refunded, over all payments.")
    total_before = serializers.CharField()
    total_after = serializers.CharField()
    difference = serializers.CharField(help_text="total_after − total_before.")
    to_collect = serializers.CharField(help_text="total_after − paid, when positive.")
    to_refund = serializers.CharField(help_text="paid − total_after, when positive.")
    amount_due = serializers.CharField(
        help_text="The part of to_collect no payment's amount covers yet (recorded as "
                  "payments[].amount_due).")


class EditPreviewSerializer(serializers.Serializer):
    lines = EditPreviewLineSerializer(many=True)
    totals = serializers.DictField(child=EditTotalsSerializer(), help_text="before, after")
    stock = serializers.ListField(child=serializers.DictField(),
                                  help_text='[{"sku", "reserve"} or {"sku", "release"}]')
    balance = EditBalanceSerializer()
    shipping_method = serializers.DictField(allow_null=True, help_text="old/new if changed")
    shipping_address = serializers.DictField(allow_null=True, help_text="old/new if changed")
    billing_address = serializers.DictField(allow_null=True, help_text="old/new if changed")
    problems = serializers.ListField(
        child=serializers.DictField(),
        help_text="What would refuse the edit if applied now (insufficient_stock, "
                  "over_credit_limit).")


class OrderEditSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    order_id = serializers.CharField(source="order.public_id")
    status = serializers.CharField()
    changes = serializers.DictField()
    preview = EditPreviewSerializer()
    note = serializers.CharField()
    created_by = serializers.CharField(source="actor_label")
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True)
    discarded_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, edit):
        return {"id": edit.public_id, "order_id": edit.order.public_id, "status": edit.status,
                "changes": edit.changes, "preview": edit.preview, "note": edit.note,
                "created_by": edit.actor_label, "created_at": edit.created_at,
                "applied_at": edit.applied_at, "discarded_at": edit.discarded_at}
