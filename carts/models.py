from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from carts.constants import CartStatus
from orderflow.models import Channel, PublicIdField, TimeStampedModel
from orderflow.money import CurrencyField, MoneyField


class Cart(TimeStampedModel):
    public_id = PublicIdField(prefix="cart")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="carts")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="carts")
    api_key = models.ForeignKey("bridges.ApiKey", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="carts")
    connection = models.ForeignKey("bridges.InboundConnection", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="carts",
                                   help_text="The bridge connection that created it, if any.")
    status = models.CharField(max_length=12, choices=CartStatus.choices,
                              default=CartStatus.ACTIVE, db_index=True)
    email = models.EmailField(blank=True)
    currency = CurrencyField()
    shipping_method = models.ForeignKey("fulfillment.ShippingMethod", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    # Every change bumps ``version``; pricing records the version it priced.
    version = models.PositiveIntegerField(default=1)
    priced_version = models.PositiveIntegerField(null=True, blank=True)
    priced_at = models.DateTimeField(null=True, blank=True)
    subtotal = MoneyField(default=Decimal("0"))
    tax_total = MoneyField(default=Decimal("0"))
    shipping_total = MoneyField(default=Decimal("0"))
    total = MoneyField(default=Decimal("0"))
    metadata = models.JSONField(default=dict, blank=True)
    # The defaults the cart took instead of a client's choice, by field ("shipping_method",
    # "shipping_address", "billing_address"; "payment" at checkout): {value, source, detail}.
    defaults = models.JSONField(default=dict, blank=True)
    # Not indexed: it changes on every edit, and an index on it would make each edit write
    # every index of the row again (no HOT update). Idle carts are found by status.
    last_activity_at = models.DateTimeField(auto_now=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    # Abandoned-cart recovery (recovery/, docs/recovery.md): the shopper agreed to marketing
    # e-mail; when the cart was found idle, came back (and through which reminder's link:
    # ``recovered_step``, empty when the shopper came back on their own), or expired.
    marketing_consent = models.BooleanField(default=False)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    recovered_step = models.PositiveSmallIntegerField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.public_id

    @property
    def is_priced(self) -> bool:
        return self.priced_version is not None and self.priced_version == self.version


class CartLine(TimeStampedModel):
    public_id = PublicIdField(prefix="cl")
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(help_text="In the product's base unit.")
    order_uom = models.CharField(max_length=16, blank=True)
    order_quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = MoneyField(null=True, blank=True)
    price_source = models.CharField(max_length=10, blank=True)
    line_subtotal = MoneyField(default=Decimal("0"))
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0"))
    tax_amount = MoneyField(default=Decimal("0"))
    line_total = MoneyField(default=Decimal("0"))
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cartline_one_per_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cartline_quantity_gte_1"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product_id}"
