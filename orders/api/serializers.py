from rest_framework import serializers

from carts.api.serializers import AddressSerializer
from orders.events import order_payload


class OrderLineSerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    order_uom = serializers.CharField(allow_null=True)
    order_quantity = serializers.IntegerField(allow_null=True)
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
    placed_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    declined_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, order):
        # The API shows an order exactly as the order.* webhooks carry it.
        return order_payload(order)
