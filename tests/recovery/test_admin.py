"""The recovery admin as staff use it (Django's test client; the browser test clicks it)."""

from __future__ import annotations

import pytest
from django.core import mail

from recovery import services
from recovery.models import RecoveryEmail, RecoverySettings, ReminderStop
from recovery.tokens import link_token
from tests.recovery.conftest import cart_with, idle

pytestmark = pytest.mark.django_db
LIST = "/admin/recovery/abandonedcart/"


@pytest.fixture
def carts(shop):
    carts = [idle(cart_with(shop, email=f"p{i}@example.com"), 3600 + i * 200000)
             for i in range(3)]
    services.carts_abandon()
    services.reminder_send(cart_pk=carts[0].pk)
    return carts


def test_list_filters_and_inline(admin_client_logged, carts, shop):
    idle(cart_with(shop, email="never@example.com"), 60)  # active: not on this list
    page = admin_client_logged.get(LIST).content.decode()
    assert all(c.public_id in page for c in carts) and "never@example.com" not in page
    for query, expected in [
        ("?step=1", [carts[0]]), ("?step=0", carts[1:]), ("?idle=1h", []),
        ("?idle=24h", [carts[0]]), ("?idle=3d", [carts[1]]), ("?idle=older", [carts[2]]),
        (f"?channel__id__exact={shop.channel.pk}", carts), ("?recovered=no", carts),
        ("?unsubscribed=no", carts), ("?unsubscribed=yes", []),
    ]:
        body = admin_client_logged.get(LIST + query).content.decode()
        shown = [c for c in carts if c.public_id in body]
        assert shown == expected, query
    detail = admin_client_logged.get(f"{LIST}{carts[0].pk}/change/").content.decode()
    assert "E-mails sent" in detail and "You left something in your cart" in detail


def test_send_next_now_and_stop(admin_client_logged, carts):
    response = admin_client_logged.post(LIST, {
        "action": "send_next_now", "_selected_action": [c.pk for c in carts]}, follow=True)
    assert response.status_code == 200
    assert sorted(RecoveryEmail.objects.values_list("cart_id", "step")) == sorted(
        [(carts[0].pk, 1), (carts[0].pk, 2), (carts[1].pk, 1), (carts[2].pk, 1)])
    staff = {e.sent_by for e in RecoveryEmail.objects.exclude(step=1, cart=carts[0])}
    assert len(staff) == 1 and "" not in staff  # the staff member's username
    assert "3 cart(s): next reminder sent." in response.content.decode()

    admin_client_logged.post(LIST, {"action": "stop_reminders",
                                    "_selected_action": [carts[1].pk]})
    assert ReminderStop.objects.filter(cart=carts[1]).exists()
    response = admin_client_logged.post(LIST, {
        "action": "send_next_now", "_selected_action": [carts[1].pk]}, follow=True)
    assert "1 cart(s) skipped" in response.content.decode()
    assert len(mail.outbox) == 4


def test_summary_page(admin_client_logged, carts, client):
    email = RecoveryEmail.objects.get(cart=carts[0])
    client.get(f"/recover/{link_token(email)}")
    page = admin_client_logged.get(LIST + "summary/").content.decode()
    assert "Last 7 days" in page and "Last 30 days" in page
    assert 'id="abandoned-7">3<' in page and 'id="sent-7">1<' in page
    assert 'id="recovered-7">1<' in page


def test_channel_settings_with_steps(admin_client_logged, shop):
    response = admin_client_logged.post("/admin/recovery/recoverysettings/add/", {
        "channel": shop.channel.pk, "enabled": "on", "idle_seconds": "1800",
        "storefront_url": "https://shop.example.com/cart/{cart_id}",
        "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "1000",
        "steps-0-number": "1", "steps-0-delay_seconds": "1800",
        "steps-0-subject": "Forgot something?", "steps-0-message": "Come back.",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    row = RecoverySettings.objects.get(channel=shop.channel)
    assert row.idle_seconds == 1800 and row.steps.get().subject == "Forgot something?"

