"""Server-side cart pricing: one pure computation used to price, to show problems and to
check out, so the three can never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.selectors import tax_rate_for, unit_prices_resolve
from fulfillment.selectors import shipping_quote
from orderflow.money import quantize, zero


@dataclass
class PricedLine:
    line: object
    unit_price: Decimal
    source: str
    subtotal: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    total: Decimal


@dataclass
class PricedCart:
    currency: str
    lines: list[PricedLine] = field(default_factory=list)
    subtotal: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    shipping_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    shipping_available: bool = True


def unit_prices_for(*, lines, company) -> dict:
    return unit_prices_resolve(items=[(line.product, line.quantity) for line in lines],
                               company=company)


def line_amounts(*, unit_price: Decimal, quantity: int, tax_rate: Decimal, currency: str):
    """``(subtotal, tax, total)`` of one line, each rounded half-up to the minor unit."""
    subtotal = quantize(unit_price * quantity, currency)
    tax = quantize(subtotal * tax_rate, currency)
    return subtotal, tax, subtotal + tax


def price_cart(*, cart, lines, company) -> PricedCart:
    """Price every line (contract or list price, tax by class and destination) and shipping.

    Needs ``line.product`` with ``tax_class.rates`` prefetched and, when a method is chosen,
    ``cart.shipping_method.rates``.
    """
    currency = cart.currency
    country = (cart.shipping_address or {}).get("country", "")
    prices = unit_prices_for(lines=lines, company=company)
    priced = PricedCart(currency=currency)
    weight = 0
    for line in lines:
        price = prices[(line.product.pk, line.quantity)]
        rate = tax_rate_for(product=line.product, country=country)
        tax_rate = rate.rate if rate else Decimal("0")
        subtotal, tax, total = line_amounts(unit_price=price.amount, quantity=line.quantity,
                                            tax_rate=tax_rate, currency=currency)
        priced.lines.append(PricedLine(line=line, unit_price=price.amount, source=price.source,
                                       subtotal=subtotal, tax_rate=tax_rate, tax_amount=tax,
                                       total=total))
        weight += line.product.weight_grams * line.quantity
    priced.subtotal = sum((p.subtotal for p in priced.lines), zero(currency))
    priced.tax_total = sum((p.tax_amount for p in priced.lines), zero(currency))
    priced.shipping_total = zero(currency)
    if cart.shipping_method_id is not None:
        quote = shipping_quote(method=cart.shipping_method, subtotal=priced.subtotal,
                               weight_grams=weight)
        if quote is None:
            priced.shipping_available = False
        else:
            priced.shipping_total = quantize(quote, currency)
    priced.total = priced.subtotal + priced.tax_total + priced.shipping_total
    return priced
