"""The daily rollup: one row per local day × channel × company (none for B2C) × currency."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from orderflow.models import Channel
from orderflow.money import CurrencyField, MoneyField, quantize

COUNTS = ("orders_placed", "orders_confirmed", "orders_canceled", "orders_completed",
          "orders_counted", "units", "carts_created", "carts_abandoned", "carts_recovered",
          "quotes_sent", "quotes_accepted", "quotes_converted", "returns_opened")
AMOUNTS = ("gross_sales", "discounts", "tax", "shipping", "refunds", "net",
           "recovered_revenue", "returns_refunded")
FIGURES = COUNTS + AMOUNTS


class DailyRollup(models.Model):
    """Figures of one day (``settings.TIME_ZONE``) in one channel for one company (null: B2C),
    money in ``currency`` (the channel's; never summed across currencies). Written only by
    ``analytics.services``; definitions in docs/analytics.md."""

    day = models.DateField()
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    currency = CurrencyField()
    orders_placed = models.PositiveIntegerField(default=0)
    orders_confirmed = models.PositiveIntegerField(default=0)
    orders_canceled = models.PositiveIntegerField(default=0)
    orders_completed = models.PositiveIntegerField(default=0)
    orders_counted = models.PositiveIntegerField(
        default=0, help_text="Orders placed that day that are not canceled or declined.")
    units = models.PositiveIntegerField(default=0)
    gross_sales = MoneyField(default=Decimal("0"))
    discounts = MoneyField(default=Decimal("0"))
    tax = MoneyField(default=Decimal("0"))
    shipping = MoneyField(default=Decimal("0"))
    refunds = MoneyField(default=Decimal("0"))
    net = MoneyField(default=Decimal("0"))
    carts_created = models.PositiveIntegerField(default=0)
    carts_abandoned = models.PositiveIntegerField(default=0)
    carts_recovered = models.PositiveIntegerField(default=0)
    recovered_revenue = MoneyField(default=Decimal("0"))
    quotes_sent = models.PositiveIntegerField(default=0)
    quotes_accepted = models.PositiveIntegerField(default=0)
    quotes_converted = models.PositiveIntegerField(default=0)
    returns_opened = models.PositiveIntegerField(default=0)
    returns_refunded = MoneyField(default=Decimal("0"))
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day", "channel", "company", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "company", "currency"],
                                    condition=Q(company__isnull=False),
                                    name="rollup_b2b_unique"),
            models.UniqueConstraint(fields=["day", "channel", "currency"],
                                    condition=Q(company__isnull=True),
                                    name="rollup_b2c_unique"),
        ]
        indexes = [models.Index(fields=["day", "channel"], name="rollup_day_channel_idx")]
        permissions = [("view", "Can view analytics (API and dashboard)")]

    def __str__(self):
        return f"{self.day} {self.channel_id} {self.company_id or 'B2C'} {self.currency}"

    @property
    def average_order_value(self) -> Decimal:
        return average_order_value(self.gross_sales - self.discounts + self.tax + self.shipping,
                                   self.orders_counted, self.currency)

    @property
    def quote_conversion_rate(self) -> Decimal | None:
        return conversion_rate(self.quotes_converted, self.quotes_sent)


def average_order_value(revenue: Decimal, orders: int, currency: str) -> Decimal:
    """Sales (gross − discounts + tax + shipping) per counted order, in the currency's unit."""
    return quantize(Decimal(revenue) / orders if orders else Decimal("0"), currency)


def conversion_rate(converted: int, sent: int) -> Decimal | None:
    return (Decimal(converted) / Decimal(sent)).quantize(Decimal("0.0001")) if sent else None
