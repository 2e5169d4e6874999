"""Shipments: created (some units of some lines, or everything still unshipped), shipped —
which rolls the units up into the order — delivered, or canceled before shipping.

Each use case is one transaction that locks the order first, then the shipment; each writes
the order's timeline entry and the ``shipment.*`` outbox event; the buyer's shipping e-mail
is sent after commit.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from fulfillment import events
from fulfillment.constants import (
    LIVE_SHIPMENT_STATUSES,
    SHIPMENT_TIMESTAMPS,
    SHIPMENT_TRANSITIONS,
    ShipmentStatus,
    tracking_url_for,
)
from fulfillment.lock_objects import shipment_qs_select_for_update
from fulfillment.models import Shipment, ShipmentLine
from fulfillment.services.common import lock_order, lock_order_lines, move, sums_by_line
from fulfillment.services.notifications import shipment_shipped_notify
from orderflow.errors import Conflict, ValidationFailed
from orderflow.timeline import Actor
from orders import events as order_events
from orders.constants import OrderStatus
from orders.models import Order, OrderLine, SupplierOrder
from orders.services.lifecycle import order_lines_ship


def _shippable(order: Order) -> None:
    if order.status != OrderStatus.CONFIRMED:
        raise Conflict(f"A {order.status} order cannot ship; only confirmed orders do.",
                       code="order_not_shippable", status_value=order.status)


def quantities_unshipped(order: Order, lines: dict[str, OrderLine]) -> dict[str, int]:
    """``{line public id: units not yet in a live shipment}`` (ordered minus what pending,
    shipped and delivered shipments hold)."""
    held = sums_by_line(ShipmentLine.objects.filter(
        order_line__order_id=order.pk, shipment__status__in=LIVE_SHIPMENT_STATUSES))
    return {public_id: line.quantity - held.get(line.pk, 0)
            for public_id, line in lines.items()}


def _line_label(line: OrderLine) -> str:
    return f"{line.sku} ({line.public_id})"


@transaction.atomic
def shipment_create(*, order: Order, actor: Actor, lines: dict[str, int] | None = None,
                    carrier: str = "", service: str = "", tracking_number: str = "",
                    tracking_url: str = "", weight_grams: int | None = None, notes: str = "",
                    supplier_order: SupplierOrder | None = None) -> Shipment:
    """A pending shipment of ``lines`` (``{order line public id: base units}``; None: every
    unit not yet in a shipment — of the supplier order's lines when ``supplier_order`` is
    given). Refused with 409 ``over_shipment`` when a line would ship more than ordered
    minus what its other live shipments hold, ``order_not_shippable`` unless confirmed."""
    order = lock_order(order)
    _shippable(order)
    order_lines = lock_order_lines(order)
    if supplier_order is not None:
        if supplier_order.order_id != order.pk:
            raise ValidationFailed("That supplier order belongs to another order.",
                                   code="invalid_supplier_order")
        allowed = set(supplier_order.lines.values_list("order_line__public_id", flat=True))
        order_lines = {k: v for k, v in order_lines.items() if k in allowed}
    left = quantities_unshipped(order, order_lines)
    if lines is None:
        lines = {line_id: qty for line_id, qty in left.items() if qty > 0}
        if not lines:
            raise Conflict("Every unit of this order is already in a shipment.",
                           code="nothing_to_ship")
    errors = {}
    for line_id, qty in lines.items():
        if line_id not in order_lines:
            errors[line_id] = ["No such line on this order"
                               + (" for this supplier." if supplier_order else ".")]
        elif not isinstance(qty, int) or qty < 1:
            errors[line_id] = ["Ship at least 1 unit."]
    if errors or not lines:
        raise ValidationFailed("Some lines cannot ship.", code="invalid_quantity",
                               errors=errors or {"lines": ["Nothing to ship."]})
    for line_id, qty in lines.items():
        if qty > left[line_id]:
            line = order_lines[line_id]
            raise Conflict(
                f"Line {_line_label(line)}: {qty} asked, only {max(left[line_id], 0)} of "
                f"{line.quantity} left to ship.", code="over_shipment", line_id=line_id,
                sku=line.sku, requested=qty, ordered=line.quantity, left=max(left[line_id], 0))
    shipment = Shipment.objects.create(
        order=order, supplier_order=supplier_order, carrier=carrier.strip(),
        service=service.strip(), tracking_number=tracking_number.strip(),
        tracking_url=tracking_url or tracking_url_for(carrier, tracking_number.strip()),
        weight_grams=weight_grams, notes=notes, actor_label=actor.display[:200])
    shipment.order = order
    rows = ShipmentLine.objects.bulk_create([
        ShipmentLine(shipment=shipment, order_line=order_lines[line_id], quantity=qty)
        for line_id, qty in lines.items()])
    units = sum(lines.values())
    order_events.order_fulfillment_event(
        order=order, actor=actor, type=order_events.SHIPMENT_CREATED,
        message=f"Shipment {shipment.number} created: {units} unit(s) on {len(lines)} "
                f"line(s)" + (f" by {supplier_order.supplier.code}" if supplier_order else "")
                + ".",
        parameters=_shipment_parameters(shipment, lines))
    events.shipment_emit("shipment.created", shipment, rows)
    return shipment


def _shipment_parameters(shipment: Shipment, lines: dict[str, int], **extra) -> dict:
    return {"shipment_id": shipment.public_id, "number": shipment.number,
            "status": shipment.status, "lines": lines, "carrier": shipment.carrier or None,
            "tracking_number": shipment.tracking_number or None,
            "supplier_order": (shipment.supplier_order.number if shipment.supplier_order_id
                               else None), **extra}


def _lock(shipment: Shipment) -> tuple[Order, Shipment, list[ShipmentLine]]:
    order = lock_order(shipment.order)
    locked = shipment_qs_select_for_update().select_related("supplier_order__supplier").get(
        pk=shipment.pk)
    locked.order = order
    lines = list(ShipmentLine.objects.filter(shipment=locked).select_related("order_line")
                 .order_by("id"))
    return order, locked, lines


def _quantities(lines: list[ShipmentLine]) -> dict[str, int]:
    return {line.order_line.public_id: line.quantity for line in lines}


@transaction.atomic
def shipment_ship(*, shipment: Shipment, actor: Actor, carrier: str | None = None,
                  service: str | None = None, tracking_number: str | None = None,
                  tracking_url: str | None = None) -> Shipment:
    """Hand the parcel to the carrier (tracking may be given now): its units leave the
    shelf and the reservation and roll up into the order (``order_lines_ship``: fulfillment
    status, invoice and completion with the last unit). The buyer is e-mailed after
    commit."""
    order, shipment, lines = _lock(shipment)
    _shippable(order)
    fields = move(shipment, transitions=SHIPMENT_TRANSITIONS, timestamps=SHIPMENT_TIMESTAMPS,
                  target=ShipmentStatus.SHIPPED, entity="shipment", now=timezone.now())
    fields += _set_tracking(shipment, carrier=carrier, service=service,
                            tracking_number=tracking_number, tracking_url=tracking_url)
    shipment.save(update_fields=fields)
    quantities = _quantities(lines)
    order_events.order_fulfillment_event(
        order=order, actor=actor, type=order_events.SHIPMENT_SHIPPED,
        message=f"Shipment {shipment.number} shipped"
                + (f" with {shipment.carrier}" if shipment.carrier else "")
                + (f", tracking {shipment.tracking_number}" if shipment.tracking_number
                   else "") + ".",
        parameters=_shipment_parameters(shipment, quantities,
                                        tracking_url=shipment.tracking_url or None))
    events.shipment_emit("shipment.shipped", shipment, lines)
    order_lines_ship(order=order, quantities=quantities, actor=actor, shipment=shipment.number)
    transaction.on_commit(lambda: shipment_shipped_notify(shipment.pk))
    return shipment


def _set_tracking(shipment: Shipment, *, carrier, service, tracking_number,
                  tracking_url) -> list[str]:
    fields = []
    for name, value in (("carrier", carrier), ("service", service),
                        ("tracking_number", tracking_number)):
        if value is not None and value.strip() != getattr(shipment, name):
            setattr(shipment, name, value.strip())
            fields.append(name)
    url = tracking_url if tracking_url is not None else (
        tracking_url_for(shipment.carrier, shipment.tracking_number) if fields else None)
    if url is not None and url != shipment.tracking_url:
        shipment.tracking_url = url
        fields.append("tracking_url")
    return fields


@transaction.atomic
def shipment_update_tracking(*, shipment: Shipment, actor: Actor, carrier: str | None = None,
                             service: str | None = None, tracking_number: str | None = None,
                             tracking_url: str | None = None) -> Shipment:
    """Correct the carrier or tracking of a shipment not canceled."""
    order, shipment, lines = _lock(shipment)
    if shipment.status == ShipmentStatus.CANCELED:
        raise Conflict("A canceled shipment keeps its tracking.", code="shipment_canceled")
    fields = _set_tracking(shipment, carrier=carrier, service=service,
                           tracking_number=tracking_number, tracking_url=tracking_url)
    if fields:
        shipment.save(update_fields=[*fields, "updated_at"])
    return shipment


@transaction.atomic
def shipment_deliver(*, shipment: Shipment, actor: Actor) -> Shipment:
    """The carrier delivered the parcel."""
    order, shipment, lines = _lock(shipment)
    fields = move(shipment, transitions=SHIPMENT_TRANSITIONS, timestamps=SHIPMENT_TIMESTAMPS,
                  target=ShipmentStatus.DELIVERED, entity="shipment", now=timezone.now())
    shipment.save(update_fields=fields)
    order_events.order_fulfillment_event(
        order=order, actor=actor, type=order_events.SHIPMENT_DELIVERED,
        message=f"Shipment {shipment.number} delivered.",
        parameters=_shipment_parameters(shipment, _quantities(lines)))
    events.shipment_emit("shipment.delivered", shipment, lines)
    return shipment


@transaction.atomic
def shipment_cancel(*, shipment: Shipment, actor: Actor, reason: str = "") -> Shipment:
    """Cancel a pending shipment: its quantities are free to ship again."""
    order, shipment, lines = _lock(shipment)
    fields = move(shipment, transitions=SHIPMENT_TRANSITIONS, timestamps=SHIPMENT_TIMESTAMPS,
                  target=ShipmentStatus.CANCELED, entity="shipment", now=timezone.now())
    shipment.save(update_fields=fields)
    order_events.order_fulfillment_event(
        order=order, actor=actor, type=order_events.SHIPMENT_CANCELED,
        message=f"Shipment {shipment.number} canceled" + (f": {reason}." if reason else "."),
        parameters=_shipment_parameters(shipment, _quantities(lines), reason=reason or None))
    events.shipment_emit("shipment.canceled", shipment, lines)
    return shipment
