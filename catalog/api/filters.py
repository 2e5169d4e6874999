import django_filters
from django.db.models import Q

from catalog.models import Product
from orderflow.api.filters import StrictBooleanFilter


class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="sku", lookup_expr="iexact")
    supplier = django_filters.CharFilter(method="filter_supplier",
                                         help_text="Supplier public id or code.")
    active = StrictBooleanFilter(field_name="is_active")
    search = django_filters.CharFilter(method="filter_search",
                                       help_text="Words in the sku, name or description.")

    class Meta:
        model = Product
        fields = ["sku", "supplier", "active", "search"]

    def filter_supplier(self, queryset, name, value):
        return queryset.filter(Q(supplier__public_id=value) | Q(supplier__code=value))

    def filter_search(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(sku__icontains=word) | Q(name__icontains=word) | Q(description__icontains=word)
            )
        return queryset
