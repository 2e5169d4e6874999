"""The analytics API's output (money as strings, in each row's currency)."""

from rest_framework import serializers

from analytics.models import AMOUNTS, COUNTS


class FiguresSerializer(serializers.Serializer):
    """Definitions in docs/analytics.md."""


for _name in COUNTS:
    FiguresSerializer._declared_fields[_name] = serializers.IntegerField()
for _name in (*AMOUNTS, "average_order_value"):
    FiguresSerializer._declared_fields[_name] = serializers.CharField(
        help_text="Money, a decimal string in the row's currency.")
FiguresSerializer._declared_fields["quote_conversion_rate"] = serializers.CharField(
    allow_null=True, help_text="quotes_converted / quotes_sent (null when none were sent).")


class DailyRowSerializer(FiguresSerializer):
    day = serializers.DateField()
    channel = serializers.CharField()
    currency = serializers.CharField()


DailyRowSerializer._declared_fields.update(FiguresSerializer._declared_fields)


class DailySerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    results = DailyRowSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("from_")
        fields["from"] = serializers.DateField(source="from_")
        return fields


class ChangeSerializer(serializers.Serializer):
    pass


for _name in (*COUNTS, *AMOUNTS, "average_order_value", "quote_conversion_rate"):
    ChangeSerializer._declared_fields[_name] = serializers.CharField(
        allow_null=True, help_text="Percent change against the previous period (null when "
                                   "the previous period had none).")


class CurrencyTotalsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    current = FiguresSerializer()
    previous = FiguresSerializer()
    change_percent = ChangeSerializer()


class SummarySerializer(serializers.Serializer):
    period = serializers.CharField()
    from_ = serializers.DateField()
    to = serializers.DateField()
    previous_from = serializers.DateField()
    previous_to = serializers.DateField()
    totals = CurrencyTotalsSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("from_")
        fields["from"] = serializers.DateField(source="from_")
        return fields
