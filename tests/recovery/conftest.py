"""A storefront with carts that have lines and an e-mail, and a clock to age them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from carts.models import Cart
from tests import factories
from tests.storefront import ADDRESS, build_storefront

STOREFRONT_URL = "https://shop.example.com/cart?src=reminder"


@pytest.fixture
def shop(db):
    return build_storefront()


def cart_with(shop, *, email: str | None = "sasha@example.com", lines=(("COF-250", 2),),
              customer=None, ready: bool = True) -> Cart:
    """A cart made through the storefront API: lines, address, shipping, priced, and the
    e-mail through ``PUT …/email`` (``None``: no e-mail)."""
    client = shop.shopper(customer) if customer else shop.client(shop.secret)
    cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
    for sku, quantity in lines:
        assert client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": sku, "quantity": quantity},
                           format="json").status_code == 201
    if ready:
        assert client.put(f"/api/v1/carts/{cart_id}/addresses",
                          {"shipping_address": ADDRESS}, format="json").status_code == 200
        assert client.post(f"/api/v1/carts/{cart_id}/shipping-method", {"code": "standard"},
                           format="json").status_code == 200
    if email:
        response = client.put(f"/api/v1/carts/{cart_id}/email",
                              {"email": email, "marketing_consent": True}, format="json")
        assert response.status_code == 200, response.content
    if ready:
        assert client.post(f"/api/v1/carts/{cart_id}/price", format="json").status_code == 200
    return Cart.objects.get(public_id=cart_id)


def idle(cart: Cart, seconds: float) -> Cart:
    """The cart's last activity ``seconds`` ago (as if the shopper left then)."""
    Cart.objects.filter(pk=cart.pk).update(
        last_activity_at=timezone.now() - timedelta(seconds=seconds))
    cart.refresh_from_db()
    return cart


@pytest.fixture
def customer(db):
    return factories.CustomerFactory(email="buyer@example.com")
