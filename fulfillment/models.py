from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from fulfillment.constants import RateBasis
from orderflow.models import Channel, PublicIdField, TimeStampedModel
from orderflow.money import CurrencyField, MoneyField


class ShippingMethod(TimeStampedModel):
    """A way to ship, priced by one basis through its rate table."""

    public_id = PublicIdField(prefix="shm")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    basis = models.CharField(max_length=8, choices=RateBasis.choices, default=RateBasis.FLAT)
    currency = CurrencyField()
    channels = models.ManyToManyField(
        Channel, blank=True, related_name="shipping_methods",
        help_text="Offered in these channels; none selected = every channel.",
    )
    countries = models.CharField(
        max_length=200, blank=True,
        help_text="Comma-separated ISO country codes it ships to; blank = anywhere.",
    )
    estimated_days_min = models.PositiveSmallIntegerField(default=1)
    estimated_days_max = models.PositiveSmallIntegerField(default=3)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name

    def ships_to(self, country: str | None) -> bool:
        allowed = {c.strip().upper() for c in self.countries.split(",") if c.strip()}
        return not allowed or not country or country.upper() in allowed


class ShippingRate(models.Model):
    """From ``threshold`` up (subtotal in money or weight in grams; 0 for flat), ``price``."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="rates")
    threshold = models.DecimalField(
        max_digits=14, decimal_places=4, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Lower bound: subtotal (total basis) or grams (weight basis); 0 for flat.",
    )
    price = MoneyField(validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["method", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["method", "threshold"], name="shippingrate_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="shippingrate_price_gte_0"),
        ]

    def __str__(self):
        return f"{self.method.code} ≥{self.threshold}: {self.price}"
