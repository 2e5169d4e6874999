from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from catalog.models import (
    PriceList,
    PriceListEntry,
    Product,
    ProductEvent,
    ProductUnit,
    Supplier,
    TaxClass,
    TaxRate,
)
from catalog.resources import PriceListEntryResource, ProductResource
from catalog.services import product_adjust_stock
from orderflow.admin import ImportExportAdmin, TimelineInline, run_service
from orderflow.timeline import Actor


@admin.register(Supplier)
class SupplierAdmin(ModelAdmin):
    list_display = ["code", "name", "email", "is_external", "is_active"]
    list_filter = ["is_external", "is_active"]
    search_fields = ["code", "name", "email"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


class TaxRateInline(TabularInline):
    model = TaxRate
    extra = 0


@admin.register(TaxClass)
class TaxClassAdmin(ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [TaxRateInline]


class ProductUnitInline(TabularInline):
    model = ProductUnit
    extra = 0


class ProductEventInline(TimelineInline):
    model = ProductEvent


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        label="Change in base units", help_text="Positive to count stock in, negative to write off."
    )
    reason = forms.CharField(max_length=200, help_text="Shown on the product's timeline.")


@admin.register(Product)
class ProductAdmin(ImportExportAdmin):
    resource_classes = [ProductResource]
    list_display = [
        "sku", "name", "base_uom", "list_price", "currency", "supplier", "tax_class",
        "stock_on_hand", "stock_reserved", "available", "is_active",
    ]
    list_filter = ["is_active", "track_inventory", "supplier", "tax_class", "currency"]
    search_fields = ["sku", "name", "description"]
    list_select_related = ["supplier", "tax_class"]
    readonly_fields = ["public_id", "stock_reserved", "created_at", "updated_at",
                       "adjust_stock_link"]
    inlines = [ProductUnitInline, ProductEventInline]
    fieldsets = [
        (None, {"fields": ["sku", "name", "description", "public_id", "is_active"]}),
        ("Units and pricing", {"fields": ["base_uom", "list_price", "currency", "tax_class"]}),
        ("Supply", {"fields": ["supplier", "weight_grams", "track_inventory"]}),
        ("Stock", {"fields": ["stock_on_hand", "stock_reserved", "adjust_stock_link"]}),
        ("More", {"classes": ["collapse"], "fields": ["metadata", "created_at", "updated_at"]}),
    ]

    @admin.display(description="available")
    def available(self, obj):
        return obj.stock_available

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # After creation stock moves only through adjustments, which leave a timeline.
            fields.append("stock_on_hand")
        return fields

    @admin.display(description="adjust")
    def adjust_stock_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:catalog_product_adjust_stock", args=[obj.pk])
        return format_html('<a class="button" href="{}">Adjust stock…</a>', url)

    def get_urls(self):
        return [
            path("<int:pk>/adjust-stock/", self.admin_site.admin_view(self.adjust_stock_view),
                 name="catalog_product_adjust_stock"),
        ] + super().get_urls()

    def adjust_stock_view(self, request, pk):
        product = get_object_or_404(Product, pk=pk)
        if not self.has_change_permission(request, product):
            raise PermissionDenied
        form = StockAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = run_service(
                request, product_adjust_stock, product=product,
                delta=form.cleaned_data["delta"], reason=form.cleaned_data["reason"],
                actor=Actor.staff(request.user),
                success=f"Stock of {product.sku} adjusted by {form.cleaned_data['delta']}.",
            )
            if done is not None:
                return redirect("admin:catalog_product_change", product.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust stock: {product}",
            "product": product,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/catalog/product/adjust_stock.html", context)


class PriceListEntryInline(TabularInline):
    model = PriceListEntry
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(ModelAdmin):
    list_display = ["code", "name", "currency", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [PriceListEntryInline]


@admin.register(PriceListEntry)
class PriceListEntryAdmin(ImportExportAdmin):
    """The tiers of every price list, one row each; import/export lives here."""

    resource_classes = [PriceListEntryResource]
    list_display = ["price_list", "product", "min_quantity", "unit_price"]
    list_filter = ["price_list"]
    search_fields = ["product__sku", "product__name", "price_list__code"]
    list_select_related = ["price_list", "product"]
    autocomplete_fields = ["product"]
