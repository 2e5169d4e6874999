"""The defaults that let the storefront guide's four calls check out (issue 19): the channel's
shipping method, the signed-in customer's addresses, the payment from company terms. Each
default taken shows in the answer and on the order's timeline; where none applies, the
refusal is the one of before."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carts.models import Cart
from fulfillment.models import ShippingMethod
from orders.models import Order, OrderEvent
from tests import factories
from tests.carts.test_checkout import CHECKOUT_QUERIES
from tests.storefront import ADDRESS

pytestmark = pytest.mark.django_db

HOME = {"full_name": "Sasha Shopper", "line1": "4 Hope Road", "city": "Kingston",
        "region": "St Andrew", "country": "JM"}


@pytest.fixture
def standard_by_default(shop):
    shop.channel.default_shipping_method = ShippingMethod.objects.get(code="standard")
    shop.channel.save()
    return shop


def address_book(owner_field, owner, label="Home", **extra):
    owners = {"customer": None, owner_field: owner}
    return factories.AddressFactory(**owners, label=label, **HOME,
                                    is_default_shipping=True, is_default_billing=True, **extra)


def guide_cart(client, lines=(("COF-250", 2),)):
    """The storefront guide's first three calls: cart, line(s), price."""
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    for sku, quantity in lines:
        assert client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": sku, "quantity": quantity},
                           format="json").status_code == 201
    priced = client.post(f"/api/v1/carts/{cart_id}/price", format="json")
    assert priced.status_code == 200, priced.content
    return cart_id, priced.json()


def guide_checkout(client, cart_id):
    return client.post("/api/v1/checkout", {"cart_id": cart_id, "notes": "Leave at front desk"},
                       format="json")


def placed_message(order_id) -> OrderEvent:
    return OrderEvent.objects.get(order__public_id=order_id, type="order_placed")


def problem_codes(body):
    return [p["code"] for p in body["problems"]]


# --- the channel's shipping method -----------------------------------------------------------

def test_pricing_takes_the_channels_shipping_method_and_says_so(standard_by_default):
    shop = standard_by_default
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = shop.shopper(customer)
    cart_id, cart = guide_cart(client)
    assert cart["shipping_method"] == {"code": "standard", "name": "Standard"}
    assert cart["defaults"]["shipping_method"] == {
        "value": "standard", "source": "channel",
        "detail": "shipping method defaulted to standard (Standard) from channel ECOMMERCE"}
    assert cart["shipping_total"] == "1200.00" and cart["problems"] == []
    # Shown again on a plain read.
    assert client.get(f"/api/v1/carts/{cart_id}").json()["defaults"] == cart["defaults"]


def test_a_channel_without_a_default_still_reports_shipping_method_missing(shop):
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = shop.shopper(customer)
    cart_id, cart = guide_cart(client)
    assert cart["shipping_method"] is None and "shipping_method" not in cart["defaults"]
    assert problem_codes(cart) == ["shipping_method_missing"]
    response = guide_checkout(client, cart_id)
    assert response.status_code == 409
    assert response.json()["code"] == "shipping_method_missing"


def test_a_default_method_that_cannot_ship_there_is_not_taken(standard_by_default):
    ShippingMethod.objects.filter(code="standard").update(countries="TT")
    customer = factories.CustomerFactory()
    address_book("customer", customer)  # JM
    _, cart = guide_cart(standard_by_default.shopper(customer))
    assert cart["shipping_method"] is None
    assert problem_codes(cart) == ["shipping_method_missing"]


def test_a_method_the_client_chose_is_kept_and_is_no_default(standard_by_default):
    shop = standard_by_default
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("MUG", 1)], shipping="express")
    cart = client.get(f"/api/v1/carts/{cart_id}").json()
    assert cart["shipping_method"]["code"] == "express" and cart["defaults"] == {}


def test_choosing_a_method_after_the_default_forgets_the_default(standard_by_default):
    shop = standard_by_default
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = shop.shopper(customer)
    cart_id, _ = guide_cart(client)
    cart = client.post(f"/api/v1/carts/{cart_id}/shipping-method", {"code": "express"},
                       format="json").json()
    assert "shipping_method" not in cart["defaults"]
    assert set(cart["defaults"]) == {"shipping_address", "billing_address"}


# --- the customer's addresses ----------------------------------------------------------------

def test_pricing_fills_the_customers_default_addresses(standard_by_default):
    customer = factories.CustomerFactory()
    home = address_book("customer", customer)
    _, cart = guide_cart(standard_by_default.shopper(customer))
    assert cart["shipping_address"] == HOME and cart["billing_address"] == HOME
    assert cart["defaults"]["shipping_address"] == {
        "value": home.public_id, "source": "customer",
        "detail": "shipping address defaulted to Home from the customer's address book"}
    assert cart["defaults"]["billing_address"]["source"] == "customer"


