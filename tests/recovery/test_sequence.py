"""Detection, the sequence and its stops, through the services the beat tasks run."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carts.constants import CartStatus
from carts.models import Cart
from catalog.models import Product
from orderflow.config import ConfigError, load
from orderflow.models import OutboxEvent
from recovery import services
from recovery.models import RecoveryEmail, RecoverySettings, RecoveryStep, ReminderStop
from recovery.selectors import due_reminders
from recovery.tasks import recovery_expire_task, recovery_scan_task, recovery_send_task
from tests.recovery.conftest import cart_with, idle

pytestmark = pytest.mark.django_db


def scan(now=None):
    """What beat's scan does, with the sends run here instead of on a worker."""
    services.carts_abandon(now=now)
    return [services.reminder_send(cart_pk=pk, step=step, now=now)
            for pk, step in due_reminders(now=now)]


def test_idle_threshold_boundaries(shop):
    just_under = idle(cart_with(shop, email="a@example.com"), 3599)
    at = idle(cart_with(shop, email="b@example.com"), 3600)
    over = idle(cart_with(shop, email="c@example.com"), 7200)

    moved = services.carts_abandon()

    assert set(moved) == {at.pk, over.pk}
    statuses = dict(Cart.objects.values_list("pk", "status"))
    assert statuses[just_under.pk] == CartStatus.ACTIVE
    assert statuses[at.pk] == statuses[over.pk] == CartStatus.ABANDONED
    assert Cart.objects.get(pk=at.pk).abandoned_at is not None
    events = OutboxEvent.objects.filter(type="cart.abandoned")
    assert sorted(e.payload["id"] for e in events) == sorted([at.public_id, over.public_id])


def test_a_cart_without_an_email_or_lines_is_never_abandoned(shop):
    no_email = idle(cart_with(shop, email=None), 10 * 86400)
    empty = idle(cart_with(shop, lines=(), ready=False), 10 * 86400)
    assert services.carts_abandon() == []
    assert set(Cart.objects.filter(pk__in=[no_email.pk, empty.pk])
               .values_list("status", flat=True)) == {CartStatus.ACTIVE}


@override_settings(ORDERFLOW_RECOVERY_IDLE_SECONDS=60, ORDERFLOW_RECOVERY_STEPS=[60, 120])
def test_settings_shorten_thresholds_and_the_channel_row_wins(shop):
    cart = idle(cart_with(shop), 61)
    assert services.carts_abandon() == [cart.pk]
    other = idle(cart_with(shop, email="d@example.com"), 61)
    RecoverySettings.objects.create(channel=shop.channel, idle_seconds=600)
    assert services.carts_abandon() == []
    assert Cart.objects.get(pk=other.pk).status == CartStatus.ACTIVE


def test_the_sequence_sends_each_step_once_when_due(shop):
    cart = idle(cart_with(shop), 3600)
    sent = scan()
    assert [e.step for e in sent if e] == [1]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sasha@example.com"]
    assert message.subject == "You left something in your cart"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/recover/unsubscribe/" in unsubscribe
    assert "COF-250" in message.body and "× 2" in message.body
    assert "JMD 5,635.00" in message.body or "5,635.00" in message.body  # 2 × 2450 + 15 % GCT
    assert "/recover/" in message.body
    html = message.alternatives[0][0]
    assert "COF-250" in html and "Return to your cart" in html

    assert scan() == []  # step 2 is not due for 24 h
    later = timezone.now() + timedelta(seconds=86400 - 3600)
    assert [e.step for e in scan(now=later)] == [2]
    assert scan(now=later) == []
    final = timezone.now() + timedelta(seconds=259200)
    assert [e.step for e in scan(now=final)] == [3]
    assert scan(now=final + timedelta(days=10)) == []  # three steps, then silence
    assert list(RecoveryEmail.objects.filter(cart=cart).values_list("step", flat=True)) \
        == [1, 2, 3]
    assert len(mail.outbox) == 3


