"""Order API shapes. Outputs are the webhook payload builders of ``orders.events`` (so the
API and the webhooks never drift); the declared fields document them in the schema. Inputs
whitelist what a client may send."""

from rest_framework import serializers

from carts.api.serializers import AddressSerializer, CartLineAddInput
from orderflow.money import format_amount
from orders.constants import CancelReason
from orders.events import invoice_payload, order_payload, supplier_order_payload


class OrderLineSerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    order_uom = serializers.CharField(allow_null=True)
    order_quantity = serializers.IntegerField(allow_null=True)
    quantity_shipped = serializers.IntegerField()
    unit_price = serializers.CharField()
    line_subtotal = serializers.CharField()
    tax_rate = serializers.CharField()
    tax_amount = serializers.CharField()
    line_total = serializers.CharField()
    metadata = serializers.DictField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    reference = serializers.CharField(allow_null=True)
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    captured = serializers.CharField()
    refunded = serializers.CharField()
    refund_owed = serializers.CharField(help_text="Money still to give back to the buyer.")
    amount_due = serializers.CharField(help_text="Money still to collect beyond amount.")


class OrderSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    channel = serializers.CharField()
    customer_id = serializers.CharField(allow_null=True)
    company_id = serializers.CharField(allow_null=True)
    email = serializers.CharField()
    currency = serializers.CharField()
    subtotal = serializers.CharField()
    tax_total = serializers.CharField()
    shipping_total = serializers.CharField()
    total = serializers.CharField()
    shipping_method = serializers.CharField(allow_null=True)
    shipping_address = AddressSerializer(allow_null=True)
    billing_address = AddressSerializer(allow_null=True)
    notes = serializers.CharField()
    external_reference = serializers.CharField(
        allow_null=True, help_text="The order's id in the system it was imported from.")
    lines = OrderLineSerializer(many=True)
    payments = PaymentSerializer(many=True)
    metadata = serializers.DictField()
    approval_levels = serializers.ListField(child=serializers.IntegerField())
    cancel_reason = serializers.CharField(allow_null=True)
    decline_reason = serializers.CharField(allow_null=True)
    placed_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    declined_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    exported_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, order):
        # The API shows an order exactly as the order.* webhooks carry it.
        return order_payload(order)


class TransactionSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    result = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class PaymentDetailSerializer(PaymentSerializer):
    transactions = TransactionSerializer(many=True)


class ApprovalSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    decision = serializers.CharField()
    by = serializers.CharField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()


class InvoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    order_id = serializers.CharField()
    order_number = serializers.CharField()
    company_id = serializers.CharField(allow_null=True)
    customer_id = serializers.CharField(allow_null=True)
    amount = serializers.CharField()
    currency = serializers.CharField()
    issued_at = serializers.DateTimeField()
    due_date = serializers.DateField()
    paid_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, invoice):
        data = invoice_payload(invoice)
        data["due_date"] = invoice.due_date.isoformat()
        return data


class SupplierOrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class SupplierOrderSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    supplier = serializers.CharField()
    order_id = serializers.CharField()
    order_number = serializers.CharField()
    shipping_method = serializers.CharField(allow_null=True)
    shipping_address = AddressSerializer(allow_null=True)
    lines = SupplierOrderLineSerializer(many=True)
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, so):
        return supplier_order_payload(so)


class OrderDetailSerializer(OrderSerializer):
    """One order with its payments' transactions, invoices, approvals and supplier orders."""

    payments = PaymentDetailSerializer(many=True)
    invoices = InvoiceSerializer(many=True)
    approvals = ApprovalSerializer(many=True)
    supplier_orders = SupplierOrderSerializer(many=True)

    def to_representation(self, order):
        data = order_payload(order)
        txs = {p.public_id: p.transactions.all() for p in order.payments.all()}
        for payment in data["payments"]:
            payment["transactions"] = [
                {"id": t.public_id, "kind": t.kind, "result": t.result,
                 "amount": format_amount(t.amount, t.currency), "currency": t.currency,
                 "reference": t.reference or None, "message": t.message,
                 "occurred_at": t.occurred_at}
                for t in txs[payment["id"]]
            ]
        for invoice in order.invoices.all():
            invoice.order = order
        data["invoices"] = [InvoiceSerializer(i).data for i in order.invoices.all()]
        data["approvals"] = [
            {"level": a.level, "decision": a.decision, "by": a.actor_label,
             "comment": a.comment, "at": a.created_at}
            for a in order.approvals.all()
        ]
        for so in order.supplier_orders.all():
            so.order = order
        data["supplier_orders"] = [supplier_order_payload(so)
                                   for so in order.supplier_orders.all()]
        return data


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