def test_a_company_buyer_without_an_own_address_takes_the_companys(standard_by_default):
    company = factories.CompanyFactory(code="kc")
    office = address_book("company", company, label="Head office")
    buyer = factories.CustomerFactory(company=company)
    _, cart = guide_cart(standard_by_default.shopper(buyer))
    assert cart["shipping_address"]["line1"] == "4 Hope Road"
    assert cart["defaults"]["shipping_address"] == {
        "value": office.public_id, "source": "company",
        "detail": "shipping address defaulted to Head office from company kc's address book"}


def test_the_customers_own_address_wins_over_the_companys(standard_by_default):
    company = factories.CompanyFactory()
    address_book("company", company, label="Head office", line2="Suite 1")
    buyer = factories.CustomerFactory(company=company)
    own = address_book("customer", buyer, label="Desk")
    _, cart = guide_cart(standard_by_default.shopper(buyer))
    assert cart["defaults"]["shipping_address"]["value"] == own.public_id
    assert "line2" not in cart["shipping_address"]


def test_a_billing_default_apart_from_the_shipping_default(standard_by_default):
    customer = factories.CustomerFactory()
    factories.AddressFactory(customer=customer, label="Home", **HOME, is_default_shipping=True)
    factories.AddressFactory(customer=customer, label="Office", full_name="Sasha Shopper",
                             line1="1 Duke Street", city="Kingston", country="JM",
                             is_default_billing=True)
    _, cart = guide_cart(standard_by_default.shopper(customer))
    assert cart["shipping_address"]["line1"] == "4 Hope Road"
    assert cart["billing_address"]["line1"] == "1 Duke Street"


def test_without_a_default_address_the_cart_stays_address_missing(standard_by_default):
    customer = factories.CustomerFactory()
    factories.AddressFactory(customer=customer, **HOME)  # in the book, but not a default
    client = standard_by_default.shopper(customer)
    cart_id, cart = guide_cart(client)
    assert cart["shipping_address"] is None and problem_codes(cart) == ["address_missing"]
    response = guide_checkout(client, cart_id)
    assert response.status_code == 409 and response.json()["code"] == "address_missing"


def test_an_address_the_shopper_set_is_never_replaced(standard_by_default):
    shop = standard_by_default
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = shop.shopper(customer)
    cart_id = client.post("/api/v1/carts", {"shipping_address": ADDRESS}, format="json"
                          ).json()["id"]
    client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "MUG", "quantity": 1}, format="json")
    cart = client.post(f"/api/v1/carts/{cart_id}/price", format="json").json()
    assert cart["shipping_address"]["phone"] == ADDRESS["phone"]
    assert set(cart["defaults"]) == {"shipping_method"}


def test_a_guest_cart_takes_no_address(standard_by_default):
    client = standard_by_default.client(standard_by_default.secret)
    _, cart = guide_cart(client)
    assert cart["shipping_address"] is None and set(cart["defaults"]) == {"shipping_method"}


# --- the payment -----------------------------------------------------------------------------

def test_a_company_on_credit_terms_checks_out_on_terms(standard_by_default):
    company = factories.CompanyFactory(payment_terms="NET30", credit_limit=Decimal("500000"))
    address_book("company", company, label="Head office")
    buyer = factories.CustomerFactory(company=company)
    client = standard_by_default.shopper(buyer)
    cart_id, cart = guide_cart(client)
    response = guide_checkout(client, cart_id)
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "confirmed" and [p["kind"] for p in order["payments"]] == ["terms"]
    assert order["total"] == cart["total"] and order["notes"] == "Leave at front desk"
    assert order["shipping_method"] == "Standard"
    assert order["defaults"]["payment"] == {
        "value": "terms", "source": "company_terms",
        "detail": "payment kind defaulted to terms from company terms NET30"}
    assert set(order["defaults"]) == {"payment", "shipping_method", "shipping_address",
                                      "billing_address"}
    event = placed_message(order["id"])
    assert "Payment kind defaulted to terms from company terms NET30." in event.message
    assert "Shipping method defaulted to standard (Standard) from channel ECOMMERCE." \
        in event.message
    assert "Shipping address defaulted to Head office from company" in event.message
    assert event.parameters["defaults"] == order["defaults"]


def test_terms_by_default_keep_the_credit_limit(standard_by_default):
    company = factories.CompanyFactory(payment_terms="NET30", credit_limit=Decimal("1000"))
    address_book("company", company)
    client = standard_by_default.shopper(factories.CustomerFactory(company=company))
    cart_id, cart = guide_cart(client)
    response = guide_checkout(client, cart_id)
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "over_credit_limit"
    assert problem["credit_limit"] == "1000.00" and problem["order_total"] == cart["total"]
    assert Cart.objects.get(public_id=cart_id).status == "active"
    assert "payment" not in Cart.objects.get(public_id=cart_id).defaults