def test_the_email_is_repriced_at_send_time(shop):
    cart = idle(cart_with(shop), 3600)
    Product.objects.filter(sku="COF-250").update(list_price=Decimal("3000.00"))
    scan()
    email = RecoveryEmail.objects.get(cart=cart)
    assert email.total == Decimal("6900.00") + Decimal("1200.00")  # 2 × 3000 + 15 %, shipping
    assert "3,000.00" in mail.outbox[0].body


def test_a_duplicated_task_sends_once(shop):
    cart = idle(cart_with(shop), 3600)
    services.carts_abandon()
    assert recovery_send_task(cart.pk, 1) is True
    assert recovery_send_task(cart.pk, 1) is False
    assert recovery_send_task(cart.pk, 1) is False
    assert len(mail.outbox) == 1


def test_scan_task_and_channel_steps(shop):
    settings_row = RecoverySettings.objects.create(channel=shop.channel, idle_seconds=120)
    RecoveryStep.objects.create(settings=settings_row, number=1, delay_seconds=120,
                                subject="Still thinking it over?",
                                message="Your coffee is waiting.")
    cart = idle(cart_with(shop), 121)
    assert recovery_scan_task() == {"abandoned": 1, "queued": 1}
    assert recovery_send_task(cart.pk, 1) is True  # what the worker runs for the queued one
    assert mail.outbox[0].subject == "Still thinking it over?"
    assert "Your coffee is waiting." in mail.outbox[0].body
    assert recovery_scan_task() == {"abandoned": 0, "queued": 0}  # the channel has one step
    assert Cart.objects.get(pk=cart.pk).status == CartStatus.ABANDONED


def test_stop_reminders_and_a_disabled_channel_send_nothing(shop):
    stopped = idle(cart_with(shop), 3600)
    services.carts_abandon()
    services.reminders_stop(cart=stopped, stopped_by="ops")
    assert scan() == []
    assert ReminderStop.objects.filter(cart=stopped).exists()
    RecoverySettings.objects.create(channel=shop.channel, enabled=False)
    idle(cart_with(shop, email="e@example.com"), 3600)
    assert services.carts_abandon() == [] and scan() == []
    assert mail.outbox == []


def test_consent_required_by_the_channel(shop):
    RecoverySettings.objects.create(channel=shop.channel, require_consent=True)
    cart = idle(cart_with(shop), 3600)
    Cart.objects.filter(pk=cart.pk).update(marketing_consent=False)
    services.carts_abandon()
    assert scan() == []
    Cart.objects.filter(pk=cart.pk).update(marketing_consent=True)
    assert [e.step for e in scan()] == [1]


def test_a_shopper_who_comes_back_stops_the_sequence(shop):
    cart = idle(cart_with(shop), 3600)
    services.carts_abandon()
    client = shop.client(shop.secret)
    response = client.post(f"/api/v1/carts/{cart.public_id}/lines",
                           {"sku": "RICE-5KG", "quantity": 1}, format="json")
    assert response.status_code == 201
    cart.refresh_from_db()
    assert cart.status == CartStatus.ACTIVE and cart.recovered_at is not None
    assert cart.recovered_step is None  # came back on their own, not through a link
    assert OutboxEvent.objects.filter(type="cart.recovered").count() == 1
    assert scan() == [] and mail.outbox == []


def test_conversion_stops_the_sequence(shop):
    cart = idle(cart_with(shop), 3600)
    services.carts_abandon()
    assert services.reminder_send(cart_pk=cart.pk) is not None
    response = shop.client(shop.secret).post(
        "/api/v1/checkout", {"cart_id": cart.public_id, "payment": {"kind": "payment_intent",
                                                                    "reference": "pi_1"}},
        format="json")
    assert response.status_code == 201, response.content
    later = timezone.now() + timedelta(days=5)
    assert services.reminder_send(cart_pk=cart.pk, now=later) is None
    assert scan(now=later) == []
    assert len(mail.outbox) == 1


