"""B2B approval of orders over a company's thresholds, level by level."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from orderflow.errors import Conflict, DomainError, ValidationFailed
from orders import events
from orders.constants import (
    ApprovalDecision,
    OrderAction,
)
from orders.models import (
    Order,
    OrderApproval,
)
from orders.services.common import (
    check_transition,
    emit_order,
    lock_order,
    move_status,
)
from orders.services.lifecycle import (
    close_dependants,
    release_stock,
    void_and_owe,
)
from orders.services.suppliers import forward_to_suppliers


class NotAnApprover(DomainError):
    status = 403
    code = "not_an_approver"
    title = "Not an approver of this order"


def _approver_level(order: Order, principal) -> int | None:
    """The highest level ``principal`` may approve for this order, None if none."""
    user = principal.user
    if principal.is_staff and user is not None and user.has_perm("orders.approve_order"):
        return 9
    customer = principal.customer
    if customer is None or order.company_id is None or principal.is_storefront:
        return None
    approver = customer.approver_of.filter(company_id=order.company_id).first()
    return approver.level if approver else None


def _check_may_decide(order: Order, principal) -> None:
    """Who may decide is checked before the order's state: someone who may not (a staff
    user without ``approve_order``) learns nothing of the state from a 409."""
    if _approver_level(order, principal) is None:
        raise NotAnApprover("Only the company's approvers (or staff with the approve "
                            "permission) decide on this order.")


def _authorize_decision(order: Order, principal) -> tuple[int, list[OrderApproval]]:
    """The level now pending, after checking that ``principal`` may decide it."""
    decided = list(OrderApproval.objects.filter(order=order).order_by("level"))
    done = {a.level for a in decided}
    pending = [level for level in order.approval_levels if level not in done]
    level = pending[0] if pending else 1
    may = _approver_level(order, principal)
    if may is None:
        raise NotAnApprover("Only the company's approvers (or staff with the approve "
                            "permission) decide on this order.")
    if may < level:
        raise NotAnApprover(f"This order waits for a level {level} approver; you approve up "
                            f"to level {may}.", level=level)
    me = (principal.customer.pk if principal.customer is not None and not principal.is_staff
          else None, principal.user.pk if principal.user is not None else None)
    for a in decided:
        if (me[0] is not None and a.approver_id == me[0]) or (
                me[1] is not None and a.user_id == me[1]):
            raise Conflict("You already approved this order at another level; the next level "
                           "needs someone else.", code="already_approved_by_you")
    return level, decided


@transaction.atomic
def order_approve(*, order: Order, principal, comment: str = "") -> Order:
    """Approve the pending level; the last required level confirms the order."""
    order = lock_order(order)
    _check_may_decide(order, principal)
    target = check_transition(order, OrderAction.APPROVE)
    level, decided = _authorize_decision(order, principal)
    actor = principal.actor
    OrderApproval.objects.create(
        order=order, level=level, decision=ApprovalDecision.APPROVED,
        approver=principal.customer if not principal.is_staff else None,
        user=principal.user, actor_label=actor.display[:200], comment=comment,
    )
    remaining = [lv for lv in order.approval_levels
                 if lv not in {a.level for a in decided} | {level}]
    if remaining:
        order.save(update_fields=["updated_at"])
        events.order_approval_recorded_event(order=order, actor=actor, level=level,
                                             comment=comment, remaining=remaining)
        emit_order("order.approval_recorded", order)
        return order
    now = timezone.now()
    old = order.status
    order.approved_at = now
    order.save(update_fields=[*move_status(order, target, now), "approved_at"])
    supplier_orders = forward_to_suppliers(order)
    events.order_status_event(
        order=order, actor=actor, type=events.ORDER_APPROVED, old_status=old,
        message=f"Approved (level {level}) by {actor.display}"
                + (f": {comment}" if comment else "") + "; order confirmed.",
        supplier_orders=supplier_orders, level=level, comment=comment)
    emit_order("order.approved", order)
    emit_order("order.confirmed", order)
    return order


@transaction.atomic
def order_decline(*, order: Order, principal, reason: str) -> Order:
    """An approver ends the order: declined with the reason; stock and payments released."""
    if not reason.strip():
        raise ValidationFailed("A decline needs a reason.", code="reason_required",
                               errors={"reason": ["Required."]})
    order = lock_order(order)
    _check_may_decide(order, principal)
    target = check_transition(order, OrderAction.DECLINE)
    level, _ = _authorize_decision(order, principal)
    actor = principal.actor
    OrderApproval.objects.create(
        order=order, level=level, decision=ApprovalDecision.DECLINED,
        approver=principal.customer if not principal.is_staff else None,
        user=principal.user, actor_label=actor.display[:200], comment=reason,
    )
    now = timezone.now()
    old = order.status
    order.decline_reason = reason.strip()
    released = release_stock(order)
    void_and_owe(order, actor)
    close_dependants(order, actor, now)
    order.save(update_fields=[*move_status(order, target, now), "decline_reason", "payment_status"])
    events.order_status_event(order=order, actor=actor, type=events.ORDER_DECLINED,
                              old_status=old,
                              message=f"Declined (level {level}) by {actor.display}: {reason}",
                              level=level, reason=reason, released=released)
    emit_order("order.declined", order)
    return order
