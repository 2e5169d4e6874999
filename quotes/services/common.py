"""What every quote use case shares: the locked row, the transition check, the status stamp."""

from __future__ import annotations

from datetime import datetime

from orderflow.errors import Conflict, InvalidTransition
from quotes.constants import QUOTE_TRANSITIONS, STATUS_TIMESTAMPS, QuoteStatus
from quotes.lock_objects import quote_qs_select_for_update
from quotes.models import Quote


class QuoteNotAcceptable(Conflict):
    title = "This quote cannot be accepted"


def lock_quote(quote: Quote) -> Quote:
    """The quote row, locked until the transaction ends, with what payloads read."""
    return (quote_qs_select_for_update()
            .select_related("channel", "company", "customer", "request", "current", "order",
                            "author")
            .get(pk=quote.pk))


def check_transition(quote: Quote, action: str) -> str:
    sources, target = QUOTE_TRANSITIONS[action]
    if quote.status not in sources:
        raise InvalidTransition(entity="quote", from_status=quote.status, to_status=target)
    return target


def move_status(quote: Quote, target: str, now: datetime) -> list[str]:
    """Set the status and stamp its timestamp; returns the fields to save."""
    quote.status = target
    fields = ["status", "updated_at"]
    stamp = STATUS_TIMESTAMPS.get(target)
    if stamp and not (target == QuoteStatus.SENT and quote.sent_at):
        # ``sent_at`` is the first sending: from then on the buyer sees the quote.
        setattr(quote, stamp, now)
        fields.append(stamp)
    return fields


def check_version(quote: Quote, version: int | None) -> None:
    """Refuse a decision about a version that is no longer the latest."""
    if version is not None and version != quote.version:
        raise Conflict(f"Version {version} of {quote.number} was superseded: version "
                       f"{quote.version} is the latest.", code="quote_superseded",
                       current_version=quote.version)
