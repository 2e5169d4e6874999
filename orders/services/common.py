"""What every order use case shares: the locked row, the transition check, the status stamp."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from orderflow.errors import InvalidTransition
from orders import events
from orders.constants import (
    ORDER_TRANSITIONS,
    STATUS_TIMESTAMPS,
)
from orders.lock_objects import order_qs_select_for_update
from orders.models import (
    Order,
    OrderLine,
    Payment,
)

ZERO = Decimal("0")


def lock_order(order: Order) -> Order:
    """The order row, locked until the transaction ends, with what payloads read."""
    return (order_qs_select_for_update()
            .select_related("channel", "customer", "company").get(pk=order.pk))


def check_transition(order: Order, action: str) -> str:
    sources, target = ORDER_TRANSITIONS[action]
    if order.status not in sources:
        raise InvalidTransition(entity="order", from_status=order.status, to_status=target)
    return target


def move_status(order: Order, target: str, now: datetime) -> list[str]:
    """Set the status and stamp its timestamp; returns the fields to save."""
    order.status = target
    fields = ["status", "updated_at"]
    stamp = STATUS_TIMESTAMPS.get(target)
    if stamp:
        setattr(order, stamp, now)
        fields.append(stamp)
    return fields


def order_lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("id"))


def order_payments(order: Order) -> list[Payment]:
    return list(Payment.objects.filter(order=order).order_by("id"))


def emit_order(event_type: str, order: Order) -> None:
    events.order_emit(event_type, order, lines=order_lines(order), payments=order_payments(order))
