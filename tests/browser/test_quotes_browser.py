"""Staff work a quote in a real browser, from its admin page: read the story (badges, buyer,
totals in the currency, lines with discounts), submit it, approve it at their level, send it;
the buyer accepts over the credit limit, the page says why it is not an order, staff raise the
limit and convert it. A refused button shows the service's refusal as the admin message.
Screenshots of every page under var/test-artifacts/browser/<test>/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from orderflow.display import money
from quotes import services
from quotes.models import Quote
from tests.quotes.conftest import line, make_quote, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def message(visit) -> str:
    """The admin messages shown after a button (unfold's message list)."""
    return visit.text("#main, main, body")


@pytest.fixture
def ops_approver(staff):
    """The staff user of conftest, also a level 1 approver (Sales managers)."""
    staff.groups.add(Group.objects.get(name="Sales managers"))
    return staff


def test_submit_approve_send_then_convert_after_the_credit_limit_is_raised(
        visit, world, ops_approver):  # noqa: F811 - the fixture's value
    quote = make_quote(world, [line("COF-250", 5, discount_percent=Decimal("12"))],
                       notes="Hotel restock.")
    version = quote.current
    visit.login("ops")
    visit.goto("/admin/quotes/quote/", "quote list")
    assert "Draft" in visit.text("#result_list")
    page = visit.click(f"#result_list a:text-is('{quote.number}')", "draft quote")
    assert visit.text("#quote-number") == quote.number
    assert "Draft" in visit.text("#quote-status")
    assert "Acme Hotels" in visit.text("#quote-buyer")
    assert visit.text("#quote-total").strip() == money(version.total, version.currency)
    lines = visit.text("#quote-lines")
    assert "COF-250" in lines and "12 %" in lines
    assert money(version.lines.get().line_total, version.currency) in lines
    assert "0.0000" not in visit.text("#quote-story")
    assert "Quote created" in visit.text("#quote-timeline")
    assert not page.is_visible("input[name=_save], button[name=_save]")
    assert not page.is_visible("#action-approve") and not page.is_visible("#action-send")

    visit.click("#action-submit", "submit confirmation")
    page = visit.click("#confirm", "submitted")
    assert f"{quote.number} submitted." in message(visit)
    assert "Pending approval" in visit.text("#quote-status")
    assert "level 1 approver (Sales managers)" in visit.text("#quote-waiting")
    assert not page.is_visible("#action-submit")

    page = visit.click("#action-approve", "approve confirmation")
    page.fill("textarea[name=comment]", "Regular buyer, fine.")
    visit.click("#confirm", "approved")
    assert "approved at your level" in message(visit)
    assert "Approved" in visit.text("#quote-status")
    assert "Regular buyer, fine." in visit.text("#quote-approvals")

    world.company.credit_limit = Decimal("1.00")  # the buyer's acceptance will not convert
    world.company.save(update_fields=["credit_limit"])
    visit.click("#action-send", "send confirmation")
    page = visit.click("#confirm", "sent")
    assert f"{quote.number} sent to the buyer." in message(visit)
    assert "Sent" in visit.text("#quote-status")
    assert "Quote sent" in visit.text("#quote-timeline")
    assert page.is_visible("#action-withdraw") and not page.is_visible("#action-convert")

    response = world.buyer_client().post(f"/api/v1/quotes/{quote.public_id}/accept",
                                         {"version": 1}, format="json")
    assert response.status_code == 200, response.content
    page = visit.goto(f"/admin/quotes/quote/{quote.pk}/change/", "accepted, not converted")
    assert "Accepted" in visit.text("#quote-status")
    assert "not an order yet" in visit.text("#quote-conversion-error")

    world.company.credit_limit = Decimal("500000.00")
    world.company.save(update_fields=["credit_limit"])
    visit.click("#action-convert", "convert confirmation")
    visit.click("#confirm", "converted")
    quote.refresh_from_db()
    assert quote.status == "converted" and quote.order_id
    assert f"converted: order {quote.order.number}" in message(visit)
    assert "Converted" in visit.text("#quote-status")
    visit.click(f"#quote-order a:text-is('{quote.order.number}')", "the order")
    assert quote.order.number in visit.text("#order-number")


def test_a_refused_button_shows_the_services_refusal(visit, world, staff):  # noqa: F811
    quote = make_quote(world, [line("COF-250", 2)])
    quote = services.quote_submit(quote=quote, actor=world.actor)
    assert quote.status == "approved"  # no rule asked for an approval
    visit.login("ops")
    page = visit.goto(f"/admin/quotes/quote/{quote.pk}/change/", "approved quote")
    assert not page.is_visible("#action-approve")  # nothing waits for an approver
    visit.click("#action-withdraw", "withdraw confirmation")
    # Meanwhile a colleague sends it and then withdraws it.
    services.quote_send(quote=quote, actor=world.actor)
    services.quote_withdraw(quote=quote, actor=world.actor)
    page.fill("textarea[name=reason]", "Prices change next month.")
    page = visit.click("#confirm", "refused")
    assert "A quote cannot go from 'withdrawn' to 'withdrawn'." in message(visit)
    assert "Withdrawn" in visit.text("#quote-status")
    assert Quote.objects.get(pk=quote.pk).events.filter(type="quote_withdrawn").count() == 1
    assert not page.is_visible("#action-withdraw")
