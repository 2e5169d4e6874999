"""Order, invoice and supplier-order list filters."""

import re
from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTransform
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget

from orderflow.api.filters import StrictBooleanFilter
from orders.constants import (
    FulfillmentStatus,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
    SupplierOrderStatus,
)
from orders.models import Invoice, Order, OrderLine, Payment, SupplierOrder


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, normalised to UTC: PostgreSQL refuses offsets beyond ±15:59
    that Python accepts, so an odd offset is a 400, never a database error."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return value
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Date-time out of range.", code="invalid") from None


class UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class TimestampRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    field_class = UtcIsoDateTimeRangeField


TIMESTAMPS = ["placed_at", "confirmed_at", "approved_at", "declined_at", "completed_at",
              "canceled_at", "exported_at", "created_at", "updated_at"]
METADATA_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
METADATA_PAIR = re.compile(r"^(?P<key>[A-Za-z0-9_\-]{1,64}):(?P<value>.{0,200})$")


class OrderFilter(django_filters.FilterSet):
    # Columns of the order itself: no row can match twice, so no DISTINCT (django-filter's
    # default for MultipleChoiceFilter), which would sort every matching order before the
    # page (25 ms instead of 2 ms at 1,000,000 orders, docs/analytics.md).
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices, distinct=False)
    payment_status = django_filters.MultipleChoiceFilter(choices=PaymentStatus.choices,
                                                         distinct=False)
    fulfillment_status = django_filters.MultipleChoiceFilter(choices=FulfillmentStatus.choices,
                                                             distinct=False)
    channel = django_filters.CharFilter(field_name="channel__code", lookup_expr="iexact",
                                        help_text="Channel code, e.g. ECOMMERCE.")
    company = django_filters.CharFilter(method="filter_company",
                                        help_text="Company public id or code.")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact",
                                      help_text="The order's e-mail address (any case).")
    number = django_filters.CharFilter(field_name="number", lookup_expr="iexact")
    sku = django_filters.CharFilter(method="filter_sku", help_text="Orders with a line of "
                                    "this sku.")
    payment_reference = django_filters.CharFilter(method="filter_payment_reference")
    exported = StrictBooleanFilter(field_name="exported_at", lookup_expr="isnull",
                                   exclude=True, help_text="true: exported_at is set.")
    metadata = django_filters.CharFilter(
        method="filter_metadata",
        validators=[RegexValidator(METADATA_PAIR, "Use key:value (a key of letters, digits, "
                                                  "_ . -).")],
        help_text="key:value — orders whose metadata has that key with that string value.")
    metadata_has = django_filters.CharFilter(
        method="filter_metadata_has", validators=[RegexValidator(METADATA_KEY, "A key of "
                                                                 "letters, digits, _ . -.")],
        help_text="Orders whose metadata has this key.")

    class Meta:
        model = Order
        fields = []

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            # Copy and validate only the filters the query names (a range filter's
            # parameters are its name + _after/_before): a filter without a value filters
            # nothing, and copying all 22 and building their form on every page cost a fifth
            # of a staff list request (docs/analytics.md, Performance). The class keeps them
            # all, for the schema.
            keys = list(data)
            self.base_filters = {
                name: each for name, each in type(self).base_filters.items()
                if any(key == name or key.startswith(f"{name}_") for key in keys)}
        super().__init__(data, *args, **kwargs)

    def filter_company(self, queryset, name, value):
        return queryset.filter(Q(company__public_id=value) | Q(company__code=value))

    def filter_sku(self, queryset, name, value):
        return queryset.filter(Exists(OrderLine.objects.filter(order_id=OuterRef("pk"),
                                                               sku__iexact=value)))

    def filter_payment_reference(self, queryset, name, value):
        return queryset.filter(Exists(Payment.objects.filter(order_id=OuterRef("pk"),
                                                             reference=value)))

    def filter_metadata(self, queryset, name, value):
        # An explicit key transform: a key named like a lookup ("contains") stays a key.
        match = METADATA_PAIR.match(value)
        return queryset.alias(_metadata_value=KeyTransform(match["key"], "metadata")).filter(
            _metadata_value=match["value"])

    def filter_metadata_has(self, queryset, name, value):
        return queryset.filter(metadata__has_key=value)


for _field in TIMESTAMPS:
    OrderFilter.base_filters[_field] = TimestampRangeFilter(
        field_name=_field,
        help_text=f"{_field}_after / {_field}_before: ISO 8601 date-times (inclusive).")


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=InvoiceStatus.choices)
    issued_at = TimestampRangeFilter(
        help_text="issued_at_after / issued_at_before (ISO 8601).")
    due_date = django_filters.DateFromToRangeFilter(
        help_text="due_date_after / due_date_before (YYYY-MM-DD).")
    order = django_filters.CharFilter(field_name="order__public_id")

    class Meta:
        model = Invoice
        fields = []


class SupplierOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=SupplierOrderStatus.choices)
    created_at = TimestampRangeFilter()

    class Meta:
        model = SupplierOrder
        fields = []
