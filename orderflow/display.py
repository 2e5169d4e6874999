"""How the back office shows money and rates: one formatter, used by the admin's Python code
and, as template filters, by its templates (``{% load backoffice %}``)."""

from __future__ import annotations

from decimal import Decimal

from orderflow.money import minor_units, quantize, to_decimal


def money(amount, currency: str | None) -> str:
    """``JMD 138,775.00``: currency code, the currency's minor unit, grouped thousands."""
    if amount is None or amount == "":
        return "—"
    currency = (currency or "").upper()
    value = quantize(amount, currency or "XXX")
    digits = minor_units(currency) if currency else 2
    text = f"{abs(value):,.{digits}f}"
    sign = "-" if value < 0 else ""
    return f"{currency} {sign}{text}".strip()


def rate(value) -> str:
    """A tax rate kept as a fraction (``0.1500``) as people write it: ``15 %``."""
    if value is None or value == "":
        return "—"
    percent = (to_decimal(value) * 100).normalize()
    if percent == percent.to_integral():
        percent = percent.quantize(Decimal(1))
    return f"{percent:f} %"


def address_lines(address) -> list[str]:
    """An address (the JSON kept on orders and carts) as the lines of an envelope."""
    if not address:
        return []
    if isinstance(address, str):
        return [address]
    get = address.get
    name = get("full_name") or " ".join(p for p in (get("first_name"), get("last_name")) if p)
    city_line = " ".join(p for p in (get("city"), get("region") or get("state"),
                                     get("postal_code")) if p)
    lines = [name, get("company") or get("company_name"), get("line1"), get("line2"),
             city_line, get("country"), get("phone")]
    return [str(line) for line in lines if line]
