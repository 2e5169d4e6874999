"""Batch sync: orders marked as taken by a downstream system."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from orderflow.timeline import Actor
from orders import events
from orders.lock_objects import order_qs_select_for_update
from orders.models import (
    Order,
)


@transaction.atomic
def orders_mark_exported(*, orders: list[Order], actor: Actor) -> list[Order]:
    """Stamp ``exported_at`` on each order not stamped yet (an ERP took them); re-marking
    keeps the first stamp. One transaction for the whole batch."""
    now = timezone.now()
    locked = list(order_qs_select_for_update().select_related("channel")
                  .filter(pk__in=[o.pk for o in orders]).order_by("pk"))
    for order in locked:
        if order.exported_at is None:
            order.exported_at = now
            order.save(update_fields=["exported_at", "updated_at"])
            events.order_exported_event(order=order, actor=actor)
    return locked


def order_mark_exported(*, order: Order, actor: Actor) -> Order:
    return orders_mark_exported(orders=[order], actor=actor)[0]
