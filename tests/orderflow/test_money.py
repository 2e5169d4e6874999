from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow.money import format_amount, percent_of, quantize


@pytest.mark.parametrize(
    "amount, currency, expected",
    [
        ("2.345", "JMD", "2.35"),  # half up, not banker's rounding
        ("2.325", "USD", "2.33"),
        ("-2.345", "USD", "-2.35"),  # half away from zero
        ("1234.5", "JPY", "1235"),
        ("1.2345", "KWD", "1.235"),
        (0.1, "USD", "0.10"),  # floats go through their decimal repr
    ],
)
def test_quantize_half_up_to_minor_unit(amount, currency, expected):
    assert str(quantize(amount, currency)) == expected


def test_format_and_percent():
    assert format_amount(Decimal("5"), "JMD") == "5.00"
    assert percent_of(Decimal("2450.00"), Decimal("0.15"), "JMD") == Decimal("367.50")
    assert percent_of(Decimal("0.05"), Decimal("0.15"), "USD") == Decimal("0.01")


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, places=6))
def test_quantized_is_within_half_a_cent(amount):
    rounded = quantize(amount, "USD")
    assert abs(rounded - amount) <= Decimal("0.005")
    assert rounded.as_tuple().exponent == -2
