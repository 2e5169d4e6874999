"""Return reads, scoped by principal: staff see every return; a buyer the returns of the
orders they see (``orders.selectors.order_queryset``: a shopper their own); suppliers
none. Anything else is 404."""

from __future__ import annotations

from django.db.models import Prefetch

from fulfillment.models import Return, ReturnEvent, ReturnLine
from orderflow.errors import NotFound
from orders.selectors import order_queryset


def return_queryset(*, principal, with_events: bool = False):
    qs = Return.objects.select_related("order__channel").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")
                 .order_by("id")))
    if with_events:
        qs = qs.prefetch_related(Prefetch("events", queryset=ReturnEvent.objects
                                          .order_by("created_at", "id")))
    if principal.is_staff:
        return qs
    if principal.supplier is not None:
        return qs.none()
    return qs.filter(order__in=order_queryset(principal=principal).values("pk"))


def return_list(*, principal):
    return return_queryset(principal=principal)


def return_get(*, principal, public_id: str, with_events: bool = False) -> Return:
    r = (return_queryset(principal=principal, with_events=with_events)
         .filter(public_id=public_id).first())
    if r is None:
        raise NotFound(f"No return {public_id}.")
    return r
