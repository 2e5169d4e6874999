"""What the REST API (fulfillment.api) and the bridge (bridges.hmac) both read: the body of a
return request."""

from rest_framework import serializers

from fulfillment.constants import ReturnReason
from orders.constants import MAX_LINE_QUANTITY


class ReturnLineInput(serializers.Serializer):
    line_id = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    reason_text = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReturnRequestInput(serializers.Serializer):
    lines = ReturnLineInput(many=True, min_length=1)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                    default="")
