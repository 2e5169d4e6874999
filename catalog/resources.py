from import_export import fields

from catalog.models import PriceList, PriceListEntry, Product, Supplier, TaxClass
from orderflow.resources import BaseResource, CachedForeignKeyWidget


class ProductResource(BaseResource):
    tax_class = fields.Field(attribute="tax_class", column_name="tax_class",
                             widget=CachedForeignKeyWidget(TaxClass, field="code"))
    supplier = fields.Field(attribute="supplier", column_name="supplier",
                            widget=CachedForeignKeyWidget(Supplier, field="code"))

    class Meta(BaseResource.Meta):
        model = Product
        import_id_fields = ["sku"]
        fields = [
            "sku", "name", "description", "base_uom", "tax_class", "supplier", "list_price",
            "currency", "weight_grams", "is_active", "track_inventory", "stock_on_hand",
        ]
        export_order = fields


class PriceListEntryResource(BaseResource):
    """One row per tier: price list code, sku, min quantity, unit price."""

    price_list = fields.Field(attribute="price_list", column_name="price_list",
                              widget=CachedForeignKeyWidget(PriceList, field="code"))
    sku = fields.Field(attribute="product", column_name="sku",
                       widget=CachedForeignKeyWidget(Product, field="sku"))

    class Meta(BaseResource.Meta):
        model = PriceListEntry
        import_id_fields = ["price_list", "sku", "min_quantity"]
        fields = ["price_list", "sku", "min_quantity", "unit_price"]
        export_order = fields
