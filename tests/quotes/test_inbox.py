"""The approvals inbox through the Django test client: login, lists, decisions, CSRF, stale
pages, 404 for another item and 403 for a non-approver."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from orderflow.timeline import Actor
from orders.models import Order
from quotes import services
from quotes.models import Quote
from tests import factories
from tests.orders.conftest import make_order
from tests.quotes.conftest import PASSWORD, line, make_quote


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def pending(world, discount="30"):
    return services.quote_submit(quote=make_quote(world, [line(discount_percent=Decimal(
        discount))]), actor=world.actor)


def test_login_page_then_the_inbox(world):
    client = Client()
    response = client.get("/approvals/")
    assert response.status_code == 302 and response["Location"].startswith("/approvals/login/")
    response = client.post("/approvals/login/?next=/approvals/",
                           {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/approvals/"
    assert client.get("/approvals/").status_code == 200


def test_inbox_lists_what_waits_at_my_level_with_the_count_in_the_title(world):
    quote = pending(world)
    mine = signed_in(world.level1).get("/approvals/")
    assert quote.number in mine.content.decode()
    assert "<title>Approvals (1) — OrderFlow</title>" in mine.content.decode()
    assert "discounted 30.00 %" in mine.content.decode()  # the rule that triggered it
    # Finance sees it only after level 1.
    assert quote.number not in signed_in(world.level2).get("/approvals/").content.decode()
    assert signed_in(world.level2).get(f"/approvals/quotes/{quote.public_id}/").status_code == 404
    filtered = signed_in(world.level1).get("/approvals/?kind=order")
    assert quote.number not in filtered.content.decode()


def test_approve_in_the_browser_flow_with_csrf(world):
    quote = pending(world)
    client = signed_in(world.level1, enforce_csrf_checks=True)
    page = client.get(f"/approvals/quotes/{quote.public_id}/")
    assert page.status_code == 200 and b"Approve" in page.content
    token = page.context["csrf_token"]
    refused = client.post(f"/approvals/quotes/{quote.public_id}/decide",
                          {"action": "approve", "version": 1, "level": 1})
    assert refused.status_code == 403  # no CSRF token
    response = client.post(f"/approvals/quotes/{quote.public_id}/decide",
                           {"action": "approve", "version": 1, "level": 1,
                            "comment": "ok", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302 and response["Location"] == "/approvals/"
    quote.refresh_from_db()
    assert quote.awaiting_level == 2
    decided = signed_in(world.level1).get("/approvals/decided/").content.decode()
    assert quote.number in decided and "Approved" in decided
    # Still readable (decided by me), but no buttons any more.
    again = signed_in(world.level1).get(f"/approvals/quotes/{quote.public_id}/")
    assert again.status_code == 200 and b'value="approve"' not in again.content


def test_stale_page_records_no_second_decision(world):
    quote = pending(world, discount="12")  # level 1 only
    first, second = signed_in(world.level1), signed_in(world.other_level1)
    assert second.get(f"/approvals/quotes/{quote.public_id}/").status_code == 200
    first.post(f"/approvals/quotes/{quote.public_id}/decide",
               {"action": "approve", "version": 1, "level": 1})
    assert Quote.objects.get(pk=quote.pk).status == "approved"
    # The second approver's page was made before: it is stale.
    response = second.post(f"/approvals/quotes/{quote.public_id}/decide",
                           {"action": "decline", "comment": "no", "version": 1, "level": 1},
                           follow=True)
    assert "out of date" in response.content.decode()
    assert Quote.objects.get(pk=quote.pk).status == "approved"
    assert quote.approvals.count() == 1


def test_decline_needs_a_reason(world):
    quote = pending(world, discount="12")
    client = signed_in(world.level1)
    response = client.post(f"/approvals/quotes/{quote.public_id}/decide",
                           {"action": "decline", "comment": " ", "version": 1, "level": 1})
    assert response.status_code == 400 and b"A decline needs a reason." in response.content
    client.post(f"/approvals/quotes/{quote.public_id}/decide",
                {"action": "decline", "comment": "Margin too thin", "version": 1, "level": 1})
    assert Quote.objects.get(pk=quote.pk).decline_reason == "Margin too thin"


def test_request_changes_from_the_inbox(world):
    quote = pending(world, discount="12")
    signed_in(world.level1).post(f"/approvals/quotes/{quote.public_id}/decide",
                                 {"action": "changes", "comment": "10 % max",
                                  "version": 1, "level": 1})
    assert Quote.objects.get(pk=quote.pk).status == "changes_requested"


def test_the_author_sees_no_buttons_even_in_the_group(world):
    world.author.groups.add(world.level1.groups.first())
    quote = pending(world, discount="12")
    client = signed_in(world.author)
    assert quote.number not in client.get("/approvals/").content.decode()
    page = client.get(f"/approvals/quotes/{quote.public_id}/")
    assert b"You wrote this quote" in page.content
    response = client.post(f"/approvals/quotes/{quote.public_id}/decide",
                           {"action": "approve", "version": 1, "level": 1}, follow=True)
    assert b"someone else must approve" in response.content
    assert Quote.objects.get(pk=quote.pk).status == "pending_approval"


def test_non_approver_gets_403_page_and_another_item_404(world):
    outsider = factories.UserFactory(username="outsider")
    response = signed_in(outsider).get("/approvals/")
    assert response.status_code == 403 and b"You are not an approver" in response.content
    assert signed_in(world.level1).get("/approvals/quotes/quo_nope/").status_code == 404
    assert signed_in(world.level1).get("/approvals/orders/ord_nope/").status_code == 404


@pytest.mark.parametrize("action", ["approve", "decline"])
def test_orders_of_my_company_awaiting_approval(world, action):
    approver_user = factories.UserFactory(username="acme-approver")
    customer = factories.CustomerFactory(company=world.company, user=approver_user)
    factories.CompanyApproverFactory(company=world.company, customer=customer, level=1)
    order = make_order(status="awaiting_approval", company=world.company,
                       approval_levels=[1], kind="terms")
    foreign = make_order(status="awaiting_approval",
                         company=factories.CompanyFactory(code="other"), approval_levels=[1])
    client = signed_in(approver_user)
    inbox = client.get("/approvals/").content.decode()
    assert order.number in inbox and foreign.number not in inbox
    assert client.get(f"/approvals/orders/{foreign.public_id}/").status_code == 404
    response = client.post(f"/approvals/orders/{order.public_id}/decide",
                           {"action": action, "comment": "checked", "level": 1})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == (
        "confirmed" if action == "approve" else "declined")
    # A second post of the same (now stale) page decides nothing.
    again = client.post(f"/approvals/orders/{order.public_id}/decide",
                        {"action": "approve", "level": 1}, follow=True)
    assert again.status_code == 200
    assert order.approvals.count() == 1


def test_approval_email_goes_to_the_level_on_submit(world, django_capture_on_commit_callbacks,
                                                    mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        quote = pending(world, discount="12")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["manager2@example.com", "manager@example.com"]
    assert f"/approvals/quotes/{quote.public_id}/" in mailoutbox[0].body
    services.quote_approve(quote=quote, user=world.level1, actor=Actor.staff(world.level1))
