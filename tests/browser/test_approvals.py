"""The approvals inbox in headless Chromium (fixtures from tests/browser/conftest.py): an
approver signs in, opens a quote and approves it; finance approves the second level; another
approver declines with a reason; a stale page refuses a second decision; the buyer's
acceptance by API makes an order staff see in the admin. Screenshots of every page are kept
under var/test-artifacts/browser/<test>/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderflow.timeline import Actor
from quotes import services
from quotes.models import Quote
from tests.quotes.conftest import PASSWORD, line, make_quote, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def submit(world, discount: str, **kwargs):  # noqa: F811 - the fixture's value
    quote = make_quote(world, [line("COF-250", 20, discount_percent=Decimal(discount)),
                               line("RICE-5KG", 10)], notes="Hotel restock, monthly.", **kwargs)
    return services.quote_submit(quote=quote, actor=world.actor)


def sign_in(visit, username: str):
    visit.goto("/approvals/login/?next=/approvals/", f"login {username}")
    visit.page.fill("input[name=username]", username)
    visit.page.fill("input[name=password]", PASSWORD)
    return visit.click("button[type=submit]", f"inbox of {username}")


def sign_out(visit):
    visit.click("header form button[type=submit]", "signed out")


def test_two_levels_approve_in_the_inbox_and_the_order_reaches_the_admin(
        visit, world, staff):  # noqa: F811
    quote = submit(world, "30")  # over 25 %: sales managers, then finance
    page = sign_in(visit, "manager")
    assert page.title() == "Approvals (1) — OrderFlow"
    assert quote.number in visit.text("main")
    assert "discounted 30.00 %" in visit.text("main")

    page = visit.click(f"a[href='/approvals/quotes/{quote.public_id}/']", "quote detail")
    assert "30.00 %" in visit.text("table")
    page.fill("#approve-comment", "Volume justifies it.")
    page = visit.click("button[value=approve]", "approved level 1")
    assert f"{quote.number} approved." in visit.text(".msg")
    assert page.title() == "Approvals (0) — OrderFlow"
    visit.click("a[href='/approvals/decided/']", "decided by me")
    assert quote.number in visit.text("main")
    sign_out(visit)

    sign_in(visit, "finance")
    visit.click(f"a[href='/approvals/quotes/{quote.public_id}/']", "finance detail")
    assert "Volume justifies it." in visit.text("main")
    visit.click("button[value=approve]", "approved level 2")
    quote.refresh_from_db()
    assert quote.status == "approved" and quote.awaiting_level is None

    # Sent, then accepted by the buyer through the API: an order at the quoted prices.
    services.quote_send(quote=quote, actor=world.actor)
    response = world.buyer_client().post(f"/api/v1/quotes/{quote.public_id}/accept",
                                         {"version": 1}, format="json")
    assert response.status_code == 200, response.content
    quote.refresh_from_db()
    assert quote.status == "converted"
    sign_out(visit)
    visit.login("ops")
    visit.goto(f"/admin/orders/order/{quote.order_id}/change/", "order in the admin")
    assert quote.order.number in visit.text("body")
    visit.goto(f"/admin/quotes/quote/{quote.pk}/change/", "quote in the admin")
    assert "Quote converted" in visit.text("#quote-timeline")


def test_decline_with_a_reason_and_a_stale_page(visit, world):  # noqa: F811
    declined, stale = submit(world, "12"), submit(world, "15")
    visit.page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(visit, "manager2")
    assert "Approvals (2)" in visit.page.title()
    page = visit.click(f"a[href='/approvals/quotes/{declined.public_id}/']", "phone detail")
    page.fill("#decline-reason", "Margin too thin on coffee.")
    visit.click("button[value=decline]", "declined")
    declined.refresh_from_db()
    assert declined.status == "declined" and declined.decline_reason == (
        "Margin too thin on coffee.")

    visit.goto(f"/approvals/quotes/{stale.public_id}/", "stale page opened")
    # Someone else decides while the page is open.
    services.quote_approve(quote=stale, user=world.level1, actor=Actor.staff(world.level1),
                           version=1, level=1)
    visit.click("button[value=approve]", "stale refused")
    assert "out of date" in visit.text(".msg")
    assert Quote.objects.get(pk=stale.pk).approvals.count() == 1
