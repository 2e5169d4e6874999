"""Filters of the exports that have no list API of their own (customers, shipments)."""

import django_filters
from django.db.models import Q

from customers.models import Customer
from fulfillment.constants import ShipmentStatus
from fulfillment.models import Shipment
from orderflow.api.filters import StrictBooleanFilter
from orders.api.filters import TimestampRangeFilter


class CustomerExportFilter(django_filters.FilterSet):
    company = django_filters.CharFilter(method="filter_company",
                                        help_text="Company public id or code.")
    active = StrictBooleanFilter(field_name="is_active")
    accepts_marketing = StrictBooleanFilter(field_name="accepts_marketing")
    created_at = TimestampRangeFilter(
        help_text="created_at_after / created_at_before: ISO 8601 date-times (inclusive).")

    class Meta:
        model = Customer
        fields = []

    def filter_company(self, queryset, name, value):
        return queryset.filter(Q(company__public_id=value) | Q(company__code=value))


class ShipmentExportFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ShipmentStatus.choices)
    carrier = django_filters.CharFilter(field_name="carrier", lookup_expr="iexact")
    order = django_filters.CharFilter(method="filter_order",
                                      help_text="The order's public id or number.")
    created_at = TimestampRangeFilter(
        help_text="created_at_after / created_at_before: ISO 8601 date-times (inclusive).")
    shipped_at = TimestampRangeFilter(
        help_text="shipped_at_after / shipped_at_before: ISO 8601 date-times (inclusive).")

    class Meta:
        model = Shipment
        fields = []

    def filter_order(self, queryset, name, value):
        return queryset.filter(Q(order__public_id=value) | Q(order__number__iexact=value))
