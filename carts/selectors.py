"""Cart reads: visibility by principal, and what stands between a cart and checkout."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from carts.constants import CartProblem
from carts.models import Cart, CartLine
from carts.pricing import unit_prices_for
from catalog.models import Product, Supplier, TaxClass
from fulfillment.models import ShippingMethod
from fulfillment.selectors import RATES_ORDER
from orderflow.db import (
    RELAX_COMMIT_SQL,
    columns,
    fetch,
    prefetch_together,
    relax_commit,
    relaxable_in_transaction,
)
from orderflow.errors import NotFound
from orderflow.money import format_amount

CART_RELATED = ("channel", "shipping_method")
# Staff may open anyone's cart: join the buyer too. Storefronts reuse their shopper, below.
STAFF_CART_RELATED = (*CART_RELATED, "customer__company__price_list")


def cart_queryset(*, principal):
    if principal.is_staff:
        return Cart.objects.select_related(*STAFF_CART_RELATED)
    if not principal.is_storefront:
        return Cart.objects.none()
    # A key or connection sees its channel's anonymous carts and its shopper's own carts.
    visible = Q(customer__isnull=True)
    if principal.customer is not None:
        visible |= Q(customer_id=principal.customer.pk)
    return Cart.objects.select_related(*CART_RELATED).filter(
        visible, channel_id=principal.channel_id)


def cart_get(*, principal, public_id: str, for_update: bool = False,
             relaxed: bool = False) -> Cart:
    """The cart ``public_id`` the principal may see (else 404). ``relaxed``: the current
    transaction's commit will not wait for the disk (``orderflow.db.relax_commit``), asked
    for in the same statement where the read is by hand."""
    if principal.is_storefront and not principal.is_staff:
        cart = _storefront_cart(principal, public_id, for_update=for_update, relaxed=relaxed)
    else:
        if relaxed:
            relax_commit()
        qs = cart_queryset(principal=principal)
        if for_update:
            qs = qs.select_for_update(of=("self",))
        cart = qs.filter(public_id=public_id).first()
    return cart_found(principal, public_id, cart)


def cart_found(principal, public_id: str, cart: Cart | None) -> Cart:
    """``cart``, or 404 when the principal may not see it (``None``)."""
    if cart is None:
        raise NotFound(f"No cart {public_id}.")
    if principal.customer is not None and cart.customer_id == principal.customer.pk:
        # The shopper was loaded with their company and price list by authentication.
        cart.customer = principal.customer
    return cart


_CART_SQL = (
    f"SELECT {columns(Cart, 'c')}, {columns(ShippingMethod, 'm')}{{relax}} "
    f"FROM {Cart._meta.db_table} c LEFT JOIN {ShippingMethod._meta.db_table} m "
    "ON m.id = c.shipping_method_id WHERE c.public_id = %s AND c.channel_id = %s"
)
_CART_SQLS = {relaxed: _CART_SQL.format(relax=f", {RELAX_COMMIT_SQL}" if relaxed else "")
              for relaxed in (False, True)}


def _storefront_cart(principal, public_id: str, *, for_update: bool, relaxed: bool = False
                     ) -> Cart | None:
    """``cart_queryset(principal).get(public_id=…)`` for a key or connection, by hand (the
    busiest read of the API; see orderflow.db): the cart in the principal's channel with its
    shipping method, visible when anonymous or the principal's shopper's."""
    relaxed = relaxed and relaxable_in_transaction(connection)
    sql = _CART_SQLS[relaxed]
    if for_update and connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF c"
    return storefront_cart_visible(
        principal, fetch(sql, [public_id, principal.channel_id], Cart, ShippingMethod))


def storefront_cart_visible(principal, found: list[tuple]) -> Cart | None:
    """The cart of ``found`` (rows starting with ``columns(Cart), columns(ShippingMethod)``
    for one public id in the principal's channel) if the principal may see it: anonymous, or
    its shopper's; with its channel and shipping method set."""
    if not found:
        return None
    cart, method = found[0][:2]
    shopper = principal.customer.pk if principal.customer is not None else None
    if cart.customer_id is not None and cart.customer_id != shopper:
        return None  # another shopper's cart: as if it did not exist
    cart.channel = principal.channel
    cart.shipping_method = method
    return cart


_REMEMBERED = "_orderflow_fresh_lines"


def cart_lines_remember(cart, lines: list[CartLine]) -> None:
    """A service that just wrote the lines (under the cart's lock) hands them to the next
    plain ``cart_lines`` call on the same instance, which then costs no query."""
    setattr(cart, _REMEMBERED, lines)


_LINES_SQL = (
    f"SELECT {columns(CartLine, 'l')}, {columns(Product, 'p')} "
    f"FROM {CartLine._meta.db_table} l JOIN {Product._meta.db_table} p ON p.id = l.product_id "
    "WHERE l.cart_id = %s ORDER BY l.id"
)


_PRICING_LINES_SQL = (
    f"SELECT {columns(CartLine, 'l')}, {columns(Product, 'p')}, {columns(TaxClass, 't')}, "
    f"{columns(Supplier, 's')} FROM {CartLine._meta.db_table} l "
    f"JOIN {Product._meta.db_table} p ON p.id = l.product_id "
    f"JOIN {TaxClass._meta.db_table} t ON t.id = p.tax_class_id "
    f"LEFT JOIN {Supplier._meta.db_table} s ON s.id = p.supplier_id "
    "WHERE l.cart_id = %s ORDER BY l.id"
)


def _line(line: CartLine, product: Product) -> CartLine:
    line.product = product
    return line


def cart_lines(*, cart, for_pricing: bool = False) -> list[CartLine]:
    """The cart's lines with their products; ``for_pricing`` also with each product's tax
    class (its rates loaded), supplier, and the rates of the cart's shipping method, all
    that ``price_cart`` reads."""
    if not for_pricing:
        remembered = cart.__dict__.pop(_REMEMBERED, None)
        if remembered is not None:
            return remembered
        # The lines with their products (``select_related("product")``), by hand: see
        # orderflow.db.
        return [_line(line, product)
                for line, product in fetch(_LINES_SQL, [cart.pk], CartLine, Product)]
    # select_related("product__tax_class", "product__supplier"), then the tax classes' rates
    # and the chosen shipping method's, by hand (see orderflow.db): one query for the rows,
    # one for both kinds of rates.
    lines = []
    for line, product, tax_class, supplier in fetch(
            _PRICING_LINES_SQL, [cart.pk], CartLine, Product, TaxClass, Supplier):
        product.tax_class, product.supplier = tax_class, supplier
        lines.append(_line(line, product))
    method = cart.shipping_method if cart.shipping_method_id is not None else None
    # Every instance (lines of one tax class each hold their own copy).
    prefetch_together(([line.product.tax_class for line in lines], "rates", ("country",)),
                      ([method] if method is not None else [], "rates", RATES_ORDER))
    return lines


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
        current_prices = {key: price.amount for key, price in
                          unit_prices_for(lines=lines, company=cart_company(cart)).items()}
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