def test_a_customer_not_on_terms_pays_cod(standard_by_default):
    for customer in (factories.CustomerFactory(),  # B2C
                     factories.CustomerFactory(company=factories.CompanyFactory(
                         payment_terms="COD"))):
        address_book("customer", customer)
        client = standard_by_default.shopper(customer)
        cart_id, _ = guide_cart(client)
        response = guide_checkout(client, cart_id)
        assert response.status_code == 201, response.content
        order = response.json()
        assert order["payments"][0]["kind"] == "cod" and order["status"] == "confirmed"
        assert order["defaults"]["payment"]["detail"] == (
            "payment kind defaulted to cod: not on credit terms, and channel ECOMMERCE allows "
            "cash on delivery")
        assert "Payment kind defaulted to cod" in placed_message(order["id"]).message


def test_a_guest_without_a_payment_gets_400_naming_it(standard_by_default):
    client = standard_by_default.client(standard_by_default.secret)
    cart_id = standard_by_default.ready_cart(client, [("MUG", 1)])
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "email": "g@example.com"},
                           format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "payment" in response.json()["errors"]
    assert Cart.objects.get(public_id=cart_id).status == "active"


def test_no_cod_default_where_the_channel_does_not_offer_it(standard_by_default):
    shop = standard_by_default
    shop.channel.cod_allowed = False
    shop.channel.save()
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = shop.shopper(customer)
    cart_id, _ = guide_cart(client)
    response = guide_checkout(client, cart_id)
    assert response.status_code == 400 and "payment" in response.json()["errors"]
    # and COD asked for explicitly is refused there too
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}},
                           format="json")
    assert response.status_code == 409 and response.json()["code"] == "payment_kind_not_available"
    assert not Order.objects.exists()


def test_a_payment_sent_is_no_default(standard_by_default):
    client = standard_by_default.shopper(factories.CustomerFactory())
    cart_id = standard_by_default.ready_cart(client, [("MUG", 1)])
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}},
                           format="json")
    assert response.status_code == 201 and response.json()["defaults"] == {}
    event = placed_message(response.json()["id"])
    assert "defaulted" not in event.message and "defaults" not in event.parameters


def test_strict_input_stays_strict_without_a_payment(standard_by_default):
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = standard_by_default.shopper(customer)
    cart_id, _ = guide_cart(client)
    bad_address = client.post("/api/v1/checkout", {"cart_id": cart_id, "shipping_address": {
        "line1": "x", "city": "y", "country": "Jamaica"}}, format="json")
    assert bad_address.status_code == 400
    assert set(bad_address.json()["errors"]) >= {"shipping_address.full_name",
                                                 "shipping_address.country"} or \
        "shipping_address" in str(bad_address.json()["errors"])
    card = client.post("/api/v1/checkout", {"cart_id": cart_id,
                                            "notes": "card 4111 1111 1111 1111"}, format="json")
    assert card.status_code == 400 and card.json()["code"] == "card_data_forbidden"
    assert Cart.objects.get(public_id=cart_id).status == "active"


def _checkout_queries(client, lines, payment=None) -> int:
    cart_id, _ = guide_cart(client, lines)
    body = {"cart_id": cart_id, **({"payment": payment} if payment else {})}
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/checkout", body, format="json")
    assert response.status_code == 201, response.content
    # The test's own transaction turns BEGIN/COMMIT into logged savepoints: not counted.
    return len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]])


def test_defaults_add_no_query_per_line(standard_by_default):
    """The guide's checkout, every default taken, is within checkout's budget (as in
    test_checkout.py) and the same for 1 and 10 lines."""
    shop = standard_by_default
    customer = factories.CustomerFactory()
    address_book("customer", customer)
    client = shop.shopper(customer)
    counts = {}
    for line_count in (1, 10):
        skus = [factories.ProductFactory(stock_on_hand=10, supplier=None).sku
                for _ in range(line_count)]
        counts[line_count] = _checkout_queries(client, [(sku, 1) for sku in skus])
    assert counts[1] == counts[10] <= CHECKOUT_QUERIES, counts


def test_terms_by_default_cost_what_terms_asked_for_cost(standard_by_default):
    company = factories.CompanyFactory(payment_terms="NET30", credit_limit=Decimal("9999999"))
    address_book("company", company)
    client = standard_by_default.shopper(factories.CustomerFactory(company=company))
    sku = factories.ProductFactory(stock_on_hand=10, supplier=None).sku
    assert _checkout_queries(client, [(sku, 1)]) == \
        _checkout_queries(client, [(sku, 1)], payment={"kind": "terms"})
