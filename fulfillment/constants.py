"""Shipping rate bases, and the statuses, transition tables and choices of shipments and
returns. A status changes only through the service of its action (``fulfillment.services``),
which looks the move up here before it writes anything."""

from django.db import models


class RateBasis(models.TextChoices):
    FLAT = "flat", "Flat price"
    ORDER_TOTAL = "total", "By order subtotal"
    WEIGHT = "weight", "By weight"


# --- shipments ---------------------------------------------------------------------------------

class ShipmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELED = "canceled", "Canceled"


SHIPMENT_TRANSITIONS = {
    ShipmentStatus.PENDING: {ShipmentStatus.SHIPPED, ShipmentStatus.CANCELED},
    ShipmentStatus.SHIPPED: {ShipmentStatus.DELIVERED},
    ShipmentStatus.DELIVERED: set(),
    ShipmentStatus.CANCELED: set(),
}

SHIPMENT_TIMESTAMPS = {
    ShipmentStatus.SHIPPED: "shipped_at",
    ShipmentStatus.DELIVERED: "delivered_at",
    ShipmentStatus.CANCELED: "canceled_at",
}

# Shipments whose quantities count against what a line may still ship.
LIVE_SHIPMENT_STATUSES = frozenset({ShipmentStatus.PENDING, ShipmentStatus.SHIPPED,
                                    ShipmentStatus.DELIVERED})

# Tracking pages of the carriers staff use most; ``{number}`` is the tracking number. A
# shipment of another carrier takes its tracking URL as given (or none).
CARRIER_TRACKING_URLS = {
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "jamaica-post": "https://www.jamaicapost.gov.jm/track?number={number}",
    "knutsford": "https://www.knutsfordexpress.com/tracking/?waybill={number}",
}


def tracking_url_for(carrier: str, tracking_number: str) -> str:
    template = CARRIER_TRACKING_URLS.get((carrier or "").strip().lower())
    if not template or not tracking_number:
        return ""
    return template.format(number=tracking_number)


# --- returns -----------------------------------------------------------------------------------

class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AUTHORIZED = "authorized", "Authorized"
    REJECTED = "rejected", "Rejected"
    RECEIVED = "received", "Received"
    REFUNDED = "refunded", "Refunded"
    CLOSED = "closed", "Closed"


RETURN_TRANSITIONS = {
    ReturnStatus.REQUESTED: {ReturnStatus.AUTHORIZED, ReturnStatus.REJECTED},
    # Authorized but never sent back, or an exchange handled outside: closed without refund.
    ReturnStatus.AUTHORIZED: {ReturnStatus.RECEIVED, ReturnStatus.CLOSED},
    ReturnStatus.RECEIVED: {ReturnStatus.REFUNDED, ReturnStatus.CLOSED},
    ReturnStatus.REFUNDED: {ReturnStatus.CLOSED},
    ReturnStatus.REJECTED: set(),
    ReturnStatus.CLOSED: set(),
}

RETURN_TIMESTAMPS = {
    ReturnStatus.AUTHORIZED: "authorized_at",
    ReturnStatus.REJECTED: "rejected_at",
    ReturnStatus.RECEIVED: "received_at",
    ReturnStatus.REFUNDED: "refunded_at",
    ReturnStatus.CLOSED: "closed_at",
}

# What a return holds of a line's shipped units: the requested quantity while it is open,
# what was received once it was (a return closed before receipt holds nothing), nothing when
# rejected.
OPEN_RETURN_STATUSES = frozenset({ReturnStatus.REQUESTED, ReturnStatus.AUTHORIZED})


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    DEFECTIVE = "defective", "Defective"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
    OTHER = "other", "Other"


class ItemCondition(models.TextChoices):
    NEW = "new", "As new (resellable)"
    OPENED = "opened", "Opened"
    DAMAGED = "damaged", "Damaged"


class RefundMethod(models.TextChoices):
    PAYMENT = "payment", "Refund on the payment"
    INVOICE_CREDIT = "invoice_credit", "Credit on the invoice"
