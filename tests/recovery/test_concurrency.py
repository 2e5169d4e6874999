"""Sending races against the real PostgreSQL: a cart gets each step once, however many
workers run the same send at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.core import mail
from django.db import connection, connections

from recovery import services
from recovery.models import RecoveryEmail
from recovery.selectors import due_reminders
from tests.recovery.conftest import cart_with, idle
from tests.storefront import build_storefront

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks need PostgreSQL (CI always runs on it)"),
]


def in_parallel(count, func):
    barrier = Barrier(count)

    def run(i):
        try:
            barrier.wait()
            return func(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_eight_concurrent_sends_of_one_step_send_one_email():
    shop = build_storefront()
    cart = idle(cart_with(shop), 3600)
    services.carts_abandon()

    results = in_parallel(8, lambda _: services.reminder_send(cart_pk=cart.pk, step=1))

    assert sum(1 for r in results if r is not None) == 1
    assert RecoveryEmail.objects.filter(cart=cart).count() == 1
    assert len(mail.outbox) == 1


def test_two_overlapping_scans_send_each_cart_once():
    shop = build_storefront()
    carts = [idle(cart_with(shop, email=f"s{i}@example.com"), 3600) for i in range(5)]

    def beat(_):
        services.carts_abandon()
        return [services.reminder_send(cart_pk=pk, step=step) for pk, step in due_reminders()]

    sent = [email for run in in_parallel(2, beat) for email in run if email is not None]

    assert sorted(e.cart_id for e in sent) == sorted(c.pk for c in carts)
    assert RecoveryEmail.objects.count() == 5
    assert sorted(m.to[0] for m in mail.outbox) == [f"s{i}@example.com" for i in range(5)]