def test_idle_carts_expire(shop):
    old = idle(cart_with(shop), 30 * 86400)
    young = idle(cart_with(shop, email="f@example.com"), 29 * 86400)
    no_email = idle(cart_with(shop, email=None), 31 * 86400)
    assert recovery_expire_task() == 2
    statuses = dict(Cart.objects.values_list("pk", "status"))
    assert statuses[old.pk] == statuses[no_email.pk] == CartStatus.EXPIRED
    assert statuses[young.pk] == CartStatus.ACTIVE
    assert OutboxEvent.objects.filter(type="cart.expired").count() == 2
    response = shop.client(shop.secret).post(f"/api/v1/carts/{old.public_id}/lines",
                                             {"sku": "MUG", "quantity": 1}, format="json")
    assert response.status_code == 409


def test_recovery_settings_come_from_the_environment():
    config = load({"ORDERFLOW_RECOVERY_IDLE_SECONDS": "5", "ORDERFLOW_RECOVERY_STEPS": "5,60",
                   "ORDERFLOW_RECOVERY_SCAN_SECONDS": "2", "ORDERFLOW_RECOVERY_LINK_DAYS": "3",
                   "ORDERFLOW_RECOVERY_EXPIRY_DAYS": "9", "ORDERFLOW_VAR_DIR": "/tmp/of-h22-cfg",
                   "ORDERFLOW_PUBLIC_URL": "https://ops.example.com/"})
    assert (config.recovery_idle_seconds, config.recovery_steps, config.recovery_scan_seconds,
            config.recovery_link_days, config.recovery_expiry_days) == (5, [5, 60], 2, 3, 9)
    assert config.public_url == "https://ops.example.com"
    defaults = load({"ORDERFLOW_VAR_DIR": "/tmp/of-h22-cfg", "ORDERFLOW_PORT": "8100"})
    assert defaults.recovery_steps == [3600, 86400, 259200]
    assert defaults.public_url == "http://127.0.0.1:8100"
    with pytest.raises(ConfigError, match="ORDERFLOW_RECOVERY_STEPS"):
        load({"ORDERFLOW_RECOVERY_STEPS": "1h", "ORDERFLOW_VAR_DIR": "/tmp/of-h22-cfg"})


def test_checking_out_an_abandoned_cart_counts_it_as_back(shop):
    cart = idle(cart_with(shop), 3600)
    services.carts_abandon()
    response = shop.client(shop.secret).post(
        "/api/v1/checkout", {"cart_id": cart.public_id,
                             "payment": {"kind": "payment_intent", "reference": "pi_9"}},
        format="json")
    assert response.status_code == 201
    event = OutboxEvent.objects.get(type="cart.recovered")
    assert event.payload["status"] == "converted" and event.payload["step"] is None


def test_scan_and_send_cost_a_fixed_number_of_queries(shop):
    """The scan reads per channel, not per cart; a send costs the same whatever the lines."""
    small = idle(cart_with(shop, email="small@example.com"), 3600)
    big = idle(cart_with(shop, email="big@example.com",
                         lines=(("COF-250", 1), ("RICE-5KG", 2), ("MUG", 1))), 3600)
    services.carts_abandon()
    with CaptureQueriesContext(connection) as scan_queries:
        due = due_reminders()
    assert sorted(due) == sorted([(small.pk, 1), (big.pk, 1)])
    with CaptureQueriesContext(connection) as one_line:
        services.reminder_send(cart_pk=small.pk)
    with CaptureQueriesContext(connection) as three_lines:
        services.reminder_send(cart_pk=big.pk)
    assert len(scan_queries) <= 4, [q["sql"] for q in scan_queries]
    assert len(one_line) == len(three_lines), (len(one_line), len(three_lines))
    print(f"\nqueries: due_reminders {len(scan_queries)}, reminder_send {len(one_line)}")
