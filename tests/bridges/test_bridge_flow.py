"""The whole headless checkout over the bridge, and what it leaves behind."""

import pytest

from bridges.models import TransactionLog
from orders.models import Order, OrderEvent
from tests.storefront import ADDRESS

pytestmark = pytest.mark.django_db


def test_cart_to_order_over_the_bridge(bridge, admin_client_logged):
    cart = bridge.ok("cart.create", {"email": "remote@example.com"})
    cart_id = cart["cart_id"]
    assert cart["channel"] == "ECOMMERCE"
    cart = bridge.ok("items.add", {"cart_id": cart_id, "sku": "COF-250", "quantity": 2})
    cart = bridge.ok("items.add", {"cart_id": cart_id, "sku": "RICE-5KG",
                                   "order_uom": "EA", "order_quantity": 1})
    line_id = cart["lines"][1]["id"]
    cart = bridge.ok("items.update", {"cart_id": cart_id, "line_id": line_id, "quantity": 3})
    assert cart["lines"][1]["quantity"] == 3
    bridge.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    cart = bridge.ok("items.remove", {"cart_id": cart_id,
                                      "line_id": bridge.ok("cart.get", {"cart_id": cart_id})
                                      ["lines"][2]["id"]})
    assert [line["sku"] for line in cart["lines"]] == ["COF-250", "RICE-5KG"]
    estimates = bridge.ok("shipping.estimate", {"cart_id": cart_id})["estimates"]
    assert {e["code"] for e in estimates} == {"standard", "express"}
    bridge.ok("shipping.select", {"cart_id": cart_id, "code": "standard"})
    priced = bridge.ok("cart.price", {"cart_id": cart_id})
    assert priced["total"] == "13135.00" and priced["is_priced"]

    result = bridge.call("convertToOrder", {
        "cart_id": cart_id, "customer": {"email": "remote@example.com", "first_name": "Remy"},
        "shipping_address": ADDRESS, "payment": {"kind": "payment_intent",
                                                 "reference": "pi_bridge_1"},
        # fields a client must not set are ignored
        "status": "completed", "total": "0.01", "channel": "B2B_PORTAL", "customer_id": "x",
    })
    assert result.status_code == 200, result.content
    order = result.json()
    assert order["order_number"].startswith("OF-")
    assert order["status"] == "pending_payment" and order["total"] == "13135.00"
    assert order["order"]["channel"] == "ECOMMERCE"
    read = bridge.ok("order.get", {"order_id": order["order_id"]})
    assert read["order_id"] == order["order_id"] and read["order"]["shipments"] == []

    db_order = Order.objects.get(public_id=order["order_id"])
    assert db_order.connection == bridge.connection
    event = OrderEvent.objects.get(order=db_order)
    assert event.actor_source == "bridge" and bridge.client_id in event.actor_label
    page = admin_client_logged.get("/admin/orders/order/").content.decode()
    assert order["order_number"] in page
    timeline = admin_client_logged.get(f"/admin/orders/order/{db_order.pk}/change/")
    assert bridge.client_id in timeline.content.decode()

    log = TransactionLog.objects.filter(connection=bridge.connection)
    assert log.count() == 12
    assert set(log.values_list("status_code", flat=True)) == {200}
    assert log.filter(endpoint="convertToOrder", object_ids__contains=order["order_id"]).exists()


def test_idempotency_key_over_the_bridge(bridge):
    import time

    now = int(time.time())
    first = bridge.ok("cart.create", {}, timestamp=now - 1, HTTP_IDEMPOTENCY_KEY="b-cart-1")
    # A retry is signed anew (a new timestamp), so it is not a replay but a repeat.
    second = bridge.ok("cart.create", {}, timestamp=now, HTTP_IDEMPOTENCY_KEY="b-cart-1")
    assert first["cart_id"] == second["cart_id"]


def test_card_data_is_refused_over_the_bridge_and_not_logged(bridge):
    cart_id = bridge.ok("cart.create", {})["cart_id"]
    response = bridge.call("convertToOrder", {"cart_id": cart_id, "payment": {
        "kind": "payment_intent", "reference": "4111 1111 1111 1111"}})
    assert response.status_code == 400
    assert response.json()["code"] == "card_data_forbidden"
    entry = TransactionLog.objects.filter(code="card_data_forbidden").get()
    assert "4111" not in entry.request_body and "4111" not in entry.response_body


def test_a_request_is_found_in_the_log_by_its_request_id(bridge, admin_client_logged):
    response = bridge.call("cart.create", {"email": "first@example.com"})
    request_id = response["X-Request-Id"]
    bridge.ok("cart.create", {"email": "second@example.com"})  # another entry, not listed
    page = admin_client_logged.get(
        f"/admin/bridges/transactionlog/?correlation_id={request_id}")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert page.context["cl"].result_list[0].correlation_id == request_id


def test_deleting_a_connection_or_key_keeps_its_log_entries(bridge, shop):
    bridge.ok("cart.create", {})
    assert shop.client(shop.secret).post("/api/v1/carts", {}, format="json").status_code == 201
    entries = list(TransactionLog.objects.values_list("pk", flat=True))
    assert len(entries) == 2
    key = TransactionLog.objects.get(api_key__isnull=False).api_key
    bridge.connection.delete()
    key.delete()
    kept = TransactionLog.objects.filter(pk__in=entries)
    assert kept.count() == 2
    assert not kept.filter(connection__isnull=False).exists()
    assert not kept.filter(api_key__isnull=False).exists()


def test_order_get_shows_the_shipments_with_their_tracking(shop, bridge):
    from fulfillment.services.shipments import shipment_create, shipment_ship
    from orderflow.timeline import Actor
    from orders.services.lifecycle import order_confirm

    cart_id = bridge.ok("cart.create", {})["cart_id"]
    bridge.ok("items.add", {"cart_id": cart_id, "sku": "COF-250", "quantity": 2})
    bridge.ok("shipping.select", {"cart_id": cart_id, "code": "standard"})
    order_id = bridge.ok("convertToOrder", {
        "cart_id": cart_id, "email": "remote@example.com", "shipping_address": ADDRESS,
        "payment": {"kind": "payment_intent", "reference": "pi_bridge_2"}})["order_id"]
    order = Order.objects.get(public_id=order_id)
    order_confirm(order=order, actor=Actor.system("test"))
    shipment = shipment_create(order=order, actor=Actor.system("test"), carrier="dhl",
                               tracking_number="JD0002")
    shipment_ship(shipment=shipment, actor=Actor.system("test"))

    (shown,) = bridge.ok("order.get", {"order_id": order_id})["order"]["shipments"]
    assert (shown["number"], shown["status"], shown["tracking_number"]) == (
        shipment.number, "shipped", "JD0002")
    assert [(line["sku"], line["quantity"]) for line in shown["lines"]] == [("COF-250", 2)]
    line_id = shown["lines"][0]["line_id"]
    returned = bridge.ok("return.request", {
        "order_id": order_id, "comment": "One bag arrived torn.",
        "lines": [{"line_id": line_id, "quantity": 1, "reason": "damaged"}]})
    assert returned["status"] == "requested" and returned["order_id"] == order_id
    refused = bridge.call("return.request", {
        "order_id": order_id, "lines": [{"line_id": line_id, "quantity": 2,
                                         "reason": "damaged"}]})
    assert refused.status_code == 409 and refused.json()["code"] == "over_return"
