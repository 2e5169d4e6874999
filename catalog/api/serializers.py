from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product, ProductUnit
from catalog.selectors import price_from_tiers, tax_rate_for
from orderflow.money import format_amount


class ProductUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductUnit
        fields = ["uom", "name", "factor"]


class PriceTierSerializer(serializers.Serializer):
    min_quantity = serializers.IntegerField()
    unit_price = serializers.CharField()


class PriceSerializer(serializers.Serializer):
    amount = serializers.CharField(help_text="Unit price for one base unit, as a decimal string.")
    currency = serializers.CharField()
    source = serializers.ChoiceField(choices=["list", "contract"])
    price_list = serializers.CharField(allow_null=True)
    tiers = PriceTierSerializer(many=True, help_text="Contract quantity tiers, lowest first.")


class TaxSerializer(serializers.Serializer):
    tax_class = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    rate = serializers.CharField(allow_null=True, help_text="A fraction: '0.1500' is 15 %.")


class SupplierRefSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    code = serializers.CharField()
    name = serializers.CharField()


class ProductSerializer(serializers.ModelSerializer):
    """A product as a storefront or staff sees it; ``price`` is for the principal's company."""

    id = serializers.CharField(source="public_id", read_only=True)
    units = ProductUnitSerializer(many=True, read_only=True)
    list_price = serializers.SerializerMethodField()
    price = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()
    supplier = SupplierRefSerializer(read_only=True, allow_null=True)
    stock_available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "description", "base_uom", "units", "list_price", "currency",
            "price", "tax", "supplier", "weight_grams", "is_active", "track_inventory",
            "stock_available", "metadata", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_list_price(self, product) -> str:
        return format_amount(product.list_price, product.currency)

    @extend_schema_field(PriceSerializer)
    def get_price(self, product):
        company = self.context.get("company")
        price_list = getattr(company, "price_list", None)
        tiers = getattr(product, "contract_tiers", ())
        price = price_from_tiers(product=product, tiers=tiers, price_list=price_list, quantity=1)
        return {
            "amount": format_amount(price.amount, price.currency),
            "currency": price.currency,
            "source": price.source,
            "price_list": price.price_list,
            "tiers": [
                {"min_quantity": t.min_quantity,
                 "unit_price": format_amount(t.unit_price, price_list.currency)}
                for t in sorted(tiers, key=lambda t: t.min_quantity)
            ],
        }

    @extend_schema_field(TaxSerializer)
    def get_tax(self, product):
        rate = tax_rate_for(product=product)
        return {
            "tax_class": product.tax_class.code,
            "name": rate.name if rate else None,
            "rate": str(rate.rate) if rate else None,
        }
