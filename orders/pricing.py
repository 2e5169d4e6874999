"""The one way lines and shipping are priced: carts, checkout, order edits, order imports and
quotes all go through here, so a price shown can never differ from a price charged.

A line's unit price is the buyer's contract price or the list price
(``catalog.selectors.unit_prices_resolve``) unless the caller fixes it (an imported price,
a price agreed on an order); tax follows the product's tax class and the destination;
every amount is rounded half-up to the currency's minor unit per line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.selectors import tax_rate_for, unit_prices_resolve
from fulfillment.selectors import shipping_quote
from orderflow.money import percent_of, quantize, zero

ZERO = Decimal("0")


@dataclass
class PricedLine:
    line: object  # what was priced: a cart line, or None
    product: object
    quantity: int
    order_uom: str
    order_quantity: int | None
    metadata: dict
    unit_price: Decimal
    source: str
    subtotal: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    total: Decimal


@dataclass
class Priced:
    currency: str
    lines: list[PricedLine] = field(default_factory=list)
    subtotal: Decimal = ZERO
    tax_total: Decimal = ZERO
    shipping_total: Decimal = ZERO
    total: Decimal = ZERO
    weight_grams: int = 0
    shipping_available: bool = True


@dataclass(frozen=True)
class LineToPrice:
    product: object
    quantity: int  # base units
    unit_price: Decimal | None = None  # fixed by the caller; None: today's price
    source: str = ""  # where a fixed price came from (``import``, …)
    order_uom: str = ""  # the unit the buyer ordered in, when not the base unit
    order_quantity: int | None = None
    metadata: dict = field(default_factory=dict)
    line: object = None  # handed back on the priced line


def line_amounts(*, unit_price: Decimal, quantity: int, tax_rate: Decimal, currency: str):
    """``(subtotal, tax, total)`` of one line, each rounded half-up to the minor unit."""
    subtotal = quantize(unit_price * quantity, currency)
    tax = percent_of(subtotal, tax_rate, currency)
    return subtotal, tax, subtotal + tax


def line_tax_rate(*, product, country: str) -> Decimal:
    """The product's tax rate at ``country`` (reads the prefetched ``tax_class.rates``)."""
    rate = tax_rate_for(product=product, country=country)
    return rate.rate if rate else ZERO


def shipping_price(*, method, subtotal: Decimal, weight_grams: int, currency: str
                   ) -> Decimal | None:
    """What ``method`` charges (its ``rates`` prefetched), None when no rate applies."""
    quote = shipping_quote(method=method, subtotal=subtotal, weight_grams=weight_grams)
    return None if quote is None else quantize(quote, currency)


def price_lines(*, items: list[LineToPrice], company, country: str, currency: str,
                shipping_method=None) -> Priced:
    """Price every line and, when a method is given, the shipping.

    Needs each product with ``tax_class.rates`` prefetched and the method's ``rates``.
    Today's prices are read in one query for all lines without a fixed price.
    """
    prices = unit_prices_resolve(
        items=[(item.product, item.quantity) for item in items if item.unit_price is None],
        company=company)
    priced = Priced(currency=currency)
    for item in items:
        if item.unit_price is None:
            price = prices[(item.product.pk, item.quantity)]
            unit_price, source = price.amount, price.source
        else:
            unit_price, source = quantize(item.unit_price, currency), item.source
        tax_rate = line_tax_rate(product=item.product, country=country)
        subtotal, tax, total = line_amounts(unit_price=unit_price, quantity=item.quantity,
                                            tax_rate=tax_rate, currency=currency)
        priced.lines.append(PricedLine(
            line=item.line, product=item.product, quantity=item.quantity,
            order_uom=item.order_uom, order_quantity=item.order_quantity,
            metadata=item.metadata, unit_price=unit_price, source=source, subtotal=subtotal,
            tax_rate=tax_rate, tax_amount=tax, total=total))
        priced.weight_grams += item.product.weight_grams * item.quantity
    priced.subtotal = sum((p.subtotal for p in priced.lines), zero(currency))
    priced.tax_total = sum((p.tax_amount for p in priced.lines), zero(currency))
    priced.shipping_total = zero(currency)
    if shipping_method is not None:
        shipping = shipping_price(method=shipping_method, subtotal=priced.subtotal,
                                  weight_grams=priced.weight_grams, currency=currency)
        if shipping is None:
            priced.shipping_available = False
        else:
            priced.shipping_total = shipping
    priced.total = priced.subtotal + priced.tax_total + priced.shipping_total
    return priced
