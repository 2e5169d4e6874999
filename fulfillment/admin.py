from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from fulfillment.models import ShippingMethod, ShippingRate


class ShippingRateInline(TabularInline):
    model = ShippingRate
    extra = 0


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ModelAdmin):
    list_display = ["code", "name", "basis", "currency", "countries", "is_active", "sort_order"]
    list_filter = ["basis", "is_active", "channels"]
    search_fields = ["code", "name"]
    filter_horizontal = ["channels"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [ShippingRateInline]
