from django.contrib import admin

from carts.models import Cart
from carts.selectors import cart_converted_order, cart_defaults_taken, cart_lines
from orderflow.admin import DayRangeFilter, ServiceManagedAdmin
from orderflow.display import badge, money


@admin.register(Cart)
class CartAdmin(ServiceManagedAdmin):
    """Carts are changed by shoppers through the API; the admin looks, it does not edit. The
    page tells the cart's story above the folded fields (no Save: nothing is editable)."""

    change_form_template = "admin/carts/cart/change_form.html"
    # All visible at 1280 px: the e-mail names the buyer (search also finds the customer's).
    list_display = ["public_id", "status_badge", "channel", "email", "total_display",
                    "last_activity_at"]
    list_filter = ["status", "channel", ("created_at", DayRangeFilter),
                   ("last_activity_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["public_id", "email", "customer__email", "customer__company__name",
                     "lines__product__sku"]
    list_select_related = ["channel"]
    date_hierarchy = "created_at"
    # The lines are on the story above (formatted money); the raw fields fold away.
    fieldsets = [
        ("Details", {"classes": ["collapse"], "fields": [
            "public_id", "status", "channel", "customer", "email", "currency",
            "shipping_method", "api_key", "connection", "version", "priced_version",
            "priced_at", "subtotal", "tax_total", "shipping_total", "total",
            "shipping_address", "billing_address", "defaults", "metadata", "created_at",
            "updated_at", "last_activity_at", "converted_at"]}),
    ]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="total", ordering="total")
    def total_display(self, obj):
        return money(obj.total, obj.currency)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        cart = self.get_object(request, object_id)
        extra = {}
        if cart is not None:
            extra = {
                "cart": cart,
                "status_badge": self.status_badge(cart),
                "lines": cart_lines(cart=cart),
                "defaults_taken": cart_defaults_taken(cart=cart),
                "order": cart_converted_order(cart=cart),
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})
