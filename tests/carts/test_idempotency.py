"""Idempotency-Key on cart creation, lines and checkout."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from django.db import connection, connections
from django.utils import timezone

from bridges.access.services import idempotency_keys_prune
from bridges.models import IdempotencyKey
from carts.models import Cart, CartLine
from orders.models import Order
from tests import factories
from tests.storefront import build_storefront

pytestmark = pytest.mark.django_db


def test_same_key_and_body_replays_the_first_cart(shop):
    client = shop.client(shop.publishable)
    first = client.post("/api/v1/carts", {"email": "a@example.com"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="cart-1")
    second = client.post("/api/v1/carts", {"email": "a@example.com"}, format="json",
                         HTTP_IDEMPOTENCY_KEY='"cart-1"')  # the quoted form is the same key
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Cart.objects.count() == 1


def test_same_key_other_body_is_422(shop):
    client = shop.client(shop.publishable)
    client.post("/api/v1/carts", {"email": "a@example.com"}, format="json",
                HTTP_IDEMPOTENCY_KEY="k")
    response = client.post("/api/v1/carts", {"email": "b@example.com"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Cart.objects.count() == 1


def test_keys_are_per_principal(shop):
    a = shop.client(shop.publishable).post("/api/v1/carts", {}, format="json",
                                           HTTP_IDEMPOTENCY_KEY="same")
    b = shop.client(shop.secret).post("/api/v1/carts", {}, format="json",
                                      HTTP_IDEMPOTENCY_KEY="same")
    assert a.json()["id"] != b.json()["id"]


def test_retried_line_is_added_once(shop):
    client = shop.client(shop.publishable)
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    for _ in range(3):
        response = client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "MUG", "quantity": 2},
                               format="json", HTTP_IDEMPOTENCY_KEY="line-1")
        assert response.status_code == 201
    assert CartLine.objects.get(cart__public_id=cart_id).quantity == 2


def test_retried_checkout_returns_the_first_order(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    body = {"cart_id": cart_id, "payment": {"kind": "cod"}}
    first = client.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="co-1")
    second = client.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="co-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Order.objects.count() == 1


def test_a_refused_request_is_not_remembered(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    body = {"cart_id": cart_id, "payment": {"kind": "cod"}}
    refused = client.post("/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert refused.status_code == 409
    assert not IdempotencyKey.objects.exists()


def test_invalid_key_is_400(shop):
    response = shop.client(shop.publishable).post("/api/v1/carts", {}, format="json",
                                                  HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


def test_keys_expire_after_24_hours_and_are_pruned(shop):
    client = shop.client(shop.publishable)
    first = client.post("/api/v1/carts", {}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    second = client.post("/api/v1/carts", {}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert first.json()["id"] != second.json()["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_keys_prune() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_concurrent_requests_with_one_key_make_one_order_and_409s():
    shop = build_storefront()
    token = shop.token_for(factories.CustomerFactory())
    cart_id = shop.ready_cart(shop.client(shop.secret, token), [("MUG", 1)])
    barrier = Barrier(6)

    def attempt(_):
        try:
            barrier.wait()
            response = shop.client(shop.secret, token).post(
                "/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}},
                format="json", HTTP_IDEMPOTENCY_KEY="race")
            return response.status_code, response.json().get("code"), response.json().get("id")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert Order.objects.count() == 1
    order_id = Order.objects.get().public_id
    for status, code, returned_id in results:
        # The winner, an immediate 409 while it runs, or a replay of its answer afterwards.
        assert (status == 201 and returned_id == order_id) or (
            status == 409 and code in {"idempotency_request_in_progress", "cart_converted"})
    assert [r[0] for r in results].count(201) >= 1
