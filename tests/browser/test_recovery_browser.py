"""Staff work the abandoned carts in a real browser: filter the list, "Send next reminder
now", "Stop reminders", open a cart's e-mails, and read the recovery summary."""

from __future__ import annotations

import pytest
from django.core import mail

from recovery import services
from recovery.models import RecoveryEmail, ReminderStop
from tests.recovery.conftest import cart_with, idle
from tests.storefront import build_storefront

pytestmark = pytest.mark.django_db(transaction=True)
LIST = "/admin/recovery/abandonedcart/"


def run_action(visit, cart, action: str, name: str):
    page = visit.page
    page.check(f"#result_list tr:has(a:text-is('{cart.public_id}')) input.action-select")
    page.select_option("select[name=action]", action)
    return visit.click("button[name=index]", name)


def test_staff_send_stop_and_read_the_summary(visit, staff):
    shop = build_storefront()
    first = idle(cart_with(shop, email="first@example.com"), 3600)
    second = idle(cart_with(shop, email="second@example.com"), 3600)
    services.carts_abandon()
    services.reminder_send(cart_pk=first.pk)

    visit.login("ops")
    visit.goto(LIST, "abandoned carts")
    assert first.public_id in visit.text("#result_list")
    visit.goto(LIST + "?step=0", "filtered: no e-mail yet")
    assert second.public_id in visit.text("#result_list")
    assert first.public_id not in visit.text("#result_list")

    visit.goto(LIST, "abandoned carts again")
    page = run_action(visit, first, "send_next_now", "after send next reminder now")
    assert "next reminder sent" in page.inner_text("body")
    assert list(RecoveryEmail.objects.filter(cart=first).values_list("step", flat=True)) \
        == [1, 2]
    assert len(mail.outbox) == 2

    page = run_action(visit, second, "stop_reminders", "after stop reminders")
    assert "reminders stopped" in page.inner_text("body")
    assert ReminderStop.objects.filter(cart=second).exists()
    assert "stopped" in visit.text(f"#result_list tr:has(a:text-is('{second.public_id}'))")

    page = visit.click(f"#result_list a:text-is('{first.public_id}')", "cart with e-mails")
    emails = page.inner_text("body")
    assert "You left something in your cart" in emails
    assert "Your cart is still waiting for you" in emails

    visit.goto(LIST, "list before summary")
    page = visit.click("#recovery-summary", "recovery summary")
    assert visit.text("#abandoned-7").strip() == "2"
    assert visit.text("#sent-7").strip() == "2"
    assert "Step 1" in visit.text("#summary-30") and "Step 2" in visit.text("#summary-30")
