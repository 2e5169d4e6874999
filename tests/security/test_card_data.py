"""Card numbers are refused in any field of any request, and never stored or logged."""

import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carts.models import Cart
from orderflow.carddata import (
    TIMESTAMP_RUN,
    looks_like_card_number,
    luhn_ok,
    redact_card_numbers,
)
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
    ("2026-12-06T21:50:05.123456+00:00", False),  # 16 digits that pass the Luhn check
    ("2026-12-06 21:50:05.123456+00:00", False),
    ("placed 2026-12-01/2026-12-31", False),
    ("4111 1111 1111 1111 2026-12-06T21:50:05.123456+00:00", True),
    ("2026-12-06T21:50:05Z 4111-1111-1111-1111", True),
    ("4000-00-0000105", True),  # groups that begin like a date are still a card
    ("4111-01-01 1111 1115", True),  # a date-like start, then more groups
    ("21:50:05.123456+00:00 4111 1111 1111 1111", True),
])
def test_detection(text, expected):
    assert looks_like_card_number(text) is expected


def every_digit_run(text: str) -> bool:
    """The rule written plainly: in any maximal run of digits (any non-alphanumeric
    characters between them) that is not just ISO 8601 timestamps, some consecutive digit
    groups holding 13 to 19 digits that pass the Luhn check."""
    for match in re.finditer(r"\d(?:[\W_]*\d)*", text):
        if TIMESTAMP_RUN.fullmatch(match.group()):
            continue
        groups = re.findall(r"\d+", match.group())
        for first in range(len(groups)):
            for last in range(first + 1, len(groups) + 1):
                digits = "".join(groups[first:last])
                if 13 <= len(digits) <= 19 and luhn_ok(digits):
                    return True
    return False


@given(st.lists(st.one_of(st.sampled_from(["4111111111111111", "4111 1111 1111 1111",
                                           "378282246310005", "6011-1111-1111-1117",
                                           "4111.1111/1111\u00a01111", "4111\t\t1111  1111_1111"]),
                          st.text(alphabet="0123456789 --ab.\"/\u00a0\t_", max_size=30)),
                max_size=8))
def test_detection_skips_short_runs_without_missing_a_card(parts):
    text = "".join(parts)
    assert looks_like_card_number(text) is every_digit_run(text)


@given(st.datetimes(timezones=st.timezones()), st.sampled_from(["T", " "]))
def test_an_iso_timestamp_is_never_taken_for_a_card(moment, sep):
    """An integration's ``datetime.isoformat()`` (microseconds and an offset: up to 20
    digits) once in ten passed the Luhn check and the request was refused."""
    text = moment.isoformat(sep=sep)
    assert not looks_like_card_number(text)
    assert not looks_like_card_number(f"{text}/{moment.isoformat()}")
    assert redact_card_numbers(f"{VISA} at {text}") == f"[redacted card data] at {text}"


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
