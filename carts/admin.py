from django.contrib import admin

from carts.models import Cart
from carts.selectors import cart_converted_order, cart_defaults_taken, cart_lines
from orderflow.admin import DayRangeFilter, ServiceManagedAdmin
from orderflow.display import badge, money
from recovery.models import ReminderStop
from recovery.selectors import cart_recovery_emails


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
            "priced_at", "subtotal_display", "tax_total_display", "shipping_total_display",
            "total_display", "abandoned_at", "recovered_at", "recovered_step",
            "shipping_address", "billing_address", "defaults", "metadata", "created_at",
            "updated_at", "last_activity_at", "converted_at"]}),
    ]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="total", ordering="total")
    def total_display(self, obj):
        return money(obj.total, obj.currency)

    @admin.display(description="subtotal")
    def subtotal_display(self, obj):
        return money(obj.subtotal, obj.currency)

    @admin.display(description="tax")
    def tax_total_display(self, obj):
        return money(obj.tax_total, obj.currency)

    @admin.display(description="shipping")
    def shipping_total_display(self, obj):
        return money(obj.shipping_total, obj.currency)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "subtotal_display",
                "tax_total_display", "shipping_total_display", "total_display"]

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
                "recovery_emails": cart_recovery_emails(cart=cart),
                "reminders_stopped": ReminderStop.objects.filter(cart=cart).first(),
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})
