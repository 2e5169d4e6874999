"""Quote timeline entries and outbox payloads: the one place their shapes are built.

Timeline factories (``*_event``) write a ``QuoteEvent``; ``*_emit`` functions write outbox
events. Both run inside the calling service's transaction.
"""

from __future__ import annotations

from orderflow.money import format_amount
from orderflow.outbox import emit
from orderflow.timeline import Actor, record
from quotes.models import Quote, QuoteEvent, QuoteRequest, QuoteVersion

# Timeline types (past tense).
QUOTE_REQUESTED = "quote_requested"
QUOTE_CREATED = "quote_created"
QUOTE_REVISED = "quote_revised"
QUOTE_SUBMITTED = "quote_submitted"
QUOTE_APPROVAL_RECORDED = "quote_approval_recorded"
QUOTE_APPROVED = "quote_approved"
QUOTE_REJECTED = "quote_rejected"
QUOTE_CHANGES_REQUESTED = "quote_changes_requested"
QUOTE_SENT = "quote_sent"
QUOTE_ACCEPTED = "quote_accepted"
QUOTE_DECLINED = "quote_declined"
QUOTE_CONVERTED = "quote_converted"
QUOTE_CONVERSION_FAILED = "quote_conversion_failed"
QUOTE_EXPIRED = "quote_expired"
QUOTE_WITHDRAWN = "quote_withdrawn"
QUOTE_REMINDER_SENT = "quote_reminder_sent"


def _money(currency: str, amount) -> str:
    return format_amount(amount, currency)


# --- timeline ------------------------------------------------------------------------------

def quote_event(*, quote: Quote, actor: Actor, type: str, message: str,
                old_status: str | None = None, **parameters) -> QuoteEvent:
    """One entry on the quote's timeline, stamped with its current version; a status change
    carries ``status`` old/new."""
    if old_status is not None and old_status != quote.status:
        parameters["status"] = {"old": old_status, "new": quote.status}
    return record(QuoteEvent, quote=quote, version=quote.version or None, actor=actor,
                  type=type, message=message, parameters=parameters)


def quote_created_event(*, quote: Quote, version: QuoteVersion, actor: Actor) -> QuoteEvent:
    source = f" from request {quote.request.number}" if quote.request_id else ""
    return quote_event(quote=quote, actor=actor, type=QUOTE_CREATED,
                       message=f"Quote created{source}: {len(version.lines.all())} line(s), "
                               f"total {_money(quote.currency, version.total)} "
                               f"{quote.currency}, valid until {version.valid_until}.",
                       total=_money(quote.currency, version.total),
                       request_id=quote.request.public_id if quote.request_id else None)


def quote_revised_event(*, quote: Quote, old_number: int, old_total, new: QuoteVersion,
                        actor: Actor, old_status: str) -> QuoteEvent:
    if old_number == new.number:
        message = f"Version {new.number} edited"
    else:
        message = f"Version {new.number} created from version {old_number}"
    message += (f": total {_money(quote.currency, old_total)} → "
                f"{_money(quote.currency, new.total)} {quote.currency}.")
    return quote_event(quote=quote, actor=actor, type=QUOTE_REVISED, message=message,
                       old_status=old_status, from_version=old_number,
                       total={"old": _money(quote.currency, old_total),
                              "new": _money(quote.currency, new.total)})


def quote_submitted_event(*, quote: Quote, actor: Actor, old_status: str) -> QuoteEvent:
    version = quote.current
    if version.approval_levels:
        levels = ", ".join(str(level) for level in version.approval_levels)
        why = "; ".join(r["detail"] for r in version.approval_reasons)
        message = f"Submitted for approval at level(s) {levels} ({why})."
    else:
        message = "Submitted; no approval rule matched, so it is approved."
    return quote_event(quote=quote, actor=actor, type=QUOTE_SUBMITTED, message=message,
                       old_status=old_status, approval_levels=version.approval_levels,
                       reasons=version.approval_reasons)


def quote_decision_event(*, quote: Quote, actor: Actor, type: str, level: int, comment: str,
                         old_status: str, remaining: list[int] = ()) -> QuoteEvent:
    verb = {QUOTE_APPROVAL_RECORDED: "approved", QUOTE_APPROVED: "approved",
            QUOTE_REJECTED: "declined", QUOTE_CHANGES_REQUESTED: "asked for changes"}[type]
    message = f"Level {level} {verb} by {actor.display}" + (f": {comment}" if comment else "")
    if remaining:
        message += f" — waiting for level(s) {', '.join(str(lv) for lv in remaining)}."
    elif type == QUOTE_APPROVED:
        message += "; quote approved."
    else:
        message += "."
    return quote_event(quote=quote, actor=actor, type=type, message=message,
                       old_status=old_status, level=level, comment=comment,
                       remaining_levels=list(remaining))


