"""Payment status follows from the transactions; integrations record provider results."""

import random
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges.access.services import api_key_create
from bridges.constants import KeyKind
from orderflow.models import OutboxEvent
from orders.constants import PaymentStatus
from orders.models import Order, SupplierOrder
from orders.payments import payment_status_derive
from tests import factories
from tests.orders.conftest import make_order, timeline, user_client


@dataclass(frozen=True)
class Tx:
    kind: str
    amount: Decimal
    result: str = "succeeded"


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2)
txs = st.lists(st.builds(Tx, kind=st.sampled_from(["authorize", "capture", "refund", "void"]),
                         amount=amounts,
                         result=st.sampled_from(["succeeded", "succeeded", "failed"])),
               max_size=12)


def sums(transactions, kind):
    return sum((t.amount for t in transactions if t.kind == kind and t.result == "succeeded"),
               Decimal("0"))


@given(transactions=txs, total=amounts, seed=st.integers())
def test_status_is_a_function_of_the_amounts_not_of_their_order(transactions, total, seed):
    shuffled = list(transactions)
    random.Random(seed).shuffle(shuffled)
    status = payment_status_derive(transactions, total=total)
    assert status == payment_status_derive(shuffled, total=total)
    assert status in PaymentStatus.values


@given(transactions=txs, total=amounts)
def test_status_matches_the_money(transactions, total):
    status = payment_status_derive(transactions, total=total)
    captured, refunded = sums(transactions, "capture"), sums(transactions, "refund")
    authorized, voided = sums(transactions, "authorize"), sums(transactions, "void")
    if captured == 0:
        expected = "authorized" if authorized - voided > 0 else "unpaid"
    elif refunded >= captured:
        expected = "refunded"
    elif refunded > 0:
        expected = "partially_refunded"
    else:
        expected = "paid" if captured >= total else "partially_paid"
    assert status == expected


@given(transactions=txs, total=amounts)
def test_failed_results_never_change_the_status(transactions, total):
    failed = [Tx(t.kind, t.amount, "failed") for t in transactions]
    assert payment_status_derive(failed, total=total) == "unpaid"
    ok = [t for t in transactions if t.result == "succeeded"]
    assert payment_status_derive(transactions + failed, total=total) == \
        payment_status_derive(ok, total=total)


@given(total=amounts, parts=st.lists(amounts, min_size=1, max_size=5))
def test_capturing_the_total_in_parts_is_paid_and_refunding_it_all_is_refunded(total, parts):
    captures = [Tx("capture", p) for p in parts]
    captured = sum(parts, Decimal("0"))
    assert payment_status_derive([Tx("authorize", captured), *captures], total=captured) \
        == "paid"
    refunds = [Tx("refund", p) for p in parts]
    assert payment_status_derive(captures + refunds, total=total) == "refunded"
    if len(parts) > 1:
        assert payment_status_derive(captures + refunds[:-1], total=total) == \
            "partially_refunded"


# --- API -------------------------------------------------------------------------------------



