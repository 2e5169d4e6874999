"""The quote flow through its services: every step, its timeline and its outbox event."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from orderflow.errors import Conflict, InvalidTransition, ValidationFailed
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders.models import Order, OrderApprovalRule
from quotes import services
from quotes.models import QuoteEvent
from tests.quotes.conftest import line, make_quote, sent_quote


def timeline(quote) -> list[str]:
    return list(QuoteEvent.objects.filter(quote=quote).order_by("id")
                .values_list("type", flat=True))


def outbox(quote) -> list[str]:
    return list(OutboxEvent.objects.filter(aggregate_id=quote.public_id).order_by("id")
                .values_list("type", flat=True))


def test_quote_created_priced_by_the_one_pricing_module(world):
    quote = make_quote(world, [line("COF-250", 10, discount_percent=Decimal("5")),
                               line("RICE-5KG", 2, unit_price=Decimal("2000"))],
                       shipping_total=Decimal("1500"))
    version = quote.current
    coffee, rice = version.lines.order_by("id")
    assert quote.number.startswith("Q-") and len(quote.number) == 8
    assert (coffee.list_price, coffee.unit_price, coffee.discount_percent) == (
        Decimal("2450.0000"), Decimal("2327.5000"), Decimal("5.00"))
    assert coffee.line_subtotal == Decimal("23275.00") and coffee.tax_amount == Decimal(
        "3491.25")
    assert rice.tax_amount == 0  # zero-rated
    assert version.total == Decimal("23275.00") + Decimal("3491.25") + Decimal(
        "4000.00") + Decimal("1500.00")
    assert timeline(quote) == ["quote_created"] and outbox(quote) == ["quote.created"]


def test_no_rule_matched_is_approved_at_once_then_sent_by_mail(
        world, django_capture_on_commit_callbacks):
    quote = make_quote(world)
    quote = services.quote_submit(quote=quote, actor=world.actor)
    assert quote.status == "approved" and quote.current.approval_levels == []
    with django_capture_on_commit_callbacks(execute=True):
        quote = services.quote_send(quote=quote, actor=world.actor)
    assert quote.status == "sent" and quote.sent_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["buyer@acme.example"]
    assert quote.number in mail.outbox[0].subject
    html = mail.outbox[0].alternatives[0][0]
    assert "COF-250" in html and "24,500.00" in mail.outbox[0].body  # 10 × 2,450 subtotal
    assert timeline(quote) == ["quote_created", "quote_submitted", "quote_sent"]
    assert outbox(quote) == ["quote.created", "quote.submitted", "quote.approved", "quote.sent"]


def test_two_levels_decide_in_order_and_the_author_never_approves(world):
    quote = make_quote(world, [line(discount_percent=Decimal("30"))])  # > 25 %: levels 1 and 2
    quote = services.quote_submit(quote=quote, actor=world.actor)
    assert quote.status == "pending_approval" and quote.current.approval_levels == [1, 2]
    assert quote.awaiting_level == 1
    with pytest.raises(services.NotAnApprover):  # level 2 cannot skip level 1
        services.quote_approve(quote=quote, user=world.level2, actor=Actor.staff(world.level2))
    world.author.groups.add(world.level1.groups.first())
    with pytest.raises(services.NotAnApprover) as own:
        services.quote_approve(quote=quote, user=world.author, actor=world.actor)
    assert own.value.code == "own_quote"
    quote = services.quote_approve(quote=quote, user=world.level1,
                                   actor=Actor.staff(world.level1), comment="fine", version=1,
                                   level=1)
    assert quote.status == "pending_approval" and quote.awaiting_level == 2
    with pytest.raises(Conflict) as stale:  # another level-1 page, now stale
        services.quote_approve(quote=quote, user=world.other_level1,
                               actor=Actor.staff(world.other_level1), version=1, level=1)
    assert stale.value.code == "stale_decision"
    quote = services.quote_approve(quote=quote, user=world.level2,
                                   actor=Actor.staff(world.level2), version=1, level=2)
    assert quote.status == "approved" and quote.awaiting_level is None
    assert timeline(quote)[-2:] == ["quote_approval_recorded", "quote_approved"]


def test_one_decision_per_approver_per_version(world):
    world.level1.groups.add(world.level2.groups.first())  # in both groups
    quote = services.quote_submit(quote=make_quote(world, [line(discount_percent=Decimal(
        "30"))]), actor=world.actor)
    services.quote_approve(quote=quote, user=world.level1, actor=Actor.staff(world.level1))
    with pytest.raises(Conflict) as twice:
        services.quote_approve(quote=quote, user=world.level1, actor=Actor.staff(world.level1))
    assert twice.value.code == "already_decided_by_you"


def test_changes_requested_then_a_new_version_keeps_the_old_one(world):
    quote = services.quote_submit(quote=make_quote(world, [line(discount_percent=Decimal(
        "12"))]), actor=world.actor)
    quote = services.quote_request_changes(quote=quote, user=world.level1,
                                           actor=Actor.staff(world.level1),
                                           comment="10 % at most")
    assert quote.status == "changes_requested" and quote.changes_comment == "10 % at most"
    quote = services.quote_revise(quote=quote, actor=world.actor, user=world.author,
                                  lines=[line(discount_percent=Decimal("10"))])
    assert quote.status == "draft" and quote.version == 2
    assert quote.versions.count() == 2
    assert quote.versions.get(number=1).lines.get().discount_percent == Decimal("12.00")
    quote = services.quote_submit(quote=quote, actor=world.actor)
    assert quote.status == "approved"  # 10 % is not over 10 %


def test_a_draft_never_submitted_is_edited_in_place(world):
    quote = make_quote(world)
    quote = services.quote_revise(quote=quote, actor=world.actor, lines=[line(quantity=3)])
    assert quote.version == 1 and quote.current.lines.get().quantity == 3


def test_approver_decline_ends_the_quote_with_the_reason(world):
    quote = services.quote_submit(quote=make_quote(world, [line(discount_percent=Decimal(
        "15"))]), actor=world.actor)
    with pytest.raises(ValidationFailed):
        services.quote_reject(quote=quote, user=world.level1, actor=Actor.staff(world.level1),
                              reason=" ")
    quote = services.quote_reject(quote=quote, user=world.level1,
                                  actor=Actor.staff(world.level1), reason="Too cheap")
    assert quote.status == "declined" and quote.decline_reason == "Too cheap"
    with pytest.raises(InvalidTransition) as illegal:
        services.quote_send(quote=quote, actor=world.actor)
    assert illegal.value.code == "invalid_transition" and "'declined'" in illegal.value.detail


def test_acceptance_converts_to_an_order_at_the_quoted_prices(world):
    quote = sent_quote(world, [line("COF-250", 4, unit_price=Decimal("2400"))],
                       shipping_total=Decimal("800"))
    quote = services.quote_accept(quote=quote, actor=Actor.system("buyer"), version=1)
    assert quote.status == "converted" and quote.conversion_error is None
    order = Order.objects.get(pk=quote.order_id)
    order_line = order.lines.get()
    assert order_line.unit_price == Decimal("2400.0000") and order_line.price_source == "quote"
    assert order.total == quote.current.total == Decimal("9600") + Decimal("1440") + Decimal(
        "800")
    assert order.status == "confirmed" and order.payments.get().kind == "terms"
    assert order.lines.get().product.stock_reserved == 4
    assert order.metadata["quote"] == quote.number
    assert order.events.get().type == "order_placed"
    assert timeline(quote)[-2:] == ["quote_accepted", "quote_converted"]
    assert outbox(quote)[-2:] == ["quote.accepted", "quote.converted"]


def test_order_approval_rules_apply_to_the_converted_order(world):
    OrderApprovalRule.objects.create(company=world.company, threshold=Decimal("1000"), level=1)
    quote = services.quote_accept(quote=sent_quote(world), actor=Actor.system("buyer"))
    assert quote.order.status == "awaiting_approval" and quote.order.approval_levels == [1]


def test_over_credit_limit_leaves_the_quote_accepted_and_retryable(world):
    world.company.credit_limit = Decimal("1000")
    world.company.save()
    quote = services.quote_accept(quote=sent_quote(world), actor=Actor.system("buyer"))
    assert quote.status == "accepted" and quote.order_id is None
    assert quote.conversion_error["code"] == "over_credit_limit"
    assert quote.conversion_error["credit_limit"] == "1000.00"
    assert not Order.objects.exists()
    assert timeline(quote)[-1] == "quote_conversion_failed"
    world.company.credit_limit = Decimal("1000000")
    world.company.save()
    quote = services.quote_convert(quote=quote, actor=world.actor)
    assert quote.status == "converted" and quote.conversion_error is None


def test_accepting_an_old_expired_or_withdrawn_version_is_refused(world):
    quote = sent_quote(world)
    quote = services.quote_revise(quote=quote, actor=world.actor, lines=[line(quantity=11)])
    quote = services.quote_send(quote=services.quote_submit(quote=quote, actor=world.actor),
                                actor=world.actor)
    with pytest.raises(Conflict) as old:
        services.quote_accept(quote=quote, actor=Actor.system("buyer"), version=1)
    assert old.value.code == "quote_superseded"
    services.quote_withdraw(quote=quote, actor=world.actor)
    with pytest.raises(Conflict) as withdrawn:
        services.quote_accept(quote=quote, actor=Actor.system("buyer"))
    assert withdrawn.value.code == "quote_withdrawn"


def test_expiry_and_reminder_by_the_beat_tasks(world, django_capture_on_commit_callbacks):
    from quotes.tasks import expire_quotes_task, remind_quotes_task

    soon = sent_quote(world, valid_until=timezone.localdate() + timedelta(days=2))
    later = sent_quote(world, valid_until=timezone.localdate() + timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_quotes_task() == 1
    assert remind_quotes_task() == 0  # once per version
    assert [m.to for m in mail.outbox] == [["buyer@acme.example"]]
    assert "valid until" in mail.outbox[0].subject
    type(soon.current).objects.filter(pk=soon.current_id).update(
        valid_until=timezone.localdate() - timedelta(days=1))
    assert expire_quotes_task() == 1
    assert expire_quotes_task() == 0
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.status == "expired" and later.status == "sent"
    assert outbox(soon)[-1] == "quote.expired"
    with pytest.raises(Conflict) as expired:
        services.quote_accept(quote=soon, actor=Actor.system("buyer"))
    assert expired.value.code == "quote_expired"


def test_buyer_declines_or_asks_for_changes(world):
    quote = services.quote_buyer_request_changes(quote=sent_quote(world),
                                                 actor=Actor.system("buyer"),
                                                 comment="Need 20 more")
    assert quote.status == "changes_requested"
    declined = services.quote_decline(quote=sent_quote(world), actor=Actor.system("buyer"),
                                      reason="Found cheaper")
    assert declined.status == "declined" and declined.decline_reason == "Found cheaper"
