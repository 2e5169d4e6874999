"""Cart reads: visibility by principal, what a cart costs now, and what stands between a
cart and checkout."""

from __future__ import annotations

from django.db.models import Prefetch, Q, prefetch_related_objects

from carts.constants import CartProblem
from carts.models import Cart, CartLine
from catalog.models import TaxRate
from catalog.selectors import unit_prices_resolve
from fulfillment.selectors import RATES_PREFETCH
from orderflow.errors import NotFound
from orderflow.money import format_amount
from orders.models import Order
from orders.pricing import LineToPrice, Priced, price_lines

# The channel's default shipping method too: pricing and checkout take it (no extra query).
CART_RELATED = ("channel__default_shipping_method", "shipping_method")
# Staff may open anyone's cart: join the buyer too. Storefronts reuse their shopper, below.
STAFF_CART_RELATED = (*CART_RELATED, "customer__company__price_list")


def cart_queryset(*, principal):
    """The carts ``principal`` may see: staff every cart; a storefront key or bridge
    connection the anonymous carts it created itself (as with orders: another key or
    connection of the same channel gets 404) and its shopper's own carts."""
    if principal.is_staff:
        return Cart.objects.select_related(*STAFF_CART_RELATED)
    if not principal.is_storefront:
        return Cart.objects.none()
    if principal.api_key is not None:
        visible = Q(customer__isnull=True, api_key_id=principal.api_key.pk)
    else:
        visible = Q(customer__isnull=True, connection_id=principal.connection.pk)
    if principal.customer is not None:
        visible |= Q(customer_id=principal.customer.pk)
    return Cart.objects.select_related(*CART_RELATED).filter(
        visible, channel_id=principal.channel_id)


def cart_get(*, principal, public_id: str, for_update: bool = False) -> Cart:
    """The cart ``public_id`` the principal may see (else 404), locked until the
    transaction ends when ``for_update``."""
    qs = cart_queryset(principal=principal)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    cart = qs.filter(public_id=public_id).first()
    if cart is None:
        raise NotFound(f"No cart {public_id}.")
    if principal.customer is not None and cart.customer_id == principal.customer.pk:
        # The shopper was loaded with their company and price list by authentication.
        cart.customer = principal.customer
    return cart


def cart_lines(*, cart, for_pricing: bool = False) -> list[CartLine]:
    """The cart's lines with their products; ``for_pricing`` also with what ``price_cart``
    reads: each product's tax class with its rates and supplier, and the rates of the cart's
    shipping method. A fixed number of queries whatever the number of lines."""
    qs = CartLine.objects.filter(cart=cart).order_by("id")
    if not for_pricing:
        return list(qs.select_related("product"))
    lines = list(qs.select_related("product__tax_class", "product__supplier").prefetch_related(
        Prefetch("product__tax_class__rates", queryset=TaxRate.objects.order_by("country"))))
    if cart.shipping_method is not None:
        prefetch_related_objects([cart.shipping_method], RATES_PREFETCH)
    return lines


def price_cart(*, cart, lines: list[CartLine], company) -> Priced:
    """What the cart costs now: ``orders.pricing`` over its lines, its destination and its
    shipping method (``lines`` from ``cart_lines(for_pricing=True)``)."""
    return price_lines(
        items=[LineToPrice(product=line.product, quantity=line.quantity,
                           order_uom=line.order_uom, order_quantity=line.order_quantity,
                           metadata=line.metadata, line=line) for line in lines],
        company=company, country=(cart.shipping_address or {}).get("country", ""),
        currency=cart.currency, shipping_method=cart.shipping_method)


def cart_company(cart: Cart):
    return cart.customer.company if cart.customer_id and cart.customer.company_id else None


def cart_problems(*, cart: Cart, lines: list[CartLine], current_prices: dict | None = None
                  ) -> list[dict]:
    """Everything that would stop checkout now, cheapest checks first.

    ``current_prices`` maps (product pk, quantity) → today's unit price; read when omitted.
    """
    problems = []
    if not lines:
        problems.append({"code": CartProblem.EMPTY, "detail": "The cart has no lines."})
    elif not cart.is_priced:
        problems.append({"code": CartProblem.NOT_PRICED,
                         "detail": "The cart changed since it was priced (or never was): "
                                   "POST …/price."})
    if current_prices is None:
        current_prices = {key: price.amount for key, price in unit_prices_resolve(
            items=[(line.product, line.quantity) for line in lines],
            company=cart_company(cart)).items()}
    for line in lines:
        product = line.product
        if not product.is_active:
            problems.append({"code": CartProblem.PRODUCT_INACTIVE, "sku": product.sku,
                             "line_id": line.public_id,
                             "detail": f"{product.sku} is no longer sold."})
        if product.track_inventory and line.quantity > product.stock_available:
            problems.append({"code": CartProblem.INSUFFICIENT_STOCK, "sku": product.sku,
                             "line_id": line.public_id, "requested": line.quantity,
                             "available": max(product.stock_available, 0),
                             "detail": f"Only {max(product.stock_available, 0)} of "
                                       f"{product.sku} available."})
        current = current_prices[(product.pk, line.quantity)]
        if cart.is_priced and line.unit_price is not None and current != line.unit_price:
            problems.append({"code": CartProblem.PRICE_CHANGED, "sku": product.sku,
                             "line_id": line.public_id,
                             "priced": format_amount(line.unit_price, cart.currency),
                             "current": format_amount(current, cart.currency),
                             "detail": f"The price of {product.sku} changed since pricing."})
    if cart.shipping_method_id is None:
        problems.append({"code": CartProblem.SHIPPING_METHOD_MISSING,
                         "detail": "Choose a shipping method."})
    if not cart.shipping_address:
        problems.append({"code": CartProblem.ADDRESS_MISSING,
                         "detail": "Set a shipping address."})
    return problems


DEFAULT_LABELS = {"shipping_method": "Shipping method", "shipping_address": "Shipping address",
                  "billing_address": "Billing address", "payment": "Payment"}


def cart_defaults_taken(*, cart: Cart) -> list[tuple[str, str]]:
    """``(what, how)`` for each default the cart took instead of a client's choice
    (``Cart.defaults``), in words: ``("Shipping method", "shipping method defaulted to …")``."""
    taken = []
    for field, note in (cart.defaults or {}).items():
        note = note if isinstance(note, dict) else {"detail": str(note)}
        detail = note.get("detail") or " · ".join(
            str(part) for part in (note.get("value"), note.get("source")) if part)
        taken.append((DEFAULT_LABELS.get(field, field.replace("_", " ").capitalize()),
                      detail))
    return taken


def cart_converted_order(*, cart: Cart):
    """The order the cart became at checkout, if any."""
    return Order.objects.filter(cart=cart).first()
