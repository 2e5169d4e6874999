"""The quote page in the admin: its story renders in words and formatted money, its buttons
are offered only when the quote service would accept them (and to whom), each button runs
the service and a refusal comes back as the admin message, never a 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.utils import timezone

from quotes import services
from quotes.models import Quote
from tests import factories
from tests.quotes.conftest import line, make_quote, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def page(client, quote) -> str:
    response = client.get(f"/admin/quotes/quote/{quote.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def buttons(html: str) -> set[str]:
    names = ("submit", "approve", "request-changes", "decline", "send", "convert", "withdraw")
    return {name for name in names if f'id="action-{name}"' in html}


def messages_of(response) -> list[str]:
    """The messages waiting for the next page (not shown yet: redirects are not followed)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def approver_client(client, world):  # noqa: F811 - the fixture's value
    """A staff sales manager (level 1) who did not write the quotes."""
    user = factories.StaffUserFactory(username="staff.manager")
    user.groups.add(Group.objects.get(name="Sales managers"))
    client.force_login(user)
    return client


def test_the_story_reads_in_words_and_money(approver_client, world):  # noqa: F811
    quote = make_quote(world, [line("COF-250", 5, discount_percent=Decimal("12"))])
    html = page(approver_client, quote)
    assert quote.number in html and "Draft" in html
    assert "JMD 12,397.00" in html  # 5 × 2,156.00 + 15 % tax
    assert "12 %" in html and "Quote created" in html
    assert 'name="_save"' not in html
    assert buttons(html) == {"submit", "withdraw"}


def test_buttons_follow_the_status_and_who_may_decide(approver_client, world, client):  # noqa: F811
    quote = services.quote_submit(
        quote=make_quote(world, [line("COF-250", 5, discount_percent=Decimal("12"))]),
        actor=world.actor)
    assert quote.status == "pending_approval" and quote.awaiting_level == 1
    assert buttons(page(approver_client, quote)) == {
        "approve", "request-changes", "decline", "withdraw"}

    client.force_login(world.author)  # wrote it: may not approve it
    assert buttons(page(client, quote)) == {"withdraw"}


def test_send_is_not_offered_once_the_version_expired(approver_client, world):  # noqa: F811
    quote = services.quote_submit(quote=make_quote(world), actor=world.actor)
    assert quote.status == "approved"
    assert "send" in buttons(page(approver_client, quote))
    quote.current.valid_until = timezone.localdate() - timedelta(days=1)
    quote.current.save(update_fields=["valid_until"])
    html = page(approver_client, quote)
    assert "send" not in buttons(html) and "(expired)" in html


def test_a_button_runs_the_service_and_shows_its_outcome(approver_client, world):  # noqa: F811
    quote = services.quote_submit(
        quote=make_quote(world, [line("COF-250", 5, discount_percent=Decimal("12"))]),
        actor=world.actor)
    url = f"/admin/quotes/quote/{quote.pk}/"
    shown = approver_client.get(url + "decline/")
    assert shown.status_code == 200 and "Decline" in shown.content.decode()
    assert Quote.objects.get(pk=quote.pk).status == "pending_approval"  # GET changes nothing

    refused = approver_client.post(url + "decline/", {"reason": ""})
    assert refused.status_code == 200  # the form again: a reason is required
    assert Quote.objects.get(pk=quote.pk).status == "pending_approval"

    done = approver_client.post(url + "approve/", {"comment": "fine"})
    assert done.status_code == 302
    assert f"{quote.number} approved at your level." in messages_of(done)
    assert Quote.objects.get(pk=quote.pk).status == "approved"

    again = approver_client.post(url + "approve/", {"comment": "twice"})
    assert again.status_code == 302
    assert messages_of(again)[-1] == "A quote cannot go from 'approved' to 'approved'."


def test_convert_says_why_an_accepted_quote_is_not_an_order(approver_client, world):  # noqa: F811
    quote = services.quote_submit(quote=make_quote(world), actor=world.actor)
    services.quote_send(quote=quote, actor=world.actor)
    world.company.credit_limit = Decimal("1.00")
    world.company.save(update_fields=["credit_limit"])
    services.quote_accept(quote=quote, actor=world.actor)
    quote.refresh_from_db()
    assert quote.status == "accepted"
    assert "not an order yet" in page(approver_client, quote)

    response = approver_client.post(f"/admin/quotes/quote/{quote.pk}/convert/")
    assert response.status_code == 302
    assert messages_of(response)[0].startswith("Not converted: ")
    world.company.credit_limit = Decimal("500000.00")
    world.company.save(update_fields=["credit_limit"])
    response = approver_client.post(f"/admin/quotes/quote/{quote.pk}/convert/")
    quote.refresh_from_db()
    assert quote.status == "converted"
    assert messages_of(response)[-1] == f"{quote.number} converted: order {quote.order.number}."


def test_the_quote_page_reads_in_a_bounded_number_of_queries(
        approver_client, world, django_assert_max_num_queries):  # noqa: F811
    quote = services.quote_submit(
        quote=make_quote(world, [line("COF-250", 5, discount_percent=Decimal("12")),
                                 line("RICE-5KG", 3)]), actor=world.actor)
    # 27 measured (session, user, permissions, the quote and its lines, versions, approvals,
    # events, unfold's detail actions); lines and events do not add queries each.
    with django_assert_max_num_queries(30):
        page(approver_client, quote)
