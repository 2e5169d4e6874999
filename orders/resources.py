"""Order export for the admin: one row per order line (CSV/XLSX), order columns repeated.

Nested JSON (an order with its lines, exactly the ``order.*`` webhook payload) is the
admin action "Export selected orders as JSON"; see ``orders_export_json``.
"""

from import_export import fields
from import_export.widgets import ForeignKeyWidget

from orderflow.money import format_amount
from orderflow.resources import BaseResource
from orders.events import order_payload
from orders.models import Order, OrderLine


class OrderResource(BaseResource):
    number = fields.Field(attribute="order", column_name="order_number",
                          widget=ForeignKeyWidget(Order, field="number"))
    order_id = fields.Field(attribute="order__public_id", column_name="order_id")
    status = fields.Field(attribute="order__status", column_name="status")
    payment_status = fields.Field(attribute="order__payment_status",
                                  column_name="payment_status")
    fulfillment_status = fields.Field(attribute="order__fulfillment_status",
                                      column_name="fulfillment_status")
    channel = fields.Field(attribute="order__channel__code", column_name="channel")
    company = fields.Field(attribute="order__company__code", column_name="company")
    email = fields.Field(attribute="order__email", column_name="email")
    currency = fields.Field(attribute="order__currency", column_name="currency")
    order_total = fields.Field(column_name="order_total")
    placed_at = fields.Field(attribute="order__placed_at", column_name="placed_at")
    exported_at = fields.Field(attribute="order__exported_at", column_name="exported_at")
    line_id = fields.Field(attribute="public_id", column_name="line_id")
    unit_price = fields.Field(column_name="unit_price")
    line_total = fields.Field(column_name="line_total")

    class Meta(BaseResource.Meta):
        model = OrderLine
        fields = ["number", "order_id", "status", "payment_status", "fulfillment_status",
                  "channel", "company", "email", "currency", "order_total", "placed_at",
                  "exported_at", "line_id", "sku", "name", "quantity", "quantity_shipped",
                  "order_uom", "order_quantity", "unit_price", "line_total"]
        export_order = fields

    def dehydrate_order_total(self, line):
        return format_amount(line.order.total, line.order.currency)

    def dehydrate_unit_price(self, line):
        return format_amount(line.unit_price, line.order.currency)

    def dehydrate_line_total(self, line):
        return format_amount(line.line_total, line.order.currency)

    def export(self, queryset=None, **kwargs):
        """The admin hands over orders; each becomes one row per line."""
        if queryset is not None and queryset.model is Order:
            queryset = (OrderLine.objects.filter(order__in=queryset.values("pk"))
                        .select_related("order__channel", "order__company")
                        .order_by("order__placed_at", "order_id", "id"))
        return super().export(queryset=queryset, **kwargs)

    def get_queryset(self):
        return OrderLine.objects.select_related("order__channel", "order__company")


def orders_export_json(queryset) -> list[dict]:
    """Orders with their lines and payments nested, as the webhooks carry them."""
    orders = queryset.select_related("channel", "customer", "company").prefetch_related(
        "lines", "payments")
    return [order_payload(order) for order in orders]
