"""Submitting a quote to the approval policy, and the approvers' decisions, level by level.

Approvers are Django users in the group of a level (``QuoteApprovalLevel``). Levels decide in
order; the quote's author never approves it; each approver decides at most once per version.
A decision names the version (and level) it was made on, so a stale page never records a
second decision.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from orderflow.errors import Conflict, DomainError, ValidationFailed
from orderflow.timeline import Actor
from quotes import events
from quotes.constants import ApprovalDecision, DigestFrequency, QuoteAction
from quotes.models import ApproverPreference, Quote, QuoteApproval
from quotes.policy import PolicyLine, approval_levels_for
from quotes.selectors import active_policy_rules, approver_levels, level_approvers, pending_level
from quotes.services import notifications
from quotes.services.common import check_transition, check_version, lock_quote, move_status


class NotAnApprover(DomainError):
    status = 403
    code = "not_an_approver"
    title = "Not an approver of this quote"


def _notify_level(quote: Quote, level: int | None) -> None:
    if level is None:
        return
    daily = set(ApproverPreference.objects.exclude(digest=DigestFrequency.IMMEDIATE)
                .values_list("user_id", flat=True))
    users = [user for user in level_approvers(level=level).exclude(email="")
             if user.pk not in daily and user.pk != quote.author_id]
    notifications.approvers_mail(quote, users)


@transaction.atomic
def quote_submit(*, quote: Quote, actor: Actor) -> Quote:
    """Evaluate the approval policy on the current version: ``pending_approval`` at the
    levels of the rules that match, or ``approved`` at once when none does."""
    quote = lock_quote(quote)
    target = check_transition(quote, QuoteAction.SUBMIT)
    version = quote.current
    lines = list(version.lines.order_by("id"))
    levels, reasons = approval_levels_for(
        lines=[PolicyLine(sku=line.sku, list_price=line.list_price, unit_price=line.unit_price,
                          unit_cost=line.unit_cost) for line in lines],
        total=version.total, rules=active_policy_rules())
    now = timezone.now()
    version.approval_levels, version.approval_reasons = levels, reasons
    version.submitted_at = now
    version.save(update_fields=["approval_levels", "approval_reasons", "submitted_at"])
    old_status = quote.status
    fields = move_status(quote, target, now)
    quote.changes_comment = ""
    quote.awaiting_level = levels[0] if levels else None
    if not levels:
        fields += move_status(quote, "approved", now)
    quote.save(update_fields=list(dict.fromkeys([*fields, "changes_comment",
                                                 "awaiting_level"])))
    events.quote_submitted_event(quote=quote, actor=actor, old_status=old_status)
    events.quote_emit("quote.submitted", quote)
    if not levels:
        events.quote_emit("quote.approved", quote)
    _notify_level(quote, quote.awaiting_level)
    return quote


def _authorize(quote: Quote, user, *, version: int | None, level: int | None) -> int:
    """The level ``user`` decides now, after the stale-page and rights checks."""
    check_version(quote, version)
    approvals = list(QuoteApproval.objects.filter(version=quote.current))
    waiting = pending_level(version=quote.current, approvals=approvals)
    if waiting is None:
        raise Conflict("Every level of this version is decided.", code="already_decided")
    if level is not None and level != waiting:
        raise Conflict(f"Level {level} of {quote.number} was decided meanwhile; it now waits "
                       f"for level {waiting}.", code="stale_decision", awaiting_level=waiting)
    if quote.author_id is not None and user.pk == quote.author_id:
        raise NotAnApprover("You wrote this quote: someone else must approve it.",
                            code="own_quote")
    if waiting not in approver_levels(user=user):
        raise NotAnApprover(f"{quote.number} waits for a level {waiting} approver.",
                            level=waiting)
    if any(a.user_id == user.pk for a in approvals):
        raise Conflict("You already decided on this version; the next level needs someone "
                       "else.", code="already_decided_by_you")
    return waiting


def _record(quote: Quote, user, level: int, decision: str, comment: str) -> None:
    actor = Actor.staff(user)
    try:
        with transaction.atomic():
            QuoteApproval.objects.create(
                quote=quote, version=quote.current, level=level, decision=decision, user=user,
                actor_label=actor.display[:200], comment=comment)
    except IntegrityError:
        raise Conflict("Someone decided this level first.", code="stale_decision") from None


def _stale_or_transition(quote: Quote, action: str, version: int | None) -> str:
    """A page made on another version is stale before it is an illegal transition."""
    if version is not None and version != quote.version:
        check_version(quote, version)
    return check_transition(quote, action)


@transaction.atomic
def quote_approve(*, quote: Quote, user, actor: Actor, comment: str = "",
                  version: int | None = None, level: int | None = None) -> Quote:
    """Approve the level the quote waits for; the last required level approves the quote."""
    quote = lock_quote(quote)
    target = _stale_or_transition(quote, QuoteAction.APPROVE, version)
    decided = _authorize(quote, user, version=version, level=level)
    _record(quote, user, decided, ApprovalDecision.APPROVED, comment)
    remaining = [lv for lv in quote.current.approval_levels if lv > decided]
    old_status = quote.status
    if remaining:
        quote.awaiting_level = remaining[0]
        quote.save(update_fields=["awaiting_level", "updated_at"])
        events.quote_decision_event(quote=quote, actor=actor,
                                    type=events.QUOTE_APPROVAL_RECORDED, level=decided,
                                    comment=comment, old_status=old_status,
                                    remaining=remaining)
        events.quote_emit("quote.approval_recorded", quote, decision={
            "level": decided, "decision": "approved", "by": actor.display,
            "comment": comment})
        _notify_level(quote, quote.awaiting_level)
        return quote
    quote.awaiting_level = None
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "awaiting_level"])
    events.quote_decision_event(quote=quote, actor=actor, type=events.QUOTE_APPROVED,
                                level=decided, comment=comment, old_status=old_status)
    events.quote_emit("quote.approved", quote, decision={
        "level": decided, "decision": "approved", "by": actor.display, "comment": comment})
    return quote


def _required(text: str, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(f"A {field} is required.", code=f"{field}_required",
                               errors={field: ["Required."]})
    return text


@transaction.atomic
def quote_reject(*, quote: Quote, user, actor: Actor, reason: str,
                 version: int | None = None, level: int | None = None) -> Quote:
    """An approver declines the quote (with the reason): it ends ``declined``."""
    reason = _required(reason, "reason")
    quote = lock_quote(quote)
    target = _stale_or_transition(quote, QuoteAction.REJECT, version)
    decided = _authorize(quote, user, version=version, level=level)
    _record(quote, user, decided, ApprovalDecision.DECLINED, reason)
    old_status = quote.status
    quote.decline_reason = reason
    quote.awaiting_level = None
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "decline_reason",
                              "awaiting_level"])
    events.quote_decision_event(quote=quote, actor=actor, type=events.QUOTE_REJECTED,
                                level=decided, comment=reason, old_status=old_status)
    events.quote_emit("quote.declined", quote, decision={
        "level": decided, "decision": "declined", "by": actor.display, "comment": reason})
    return quote


@transaction.atomic
def quote_request_changes(*, quote: Quote, user, actor: Actor, comment: str,
                          version: int | None = None, level: int | None = None) -> Quote:
    """An approver sends the quote back: ``changes_requested`` with the comment; the next
    edit makes a new version that is submitted again."""
    comment = _required(comment, "comment")
    quote = lock_quote(quote)
    target = _stale_or_transition(quote, QuoteAction.REQUEST_CHANGES, version)
    if quote.status != "pending_approval":
        raise Conflict("Only a quote pending approval goes back from the inbox.",
                       code="invalid_transition", from_status=quote.status)
    decided = _authorize(quote, user, version=version, level=level)
    _record(quote, user, decided, ApprovalDecision.CHANGES_REQUESTED, comment)
    old_status = quote.status
    quote.changes_comment = comment
    quote.awaiting_level = None
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "changes_comment",
                              "awaiting_level"])
    events.quote_decision_event(quote=quote, actor=actor, type=events.QUOTE_CHANGES_REQUESTED,
                                level=decided, comment=comment, old_status=old_status)
    events.quote_emit("quote.changes_requested", quote, requested_by="approver",
                      comment=comment)
    return quote
