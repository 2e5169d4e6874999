"""Races against the real PostgreSQL: row locks and one-statement reservations hold."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection, connections
from django.db.models import Sum

from catalog.models import Product
from orders.models import Order, OrderLine
from tests import factories
from tests.storefront import build_storefront

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks need PostgreSQL (CI always runs on it)"),
]


def in_parallel(count, func):
    """Run ``func(i)`` in ``count`` threads released at the same moment."""
    barrier = Barrier(count)

    def run(i):
        try:
            barrier.wait()
            return func(i)
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_ten_parallel_checkouts_of_one_cart_make_one_order():
    shop = build_storefront()
    token = shop.token_for(factories.CustomerFactory())
    cart_id = shop.ready_cart(shop.client(shop.secret, token), [("COF-250", 2)])

    def attempt(_):
        response = shop.client(shop.secret, token).post(
            "/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}}, format="json")
        return response.status_code, response.json().get("code")

    results = in_parallel(10, attempt)
    assert sorted(status for status, _ in results) == [201] + [409] * 9, results
    assert {code for status, code in results if status == 409} == {"cart_converted"}
    assert Order.objects.count() == 1
    assert Product.objects.get(sku="COF-250").stock_reserved == 2


def test_twenty_checkouts_race_for_the_last_five_units():
    shop = build_storefront()
    Product.objects.filter(sku="MUG").update(stock_on_hand=5)
    clients = [shop.shopper(factories.CustomerFactory()) for _ in range(20)]
    carts = [shop.ready_cart(client, [("MUG", 1)]) for client in clients]

    def attempt(i):
        response = clients[i].post("/api/v1/checkout",
                                   {"cart_id": carts[i], "payment": {"kind": "cod"}},
                                   format="json")
        return response.status_code, response.json().get("code")

    results = in_parallel(20, attempt)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 5 + [409] * 15, results
    assert {code for status, code in results if status == 409} == {"insufficient_stock"}
    mug = Product.objects.get(sku="MUG")
    assert (mug.stock_on_hand, mug.stock_reserved) == (5, 5)
    held = OrderLine.objects.filter(product=mug, order__status="confirmed").aggregate(
        s=Sum("quantity_reserved"))["s"]
    assert held == mug.stock_reserved


def test_crossing_carts_do_not_deadlock():
    """Two products taken in opposite orders by concurrent carts."""
    shop = build_storefront()
    clients = [shop.shopper(factories.CustomerFactory()) for _ in range(8)]
    carts = [
        shop.ready_cart(client, [("COF-250", 1), ("RICE-5KG", 1)] if i % 2
                        else [("RICE-5KG", 1), ("COF-250", 1)])
        for i, client in enumerate(clients)
    ]

    def attempt(i):
        return clients[i].post("/api/v1/checkout",
                               {"cart_id": carts[i], "payment": {"kind": "cod"}},
                               format="json").status_code

    assert in_parallel(8, attempt) == [201] * 8
    assert Product.objects.get(sku="COF-250").stock_reserved == 8
