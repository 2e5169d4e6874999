"""The analytics API's output (money as strings, in each row's currency)."""

from rest_framework import serializers

from analytics.models import AMOUNTS, COUNTS


def _figure_fields() -> dict:
    """One field per figure (definitions in docs/analytics.md)."""
    fields = {name: serializers.IntegerField() for name in COUNTS}
    for name in (*AMOUNTS, "average_order_value"):
        fields[name] = serializers.CharField(
            help_text="Money, a decimal string in the row's currency.")
    fields["quote_conversion_rate"] = serializers.CharField(
        allow_null=True, help_text="quotes_converted / quotes_sent (null when none were sent).")
    return fields


# Serializers declared from the figure lists (``type()`` hands the fields to DRF's
# metaclass, as a class body would).
FiguresSerializer = type("FiguresSerializer", (serializers.Serializer,), {
    "__doc__": "Definitions in docs/analytics.md.", "__module__": __name__,
    **_figure_fields()})

DailyRowSerializer = type("DailyRowSerializer", (serializers.Serializer,), {
    "__module__": __name__, "day": serializers.DateField(),
    "channel": serializers.CharField(), "currency": serializers.CharField(),
    **_figure_fields()})


class DailySerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    results = DailyRowSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("from_")
        fields["from"] = serializers.DateField(source="from_")
        return fields


ChangeSerializer = type("ChangeSerializer", (serializers.Serializer,), {
    "__module__": __name__,
    **{name: serializers.CharField(
        allow_null=True, help_text="Percent change against the previous period (null when "
                                   "the previous period had none).")
       for name in (*COUNTS, *AMOUNTS, "average_order_value", "quote_conversion_rate")}})


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
