"""Returns: receive and refund are separate steps; restock adds to on hand; refunds are
capped by what was captured; every step is on the return's and the order's timelines."""

from decimal import Decimal

import pytest

from fulfillment import services
from fulfillment.models import ReturnEvent
from orderflow.errors import Conflict, InvalidTransition
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders import services as order_services
from orders.models import Payment
from tests import factories
from tests.fulfillment.conftest import line_of, place, stock
from tests.fulfillment.shipping import ship_lines
from tests.orders.conftest import timeline

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("ops@example.com")


def paid_order(shop, lines):
    order = place(shop, shop.shopper(factories.CustomerFactory()), lines,
                  {"kind": "payment_intent", "reference": "pi_1"})
    order_services.payment_capture(order=order, payment=order.payments.get(), actor=ACTOR)
    order.refresh_from_db()
    return order


def test_request_authorize_receive_restock_refund_close(shop):
    order = paid_order(shop, [("COF-250", 3), ("MUG", 1)])
    coffee, mug = line_of(order, "COF-250"), line_of(order, "MUG")
    ship_lines(order=order, quantities={coffee.public_id: 3}, actor=ACTOR)
    assert stock("COF-250") == (97, 0)

    r = services.return_request(order=order, actor=ACTOR, comment="Too much coffee", lines=[
        {"line_id": coffee.public_id, "quantity": 2, "reason": "no_longer_needed"}])
    assert r.status == "requested" and r.rma_number is None
    services.return_authorize(return_request=r, actor=ACTOR, instructions="Post it back.")
    r.refresh_from_db()
    assert r.rma_number.startswith("RMA-") and r.rma_number == r.number

    services.return_receive(return_request=r, actor=ACTOR, lines={
        coffee.public_id: {"quantity": 2, "condition": "new", "restock": True}})
    assert stock("COF-250") == (99, 0)  # restocked: on hand back up, nothing reserved
    assert Payment.objects.get(order=order).amount_refunded == 0  # receiving moves no money

    services.return_refund(return_request=r, actor=ACTOR, reference="re_1")
    r.refresh_from_db()
    payment = Payment.objects.get(order=order)
    expected = (coffee.line_total * 2 / 3).quantize(Decimal("0.01"))
    assert r.refund_amount == expected and r.refund_method == "payment"
    assert payment.amount_refunded == expected
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"
    services.return_close(return_request=r, actor=ACTOR)
    r.refresh_from_db()
    assert r.status == "closed"

    steps = ["return_requested", "return_authorized", "return_received", "return_refunded",
             "return_closed"]
    assert list(ReturnEvent.objects.filter(return_request=r).order_by("id")
                .values_list("type", flat=True)) == steps
    order_steps = [t for t in timeline(order) if t.startswith("return_") or t.startswith("pay")]
    assert order_steps[-6:] == ["return_requested", "return_authorized", "return_received",
                                "payment_refund", "return_refunded", "return_closed"]
    assert list(OutboxEvent.objects.filter(aggregate_id=r.public_id).order_by("id")
                .values_list("type", flat=True)) == [
        "return.requested", "return.authorized", "return.received", "return.refunded",
        "return.closed"]
    assert mug  # the unshipped mug could not be returned (see below)


def test_over_return_counts_what_shipped_and_other_returns_hold(shop):
    order = paid_order(shop, [("COF-250", 3), ("MUG", 1)])
    coffee, mug = line_of(order, "COF-250"), line_of(order, "MUG")
    ship_lines(order=order, quantities={coffee.public_id: 2}, actor=ACTOR)
    with pytest.raises(Conflict) as refused:
        services.return_request(order=order, actor=ACTOR, lines=[
            {"line_id": coffee.public_id, "quantity": 3, "reason": "damaged"}])
    assert refused.value.code == "over_return"
    assert refused.value.extra["left"] == 2 and refused.value.extra["shipped"] == 2
    with pytest.raises(Conflict):
        services.return_request(order=order, actor=ACTOR, lines=[
            {"line_id": mug.public_id, "quantity": 1, "reason": "damaged"}])
    first = services.return_request(order=order, actor=ACTOR, lines=[
        {"line_id": coffee.public_id, "quantity": 2, "reason": "damaged"}])
    with pytest.raises(Conflict):
        services.return_request(order=order, actor=ACTOR, lines=[
            {"line_id": coffee.public_id, "quantity": 1, "reason": "damaged"}])
    services.return_reject(return_request=first, actor=ACTOR, reason="Photos show no damage")
    # A rejected return holds nothing: the units may be asked for again.
    services.return_request(order=order, actor=ACTOR, lines=[
        {"line_id": coffee.public_id, "quantity": 2, "reason": "damaged"}])


def test_refund_is_capped_by_what_was_captured(shop):
    order = paid_order(shop, [("MUG", 1)])
    mug = line_of(order, "MUG")
    ship_lines(order=order, quantities={mug.public_id: 1}, actor=ACTOR)
    r = services.return_request(order=order, actor=ACTOR, lines=[
        {"line_id": mug.public_id, "quantity": 1, "reason": "defective"}])
    with pytest.raises(InvalidTransition):
        services.return_refund(return_request=r, actor=ACTOR)  # not received yet
    services.return_authorize(return_request=r, actor=ACTOR)
    services.return_receive(return_request=r, actor=ACTOR, lines={
        mug.public_id: {"quantity": 1, "condition": "damaged", "restock": False}})
    assert stock("MUG")[0] == 4  # not restocked
    order.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        services.return_refund(return_request=r, actor=ACTOR, amount=order.total + 1)
    assert refused.value.code == "refund_exceeds_captured"
    assert refused.value.extra["refundable"] == f"{order.total:.2f}"
    services.return_refund(return_request=r, actor=ACTOR, amount=order.total)
    order.refresh_from_db()
    assert order.payment_status == "refunded"


def test_a_cod_order_not_yet_paid_gets_a_credit_on_its_invoice(shop):
    order = place(shop, shop.shopper(factories.CustomerFactory()), [("MUG", 2)])
    mug = line_of(order, "MUG")
    ship_lines(order=order, quantities={mug.public_id: 2}, actor=ACTOR)
    invoice = order.invoices.get()
    r = services.return_request(order=order, actor=ACTOR, lines=[
        {"line_id": mug.public_id, "quantity": 1, "reason": "wrong_item"}])
    services.return_authorize(return_request=r, actor=ACTOR)
    services.return_receive(return_request=r, actor=ACTOR, lines={
        mug.public_id: {"quantity": 1, "condition": "new", "restock": True}})
    services.return_refund(return_request=r, actor=ACTOR)
    r.refresh_from_db()
    assert r.refund_method == "invoice_credit" and r.refund_amount == mug.line_total / 2
    assert invoice.number in timeline_messages(order)[-1]
    assert Payment.objects.get(order=order).amount_refunded == 0


def timeline_messages(order):
    return list(order.events.order_by("id").values_list("message", flat=True))
