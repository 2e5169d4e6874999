"""Shipping methods available to a cart, and what each costs."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, Q

from fulfillment.constants import RateBasis
from fulfillment.models import ShippingMethod, ShippingRate
from orderflow.db import columns, fetch

RATES_PREFETCH = Prefetch("rates", queryset=ShippingRate.objects.order_by("-threshold"))


def shipping_method_list(*, channel, country: str | None = None) -> list[ShippingMethod]:
    methods = (
        ShippingMethod.objects.filter(is_active=True)
        .filter(Q(channels=channel) | Q(channels__isnull=True))
        .distinct()
        .prefetch_related(RATES_PREFETCH)
    )
    return [m for m in methods if m.ships_to(country)]


_THROUGH = ShippingMethod.channels.through._meta
_M2M = (f'{_THROUGH.db_table} t WHERE t."{_THROUGH.get_field("shippingmethod").column}" = m.id')
_METHOD_SQL = (
    f"SELECT {columns(ShippingMethod, 'm')} FROM {ShippingMethod._meta.db_table} m "
    f"WHERE m.code = %s AND m.is_active AND (EXISTS (SELECT 1 FROM {_M2M} "
    f'AND t."{_THROUGH.get_field("channel").column}" = %s) '
    f"OR NOT EXISTS (SELECT 1 FROM {_M2M}))"
)


def shipping_method_get(*, code: str, channel) -> ShippingMethod | None:
    """The active method ``code`` offered in ``channel`` (listed for it, or for no channel in
    particular), or None. By hand, as every cart created with a method reads it (see
    orderflow.db); ``code`` is unique."""
    found = fetch(_METHOD_SQL, [code, channel.pk], ShippingMethod)
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
