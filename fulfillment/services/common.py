"""What shipment and return use cases share: the locked order, the status move."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum

from orderflow.errors import InvalidTransition
from orders.lock_objects import order_line_qs_select_for_update, order_qs_select_for_update
from orders.models import Order, OrderLine


def lock_order(order: Order) -> Order:
    """The order row, locked until the transaction ends (always first: order, then what
    belongs to it), with what payloads read."""
    return (order_qs_select_for_update().select_related("channel", "customer", "company")
            .get(pk=order.pk))


def lock_order_lines(order: Order) -> dict[str, OrderLine]:
    """The order's lines, locked, by public id."""
    return {line.public_id: line for line in
            order_line_qs_select_for_update().filter(order=order)}


def move(obj, *, transitions: dict, timestamps: dict, target: str, entity: str,
         now: datetime) -> list[str]:
    """Check ``obj.status → target`` against the table, set it and stamp its timestamp;
    returns the fields to save."""
    if target not in transitions[obj.status]:
        raise InvalidTransition(entity=entity, from_status=obj.status, to_status=target)
    obj.status = target
    fields = ["status", "updated_at"]
    stamp = timestamps.get(target)
    if stamp:
        setattr(obj, stamp, now)
        fields.append(stamp)
    return fields


def sums_by_line(queryset, field: str = "quantity") -> dict[int, int]:
    """``{order_line_id: Σ field}`` of shipment or return lines."""
    return {row["order_line_id"]: row["total"] or 0
            for row in queryset.values("order_line_id").annotate(total=Sum(field))}
