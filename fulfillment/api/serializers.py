"""Shipment and return API shapes. A shipment is shown as the order shows it
(``orders.presenters.ShipmentSerializer``) plus its order and supplier order; inputs
whitelist what a client may send."""

from rest_framework import serializers

from fulfillment.constants import ItemCondition
from orders.presenters import (
    AmountField,
    OptionalCharField,
    ShipmentSerializer,
    UTCDateTimeField,
)


class ShipmentDetailSerializer(ShipmentSerializer):
    order_id = serializers.CharField(source="order.public_id")
    order_number = serializers.CharField(source="order.number")
    supplier_order_id = serializers.CharField(source="supplier_order.public_id",
                                              allow_null=True)
    notes = serializers.CharField()


class ReturnLineSerializer(serializers.Serializer):
    line_id = serializers.CharField(source="order_line.public_id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField()
    reason = serializers.CharField()
    reason_text = OptionalCharField()
    quantity_received = serializers.IntegerField()
    condition = OptionalCharField()
    restock = serializers.BooleanField()


class ReturnEventSerializer(serializers.Serializer):
    type = serializers.CharField()
    message = serializers.CharField()
    by = serializers.CharField(source="actor_label")
    at = UTCDateTimeField(source="created_at")


class ReturnSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    rma_number = serializers.CharField(allow_null=True,
                                       help_text="RMA-000123, once the return is authorized.")
    status = serializers.CharField()
    order_id = serializers.CharField(source="order.public_id")
    order_number = serializers.CharField(source="order.number")
    comment = serializers.CharField()
    instructions = OptionalCharField()
    reject_reason = OptionalCharField()
    refund_method = OptionalCharField(help_text="payment or invoice_credit")
    refund_amount = AmountField()
    currency = serializers.CharField()
    lines = ReturnLineSerializer(many=True, source="lines.all")
    requested_at = UTCDateTimeField(source="created_at")
    authorized_at = UTCDateTimeField(allow_null=True)
    rejected_at = UTCDateTimeField(allow_null=True)
    received_at = UTCDateTimeField(allow_null=True)
    refunded_at = UTCDateTimeField(allow_null=True)
    closed_at = UTCDateTimeField(allow_null=True)


class ReturnDetailSerializer(ReturnSerializer):
    timeline = ReturnEventSerializer(many=True, source="events.all")


# --- inputs ------------------------------------------------------------------------------------

class ShipmentLineInput(serializers.Serializer):
    line_id = serializers.CharField(max_length=40, help_text="An order line id (ol_…).")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class TrackingInput(serializers.Serializer):
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True,
                                    help_text="dhl, fedex, ups, usps, jamaica-post, knutsford "
                                              "get a tracking link by themselves.")
    service = serializers.CharField(max_length=60, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=120, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class ShipmentCreateInput(TrackingInput):
    lines = ShipmentLineInput(many=True, required=False, min_length=1,
                              help_text="Omit to ship every unit not yet in a shipment.")
    supplier_order_id = serializers.CharField(
        max_length=40, required=False,
        help_text="Staff recording a supplier's parcel (a supplier login needs not send it).")
    weight_grams = serializers.IntegerField(min_value=1, required=False)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate_lines(self, value):
        ids = [item["line_id"] for item in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Name each line once.")
        return value


class ShipmentCancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnAuthorizeInput(serializers.Serializer):
    instructions = serializers.CharField(max_length=4000, required=False, allow_blank=True,
                                         default="")


class ReturnRejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReceiveLineInput(serializers.Serializer):
    line_id = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=0, max_value=100_000)
    condition = serializers.ChoiceField(choices=ItemCondition.choices,
                                        default=ItemCondition.NEW)
    restock = serializers.BooleanField(default=False)


class ReturnReceiveInput(serializers.Serializer):
    lines = ReceiveLineInput(many=True, min_length=1)


class ReturnRefundInput(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, min_value=0,
        help_text="Default: what the received units cost at the order's prices, tax "
                  "included.")
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                      default="", help_text="The provider's refund id.")


class ReturnCloseInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
