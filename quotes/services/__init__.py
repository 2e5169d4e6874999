"""Quote use cases, one module per part of a quote's life; one transaction each, on a locked
quote row.

Every status change looks its action up in ``constants.QUOTE_TRANSITIONS`` first; a refused
change raises before anything is written. Each writes its ``QuoteEvent`` (``events.py``) and
its ``quote.*`` outbox event in the same transaction; e-mails go out on commit. Callers
import the use cases from here.
"""

from quotes.services.approvals import (
    NotAnApprover,
    quote_approve,
    quote_reject,
    quote_request_changes,
    quote_submit,
)
from quotes.services.building import LineInput, quote_create, quote_request_create, quote_revise
from quotes.services.expiry import (
    approver_digests_send,
    quote_expire,
    quote_remind,
    quotes_expire,
    quotes_remind,
)
from quotes.services.inbox import inbox_order_approve, inbox_order_decline
from quotes.services.negotiation import (
    quote_accept,
    quote_buyer_request_changes,
    quote_convert,
    quote_decline,
    quote_send,
    quote_withdraw,
)

__all__ = [
    "LineInput", "NotAnApprover", "approver_digests_send", "inbox_order_approve",
    "inbox_order_decline", "quote_accept", "quote_approve", "quote_buyer_request_changes",
    "quote_convert", "quote_create", "quote_decline", "quote_expire", "quote_reject",
    "quote_remind", "quote_request_changes", "quote_request_create", "quote_revise",
    "quote_send", "quote_submit", "quote_withdraw", "quotes_expire", "quotes_remind",
]
