from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from orderflow.models import PublicIdField, TimelineEvent, TimeStampedModel
from orderflow.money import CurrencyField, MoneyField


class Supplier(TimeStampedModel):
    public_id = PublicIdField(prefix="sup")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    is_external = models.BooleanField(
        default=True,
        help_text="An outside supplier: its order lines are forwarded to it as supplier orders. "
        "Off for the seller's own stock.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SupplierUser(models.Model):
    """A login that acts for a supplier: it sees and acknowledges that supplier's orders.

    One supplier per login, so every request of that user has exactly one supplier.
    """

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="logins")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="supplier_login")

    class Meta:
        ordering = ["supplier", "user"]
        verbose_name = "supplier login"

    def __str__(self):
        return f"{self.user} for {self.supplier}"


class TaxClass(TimeStampedModel):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "tax classes"

    def __str__(self):
        return self.name


class TaxRate(TimeStampedModel):
    """The rate of a tax class, optionally per country (blank country = everywhere else)."""

    tax_class = models.ForeignKey(TaxClass, on_delete=models.CASCADE, related_name="rates")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2; blank = any")
    name = models.CharField(max_length=60, help_text="Shown on invoices, e.g. 'GCT 15%'.")
    rate = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="A fraction: 0.1500 for 15 %."
    )

    class Meta:
        ordering = ["tax_class", "country"]
        constraints = [
            models.UniqueConstraint(fields=["tax_class", "country"], name="taxrate_unique_country"),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=1), name="taxrate_between_0_and_1"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.country or 'any'})"


class Product(TimeStampedModel):
    public_id = PublicIdField(prefix="prod")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    base_uom = models.CharField(
        "base unit", max_length=16, default="EA",
        help_text="The unit stock is counted and settled in (EA, KG, …).",
    )
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, related_name="products")
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    list_price = MoneyField(validators=[MinValueValidator(Decimal("0"))])
    currency = CurrencyField()
    weight_grams = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True, db_index=True)
    track_inventory = models.BooleanField(default=True)
    stock_on_hand = models.IntegerField(default=0, help_text="In base units.")
    stock_reserved = models.IntegerField(
        default=0, editable=False, help_text="Held by open orders, in base units."
    )
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(stock_on_hand__gte=0),
                                   name="product_stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(stock_reserved__gte=0),
                                   name="product_stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(stock_reserved__lte=F("stock_on_hand")),
                                   name="product_stock_reserved_within_on_hand"),
            models.CheckConstraint(condition=Q(list_price__gte=0),
                                   name="product_list_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.sku} — {self.name}"

    @property
    def stock_available(self) -> int:
        return self.stock_on_hand - self.stock_reserved

    def conversion_factor(self, uom: str | None) -> int | None:
        """Base units in one ``uom``; ``None`` when the product is not sold in that unit.

        Reads ``self.units`` so a prefetch keeps it query-free.
        """
        if not uom or uom.upper() == self.base_uom.upper():
            return 1
        for unit in self.units.all():
            if unit.uom.upper() == uom.upper():
                return unit.factor
        return None


class ProductUnit(models.Model):
    """An alternate selling unit: one ``uom`` is ``factor`` base units (a case of 12)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="units")
    uom = models.CharField("unit", max_length=16)
    name = models.CharField(max_length=60, blank=True, help_text="e.g. 'Case of 12'")
    factor = models.PositiveIntegerField(help_text="Base units in one of this unit.")

    class Meta:
        ordering = ["product", "factor"]
        constraints = [
            models.UniqueConstraint(fields=["product", "uom"], name="productunit_unique_uom"),
            models.CheckConstraint(condition=Q(factor__gte=2), name="productunit_factor_gte_2"),
        ]

    def __str__(self):
        return f"{self.uom} = {self.factor} × {self.product.base_uom}"

    def clean(self):
        if self.product_id and self.uom.upper() == self.product.base_uom.upper():
            raise ValidationError({"uom": "An alternate unit must differ from the base unit."})


class PriceList(TimeStampedModel):
    """Contract prices for the companies that use it, with quantity tiers."""

    public_id = PublicIdField(prefix="pl")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    currency = CurrencyField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class PriceListEntry(models.Model):
    """A contract unit price valid from ``min_quantity`` base units up (the tier)."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_entries")
    min_quantity = models.PositiveIntegerField(default=1)
    unit_price = MoneyField(validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["price_list", "product", "min_quantity"]
        verbose_name_plural = "price list entries"
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="pricelistentry_unique_tier"
            ),
            models.CheckConstraint(condition=Q(min_quantity__gte=1),
                                   name="pricelistentry_min_quantity_gte_1"),
            models.CheckConstraint(condition=Q(unit_price__gte=0),
                                   name="pricelistentry_unit_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.product.sku} ≥{self.min_quantity}: {self.unit_price}"


class ProductEvent(TimelineEvent):
    """Timeline of a product: stock adjustments and other staff changes."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineEvent.Meta):
        pass
