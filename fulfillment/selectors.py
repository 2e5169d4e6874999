"""Shipping methods available to a cart, and what each costs."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch

from fulfillment.constants import RateBasis
from fulfillment.models import ShippingMethod, ShippingRate
from orderflow.db import columns, fetch, prefetch

RATES_ORDER = ("-threshold",)  # a method's rates, highest threshold first (price_cart's order)
RATES_PREFETCH = Prefetch("rates", queryset=ShippingRate.objects.order_by(*RATES_ORDER))


_THROUGH = ShippingMethod.channels.through._meta
_M2M = (f'{_THROUGH.db_table} t WHERE t."{_THROUGH.get_field("shippingmethod").column}" = m.id')
# Offered in a channel: active, and listed for it or for no channel in particular.
_OFFERED_SQL = (
    f"SELECT {columns(ShippingMethod, 'm')} FROM {ShippingMethod._meta.db_table} m "
    f"WHERE m.is_active AND (EXISTS (SELECT 1 FROM {_M2M} "
    f'AND t."{_THROUGH.get_field("channel").column}" = %s) '
    f"OR NOT EXISTS (SELECT 1 FROM {_M2M}))"
)
_ORDER = ", ".join(f'm."{ShippingMethod._meta.get_field(name).column}"'
                   for name in ShippingMethod._meta.ordering)


def shipping_rates_load(methods: list[ShippingMethod]) -> None:
    """``RATES_PREFETCH`` for methods already loaded (one query, fixed SQL: orderflow.db)."""
    prefetch(methods, "rates", order_by=RATES_ORDER)


def shipping_method_list(*, channel, country: str | None = None) -> list[ShippingMethod]:
    """The methods offered in ``channel`` that ship to ``country``, with their rates."""
    methods = [m for (m,) in fetch(f"{_OFFERED_SQL} ORDER BY {_ORDER}", [channel.pk],
                                   ShippingMethod)]
    shipping_rates_load(methods)
    return [m for m in methods if m.ships_to(country)]


def shipping_method_get(*, code: str, channel) -> ShippingMethod | None:
    """The method ``code`` if offered in ``channel``, else None. By hand, as every cart
    created with a method reads it (see orderflow.db); ``code`` is unique."""
    found = fetch(f"{_OFFERED_SQL} AND m.code = %s", [channel.pk, code], ShippingMethod)
    return found[0][0] if found else None


def shipping_quote(*, method: ShippingMethod, subtotal: Decimal, weight_grams: int
                   ) -> Decimal | None:
    """The price of ``method`` for a cart, or None when no rate applies.

    Reads ``method.rates`` (prefetch it ordered by threshold, highest first).
    """
    rates = sorted(method.rates.all(), key=lambda r: r.threshold, reverse=True)
    if method.basis == RateBasis.FLAT:
        return rates[-1].price if rates else None
    value = subtotal if method.basis == RateBasis.ORDER_TOTAL else Decimal(weight_grams)
    for rate in rates:
        if rate.threshold <= value:
            return rate.price
    return None
