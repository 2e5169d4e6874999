from django.contrib import admin

from orderflow.admin import TimelineInline
from orders.models import Order, OrderEvent, OrderLine, Payment


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["sku", "name", "quantity", "order_uom", "order_quantity", "unit_price",
              "line_subtotal", "tax_rate", "tax_amount", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = ["kind", "reference", "amount", "currency", "status", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(TimelineInline):
    model = OrderEvent


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Statuses are read-only: they change only through the order services."""

    list_display = ["number", "status", "payment_status", "fulfillment_status", "channel",
                    "email", "company", "total", "currency", "placed_at"]
    list_filter = ["status", "payment_status", "fulfillment_status", "channel"]
    search_fields = ["number", "public_id", "email", "lines__sku", "payments__reference"]
    list_select_related = ["channel", "company"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.fields]

    def has_add_permission(self, request):
        return False
