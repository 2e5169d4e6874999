"""Shipping methods available to a cart, and what each costs."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, Q

from fulfillment.constants import RateBasis
from fulfillment.models import ShippingMethod, ShippingRate

RATES_PREFETCH = Prefetch("rates", queryset=ShippingRate.objects.order_by("-threshold"))


def shipping_method_list(*, channel, country: str | None = None) -> list[ShippingMethod]:
    methods = (
        ShippingMethod.objects.filter(is_active=True)
        .filter(Q(channels=channel) | Q(channels__isnull=True))
        .distinct()
        .prefetch_related(RATES_PREFETCH)
    )
    return [m for m in methods if m.ships_to(country)]


def shipping_method_get(*, code: str, channel) -> ShippingMethod | None:
    return (
        ShippingMethod.objects.filter(code=code, is_active=True)
        .filter(Q(channels=channel) | Q(channels__isnull=True))
        .distinct()
        .first()
    )


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
