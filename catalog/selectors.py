"""Catalog reads: product lists and the one place unit prices are resolved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from catalog.models import PriceListEntry, Product, ProductUnit, TaxRate
from orderflow.errors import Conflict, ValidationFailed

LIST = "list"
CONTRACT = "contract"


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    currency: str
    source: str  # LIST or CONTRACT
    price_list: str | None = None  # code of the price list that gave a contract price
    min_quantity: int = 1  # the tier that applied


def product_queryset(*, active_only: bool = False) -> QuerySet[Product]:
    """Products with what their representation reads, in a fixed number of queries.
    Storefronts see active products only."""
    qs = Product.objects.select_related("tax_class", "supplier").prefetch_related(
        Prefetch("units", queryset=ProductUnit.objects.order_by("factor")),
        Prefetch("tax_class__rates", queryset=TaxRate.objects.order_by("country")),
    )
    return qs.filter(is_active=True) if active_only else qs


def product_for_sale(*, sku: str, queryset: QuerySet[Product] | None = None) -> Product:
    """The product of ``sku`` (any case, surrounding spaces ignored) that a buyer may add to
    a cart or an order: unknown is ``unknown_sku``, no longer sold is ``product_inactive``.
    ``queryset``: a ``Product`` queryset with what the caller will read."""
    sku = str(sku).strip()
    product = (queryset if queryset is not None else Product.objects).filter(
        sku__iexact=sku).order_by("sku").first()
    if product is None:
        raise ValidationFailed(f"No product with sku {sku}.", code="unknown_sku",
                               errors={"sku": [f"Unknown sku {sku}."]})
    if not product.is_active:
        raise Conflict(f"{product.sku} is no longer sold.", code="product_inactive",
                       sku=product.sku)
    return product


def unit_prices_resolve(*, items: Iterable[tuple[Product, int]], company=None) -> dict:
    """Unit prices for many (product, base quantity) pairs in one query.

    The company's contract price — the price list tier with the highest ``min_quantity`` not
    above the quantity — wins; otherwise the product's list price. Returns
    ``{(product.pk, quantity): UnitPrice}``.
    """
    items = list(items)
    tiers: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    price_list = getattr(company, "price_list", None) if company is not None else None
    if price_list is not None and price_list.is_active and items:
        rows = (
            PriceListEntry.objects.filter(
                price_list_id=price_list.pk, product_id__in={p.pk for p, _ in items}
            )
            .order_by("product_id", "-min_quantity")
            .values_list("product_id", "min_quantity", "unit_price")
        )
        for product_id, min_quantity, unit_price in rows:
            tiers[product_id].append((min_quantity, unit_price))

    return {
        (product.pk, quantity): price_from_tiers(
            product=product, tiers=tiers.get(product.pk, ()), price_list=price_list,
            quantity=quantity,
        )
        for product, quantity in items
    }


def contract_tiers_prefetch(company) -> Prefetch | None:
    """Prefetch of the company's tiers onto ``product.contract_tiers`` (for lists)."""
    price_list = getattr(company, "price_list", None) if company is not None else None
    if price_list is None or not price_list.is_active:
        return None
    return Prefetch(
        "price_entries",
        queryset=PriceListEntry.objects.filter(price_list_id=price_list.pk).order_by(
            "-min_quantity"
        ),
        to_attr="contract_tiers",
    )


def price_from_tiers(*, product: Product, tiers, price_list, quantity: int) -> UnitPrice:
    """The tier rule: highest ``min_quantity`` not above ``quantity`` (tiers sorted by
    ``min_quantity`` descending, as ``(min_quantity, unit_price)`` or entries)."""
    for tier in tiers:
        min_quantity, unit_price = (
            (tier.min_quantity, tier.unit_price) if isinstance(tier, PriceListEntry) else tier
        )
        if min_quantity <= max(quantity, 1):
            return UnitPrice(
                amount=unit_price, currency=price_list.currency, source=CONTRACT,
                price_list=price_list.code, min_quantity=min_quantity,
            )
    return UnitPrice(amount=product.list_price, currency=product.currency, source=LIST)


def unit_price_resolve(*, product: Product, company=None, quantity: int = 1) -> UnitPrice:
    return unit_prices_resolve(items=[(product, quantity)], company=company)[
        (product.pk, quantity)
    ]


def quantity_to_base(*, product: Product, uom: str | None, quantity: int) -> int:
    """``quantity`` of ``uom`` expressed in the product's base unit."""
    factor = product.conversion_factor(uom)
    if factor is None:
        sold_in = [product.base_uom] + [u.uom for u in product.units.all()]
        raise ValidationFailed(
            f"{product.sku} is not sold in '{uom}'; use one of {', '.join(sold_in)}.",
            code="unknown_unit",
            errors={"order_uom": [f"Unknown unit for {product.sku}."]},
        )
    return quantity * factor


def tax_rate_for(*, product: Product, country: str = "") -> TaxRate | None:
    """The product's tax rate for ``country`` (falling back to the class's any-country rate).

    Reads the prefetched ``tax_class.rates``.
    """
    fallback = None
    for rate in product.tax_class.rates.all():
        if rate.country and rate.country.upper() == (country or "").upper():
            return rate
        if not rate.country:
            fallback = rate
    return fallback
