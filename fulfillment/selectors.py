"""Shipping methods available to a cart, and what each costs."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch

from fulfillment.constants import RateBasis
from fulfillment.models import ShippingMethod, ShippingRate

RATES_ORDER = ("-threshold",)  # a method's rates, highest threshold first
RATES_PREFETCH = Prefetch("rates", queryset=ShippingRate.objects.order_by(*RATES_ORDER))


def _offered(*, channel):
    """Active methods offered in ``channel``: listed for it, or for no channel at all."""
    listed = ShippingMethod.channels.through.objects.filter(shippingmethod_id=OuterRef("pk"))
    return ShippingMethod.objects.filter(is_active=True).filter(
        Exists(listed.filter(channel_id=channel.pk)) | ~Exists(listed))


def shipping_method_list(*, channel, country: str | None = None) -> list[ShippingMethod]:
    """The methods offered in ``channel`` that ship to ``country``, with their rates."""
    methods = _offered(channel=channel).prefetch_related(RATES_PREFETCH)
    return [method for method in methods if method.ships_to(country)]


def shipping_method_get(*, code: str, channel) -> ShippingMethod | None:
    """The method ``code`` if offered in ``channel``, else None."""
    return _offered(channel=channel).filter(code=code).first()


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
