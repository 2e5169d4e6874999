"""Card numbers are refused in any field of any request, and never stored or logged."""

import logging

import pytest

from carts.models import Cart
from orderflow.carddata import looks_like_card_number
from orders.models import Order

pytestmark = pytest.mark.django_db

VISA = "4111 1111 1111 1111"


@pytest.mark.parametrize("text, expected", [
    ("4111111111111111", True),
    ("4111-1111-1111-1111", True),
    ("card 4111 1111 1111 1111 exp 12/29", True),
    ("378282246310005", True),  # Amex, 15 digits
    ("6011111111111117", True),
    ("4111111111111112", False),  # fails Luhn
    ("411111111111", False),  # 12 digits
    ("876-555-0100", False),
    ("pi_3NabcDEF12345", False),
    ("2026-11-23", False),
])
def test_detection(text, expected):
    assert looks_like_card_number(text) is expected


@pytest.mark.parametrize("body", [
    {"payment": {"kind": "payment_intent", "reference": VISA}},
    {"payment": {"kind": "cod"}, "notes": f"my card is {VISA}"},
    {"payment": {"kind": "cod"}, "shipping_address": {"line1": "4111111111111111"}},
    {"payment": {"kind": "cod"}, "metadata": {"card": 4111111111111111}},
])
def test_checkout_refuses_card_numbers_anywhere(shop, body, caplog):
    client = shop.client(shop.secret)
    cart_id = shop.ready_cart(client, [("MUG", 1)])
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "email": "g@example.com",
                                                **body}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "card_data_forbidden"
    assert "4111" not in response.content.decode()  # not echoed
    assert "4111" not in caplog.text  # not logged
    assert not Order.objects.exists()


def test_cart_metadata_and_query_strings_are_guarded_too(shop):
    client = shop.client(shop.publishable)
    response = client.post("/api/v1/carts", {"metadata": {"note": VISA}}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "metadata.note"
    assert not Cart.objects.exists()
    response = client.get(f"/api/v1/products?search={VISA.replace(' ', '')}")
    assert response.status_code == 400 and response.json()["code"] == "card_data_forbidden"
