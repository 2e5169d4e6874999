"""Quote API shapes. Output serializers read a quote prepared by ``views.shown``: the version
the caller sees (``shown``), its approval levels (``shown_levels``) and the versions listed
(``shown_versions``). Inputs whitelist what a client may send."""

from rest_framework import serializers

from orders.presenters import AmountField, OptionalCharField, UTCDateTimeField

MONEY = {"max_digits": 14, "decimal_places": 4, "min_value": 0}


# --- outputs ---------------------------------------------------------------------------------

class QuoteRequestLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    target_unit_price = AmountField(currency="request.company.currency", allow_null=True)
    notes = serializers.CharField()


class QuoteRequestSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    company_id = serializers.CharField(source="company.public_id")
    customer_id = serializers.CharField(source="customer.public_id", allow_null=True)
    cart_id = serializers.CharField(source="cart.public_id", allow_null=True)
    notes = serializers.CharField()
    requested_delivery_date = serializers.DateField(allow_null=True)
    lines = QuoteRequestLineSerializer(many=True, source="lines.all")
    created_at = UTCDateTimeField()


class QuoteLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    list_price = AmountField(currency="version.currency")
    unit_price = AmountField(currency="version.currency")
    discount_percent = serializers.CharField()
    tax_rate = serializers.CharField()
    line_subtotal = AmountField(currency="version.currency")
    tax_amount = AmountField(currency="version.currency")
    line_total = AmountField(currency="version.currency")
    notes = serializers.CharField()


class QuoteVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    currency = serializers.CharField()
    valid_until = serializers.DateField()
    terms = serializers.CharField()
    notes = serializers.CharField()
    lines = QuoteLineSerializer(many=True, source="lines.all")
    subtotal = AmountField()
    tax_total = AmountField()
    shipping_total = AmountField()
    total = AmountField()
    created_at = UTCDateTimeField()
    submitted_at = UTCDateTimeField(allow_null=True)
    sent_at = UTCDateTimeField(allow_null=True)


class QuoteVersionSummarySerializer(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    total = AmountField()
    valid_until = serializers.DateField()
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(allow_null=True)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.CharField()
    by = serializers.CharField(source="actor_label")
    comment = serializers.CharField()
    at = UTCDateTimeField(source="created_at")


class ApprovalLevelSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="pending (its turn), waiting (after an earlier "
                                             "level), approved, declined or changes_requested")
    reasons = serializers.ListField(child=serializers.CharField())
    decisions = DecisionSerializer(many=True)


class QuoteSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    version = serializers.IntegerField(source="shown.number")
    status = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    company_id = serializers.CharField(source="company.public_id")
    customer_id = serializers.CharField(source="customer.public_id", allow_null=True)
    request_id = serializers.CharField(source="request.public_id", allow_null=True)
    currency = serializers.CharField()
    lines = QuoteLineSerializer(many=True, source="shown.lines.all")
    subtotal = AmountField(source="shown.subtotal")
    tax_total = AmountField(source="shown.tax_total")
    shipping_total = AmountField(source="shown.shipping_total")
    total = AmountField(source="shown.total")
    valid_until = serializers.DateField(source="shown.valid_until")
    terms = serializers.CharField(source="shown.terms")
    notes = serializers.CharField(source="shown.notes")
    approval_levels = ApprovalLevelSerializer(many=True, source="shown_levels")
    versions = QuoteVersionSummarySerializer(many=True, source="shown_versions")
    order_id = serializers.CharField(source="order.public_id", allow_null=True)
    conversion_error = serializers.DictField(allow_null=True)
    decline_reason = OptionalCharField()
    changes_comment = OptionalCharField()
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(allow_null=True)
    accepted_at = UTCDateTimeField(allow_null=True)
    converted_at = UTCDateTimeField(allow_null=True)


# --- inputs ----------------------------------------------------------------------------------

class QuoteRequestLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    target_unit_price = serializers.DecimalField(required=False, allow_null=True, **MONEY)
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True)


class QuoteRequestInput(serializers.Serializer):
    lines = QuoteRequestLineInput(many=True, required=False, max_length=200)
    cart_id = serializers.CharField(max_length=40, required=False,
                                    help_text="Copy this cart's lines (instead of ``lines``).")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    requested_delivery_date = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs.get("lines") and not attrs.get("cart_id"):
            raise serializers.ValidationError({"lines": ["Send lines or a cart_id."]})
        if attrs.get("lines") and attrs.get("cart_id"):
            raise serializers.ValidationError({"cart_id": ["Send lines or a cart_id, not both."]})
        return attrs


class QuoteLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(required=False, allow_null=True, **MONEY)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0,
                                                max_value=100, required=False, allow_null=True)
    unit_cost = serializers.DecimalField(required=False, allow_null=True, **MONEY)
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs):
        if attrs.get("unit_price") is not None and attrs.get("discount_percent") is not None:
            raise serializers.ValidationError(
                {"discount_percent": ["Send unit_price or discount_percent, not both."]})
        return attrs


class QuoteEditInput(serializers.Serializer):
    lines = QuoteLineInput(many=True, required=False, min_length=1, max_length=200)
    valid_until = serializers.DateField(required=False)
    terms = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    shipping_total = serializers.DecimalField(required=False, **MONEY)


class QuoteCreateInput(QuoteEditInput):
    request_id = serializers.CharField(max_length=40, required=False)
    company = serializers.CharField(max_length=40, required=False,
                                    help_text="Public id or code (without request_id).")
    customer_id = serializers.CharField(max_length=40, required=False,
                                        help_text="The buyer's contact at the company.")

    def validate(self, attrs):
        if not attrs.get("request_id") and not (attrs.get("company") and attrs.get("lines")):
            raise serializers.ValidationError(
                {"request_id": ["Send request_id, or company and lines."]})
        return attrs


class QuoteVersionInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False,
                                       help_text="The version decided on; refused when it is "
                                                 "not the latest (quote_superseded).")


class QuoteReasonInput(QuoteVersionInput):
    reason = serializers.CharField(max_length=2000)


class QuoteCommentInput(QuoteVersionInput):
    comment = serializers.CharField(max_length=2000)


class QuoteWithdrawInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class SubmitAnswerSerializer(QuoteSerializer):
    levels_required = serializers.ListField(child=serializers.IntegerField(),
                                            source="shown.approval_levels")
