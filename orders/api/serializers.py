"""Order API shapes. Outputs are the webhook payload builders of ``orders.events`` (so the
API and the webhooks never drift); the declared fields document them in the schema. Inputs
whitelist what a client may send."""

from rest_framework import serializers

from carts.api.serializers import AddressSerializer
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
