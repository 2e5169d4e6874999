"""Row locks of quotes and what they own, for services only. Each queryset locks its own
table's rows (``of=("self",)``) in primary-key order; a service locks the quote first, then
what belongs to it."""

from quotes.models import Quote, QuoteRequest


def quote_qs_select_for_update():
    return Quote.objects.order_by("pk").select_for_update(of=("self",))


def quote_request_qs_select_for_update():
    return QuoteRequest.objects.order_by("pk").select_for_update(of=("self",))
