"""Another principal's object is 404 on every route: payments go through the order's
visibility, guest carts belong to the key or bridge connection that created them."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bridges.access.services import api_key_create, connection_create
from bridges.constants import KeyKind
from bridges.models import BridgeScope
from orders.models import Order
from tests import factories
from tests.bridges.conftest import Bridge

pytestmark = pytest.mark.django_db
ACTIONS = ("authorize", "capture", "void", "refund")


def shopper_order(shop, customer):
    client = shop.shopper(customer)
    cart_id = shop.ready_cart(client, [("COF-250", 1)])
    response = client.post("/api/v1/checkout", {
        "cart_id": cart_id, "payment": {"kind": "payment_intent", "reference": "pi_a"}},
        format="json")
    assert response.status_code == 201, response.content
    return response.json()


def assert_404_without_order(response, order):
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    text = response.content.decode()
    assert order["number"] not in text and '"lines"' not in text and '"total"' not in text


@pytest.mark.parametrize("action", ACTIONS)
def test_another_shoppers_token_on_a_payment_is_404_with_no_order_body(shop, action):
    alice, bob = factories.CustomerFactory(), factories.CustomerFactory()
    order = shopper_order(shop, alice)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}/{action}"

    response = shop.shopper(bob).post(url, {"reference": "x"}, format="json")

    assert_404_without_order(response, order)
    db_order = Order.objects.get(public_id=order["id"])
    assert (db_order.status, db_order.payment_status) == ("pending_payment", "unpaid")
    assert not db_order.payments.get().transactions.exists()


def test_the_shoppers_own_token_records_the_payment(shop):
    alice = factories.CustomerFactory()
    order = shopper_order(shop, alice)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}/capture"
    response = shop.shopper(alice).post(url, {"reference": "ch_1"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["payment_status"] == "paid"


def test_a_payment_is_404_wherever_the_order_is(shop):
    """The same visibility as GET /orders/{id}: another secret key of the channel, or the
    key without the shopper's token, sees neither the order nor its payment."""
    alice = factories.CustomerFactory()
    order = shopper_order(shop, alice)
    url = f"/api/v1/orders/{order['id']}/payments/{order['payments'][0]['id']}/capture"
    _, other_secret = api_key_create(name="other", kind=KeyKind.SECRET, mode="test",
                                     channel=shop.channel)
    for client in (shop.client(other_secret), shop.client(shop.secret)):
        assert client.get(f"/api/v1/orders/{order['id']}").status_code == 404
        assert_404_without_order(client.post(url, {}, format="json"), order)


def test_a_guest_cart_is_404_to_every_other_key_of_the_channel(shop):
    owner = shop.client(shop.secret)
    cart = owner.post("/api/v1/carts", {"metadata": {"note": "mine"}}, format="json").json()
    _, other_secret = api_key_create(name="other", kind=KeyKind.SECRET, mode="test",
                                     channel=shop.channel)
    for key in (shop.publishable, other_secret):
        client = shop.client(key)
        response = client.get(f"/api/v1/carts/{cart['id']}")
        assert response.status_code == 404, (key[:12], response.content)
        assert "mine" not in response.content.decode()
        assert client.post(f"/api/v1/carts/{cart['id']}/lines",
                           {"sku": "COF-250", "quantity": 1},
                           format="json").status_code == 404
        # Checkout needs a secret key: the publishable one is 403 before the cart is read.
        assert client.post("/api/v1/checkout", {
            "cart_id": cart["id"], "payment": {"kind": "cod"}, "email": "g@example.com"},
            format="json").status_code == (403 if key == shop.publishable else 404)
    assert owner.get(f"/api/v1/carts/{cart['id']}").status_code == 200
    # A publishable key's own guest cart stays its own.
    pub = shop.client(shop.publishable)
    own = pub.post("/api/v1/carts", {}, format="json").json()
    assert pub.get(f"/api/v1/carts/{own['id']}").status_code == 200
    assert owner.get(f"/api/v1/carts/{own['id']}").status_code == 404


def test_a_guest_cart_is_404_across_bridge_connections_and_keys(shop):
    def bridge(name):
        connection = connection_create(name=name, channel=shop.channel,
                                       scopes=list(BridgeScope.values))
        return Bridge(connection=connection, client=Client(REMOTE_ADDR="203.0.113.7"))

    first, second = bridge("first"), bridge("second")
    cart = first.ok("cart.create", {"email": "remote@example.com"})
    assert first.ok("cart.get", {"cart_id": cart["cart_id"]})["cart_id"] == cart["cart_id"]
    response = second.call("cart.get", {"cart_id": cart["cart_id"]})
    assert response.status_code == 404, response.content
    assert "remote@example.com" not in response.content.decode()
    # Nor does a REST key of the channel reach the bridge's cart, or the bridge a key's.
    assert shop.client(shop.secret).get(f"/api/v1/carts/{cart['cart_id']}").status_code == 404
    rest_cart = shop.client(shop.secret).post("/api/v1/carts", {}, format="json").json()
    assert first.call("cart.get", {"cart_id": rest_cart["id"]}).status_code == 404
    assert json.loads(second.call("cart.get", {"cart_id": "cart_nope"}).content)["status"] == 404
