"""The status machine: every allowed transition works, every other one is refused with
nothing written; cancel gives back exactly the reserved stock; unpaid orders expire."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orderflow.errors import InvalidTransition
from orderflow.models import OutboxEvent
from orderflow.principals import Principal
from orderflow.timeline import Actor
from orders import services
from orders.constants import ALLOWED_STATUS_CHANGES, ORDER_TRANSITIONS, OrderStatus
from orders.models import Order, OrderEvent, Payment
from orders.tasks import cancel_unpaid_orders_task
from tests import factories
from tests.fulfillment.shipping import ship_lines
from tests.orders.conftest import line_reserved, make_order, reserved, timeline

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")


def run(action, order, staff):
    principal = Principal(user=staff)
    return {
        "confirm": lambda: services.order_confirm(order=order, actor=ACTOR),
        "approve": lambda: services.order_approve(order=order, principal=principal),
        "decline": lambda: services.order_decline(order=order, principal=principal,
                                                  reason="Over budget"),
        "cancel": lambda: services.order_cancel(order=order, actor=ACTOR),
        "complete": lambda: services.order_complete(order=order, actor=ACTOR),
    }[action]()


CASES = [(action, status) for action in ORDER_TRANSITIONS for status in OrderStatus.values]


def test_the_table_is_the_documented_lifecycle():
    assert ALLOWED_STATUS_CHANGES == {
        ("pending_payment", "confirmed"), ("awaiting_approval", "confirmed"),
        ("awaiting_approval", "declined"), ("confirmed", "completed"),
        ("pending_payment", "canceled"), ("awaiting_approval", "canceled"),
        ("confirmed", "canceled"),
    }


@pytest.mark.parametrize(("action", "status"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_every_action_from_every_status(action, status, staff_user):
    order = make_order(status=status, approval_levels=[1], fulfillment_status="fulfilled")
    sources, target = ORDER_TRANSITIONS[action]
    before_events = OrderEvent.objects.count()
    before_outbox = OutboxEvent.objects.count()
    if status in sources:
        run(action, order, staff_user)
        order.refresh_from_db()
        assert order.status == target
        stamp = {"confirmed": "confirmed_at", "declined": "declined_at",
                 "completed": "completed_at", "canceled": "canceled_at"}[target]
        assert getattr(order, stamp) is not None
        assert OrderEvent.objects.count() > before_events
        assert OutboxEvent.objects.filter(type=f"order.{target}",
                                          aggregate_id=order.public_id).exists()
    else:
        updated = Order.objects.get(pk=order.pk).updated_at
        with pytest.raises(InvalidTransition) as refused:
            run(action, order, staff_user)
        assert refused.value.extra == {"from_status": status, "to_status": target}
        order.refresh_from_db()
        assert order.status == status and order.updated_at == updated
        assert OrderEvent.objects.count() == before_events
        assert OutboxEvent.objects.count() == before_outbox


def test_illegal_transition_over_the_api_is_409_problem_naming_from_and_to(staff_client):
    order = make_order(status="completed")
    response = staff_client.post(f"/api/v1/orders/{order.public_id}/cancel", {},
                                 format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert (body["from_status"], body["to_status"]) == ("completed", "canceled")
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_cancel_releases_exactly_the_reserved_stock_and_leaves_other_orders_alone():
    coffee = factories.ProductFactory(stock_on_hand=20)
    mug = factories.ProductFactory(stock_on_hand=20)
    keep = make_order(lines=[(coffee, 4)])
    cancel = make_order(lines=[(coffee, 3), (mug, 5)])
    assert (reserved(coffee), reserved(mug)) == (7, 5)

    services.order_cancel(order=cancel, actor=ACTOR, reason="customer", note="Changed mind")

    assert (reserved(coffee), reserved(mug)) == (4, 0)
    assert line_reserved(cancel) == [0, 0] and line_reserved(keep) == [4]
    cancel.refresh_from_db()
    assert cancel.status == "canceled" and cancel.cancel_reason == "customer"
    event = OrderEvent.objects.get(order=cancel, type="order_canceled")
    assert event.parameters["released"] == {coffee.sku: 3, mug.sku: 5}
    assert "Changed mind" in event.message
    payload = OutboxEvent.objects.get(type="order.canceled", aggregate_id=cancel.public_id)
    assert payload.payload["status"] == "canceled"
    assert payload.payload["cancel_reason"] == "customer"


def test_cancel_of_a_partly_shipped_order_releases_only_what_is_still_held():
    product = factories.ProductFactory(stock_on_hand=10)
    order = make_order(lines=[(product, 6)])
    line = order.lines.get()
    ship_lines(order=order, quantities={line.public_id: 2}, actor=ACTOR)
    product.refresh_from_db()
    assert (product.stock_on_hand, product.stock_reserved) == (8, 4)
    services.order_cancel(order=order, actor=ACTOR)
    product.refresh_from_db()
    assert (product.stock_on_hand, product.stock_reserved) == (8, 0)


def test_cancel_voids_authorizations_and_records_refunds_owed():
    order = make_order(status="pending_payment", kind="payment_intent")
    card = order.payments.get()
    cod = factories.PaymentFactory(order=order, kind="cod", amount=Decimal("10.00"))
    services.payment_authorize(order=order, payment=card, actor=ACTOR, reference="pi_1")
    services.payment_capture(order=order, payment=cod, actor=ACTOR, amount=Decimal("10.00"))

    services.order_cancel(order=order, actor=ACTOR)

    card.refresh_from_db()
    cod.refresh_from_db()
    assert card.status == "voided" and card.amount_voided == card.amount_authorized
    assert cod.refund_owed == Decimal("10.00")
    order.refresh_from_db()
    assert order.payment_status == "partially_paid"  # the money is ours until refunded
    services.payment_refund(order=order, payment=cod, actor=ACTOR, reference="re_1")
    cod.refresh_from_db()
    order.refresh_from_db()
    assert cod.refund_owed == 0 and order.payment_status == "refunded"
    assert "payment_void" in timeline(order) and "payment_refund" in timeline(order)


def test_completing_needs_every_line_shipped_and_shipping_the_last_unit_completes():
    order = make_order(lines=[(None, 2), (None, 1)], kind="terms",
                       company=factories.CompanyFactory(payment_terms="NET30"))
    first, second = order.lines.order_by("id")
    with pytest.raises(Exception) as refused:
        services.order_complete(order=order, actor=ACTOR)
    assert refused.value.code == "order_not_fulfilled"

    ship_lines(order=order, quantities={first.public_id: 2}, actor=ACTOR)
    order.refresh_from_db()
    assert (order.status, order.fulfillment_status) == ("confirmed", "partially_fulfilled")
    ship_lines(order=order, quantities={second.public_id: 1}, actor=ACTOR)
    order.refresh_from_db()
    assert (order.status, order.fulfillment_status) == ("completed", "fulfilled")
    invoice = order.invoices.get()
    assert invoice.status == "issued" and invoice.number.startswith("INV-")
    assert (invoice.due_date - timezone.localdate()).days == 30
    assert timeline(order)[-3:] == ["order_lines_shipped", "invoice_issued", "order_completed"]


def test_shipping_more_than_ordered_is_refused():
    order = make_order(lines=[(None, 2)])
    line = order.lines.get()
    with pytest.raises(Exception) as refused:
        ship_lines(order=order, quantities={line.public_id: 3}, actor=ACTOR)
    assert refused.value.code == "over_shipment"
    assert order.lines.get().quantity_shipped == 0


def test_payment_timeout_cancels_only_old_unpaid_orders_and_is_safe_twice(settings):
    settings.ORDERFLOW_PAYMENT_TIMEOUT = timedelta(minutes=60)
    product = factories.ProductFactory(stock_on_hand=10)
    old = make_order(status="pending_payment", kind="payment_intent", lines=[(product, 2)],
                     placed_at=timezone.now() - timedelta(minutes=61))
    fresh = make_order(status="pending_payment", kind="payment_intent", lines=[(product, 1)],
                       placed_at=timezone.now() - timedelta(minutes=59))
    old_confirmed = make_order(status="confirmed", lines=[(product, 1)],
                               placed_at=timezone.now() - timedelta(hours=5))

    assert cancel_unpaid_orders_task() == 1
    assert cancel_unpaid_orders_task() == 0

    old.refresh_from_db()
    assert old.status == "canceled" and old.cancel_reason == "payment_timeout"
    assert Order.objects.get(pk=fresh.pk).status == "pending_payment"
    assert Order.objects.get(pk=old_confirmed.pk).status == "confirmed"
    assert reserved(product) == 2
    event = OrderEvent.objects.get(order=old, type="order_canceled")
    assert event.actor_source == "system" and event.parameters["reason"] == "payment_timeout"


def test_a_capture_that_lands_first_wins_over_the_timeout(settings):
    order = make_order(status="pending_payment", kind="payment_intent",
                       placed_at=timezone.now() - timedelta(hours=2))
    cutoff = timezone.now() - settings.ORDERFLOW_PAYMENT_TIMEOUT
    services.payment_capture(order=order, payment=order.payments.get(), actor=ACTOR)
    assert services.order_cancel_unpaid(order_id=order.pk, cutoff=cutoff) is False
    assert Order.objects.get(pk=order.pk).status == "confirmed"
    assert Payment.objects.get(order=order).status == "captured"
