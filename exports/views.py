"""``GET /api/v1/{orders,products,customers,shipments}/export?format=csv|json|xlsx``.

Staff with the view permission of the model (as the staff lists), the filters of the list
(the order list's ``OrderFilter``, the product list's ``ProductFilter``), every row that
matches: no paging. CSV and JSON Lines are streamed as the cursor reads (constant memory,
whatever the number of rows); XLSX is written to a temporary file first (a workbook is
complete only at its end) and refused beyond a worksheet's 1,048,575 rows. A bad ``format``
is 400 ``unsupported_format``, a bad filter 400 ``validation_error``, both before any row is
read.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation

from bridges.exports import formats
from bridges.exports.rows import CUSTOMERS, ORDERS, PRODUCTS, SHIPMENTS, Table, order_line_rows
from catalog.api.filters import ProductFilter
from catalog.models import Product
from customers.models import Customer
from fulfillment.constants import ShipmentStatus
from fulfillment.models import Shipment
from orderflow.api.filters import StrictBooleanFilter
from orderflow.errors import ValidationFailed
from orders.api.filters import OrderFilter, TimestampRangeFilter
from orders.models import Order

FORMATS = ("csv", "json", "xlsx")
FORMAT_PARAM = OpenApiParameter(
    "format", str, enum=list(FORMATS), default="csv",
    description="csv (UTF-8, a header row), json (JSON Lines: one object a row, keyed by "
                "the CSV's column names; application/x-ndjson) or xlsx (one worksheet).")
FILE_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The rows, streamed."),
    (200, formats.JSONL_CONTENT_TYPE): OpenApiResponse(
        OpenApiTypes.STR, description="One JSON object a line, streamed."),
    (200, formats.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY,
                                                      description="The workbook."),
    400: OpenApiResponse(description="unsupported_format, validation_error (a filter), "
                                     "too_many_rows (xlsx)"),
}


class FileFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the file, not a DRF renderer: errors are always JSON (problem+json
    by the exception handler)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportSchema(AutoSchema):
    """The schema documents filters of list views only; an export is a list, as a file."""

    def get_filter_backends(self):
        return getattr(self.view, "filter_backends", [])


class ExportApi(GenericAPIView):
    """Base of the export views: ``table`` renders what ``rows`` selects from the filtered
    list."""

    schema = ExportSchema()
    filter_backends = [DjangoFilterBackend]
    pagination_class = None
    content_negotiation_class = FileFormatNegotiation
    table: Table
    name: str

    def get_queryset(self):
        return self.queryset.model.objects.all()

    def rows(self, filtered):
        return filtered

    def get(self, request, *args, **kwargs):
        fmt = request.query_params.get("format") or "csv"
        if fmt not in FORMATS:
            raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}.",
                                   code="unsupported_format",
                                   errors={"format": [f"Unsupported format {fmt[:20]!r}."]})
        rows = self.rows(self.filter_queryset(self.get_queryset()))
        return file_response(self.table, rows, fmt, self.name)


def file_response(table: Table, rows, fmt: str, name: str):
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    filename = f"{name}-{stamp}.{'jsonl' if fmt == 'json' else fmt}"
    if fmt == "xlsx":
        try:
            handle = formats.xlsx_file(table, rows)
        except formats.TooManyRows as exc:
            raise ValidationFailed(f"{exc}: use format=csv or json, or narrow the filters.",
                                   code="too_many_rows") from None
        response = FileResponse(handle, as_attachment=True, filename=filename,
                                content_type=formats.XLSX_CONTENT_TYPE)
    else:
        chunks, content_type = (
            (formats.csv_chunks(table, rows), formats.CSV_CONTENT_TYPE) if fmt == "csv"
            else (formats.jsonl_chunks(table, rows), formats.JSONL_CONTENT_TYPE))
        response = StreamingHttpResponse(chunks, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data
    return response


# --- the exports without a list API of their own have their filters here

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


class OrderExportApi(ExportApi):
    queryset = Order.objects.none()
    filterset_class = OrderFilter
    table = ORDERS
    name = "orders"

    def rows(self, filtered):
        return order_line_rows(filtered)

    @extend_schema(summary="Export orders", operation_id="orders_export",
                   parameters=[FORMAT_PARAM], responses=FILE_RESPONSES)
    def get(self, request, *args, **kwargs):
        """Every order matching the order list's filters, one row per order line (the order's
        columns repeated), oldest placed first; the columns of the admin's and the scheduled
        exports. Staff with ``orders.view_order``."""
        return super().get(request, *args, **kwargs)


class ProductExportApi(ExportApi):
    queryset = Product.objects.none()
    filterset_class = ProductFilter
    table = PRODUCTS
    name = "products"

    @extend_schema(summary="Export products", operation_id="products_export",
                   parameters=[FORMAT_PARAM], responses=FILE_RESPONSES)
    def get(self, request, *args, **kwargs):
        """Products matching the product list's filters, by sku, in exactly the columns the
        product import reads: the file imports back unchanged. Staff with
        ``catalog.view_product``."""
        return super().get(request, *args, **kwargs)


class CustomerExportApi(ExportApi):
    queryset = Customer.objects.none()
    filterset_class = CustomerExportFilter
    table = CUSTOMERS
    name = "customers"

    @extend_schema(summary="Export customers", operation_id="customers_export",
                   parameters=[FORMAT_PARAM], responses=FILE_RESPONSES)
    def get(self, request, *args, **kwargs):
        """Customers by e-mail, in the columns the customer import reads. Staff with
        ``customers.view_customer``."""
        return super().get(request, *args, **kwargs)


class ShipmentExportApi(ExportApi):
    queryset = Shipment.objects.none()
    filterset_class = ShipmentExportFilter
    table = SHIPMENTS
    name = "shipments"

    @extend_schema(summary="Export shipments", operation_id="shipments_export",
                   parameters=[FORMAT_PARAM], responses=FILE_RESPONSES)
    def get(self, request, *args, **kwargs):
        """Shipments, oldest first, with their order, carrier and tracking. Staff with
        ``fulfillment.view_shipment``."""
        return super().get(request, *args, **kwargs)
