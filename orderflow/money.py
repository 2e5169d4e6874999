"""Money is ``Decimal``, quantized to the currency's minor unit with ROUND_HALF_UP."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import models

# ISO 4217 minor units that differ from the usual two.
MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
MAX_DIGITS = 14
DECIMAL_PLACES = 4  # storage precision: enough for unit prices and every minor unit


def default_currency() -> str:
    return settings.ORDERFLOW_DEFAULT_CURRENCY


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def exponent(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # Floats carry binary noise; go through their shortest repr.
        value = repr(value)
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a decimal amount: {value!r}") from None


def quantize(amount, currency: str) -> Decimal:
    """Round ``amount`` to ``currency``'s minor unit, half away from zero."""
    return to_decimal(amount).quantize(exponent(currency), rounding=ROUND_HALF_UP)


def zero(currency: str) -> Decimal:
    return quantize(0, currency)


def format_amount(amount, currency: str) -> str:
    """The JSON form of money: a string with exactly the currency's minor digits."""
    return str(quantize(amount, currency))


def percent_of(amount, rate, currency: str) -> Decimal:
    """``amount × rate`` rounded to the minor unit (rate as a fraction: 0.15 for 15 %)."""
    return quantize(to_decimal(amount) * to_decimal(rate), currency)


class MoneyField(models.DecimalField):
    """A DecimalField with the house precision for amounts."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class CurrencyField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", default_currency)
        super().__init__(*args, **kwargs)
