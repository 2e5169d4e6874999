from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from orderflow.models import Channel, PublicIdField, TimelineEvent, TimeStampedModel
from orderflow.money import CurrencyField, MoneyField
from orders.constants import (
    FulfillmentStatus,
    OrderStatus,
    PaymentKind,
    PaymentRecordStatus,
    PaymentStatus,
)


class Order(TimeStampedModel):
    public_id = PublicIdField(prefix="ord")
    number = models.CharField(max_length=20, unique=True, null=True, editable=False,
                              help_text="Human order number, OF-000123.")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="orders")
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="orders")
    cart = models.OneToOneField("carts.Cart", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="order")
    api_key = models.ForeignKey("bridges.ApiKey", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="orders")
    connection = models.ForeignKey("bridges.InboundConnection", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="orders",
                                   help_text="The bridge connection that created it, if any.")
    email = models.EmailField(blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, db_index=True)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices,
                                      default=PaymentStatus.UNPAID, db_index=True)
    fulfillment_status = models.CharField(max_length=20, choices=FulfillmentStatus.choices,
                                          default=FulfillmentStatus.UNFULFILLED, db_index=True)
    currency = CurrencyField()
    subtotal = MoneyField(default=Decimal("0"))
    tax_total = MoneyField(default=Decimal("0"))
    shipping_total = MoneyField(default=Decimal("0"))
    total = MoneyField(default=Decimal("0"))
    shipping_method = models.ForeignKey("fulfillment.ShippingMethod", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    shipping_method_name = models.CharField(max_length=120, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    notes = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    placed_at = models.DateTimeField(db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self):
        return self.number or self.public_id


class OrderLine(models.Model):
    public_id = PublicIdField(prefix="ol")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(help_text="In the product's base unit.")
    order_uom = models.CharField(max_length=16, blank=True)
    order_quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = MoneyField()
    price_source = models.CharField(max_length=10, blank=True)
    line_subtotal = MoneyField()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4)
    tax_amount = MoneyField()
    line_total = MoneyField()
    quantity_reserved = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_gte_1"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class Payment(TimeStampedModel):
    """A reference to money handled elsewhere: never card data."""

    public_id = PublicIdField(prefix="pay")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField(max_length=20, choices=PaymentKind.choices)
    reference = models.CharField(max_length=120, blank=True,
                                 help_text="The provider's payment id (pi_…).")
    amount = MoneyField()
    currency = CurrencyField()
    status = models.CharField(max_length=12, choices=PaymentRecordStatus.choices,
                              default=PaymentRecordStatus.PENDING)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.currency}"


class OrderEvent(TimelineEvent):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineEvent.Meta):
        pass
