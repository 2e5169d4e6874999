"""How an order is shown to API clients — the orders REST API, checkout (carts.api) and the
bridge (bridges.hmac) — by serializers whose declared fields produce the output.

The ``order.*`` webhooks carry ``orders.events.order_payload``, a builder of its own: today the
two shapes are the same, and each is pinned by its contract tests (tests/orders,
tests/bridges/test_webhook_payloads.py).
"""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_attribute

from orderflow.money import format_amount


class AddressSerializer(serializers.Serializer):
    """A postal address, as carts and orders accept and show it."""

    full_name = serializers.CharField(max_length=200)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166 alpha-2, e.g. JM.")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)

    def validate_country(self, value):
        return value.upper()


@extend_schema_field(AddressSerializer)
class AddressSnapshotField(serializers.DictField):
    """The address stored on the order when it was placed (or imported), shown as stored."""


class AmountField(serializers.CharField):
    """Money as a string with exactly its currency's minor digits (``"12.50"``); the currency
    is read from the same object, at the dotted path ``currency``."""

    def __init__(self, *, currency: str = "currency", **kwargs):
        self.currency_attrs = currency.split(".")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        return None if amount is None else (amount, get_attribute(instance, self.currency_attrs))

    def to_representation(self, value):
        amount, currency = value
        return format_amount(amount, currency)


class OptionalCharField(serializers.CharField):
    """Text that is null when blank."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return str(value) if value else None


class UTCDateTimeField(serializers.DateTimeField):
    """A timestamp in UTC (``…Z``), whatever the server's TIME_ZONE."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class OrderLineSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    order_uom = OptionalCharField()
    order_quantity = serializers.IntegerField(allow_null=True)
    quantity_shipped = serializers.IntegerField()
    unit_price = AmountField(currency="order.currency")
    line_subtotal = AmountField(currency="order.currency")
    tax_rate = serializers.CharField()
    tax_amount = AmountField(currency="order.currency")
    line_total = AmountField(currency="order.currency")
    metadata = serializers.DictField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    kind = serializers.CharField()
    reference = OptionalCharField()
    amount = AmountField(currency="order.currency")
    currency = serializers.CharField()
    status = serializers.CharField()
    captured = AmountField(source="amount_captured", currency="order.currency")
    refunded = AmountField(source="amount_refunded", currency="order.currency")
    refund_owed = AmountField(currency="order.currency",
                              help_text="Money still to give back to the buyer.")
    amount_due = AmountField(currency="order.currency",
                             help_text="Money still to collect beyond amount.")


class ShipmentLineSerializer(serializers.Serializer):
    line_id = serializers.CharField(source="order_line.public_id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField()


class ShipmentSerializer(serializers.Serializer):
    """A shipment of an order (``order.shipments``: the fulfillment app's rows, read through
    the reverse relation, so orders imports nothing of fulfillment): what went in which
    parcel, with which carrier and tracking."""

    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    carrier = OptionalCharField()
    service = OptionalCharField()
    tracking_number = OptionalCharField()
    tracking_url = OptionalCharField()
    weight_grams = serializers.IntegerField(allow_null=True)
    lines = ShipmentLineSerializer(many=True, source="lines.all")
    created_at = UTCDateTimeField()
    shipped_at = UTCDateTimeField(allow_null=True)
    delivered_at = UTCDateTimeField(allow_null=True)
    canceled_at = UTCDateTimeField(allow_null=True)


class OrderSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    customer_id = serializers.CharField(source="customer.public_id", allow_null=True)
    company_id = serializers.CharField(source="company.public_id", allow_null=True)
    email = serializers.CharField()
    currency = serializers.CharField()
    subtotal = AmountField()
    tax_total = AmountField()
    shipping_total = AmountField()
    total = AmountField()
    shipping_method = OptionalCharField(source="shipping_method_name")
    shipping_address = AddressSnapshotField(allow_null=True)
    billing_address = AddressSnapshotField(allow_null=True)
    lines = OrderLineSerializer(many=True, source="lines.all")
    payments = PaymentSerializer(many=True, source="payments.all")
    notes = serializers.CharField()
    external_reference = OptionalCharField(
        help_text="The order's id in the system it was imported from.")
    metadata = serializers.DictField()
    approval_levels = serializers.ListField(child=serializers.IntegerField())
    cancel_reason = OptionalCharField()
    decline_reason = OptionalCharField()
    placed_at = UTCDateTimeField()
    confirmed_at = UTCDateTimeField(allow_null=True)
    approved_at = UTCDateTimeField(allow_null=True)
    declined_at = UTCDateTimeField(allow_null=True)
    completed_at = UTCDateTimeField(allow_null=True)
    canceled_at = UTCDateTimeField(allow_null=True)
    exported_at = UTCDateTimeField(allow_null=True)


class DefaultTakenSerializer(serializers.Serializer):
    value = serializers.CharField(allow_null=True,
                                  help_text="What was taken: a code, an address id, a kind.")
    source = serializers.CharField(help_text="Where from: channel, customer, company, "
                                             "company_terms, shipping_address.")
    detail = serializers.CharField()


class DefaultsField(serializers.DictField):
    """What a cart or a checkout took by default, by field (``shipping_method``,
    ``shipping_address``, ``billing_address``, ``payment``)."""

    def __init__(self, **kwargs):
        super().__init__(child=DefaultTakenSerializer(), **kwargs)


class CheckoutOrderSerializer(OrderSerializer):
    """The order checkout placed, with the defaults it took (from the converted cart)."""

    defaults = DefaultsField(source="cart.defaults")


class OrderWithShipmentsSerializer(OrderSerializer):
    """An order with its shipments and tracking: what the bridge's ``order.get`` answers."""

    shipments = ShipmentSerializer(many=True, source="shipments.all")
