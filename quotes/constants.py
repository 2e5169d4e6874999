"""Quote statuses, the transition table, and the other choices of the quotes app.

A status changes only through the service of its action (``quotes.services``); each service
looks its action up in ``QUOTE_TRANSITIONS`` before it writes anything.
"""

from django.db import models


class QuoteRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    QUOTED = "quoted", "Quoted"  # staff built a quote from it
    CLOSED = "closed", "Closed"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    ACCEPTED = "accepted", "Accepted"
    CONVERTED = "converted", "Converted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class QuoteAction(models.TextChoices):
    REVISE = "revise", "Revise"  # edit lines/terms; a version that left draft gets a successor
    SUBMIT = "submit", "Submit for approval"
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Decline (approver)"
    REQUEST_CHANGES = "request_changes", "Request changes"
    SEND = "send", "Send to the buyer"
    ACCEPT = "accept", "Accept"
    DECLINE = "decline", "Decline (buyer)"
    CONVERT = "convert", "Convert to an order"
    EXPIRE = "expire", "Expire"
    WITHDRAW = "withdraw", "Withdraw"


S = QuoteStatus
# Statuses in which the quote is still being negotiated (not final, not accepted).
LIVE_STATUSES = frozenset({S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SENT,
                           S.CHANGES_REQUESTED})
FINAL_STATUSES = frozenset({S.CONVERTED, S.DECLINED, S.EXPIRED, S.WITHDRAWN})

# action → (the statuses it may start from, the status it leads to). ``submit`` leads to
# ``approved`` at once when no rule asks for an approval; ``approve`` leads to ``approved``
# only with the last required level (earlier levels leave it pending); ``request_changes``
# is the approver's (from pending_approval) or the buyer's (from sent).
QUOTE_TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    QuoteAction.REVISE: (LIVE_STATUSES, S.DRAFT),
    QuoteAction.SUBMIT: (frozenset({S.DRAFT}), S.PENDING_APPROVAL),
    QuoteAction.APPROVE: (frozenset({S.PENDING_APPROVAL}), S.APPROVED),
    QuoteAction.REJECT: (frozenset({S.PENDING_APPROVAL}), S.DECLINED),
    QuoteAction.REQUEST_CHANGES: (frozenset({S.PENDING_APPROVAL, S.SENT}), S.CHANGES_REQUESTED),
    QuoteAction.SEND: (frozenset({S.APPROVED}), S.SENT),
    QuoteAction.ACCEPT: (frozenset({S.SENT}), S.ACCEPTED),
    QuoteAction.DECLINE: (frozenset({S.SENT}), S.DECLINED),
    QuoteAction.CONVERT: (frozenset({S.ACCEPTED}), S.CONVERTED),
    QuoteAction.EXPIRE: (frozenset({S.PENDING_APPROVAL, S.APPROVED, S.SENT}), S.EXPIRED),
    QuoteAction.WITHDRAW: (LIVE_STATUSES | {S.ACCEPTED}, S.WITHDRAWN),
}

# Every (from, to) pair the table allows, for documentation and tests. ``submit`` may also
# land on ``approved`` directly.
ALLOWED_STATUS_CHANGES = frozenset(
    {(source, target) for sources, target in QUOTE_TRANSITIONS.values() for source in sources}
    | {(S.DRAFT, S.APPROVED)}
)

# The timestamp each target status stamps on the quote.
STATUS_TIMESTAMPS = {
    S.PENDING_APPROVAL: "submitted_at",
    S.APPROVED: "approved_at",
    S.SENT: "sent_at",
    S.ACCEPTED: "accepted_at",
    S.CONVERTED: "converted_at",
    S.DECLINED: "declined_at",
    S.EXPIRED: "expired_at",
    S.WITHDRAWN: "withdrawn_at",
}

class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class RuleKind(models.TextChoices):
    """What an approval rule looks at; ``threshold`` is a percentage or an amount."""

    LINE_DISCOUNT_OVER = "line_discount_over", "Any line's discount is over (%)"
    MARGIN_UNDER = "margin_under", "Any line's margin is under (%)"
    TOTAL_OVER = "total_over", "The quote's total is over (amount)"


class DigestFrequency(models.TextChoices):
    IMMEDIATE = "immediate", "An e-mail for each item"
    DAILY = "daily", "One daily digest"
    NEVER = "never", "No e-mail"


MAX_LINE_QUANTITY = 100_000
MAX_LINES = 200
