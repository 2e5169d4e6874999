"""Order decisions from the approvals inbox: the order services decide, after a check that
the page the approver looked at is still what waits (a level decided by someone else
meanwhile is a stale page, never a second decision)."""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction

from orderflow.errors import Conflict, InvalidTransition
from orderflow.models import ActorSource
from orderflow.principals import Principal
from orders.constants import OrderStatus
from orders.lock_objects import order_qs_select_for_update
from orders.selectors import principal_with_memberships
from orders.services import order_approve, order_decline
from quotes.selectors import order_pending_level


def _locked_and_current(order, level: int | None):
    order = order_qs_select_for_update().get(pk=order.pk)
    if order.status != OrderStatus.AWAITING_APPROVAL:
        raise InvalidTransition(entity="order", from_status=order.status,
                                to_status="confirmed")
    waiting = order_pending_level(order=order)
    if level is not None and waiting != level:
        raise Conflict(f"Level {level} of {order.number} was decided meanwhile.",
                       code="stale_decision", awaiting_level=waiting)
    return order


def _principal(user) -> Principal:
    # Approvers act as the buyer record their login belongs to, never as staff: an approver
    # who is also staff still decides at their company level.
    base = principal_with_memberships(Principal(user=user, source=ActorSource.ADMIN))
    return replace(base, source=ActorSource.ADMIN)


@transaction.atomic
def inbox_order_approve(*, order, user, level: int | None, comment: str = ""):
    order = _locked_and_current(order, level)
    return order_approve(order=order, principal=_principal(user), comment=comment)


@transaction.atomic
def inbox_order_decline(*, order, user, level: int | None, reason: str):
    order = _locked_and_current(order, level)
    return order_decline(order=order, principal=_principal(user), reason=reason)
