"""After ``seed_demo`` (what ``make run`` loads) the dashboard has numbers at once: the demo
history, moved back in time after its events marked today dirty, is rolled up."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from analytics import selectors
from analytics.models import DailyRollup
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_seed_demo_rolls_up_its_history(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))

    rolled = DailyRollup.objects.aggregate(placed=Sum("orders_placed"))["placed"]
    assert rolled == Order.objects.count() >= 36
    days = set(DailyRollup.objects.filter(orders_placed__gt=0).values_list("day", flat=True))
    assert days == {timezone.localdate(o.placed_at) for o in Order.objects.all()}
    today = timezone.localdate()
    totals = selectors.totals(today - timedelta(days=29), today)
    assert sum(t["orders_placed"] for t in totals.values()) > 0
    assert any(t["net"] > 0 for t in totals.values())
