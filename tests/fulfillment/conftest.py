"""Orders that really hold stock, placed through the storefront or built directly."""

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from orders.models import Order
from tests import factories
from tests.storefront import build_storefront


@pytest.fixture
def shop(db):
    return build_storefront()


@pytest.fixture
def staff(db):
    return factories.StaffUserFactory()


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def place(shop, client, lines, payment=None) -> Order:
    """Check a cart out through the storefront API (COD unless ``payment`` says else)."""
    cart_id = shop.ready_cart(client, lines)
    response = client.post("/api/v1/checkout",
                           {"cart_id": cart_id, "payment": payment or {"kind": "cod"}},
                           format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(public_id=response.json()["id"])


def stock(sku: str) -> tuple[int, int]:
    product = Product.objects.get(sku=sku)
    return product.stock_on_hand, product.stock_reserved


def line_of(order, sku):
    return order.lines.get(sku=sku)
