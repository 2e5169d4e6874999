from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from fulfillment.constants import (
    RETURN_TRANSITIONS,
    SHIPMENT_TRANSITIONS,
    ItemCondition,
    RateBasis,
    RefundMethod,
    ReturnReason,
    ReturnStatus,
    ShipmentStatus,
)
from orderflow.models import Channel, PublicIdField, TimelineEvent, TimeStampedModel, human_number
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


# --- shipments ---------------------------------------------------------------------------------
# Orders are referenced by string ("orders.Order"): fulfillment's models sit below orders in
# the layers (orders reads shipping methods from here), so they import nothing of it, and
# ``order.shipments`` / ``order.returns`` come from the reverse relations.

class Shipment(TimeStampedModel):
    """A parcel: some units of some lines of one order, with its carrier and tracking.

    Staff ship from the seller's stock; a supplier ships the lines of its supplier order
    (``supplier_order``). Quantities count against a line from creation until canceled.
    """

    public_id = PublicIdField(prefix="shp")
    number = human_number("SH-")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="shipments")
    supplier_order = models.ForeignKey(
        "orders.SupplierOrder", null=True, blank=True, on_delete=models.PROTECT,
        related_name="shipments", help_text="Set when the supplier ships its lines.")
    status = models.CharField(max_length=10, choices=ShipmentStatus.choices,
                              default=ShipmentStatus.PENDING, db_index=True)
    carrier = models.CharField(max_length=60, blank=True, db_index=True)
    service = models.CharField(max_length=60, blank=True, help_text="e.g. Express, Ground.")
    tracking_number = models.CharField(max_length=120, blank=True, db_index=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True,
                                               help_text="Package weight in grams.")
    notes = models.TextField(blank=True)
    actor_label = models.CharField(max_length=200, blank=True,
                                   help_text="Who created it.")
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]  # an order's shipments in the order they were made
        indexes = [models.Index(fields=["status", "created_at"], name="shipment_status_age_idx")]

    def __str__(self):
        return self.number or self.public_id

    def can_move_to(self, status: str) -> bool:
        return status in SHIPMENT_TRANSITIONS[self.status]


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT,
                                   related_name="shipment_lines")
    quantity = models.PositiveIntegerField(help_text="Base units in this parcel.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_line"],
                                    name="shipmentline_one_per_order_line"),
            models.CheckConstraint(condition=Q(quantity__gte=1),
                                   name="shipmentline_quantity_gte_1"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.order_line_id}"


# --- returns (RMA) -----------------------------------------------------------------------------

class Return(TimeStampedModel):
    """A return merchandise authorization: asked for, authorized (the RMA number is then
    given to the buyer) or rejected, received, refunded, closed."""

    public_id = PublicIdField(prefix="ret")
    number = human_number("RMA-")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=10, choices=ReturnStatus.choices,
                              default=ReturnStatus.REQUESTED, db_index=True)
    comment = models.TextField(blank=True, help_text="The buyer's words.")
    instructions = models.TextField(blank=True,
                                    help_text="How to send the goods back (given on authorize).")
    reject_reason = models.TextField(blank=True)
    refund_method = models.CharField(max_length=16, choices=RefundMethod.choices, blank=True)
    refund_amount = MoneyField(default=Decimal("0"))
    currency = CurrencyField()
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who asked for it.")
    authorized_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="return_status_age_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(refund_amount__gte=0),
                                   name="return_refund_not_negative"),
        ]

    def __str__(self):
        return self.rma_number or self.public_id

    @property
    def rma_number(self) -> str | None:
        """The number the buyer writes on the parcel, once the return is authorized."""
        return self.number if self.authorized_at else None

    def can_move_to(self, status: str) -> bool:
        return status in RETURN_TRANSITIONS[self.status]


class ReturnLine(models.Model):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT,
                                   related_name="return_lines")
    quantity = models.PositiveIntegerField(help_text="Base units asked to return.")
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    reason_text = models.CharField(max_length=500, blank=True)
    quantity_received = models.PositiveIntegerField(default=0)
    condition = models.CharField(max_length=10, choices=ItemCondition.choices, blank=True)
    restock = models.BooleanField(default=False,
                                  help_text="Received units went back on the shelf.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "order_line"],
                                    name="returnline_one_per_order_line"),
            models.CheckConstraint(condition=Q(quantity__gte=1),
                                   name="returnline_quantity_gte_1"),
            models.CheckConstraint(condition=Q(quantity_received__lte=models.F("quantity")),
                                   name="returnline_received_within_quantity"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.order_line_id}"


class ReturnEvent(TimelineEvent):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineEvent.Meta):
        pass