def checkout_pending(shop, lines=(("COF-250", 1),)):
    client = shop.client(shop.secret)
    cart_id = shop.ready_cart(client, list(lines))
    response = client.post("/api/v1/checkout", {
        "cart_id": cart_id, "payment": {"kind": "payment_intent", "reference": "pi_123"},
        "email": "guest@example.com"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_capturing_the_full_amount_confirms_a_pending_order_and_forwards_it(shop):
    order = checkout_pending(shop)
    payment_id = order["payments"][0]["id"]
    url = f"/api/v1/orders/{order['id']}/payments/{payment_id}"
    client = shop.client(shop.secret)

    response = client.post(f"{url}/capture", {"reference": "ch_1"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "confirmed" and body["confirmed_at"]
    assert body["payment_status"] == "paid"
    assert body["payments"][0]["captured"] == order["total"]
    db_order = Order.objects.get(public_id=order["id"])
    assert timeline(db_order) == ["order_placed", "payment_capture", "order_confirmed"]
    types = list(OutboxEvent.objects.filter(type__in=["payment.captured", "order.confirmed"])
                 .values_list("type", flat=True))
    assert types == ["payment.captured", "order.confirmed"]
    payload = OutboxEvent.objects.get(type="payment.captured").payload
    assert payload["transaction"]["reference"] == "ch_1"
    assert payload["transaction"]["amount"] == order["total"]
    assert SupplierOrder.objects.filter(order=db_order).count() == 1


@pytest.mark.django_db
def test_partial_capture_keeps_it_pending_then_the_rest_confirms(shop):
    order = checkout_pending(shop)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}"
    client = shop.client(shop.secret)
    first = client.post(f"{url}/capture", {"amount": "1000.00"}, format="json").json()
    assert (first["status"], first["payment_status"]) == ("pending_payment", "partially_paid")
    too_much = client.post(f"{url}/capture", {"amount": order["total"]}, format="json")
    assert too_much.status_code == 409 and too_much.json()["code"] == "amount_exceeds_balance"
    rest = client.post(f"{url}/capture", {}, format="json").json()
    assert (rest["status"], rest["payment_status"]) == ("confirmed", "paid")


@pytest.mark.django_db
def test_refunds_are_recorded_and_bounded_by_what_was_captured(shop, staff_client):
    order = checkout_pending(shop)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}"
    assert staff_client.post(f"{url}/capture", {}, format="json").status_code == 200
    partial = staff_client.post(f"{url}/refund", {"amount": "100.00", "reference": "re_1"},
                                format="json").json()
    assert partial["payment_status"] == "partially_refunded"
    assert partial["payments"][0]["refunded"] == "100.00"
    over = staff_client.post(f"{url}/refund", {"amount": order["total"]}, format="json")
    assert over.status_code == 409 and over.json()["code"] == "amount_exceeds_captured"
    rest = staff_client.post(f"{url}/refund", {}, format="json").json()
    assert rest["payment_status"] == "refunded"
    assert OutboxEvent.objects.filter(type="payment.refunded").count() == 2


@pytest.mark.django_db
def test_a_failed_provider_result_is_on_the_timeline_and_changes_nothing(shop):
    order = checkout_pending(shop)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}"
    body = shop.client(shop.secret).post(
        f"{url}/capture", {"result": "failed", "message": "card_declined"},
        format="json").json()
    assert (body["status"], body["payment_status"]) == ("pending_payment", "unpaid")
    assert timeline(Order.objects.get(public_id=order["id"]))[-1] == "payment_capture_failed"
    assert OutboxEvent.objects.filter(type="payment.captured_failed").exists()


@pytest.mark.django_db
def test_who_may_record_payments(shop):
    order = checkout_pending(shop)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}/capture"
    assert shop.client(shop.publishable).post(url, {}, format="json").status_code == 403
    other = factories.ChannelFactory(code="B2B_PORTAL")
    _, other_secret = api_key_create(name="b2b", kind=KeyKind.SECRET, mode="test",
                                     channel=other)
    assert shop.client(other_secret).post(url, {}, format="json").status_code == 404
    approver = factories.UserFactory()
    assert user_client(approver).post(url, {}, format="json").status_code == 403
    assert Order.objects.get(public_id=order["id"]).payment_status == "unpaid"
    wrong_payment = url.replace(order["payments"][0]["id"], "pay_nope")
    assert shop.client(shop.secret).post(wrong_payment, {}, format="json").status_code == 404


@pytest.mark.django_db
def test_payment_event_payload_contract():
    order = make_order(status="confirmed", kind="cod")
    from orderflow.timeline import Actor
    from orders.services import payment_capture

    payment_capture(order=order, payment=order.payments.get(), actor=Actor.system(),
                    reference="cash-1")
    payload = OutboxEvent.objects.get(type="payment.captured").payload
    assert set(payload) == {"order_id", "order_number", "payment_status", "payment",
                            "transaction"}
    assert set(payload["payment"]) == {"id", "kind", "reference", "amount", "currency",
                                       "status", "captured", "refunded", "refund_owed",
                                       "amount_due"}
    assert set(payload["transaction"]) == {"id", "kind", "result", "amount", "currency",
                                           "reference", "occurred_at"}
    assert payload["payment_status"] == "paid" and payload["payment"]["status"] == "captured"
