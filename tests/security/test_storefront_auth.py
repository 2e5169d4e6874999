"""Who may do what on the storefront API: keys, shopper tokens, and another shopper's data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bridges.access.keys import SHOPPER_TOKEN_SALT
from bridges.access.services import api_key_revoke
from bridges.models import ApiKey
from orderflow.timeline import Actor
from tests import factories

pytestmark = pytest.mark.django_db


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_no_key_is_401_with_bearer_challenge(shop):
    response = shop.client().post("/api/v1/carts", {}, format="json")
    problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer of_test_sec_" + "x" * 43,  # well-formed, unknown
    "Bearer of_test_sec_short",  # malformed
    "Bearer of_prod_sec_" + "x" * 43,  # unknown mode
])
def test_unknown_or_malformed_key_is_401(shop, header):
    client = shop.client()
    client.credentials(HTTP_AUTHORIZATION=header)
    problem(client.get("/api/v1/products"), 401, "authentication_failed")


def test_revoked_key_is_401(shop):
    key = ApiKey.objects.get(name="shop secret")
    api_key_revoke(api_key=key, actor=Actor.system())
    problem(shop.client(shop.secret).get("/api/v1/products"), 401, "authentication_failed")


def test_a_key_revoked_by_another_process_is_refused_once_the_cache_entry_expires(shop):
    from django.test import override_settings

    from bridges.access.authentication import api_key_cache_forget

    client = shop.client(shop.secret)
    assert client.get("/api/v1/products").status_code == 200
    # Another server process revokes it: this one still holds the row for a few seconds...
    ApiKey.objects.filter(name="shop secret").update(revoked_at=timezone.now())
    assert client.get("/api/v1/products").status_code == 200
    # ...and refuses it once the entry is gone (expired, or with caching switched off).
    api_key_cache_forget()
    problem(client.get("/api/v1/products"), 401, "authentication_failed")
    with override_settings(ORDERFLOW_API_KEY_CACHE_SECONDS=0):
        ApiKey.objects.filter(name="shop secret").update(revoked_at=None)
        assert client.get("/api/v1/products").status_code == 200
        ApiKey.objects.filter(name="shop secret").update(revoked_at=timezone.now())
        problem(client.get("/api/v1/products"), 401, "authentication_failed")


def test_publishable_key_reads_catalog_and_uses_anonymous_carts(shop):
    client = shop.client(shop.publishable)
    assert client.get("/api/v1/products").status_code == 200
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    assert client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "MUG", "quantity": 1},
                       format="json").status_code == 201


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/checkout"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/ord_whatever"),
    ("post", "/api/v1/shopper-tokens"),
])
def test_publishable_key_on_customer_scoped_paths_is_403(shop, method, path):
    response = getattr(shop.client(shop.publishable), method)(path, {}, format="json")
    problem(response, 403, "secret_key_required")


def test_publishable_key_cannot_carry_a_shopper_token(shop):
    token = shop.token_for(factories.CustomerFactory())
    problem(shop.client(shop.publishable, token).get("/api/v1/products"), 401,
            "authentication_failed")


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/checkout"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/ord_whatever"),
    ("post", "/api/v1/shopper-tokens"),
])
@pytest.mark.parametrize("token", ["valid", "forged"])
def test_publishable_key_on_customer_scoped_paths_is_403_before_its_token(shop, method, path,
                                                                          token):
    """The key is judged first, as a reader reads the request: whatever token comes with a
    publishable key, a customer-scoped path answers 403 secret_key_required."""
    value = shop.token_for(factories.CustomerFactory()) if token == "valid" else "forged"
    response = getattr(shop.client(shop.publishable, value), method)(path, {}, format="json")
    problem(response, 403, "secret_key_required")


def test_orders_list_needs_a_shopper_token(shop):
    problem(shop.client(shop.secret).get("/api/v1/orders"), 403, "shopper_token_required")


def test_bad_and_expired_tokens_are_401(shop, settings):
    customer = factories.CustomerFactory()
    token = shop.token_for(customer)
    problem(shop.client(shop.secret, token + "x").get("/api/v1/orders"), 401,
            "authentication_failed")
    settings.ORDERFLOW_SHOPPER_TOKEN_TTL = timedelta(seconds=-1)  # every token is now too old
    problem(shop.client(shop.secret, token).get("/api/v1/orders"), 401, "authentication_failed")


def test_token_works_only_with_the_key_it_was_issued_to(shop):
    from bridges.access.services import api_key_create

    _, other_secret = api_key_create(name="other", kind="sec", mode="test", channel=shop.channel)
    token = shop.token_for(factories.CustomerFactory())
    problem(shop.client(other_secret, token).get("/api/v1/orders"), 401,
            "authentication_failed")


def test_forged_token_for_another_customer_is_401(shop):
    from django.core import signing

    victim = factories.CustomerFactory()
    forged = signing.dumps({"c": victim.public_id, "k": "key_whatever"}, salt="wrong-salt")
    problem(shop.client(shop.secret, forged).get("/api/v1/orders"), 401,
            "authentication_failed")
    assert SHOPPER_TOKEN_SALT != "wrong-salt"


def test_shopper_token_by_email_and_unknown_customer(shop):
    customer = factories.CustomerFactory(email="ana@example.com")
    response = shop.client(shop.secret).post("/api/v1/shopper-tokens",
                                             {"email": "ANA@example.com"}, format="json")
    assert response.status_code == 201
    assert response.json()["customer_id"] == customer.public_id
    problem(shop.client(shop.secret).post("/api/v1/shopper-tokens",
                                          {"email": "nobody@example.com"}, format="json"),
            404, "not_found")


def test_another_shoppers_cart_and_order_are_404(shop):
    alice, bob = factories.CustomerFactory(), factories.CustomerFactory()
    alice_client, bob_client = shop.shopper(alice), shop.shopper(bob)
    cart_id = shop.ready_cart(alice_client, [("MUG", 1)])
    order_id = alice_client.post("/api/v1/checkout",
                                 {"cart_id": shop.ready_cart(alice_client, [("MUG", 1)]),
                                  "payment": {"kind": "cod"}}, format="json").json()["id"]

    problem(bob_client.get(f"/api/v1/carts/{cart_id}"), 404, "not_found")
    problem(bob_client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "MUG", "quantity": 1},
                            format="json"), 404, "not_found")
    problem(bob_client.post("/api/v1/checkout",
                            {"cart_id": cart_id, "payment": {"kind": "cod"}}, format="json"),
            404, "not_found")
    problem(bob_client.get(f"/api/v1/orders/{order_id}"), 404, "not_found")
    assert bob_client.get("/api/v1/orders").json()["results"] == []
    # Without a token, the shopper's cart is invisible to the key too.
    problem(shop.client(shop.publishable).get(f"/api/v1/carts/{cart_id}"), 404, "not_found")


def test_another_channels_key_cannot_see_the_cart(shop):
    from bridges.access.services import api_key_create

    b2b = factories.ChannelFactory(code="B2B_PORTAL")
    _, b2b_key = api_key_create(name="b2b", kind="sec", mode="test", channel=b2b)
    cart_id = shop.client(shop.publishable).post("/api/v1/carts", {}, format="json").json()["id"]
    problem(shop.client(b2b_key).get(f"/api/v1/carts/{cart_id}"), 404, "not_found")


def test_storefront_sees_only_active_products(shop):
    from catalog.models import Product

    Product.objects.filter(sku="MUG").update(is_active=False)
    skus = [p["sku"] for p in
            shop.client(shop.publishable).get("/api/v1/products").json()["results"]]
    assert "MUG" not in skus and "COF-250" in skus


def test_shopper_sees_their_contract_price_in_the_catalog(shop):
    from decimal import Decimal

    price_list = factories.PriceListFactory(code="b2b")
    factories.PriceListEntryFactory(price_list=price_list, product=shop.products["coffee"],
                                    unit_price=Decimal("2200.00"))
    buyer = factories.CustomerFactory(company=factories.CompanyFactory(price_list=price_list))
    product = shop.shopper(buyer).get(
        f"/api/v1/products/{shop.products['coffee'].public_id}").json()
    assert product["price"]["amount"] == "2200.00" and product["price"]["source"] == "contract"
    anonymous = shop.client(shop.publishable).get(
        f"/api/v1/products/{shop.products['coffee'].public_id}").json()
    assert anonymous["price"]["source"] == "list"
