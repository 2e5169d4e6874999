"""Checkout: COD, terms and payment references; every refusal leaves the cart as it was."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carts.models import Cart
from catalog.models import Product
from orderflow.models import OutboxEvent
from orders.models import Order, OrderEvent
from tests import factories

pytestmark = pytest.mark.django_db

# A checkout's queries, whatever its line count (the query-count test below).
CHECKOUT_QUERIES = 16


def checkout(client, cart_id, payment=None, **extra):
    body = {"cart_id": cart_id, "payment": payment or {"kind": "cod"}, **extra}
    return client.post("/api/v1/checkout", body, format="json")


def test_cod_checkout_confirms_reserves_and_records_everything(shop):
    customer = factories.CustomerFactory()
    client = shop.shopper(customer)
    cart_id = shop.ready_cart(client, [("COF-250", 2), ("RICE-5KG", 3)])
    response = checkout(client, cart_id, notes="Leave at the gate")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["number"].startswith("OF-") and len(order["number"]) == 9
    assert order["status"] == "confirmed" and order["confirmed_at"]
    assert order["payment_status"] == "unpaid"
    assert order["channel"] == "ECOMMERCE"
    assert order["customer_id"] == customer.public_id
    assert order["total"] == "13135.00"  # 4900 + 735 tax + 6300 + 0 tax + 1200 shipping
    assert order["notes"] == "Leave at the gate"
    assert [p["kind"] for p in order["payments"]] == ["cod"]

    assert Product.objects.get(sku="COF-250").stock_reserved == 2
    assert Product.objects.get(sku="RICE-5KG").stock_reserved == 3
    assert Cart.objects.get(public_id=cart_id).status == "converted"
    db_order = Order.objects.get(public_id=order["id"])
    assert list(OrderEvent.objects.filter(order=db_order).values_list("type", flat=True)) == [
        "order_placed"]
    events = list(OutboxEvent.objects.filter(aggregate_id=order["id"])
                  .values_list("type", flat=True))
    assert events == ["order.created", "order.confirmed"]
    payload = OutboxEvent.objects.get(type="order.created", aggregate_id=order["id"]).payload
    assert payload["total"] == "13135.00" and len(payload["lines"]) == 2

    assert client.get(f"/api/v1/orders/{order['id']}").json()["number"] == order["number"]
    listed = client.get("/api/v1/orders").json()["results"]
    assert [o["id"] for o in listed] == [order["id"]]


def test_payment_reference_leaves_order_pending_payment(shop):
    client = shop.client(shop.secret)
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    response = checkout(client, cart_id, {"kind": "payment_intent", "reference": "pi_3Nabc"},
                        email="guest@example.com")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "pending_payment" and order["confirmed_at"] is None
    assert order["payments"][0]["reference"] == "pi_3Nabc"
    assert order["email"] == "guest@example.com" and order["customer_id"] is None
    assert list(OutboxEvent.objects.filter(aggregate_id=order["id"])
                .values_list("type", flat=True)) == ["order.created"]


def test_payment_intent_needs_a_reference(shop):
    client = shop.client(shop.secret)
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    response = checkout(client, cart_id, {"kind": "payment_intent"}, email="g@example.com")
    assert response.status_code == 400
    assert "payment" in response.json()["errors"]


def assert_refused(response, status, code, cart_id, before_reserved=0):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    cart = Cart.objects.get(public_id=cart_id)
    assert cart.status == "active"
    assert not Order.objects.exists()
    assert Product.objects.filter(stock_reserved__gt=0).count() == before_reserved
    assert not OutboxEvent.objects.filter(type__startswith="order.").exists()
    return response.json()


def test_checkout_refuses_a_converted_cart(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    assert checkout(client, cart_id).status_code == 201
    again = checkout(client, cart_id)
    assert again.status_code == 409 and again.json()["code"] == "cart_converted"
    assert Order.objects.count() == 1


def test_checkout_refuses_unpriced_and_changed_carts(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    assert_refused(checkout(client, cart_id), 409, "cart_empty", cart_id)
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "RICE-5KG", "quantity": 1},
                format="json")
    body = assert_refused(checkout(client, cart_id), 409, "not_priced", cart_id)
    assert body["problems"][0]["code"] == "not_priced"


def test_checkout_refuses_a_price_changed_since_pricing(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    Product.objects.filter(sku="MUG").update(list_price=Decimal("1.00"))
    assert_refused(checkout(client, cart_id), 409, "price_changed", cart_id)


def test_checkout_refuses_inactive_products(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    Product.objects.filter(sku="MUG").update(is_active=False)
    assert_refused(checkout(client, cart_id), 409, "product_inactive", cart_id)


def test_checkout_refuses_missing_address(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "MUG", "quantity": 1}, format="json")
    client.post(f"/api/v1/carts/{cart_id}/shipping-method", {"code": "standard"}, format="json")
    client.post(f"/api/v1/carts/{cart_id}/price", format="json")
    assert_refused(checkout(client, cart_id), 409, "address_missing", cart_id)


def test_checkout_refuses_short_stock_naming_sku_and_available(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("COF-250", 1), ("MUG", 5)])
    Product.objects.filter(sku="MUG").update(stock_on_hand=3)
    body = assert_refused(checkout(client, cart_id), 409, "insufficient_stock", cart_id)
    assert (body["sku"], body["available"], body["requested"]) == ("MUG", 3, 5)


class TestCreditTerms:
    @pytest.fixture
    def buyer(self, shop):
        company = factories.CompanyFactory(credit_limit=Decimal("10000.00"),
                                           payment_terms="NET30")
        return shop.shopper(factories.CustomerFactory(company=company)), company

    def test_terms_within_limit_confirm(self, shop, buyer):
        client, company = buyer
        cart_id = shop.ready_cart(client, [("RICE-5KG", 2)])  # 4200 + 1200 shipping
        response = checkout(client, cart_id, {"kind": "terms"})
        assert response.status_code == 201, response.content
        order = response.json()
        assert order["status"] == "confirmed" and order["company_id"] == company.public_id

    def test_over_the_limit_is_409_with_the_numbers_and_the_cart_stays(self, shop, buyer):
        client, _ = buyer
        first = shop.ready_cart(client, [("RICE-5KG", 2)])
        assert checkout(client, first, {"kind": "terms"}).status_code == 201  # 5400 used
        cart_id = shop.ready_cart(client, [("RICE-5KG", 3)])  # 6300 + 1200 = 7500
        response = client.post("/api/v1/checkout",
                               {"cart_id": cart_id, "payment": {"kind": "terms"}}, format="json")
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "over_credit_limit"
        assert (body["credit_limit"], body["outstanding"], body["order_total"],
                body["shortfall"]) == ("10000.00", "5400.00", "7500.00", "2900.00")
        cart = Cart.objects.get(public_id=cart_id)
        assert cart.status == "active" and cart.is_priced
        assert Order.objects.count() == 1
        # The cart stays usable: the same cart goes through on COD.
        assert checkout(client, cart_id, {"kind": "cod"}).status_code == 201

    def test_terms_need_a_company(self, shop):
        client = shop.shopper(factories.CustomerFactory())
        cart_id = shop.ready_cart(client, [("MUG", 1)])
        assert_refused(checkout(client, cart_id, {"kind": "terms"}), 409,
                       "terms_not_available", cart_id)


def test_client_cannot_set_status_total_channel_or_customer(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    other = factories.CustomerFactory()
    response = checkout(client, cart_id, status="completed", total="0.01", channel="B2B_PORTAL",
                        customer_id=other.public_id)
    order = response.json()
    assert order["status"] == "confirmed" and order["total"] == "2924.99"
    assert order["channel"] == "ECOMMERCE" and order["customer_id"] != other.public_id


def test_checkout_query_count_is_bounded_and_the_same_for_1_and_10_lines(shop):
    client = shop.shopper(factories.CustomerFactory())
    counts = {}
    for line_count in (1, 10):
        skus = [factories.ProductFactory(stock_on_hand=10, supplier=None).sku
                for _ in range(line_count)]
        cart_id = shop.ready_cart(client, [(sku, 1) for sku in skus])
        with CaptureQueriesContext(connection) as captured:
            response = checkout(client, cart_id)
        assert response.status_code == 201, response.content
        # The test's own transaction turns BEGIN/COMMIT into logged savepoints: not counted.
        counts[line_count] = len([q for q in captured.captured_queries
                                  if "SAVEPOINT" not in q["sql"]])
    # shopper; cart lock, lines, tax rates, shipping rates; the cart converted; order, lines,
    # payment, timeline, outbox (and its analytics dirty-day mark); stock locked and reserved;
    # the transaction log (with its relaxed commit on PostgreSQL).
    assert counts[1] == counts[10] <= CHECKOUT_QUERIES, counts
