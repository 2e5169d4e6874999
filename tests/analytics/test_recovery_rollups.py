"""Cart recovery in the rollups, through the real flow: carts abandoned by the scan, one
brought back by a reminder's link, one checked out straight from abandoned. The rollups agree
with the recovery summary, and each step marks the day its figure belongs to."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import DailyRollup
from analytics.services import recompute_dirty
from carts.models import Cart
from orderflow.models import DirtyDay
from recovery import services, tokens
from recovery.models import RecoveryEmail
from recovery.selectors import recovery_summary
from tests.recovery.conftest import cart_with, idle, shop  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def _dirty_days():
    return sorted(DirtyDay.objects.values_list("day", flat=True))


def test_recovered_carts_and_their_revenue(shop, client):  # noqa: F811
    by_link = idle(cart_with(shop, email="one@example.com"), 3600)
    on_their_own = idle(cart_with(shop, email="two@example.com", lines=(("RICE-5KG", 1),)),
                        3600)
    never = idle(cart_with(shop, email="three@example.com"), 3600)
    # by_link was created three days ago: its abandonment and recovery re-roll that day,
    # its order's revenue belongs to today (the day it was placed).
    created = timezone.now() - timedelta(days=3)
    Cart.objects.filter(pk=by_link.pk).update(created_at=created)
    today, created_day = timezone.localdate(), timezone.localdate(created)
    recompute_dirty()
    DirtyDay.objects.all().delete()

    assert sorted(services.carts_abandon()) == sorted([by_link.pk, on_their_own.pk, never.pk])
    assert _dirty_days() == [created_day, today]  # cart.abandoned marks each cart's day
    recompute_dirty()

    services.reminder_send(cart_pk=by_link.pk)
    email = RecoveryEmail.objects.get(cart=by_link)
    assert client.get(f"/recover/{tokens.link_token(email)}").status_code == 200
    assert _dirty_days() == [created_day]  # cart.recovered: the cart's created day
    secret = shop.client(shop.secret)
    for cart in (by_link, on_their_own):
        response = secret.post("/api/v1/checkout", {
            "cart_id": cart.public_id,
            "payment": {"kind": "payment_intent", "reference": f"pi_{cart.pk}"}},
            format="json")
        assert response.status_code == 201, response.content
    assert _dirty_days() == [created_day, today]
    recompute_dirty()

    rows = {row.day: row for row in DailyRollup.objects.filter(channel=shop.channel)}
    old, new = rows[created_day], rows[today]
    assert (old.carts_created, old.carts_abandoned, old.carts_recovered) == (1, 1, 1)
    assert old.recovered_revenue == Decimal("0.00")
    assert (new.carts_created, new.carts_abandoned, new.carts_recovered) == (2, 2, 1)
    # Both orders were placed today: 2 × 2450 + GCT + shipping, and 2100 + shipping.
    assert new.recovered_revenue == Decimal("10135.00")
    summary = recovery_summary(days=7)
    assert summary["recovered"] == old.carts_recovered + new.carts_recovered
    assert summary["revenue"] == {"JMD": new.recovered_revenue}
