"""Shipment reads, scoped by principal: staff see every shipment; a supplier login the
shipments of its supplier orders; everyone else the shipments of the orders they see
(``orders.selectors.order_queryset``: a shopper their own). Anything else is 404."""

from __future__ import annotations

from django.db.models import Prefetch

from fulfillment.models import Shipment, ShipmentLine
from orderflow.errors import NotFound
from orders.selectors import order_queryset


def shipment_queryset(*, principal):
    qs = Shipment.objects.select_related(
        "order__channel", "supplier_order__supplier").prefetch_related(
        Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line")
                 .order_by("id")))
    if principal.is_staff:
        return qs
    if principal.supplier is not None:
        return qs.filter(supplier_order__supplier_id=principal.supplier.pk)
    return qs.filter(order__in=order_queryset(principal=principal).values("pk"))


def shipment_get(*, principal, public_id: str) -> Shipment:
    shipment = shipment_queryset(principal=principal).filter(public_id=public_id).first()
    if shipment is None:
        raise NotFound(f"No shipment {public_id}.")
    return shipment
