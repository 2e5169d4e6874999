"""The bridge as its guide is written (issue 19): every successful action 200, cart edits
answered priced, convertToOrder with customer info and no shipping or pricing step, reads
that may be sent twice while writes stay one-use."""

import json
import time
from decimal import Decimal

import pytest

from carts.models import Cart
from catalog.models import Product
from fulfillment.models import ShippingMethod
from orders.models import OrderEvent
from tests.storefront import ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def guided(shop, bridge):
    shop.channel.default_shipping_method = ShippingMethod.objects.get(code="standard")
    shop.channel.save()
    return bridge


def convert(bridge, cart_id, **extra):
    return bridge.call("convertToOrder", {
        "cart_id": cart_id,
        "customer": {"email": "remote@example.com", "name": "Remy Remote",
                     "phone": "876-555-0199"},
        "shipping_address": ADDRESS,
        "payment": {"kind": "payment_intent", "reference": "pi_guide_1"}, **extra})


def test_cart_create_answers_200_with_a_cart_id(guided):
    response = guided.call("cart.create", {})
    assert response.status_code == 200, response.content
    assert response.json()["cart_id"].startswith("cart_")


def test_item_edits_answer_the_cart_priced_with_the_default_method(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    cart = guided.ok("items.add", {"cart_id": cart_id, "sku": "COF-250", "quantity": 2})
    assert cart["is_priced"] and cart["problems"] == [{
        "code": "address_missing", "detail": "Set a shipping address."}]
    assert cart["shipping_method"]["code"] == "standard"
    assert cart["defaults"]["shipping_method"]["source"] == "channel"
    assert (cart["subtotal"], cart["tax_total"], cart["shipping_total"], cart["total"]) == (
        "4900.00", "735.00", "1200.00", "6835.00")
    line_id = cart["lines"][0]["id"]
    cart = guided.ok("items.update", {"cart_id": cart_id, "line_id": line_id, "quantity": 3})
    assert cart["is_priced"] and cart["total"] == "9652.50"  # 7350 + 1102.50 + 1200
    cart = guided.ok("items.add", {"cart_id": cart_id, "sku": "RICE-5KG", "quantity": 1})
    cart = guided.ok("items.remove", {"cart_id": cart_id, "line_id": line_id})
    assert cart["is_priced"] and cart["total"] == "3300.00"  # 2100 + 0 tax + 1200


def test_convert_to_order_after_the_guides_steps_alone(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    guided.ok("items.add", {"cart_id": cart_id, "sku": "COF-250", "quantity": 2})
    response = convert(guided, cart_id)
    assert response.status_code == 200, response.content
    order = response.json()
    assert order["order_id"].startswith("ord_") and order["status"] == "pending_payment"
    assert order["total"] == "6835.00"
    assert order["order"]["shipping_method"] == "Standard"
    assert order["order"]["email"] == "remote@example.com"
    assert order["order"]["defaults"] == {"shipping_method": {
        "value": "standard", "source": "channel",
        "detail": "shipping method defaulted to standard (Standard) from channel ECOMMERCE"}}
    event = OrderEvent.objects.get(order__public_id=order["order_id"])
    assert "Shipping method defaulted to standard (Standard) from channel ECOMMERCE." \
        in event.message
    assert event.parameters["contact"] == {"name": "Remy Remote", "phone": "876-555-0199"}
    assert "Contact: Remy Remote, 876-555-0199." in event.message


def test_convert_to_order_prices_a_cart_changed_since_its_pricing(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    guided.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    # Changed by another client, and not priced since: convertToOrder prices it.
    Cart.objects.filter(public_id=cart_id).update(priced_version=None)
    response = convert(guided, cart_id)
    assert response.status_code == 200, response.content
    assert response.json()["total"] == "2924.99"  # 1499.99 + 225 tax + 1200
    assert Cart.objects.get(public_id=cart_id).is_priced


def test_a_price_moved_since_the_last_answer_is_still_refused(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    guided.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    Product.objects.filter(sku="MUG").update(list_price=Decimal("1599.99"))
    response = convert(guided, cart_id)
    assert response.status_code == 409 and response.json()["code"] == "price_changed"


def test_without_a_channel_default_convert_to_order_is_shipping_method_missing(bridge):
    cart_id = bridge.ok("cart.create", {})["cart_id"]
    cart = bridge.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    assert {"code": "shipping_method_missing", "detail": "Choose a shipping method."} \
        in cart["problems"]
    response = convert(bridge, cart_id)
    assert response.status_code == 409
    assert response.json()["code"] == "shipping_method_missing"


def test_a_guest_without_a_payment_gets_400_naming_it(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    guided.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    response = guided.call("convertToOrder", {"cart_id": cart_id, "shipping_address": ADDRESS,
                                              "customer": {"email": "g@example.com"}})
    assert response.status_code == 400 and "payment" in response.json()["errors"]


def test_card_like_customer_info_is_refused(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    guided.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    response = convert(guided, cart_id, customer={"email": "g@example.com",
                                                  "phone": "4111111111111111"})
    assert response.status_code == 400 and response.json()["code"] == "card_data_forbidden"


def same_request_twice(bridge, action, payload):
    body = json.dumps(payload).encode()
    path, headers = bridge.headers(action, body)
    return [bridge.client.post(path, body, content_type="application/json", **headers)
            for _ in range(2)]


@pytest.mark.parametrize("action", ["cart.get", "shipping.estimate"])
def test_a_read_may_be_sent_twice_in_one_second(guided, action):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    first, again = same_request_twice(guided, action, {"cart_id": cart_id})
    assert first.status_code == again.status_code == 200, again.content
    assert first.json() == again.json()


def test_order_get_may_be_sent_twice(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    guided.ok("items.add", {"cart_id": cart_id, "sku": "MUG", "quantity": 1})
    order_id = convert(guided, cart_id).json()["order_id"]
    first, again = same_request_twice(guided, "order.get", {"order_id": order_id})
    assert first.status_code == again.status_code == 200


@pytest.mark.parametrize("action", ["cart.price", "items.add"])
def test_a_write_stays_one_use(guided, action):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    payload = {"cart_id": cart_id, "sku": "MUG", "quantity": 1} if action == "items.add" \
        else {"cart_id": cart_id}
    first, again = same_request_twice(guided, action, payload)
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["code"] == "replayed"


def test_a_read_still_needs_a_fresh_valid_signature(guided):
    cart_id = guided.ok("cart.create", {})["cart_id"]
    stale = guided.call("cart.get", {"cart_id": cart_id}, timestamp=int(time.time()) - 600)
    assert stale.status_code == 401 and stale.json()["code"] == "timestamp_out_of_window"
    forged = guided.call("cart.get", {"cart_id": cart_id}, secret="ofs_wrong")
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_signature"
