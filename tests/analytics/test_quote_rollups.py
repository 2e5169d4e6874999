"""The quote pipeline in the rollups, through the quote services: sent, accepted (which
converts into an order) and the conversion rate, each on the day of its step, each step
marking that day dirty; the converted order counts like any other order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import selectors
from analytics.models import DailyRollup
from analytics.services import recompute_dirty
from orderflow.models import DirtyDay
from orderflow.timeline import Actor
from quotes import services
from quotes.models import Quote
from tests.quotes.conftest import sent_quote, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def test_quotes_sent_accepted_converted_and_the_rate(world):  # noqa: F811
    first = sent_quote(world)
    second = sent_quote(world)
    # The first was sent three days ago: accepting it today leaves that day's quotes_sent.
    sent = timezone.now() - timedelta(days=3)
    Quote.objects.filter(pk=first.pk).update(sent_at=sent)
    first.refresh_from_db()
    today, sent_day = timezone.localdate(), timezone.localdate(sent)
    recompute_dirty()

    services.quote_accept(quote=first, actor=Actor.system("buyer"))
    assert sorted(DirtyDay.objects.values_list("day", flat=True)) == [sent_day, today]
    recompute_dirty()

    rows = {r.day: r for r in DailyRollup.objects.filter(channel=world.shop.channel)}
    assert (rows[sent_day].quotes_sent, rows[sent_day].quotes_accepted) == (1, 0)
    assert (rows[today].quotes_sent, rows[today].quotes_accepted,
            rows[today].quotes_converted) == (1, 1, 1)
    assert rows[today].orders_placed == 1  # the order the quote became
    assert rows[today].company_id == world.company.pk

    totals = selectors.totals(sent_day, today)
    [figures] = totals.values()
    assert (figures["quotes_sent"], figures["quotes_converted"]) == (2, 1)
    assert figures["quote_conversion_rate"] == Decimal("0.5000")
    assert second.status == "sent"