def quote_conversion_event(*, quote: Quote, actor: Actor, old_status: str,
                           error: dict | None) -> QuoteEvent:
    if error is None:
        order = quote.order
        return quote_event(quote=quote, actor=actor, type=QUOTE_CONVERTED,
                           message=f"Converted to order {order.number} "
                                   f"({_money(order.currency, order.total)} {order.currency}, "
                                   f"{order.status}).",
                           old_status=old_status, order_id=order.public_id,
                           order_number=order.number)
    return quote_event(quote=quote, actor=actor, type=QUOTE_CONVERSION_FAILED,
                       message=f"Not converted to an order: {error['detail']}",
                       old_status=old_status, error=error)


# --- outbox payloads -----------------------------------------------------------------------

def version_payload(quote: Quote, version: QuoteVersion, lines=None) -> dict:
    currency = version.currency
    lines = lines if lines is not None else list(version.lines.all())
    return {
        "version": version.number,
        "valid_until": version.valid_until,
        "currency": currency,
        "subtotal": _money(currency, version.subtotal),
        "tax_total": _money(currency, version.tax_total),
        "shipping_total": _money(currency, version.shipping_total),
        "total": _money(currency, version.total),
        "terms": version.terms,
        "approval_levels": version.approval_levels,
        "lines": [
            {"sku": line.sku, "name": line.name, "quantity": line.quantity,
             "list_price": _money(currency, line.list_price),
             "unit_price": _money(currency, line.unit_price),
             "discount_percent": str(line.discount_percent),
             "tax_rate": str(line.tax_rate),
             "line_total": _money(currency, line.line_total), "notes": line.notes}
            for line in lines
        ],
    }


def quote_payload(quote: Quote) -> dict:
    """The ``data`` of every ``quote.*`` webhook: the quote and its latest version."""
    version = quote.current
    return {
        "id": quote.public_id,
        "number": quote.number,
        "status": quote.status,
        "version": quote.version,
        "channel": quote.channel.code,
        "company_id": quote.company.public_id,
        "customer_id": quote.customer.public_id if quote.customer_id else None,
        "request_id": quote.request.public_id if quote.request_id else None,
        "order_id": quote.order.public_id if quote.order_id else None,
        "conversion_error": quote.conversion_error,
        "decline_reason": quote.decline_reason or None,
        "changes_comment": quote.changes_comment or None,
        **(version_payload(quote, version) if version is not None else {}),
        "sent_at": quote.sent_at,
        "accepted_at": quote.accepted_at,
        "converted_at": quote.converted_at,
    }


# Types whose data always has ``decision``: null on the ``quote.approved`` of a quote no rule
# matched (approved at submit, nobody decided).
DECISION_TYPES = frozenset({"quote.approval_recorded", "quote.approved", "quote.declined"})


def quote_emit(event_type: str, quote: Quote, **extra) -> None:
    """One ``quote.*`` event; ``extra`` goes beside the quote (e.g. the decision)."""
    payload = quote_payload(quote)
    if event_type in DECISION_TYPES:
        payload["decision"] = None
    if extra:
        payload = {**payload, **extra}
    emit(event_type, payload, channel=quote.channel, aggregate=quote)


def quote_request_payload(request: QuoteRequest) -> dict:
    return {
        "id": request.public_id,
        "number": request.number,
        "status": request.status,
        "channel": request.channel.code,
        "company_id": request.company.public_id,
        "customer_id": request.customer.public_id if request.customer_id else None,
        "cart_id": request.cart.public_id if request.cart_id else None,
        "notes": request.notes,
        "requested_delivery_date": request.requested_delivery_date,
        "lines": [
            {"sku": line.sku, "name": line.name, "quantity": line.quantity,
             "target_unit_price": (None if line.target_unit_price is None
                                   else _money(request.company.currency,
                                               line.target_unit_price)),
             "notes": line.notes}
            for line in request.lines.all()
        ],
        "created_at": request.created_at,
    }


def quote_requested_emit(request: QuoteRequest) -> None:
    emit("quote.requested", quote_request_payload(request), channel=request.channel,
         aggregate=request)
