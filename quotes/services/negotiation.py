"""The quote between seller and buyer: sent, accepted (and converted to an order), declined,
sent back for changes, withdrawn; and the conversion staff retry after a refusal.

Acceptance converts through the same parts as checkout: ``orders.pricing.price_lines`` with
the quoted unit prices fixed, ``orders.credit.credit_check`` for terms,
``orders.selectors.approval_levels_required`` for the company's order approval rules,
``orders.services.placement.order_create`` for the rows and ``catalog.services.stock_reserve``.
A refusal (``over_credit_limit``, short stock) leaves the quote ``accepted`` with the reason.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from catalog.selectors import product_queryset
from catalog.services import stock_reserve
from customers.constants import PaymentTerms
from orderflow.errors import Conflict, DomainError
from orderflow.timeline import Actor
from orders import events as order_events
from orders.constants import OrderStatus, PaymentKind
from orders.credit import credit_check
from orders.pricing import LineToPrice, price_lines
from orders.selectors import approval_levels_required
from orders.services.placement import order_create
from quotes import events
from quotes.constants import QuoteAction, QuoteStatus
from quotes.services import notifications
from quotes.services.approvals import _required
from quotes.services.common import (
    QuoteNotAcceptable,
    check_transition,
    check_version,
    lock_quote,
    move_status,
)


@transaction.atomic
def quote_send(*, quote, actor: Actor) -> object:
    """E-mail the approved quote to the buyer; from now on the buyer sees it."""
    quote = lock_quote(quote)
    target = check_transition(quote, QuoteAction.SEND)
    version = quote.current
    if version.valid_until < timezone.localdate():
        raise Conflict(f"Version {version.number} was valid until {version.valid_until}: "
                       "revise it with a new date first.", code="quote_expired")
    now = timezone.now()
    old_status = quote.status
    version.sent_at = now
    version.save(update_fields=["sent_at"])
    quote.save(update_fields=move_status(quote, target, now))
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_SENT, old_status=old_status,
                       message=f"Version {version.number} sent to "
                               f"{notifications.buyer_email(quote) or 'the buyer'}, valid "
                               f"until {version.valid_until}.",
                       valid_until=version.valid_until.isoformat())
    events.quote_emit("quote.sent", quote)
    notifications.quote_sent_mail(quote)
    return quote


def _refuse_unacceptable(quote, version: int | None) -> None:
    """The clear refusals a buyer gets before the transition table speaks."""
    if quote.status == QuoteStatus.EXPIRED or (
            quote.status == QuoteStatus.SENT
            and quote.current.valid_until < timezone.localdate()):
        raise QuoteNotAcceptable(f"{quote.number} expired on {quote.current.valid_until}.",
                                 code="quote_expired")
    if quote.status == QuoteStatus.WITHDRAWN:
        raise QuoteNotAcceptable(f"{quote.number} was withdrawn by the seller.",
                                 code="quote_withdrawn")
    check_version(quote, version)
    if quote.status != QuoteStatus.SENT and quote.sent_at and quote.current.sent_at is None:
        raise QuoteNotAcceptable(f"{quote.number} is being revised: a new version will be "
                                 "sent.", code="quote_superseded")


def _payment_kind(quote) -> str:
    company = quote.company
    if company.payment_terms != PaymentTerms.COD:
        return PaymentKind.TERMS
    return PaymentKind.COD


def _convert(quote, actor: Actor) -> dict | None:
    """Place the order of an accepted quote; None when placed, else the refusal (nothing
    written then: the savepoint takes the order back)."""
    version = quote.current
    lines = list(version.lines.order_by("id"))
    products = {p.pk: p for p in product_queryset().filter(pk__in=[li.product_id
                                                                    for li in lines])}
    company = quote.company
    try:
        with transaction.atomic():
            priced = price_lines(
                items=[LineToPrice(product=products[line.product_id], quantity=line.quantity,
                                   unit_price=line.unit_price, source="quote")
                       for line in lines],
                company=company,
                country=((quote.shipping_address or {}).get("country") or "").upper(),
                currency=version.currency)
            priced.shipping_total = version.shipping_total
            priced.total = priced.subtotal + priced.tax_total + priced.shipping_total
            kind = _payment_kind(quote)
            if kind == PaymentKind.TERMS:
                credit_check(company=company, order_total=priced.total)
            levels = approval_levels_required(company=company, total=priced.total)
            status = OrderStatus.AWAITING_APPROVAL if levels else OrderStatus.CONFIRMED
            order, order_lines, payment, supplier_orders = order_create(
                channel=quote.channel, priced=priced,
                email=notifications.buyer_email(quote).lower(), status=status,
                payment_kind=kind, now=timezone.now(), customer=quote.customer,
                company=company, shipping_address=quote.shipping_address,
                notes=f"From quote {quote.number} version {version.number}.",
                metadata={"quote": quote.number, "quote_version": version.number},
                approval_levels=levels)
            stock_reserve(items=[(p.product, p.quantity) for p in priced.lines])
            order_events.order_placed_event(
                order=order, actor=actor, payment_kind=kind, supplier_orders=supplier_orders,
                defaults={"quote": {"value": quote.number, "source": "quote",
                                    "detail": f"placed from quote {quote.number} version "
                                              f"{version.number} at the quoted prices"}})
            types = ["order.created"]
            if status == OrderStatus.CONFIRMED:
                types.append("order.confirmed")
            if levels:
                types.append("order.approval_requested")
            order_events.order_emit(types, order, lines=order_lines, payments=[payment])
    except DomainError as exc:
        return {"code": exc.code, "detail": exc.detail, **exc.extra}
    quote.order = order
    return None


def _settle(quote, actor: Actor, old_status: str) -> object:
    """Convert an accepted quote, or keep it accepted with the reason."""
    error = _convert(quote, actor)
    quote.conversion_error = error
    fields = ["order", "conversion_error", "updated_at"]
    if error is None:
        target = check_transition(quote, QuoteAction.CONVERT)
        fields += move_status(quote, target, timezone.now())
    quote.save(update_fields=list(dict.fromkeys(fields)))
    events.quote_conversion_event(quote=quote, actor=actor, old_status=old_status,
                                  error=error)
    events.quote_emit("quote.converted" if error is None else "quote.conversion_failed", quote)
    return quote


@transaction.atomic
def quote_accept(*, quote, actor: Actor, version: int | None = None) -> object:
    """The buyer accepts the latest version: ``accepted``, then converted to an order at the
    quoted prices — or left ``accepted`` with ``conversion_error`` (e.g. over the credit
    limit) for staff to retry. Expired, withdrawn or superseded versions are refused."""
    quote = lock_quote(quote)
    _refuse_unacceptable(quote, version)
    target = check_transition(quote, QuoteAction.ACCEPT)
    old_status = quote.status
    quote.save(update_fields=move_status(quote, target, timezone.now()))
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_ACCEPTED,
                       old_status=old_status,
                       message=f"Version {quote.version} accepted by {actor.display}.")
    events.quote_emit("quote.accepted", quote)
    return _settle(quote, actor, QuoteStatus.ACCEPTED)


@transaction.atomic
def quote_convert(*, quote, actor: Actor) -> object:
    """Staff retry the conversion of an accepted quote (after the credit limit or stock
    changed)."""
    quote = lock_quote(quote)
    check_transition(quote, QuoteAction.CONVERT)
    return _settle(quote, actor, quote.status)


@transaction.atomic
def quote_decline(*, quote, actor: Actor, reason: str, version: int | None = None) -> object:
    """The buyer declines the quote with a reason: it ends ``declined``."""
    reason = _required(reason, "reason")
    quote = lock_quote(quote)
    check_version(quote, version)
    target = check_transition(quote, QuoteAction.DECLINE)
    old_status = quote.status
    quote.decline_reason = reason
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "decline_reason"])
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_DECLINED,
                       old_status=old_status, message=f"Declined by the buyer: {reason}",
                       reason=reason)
    events.quote_emit("quote.declined", quote, decision={
        "level": None, "decision": "declined", "by": actor.display, "comment": reason})
    return quote


@transaction.atomic
def quote_buyer_request_changes(*, quote, actor: Actor, comment: str,
                                version: int | None = None) -> object:
    """The buyer asks for changes: ``changes_requested`` with the comment; staff revise it
    into a new version."""
    comment = _required(comment, "comment")
    quote = lock_quote(quote)
    check_version(quote, version)
    target = check_transition(quote, QuoteAction.REQUEST_CHANGES)
    if quote.status != QuoteStatus.SENT:
        raise Conflict("Only a sent quote can be sent back by the buyer.",
                       code="invalid_transition", from_status=quote.status)
    old_status = quote.status
    quote.changes_comment = comment
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "changes_comment"])
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_CHANGES_REQUESTED,
                       old_status=old_status, message=f"The buyer asked for changes: {comment}",
                       comment=comment, requested_by="buyer")
    events.quote_emit("quote.changes_requested", quote, requested_by="buyer", comment=comment)
    return quote


@transaction.atomic
def quote_withdraw(*, quote, actor: Actor, reason: str = "") -> object:
    """Staff take the quote back; the buyer can no longer accept it."""
    quote = lock_quote(quote)
    target = check_transition(quote, QuoteAction.WITHDRAW)
    old_status = quote.status
    quote.awaiting_level = None
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "awaiting_level"])
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_WITHDRAWN,
                       old_status=old_status,
                       message="Withdrawn" + (f": {reason}" if reason else "."), reason=reason)
    events.quote_emit("quote.withdrawn", quote)
    return quote
