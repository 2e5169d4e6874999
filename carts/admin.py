from django.contrib import admin
from unfold.admin import TabularInline

from carts.models import Cart, CartLine
from orderflow.admin import ServiceManagedAdmin


class CartLineInline(TabularInline):
    model = CartLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "order_uom", "order_quantity", "unit_price",
              "line_subtotal", "tax_amount", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Cart)
class CartAdmin(ServiceManagedAdmin):
    """Carts are changed by shoppers through the API; the admin looks, it does not edit."""

    list_display = ["public_id", "status", "channel", "customer", "email", "total", "currency",
                    "priced_at", "last_activity_at"]
    list_filter = ["status", "channel"]
    search_fields = ["public_id", "email", "customer__email"]
    list_select_related = ["channel", "customer"]
    date_hierarchy = "created_at"
    inlines = [CartLineInline]

