"""Cart use cases. Each is one transaction on a locked cart; prices are always computed here,
never taken from the client."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from carts import events
from carts.constants import EDITABLE_STATUSES, CartProblem, CartStatus
from carts.models import Cart, CartLine
from carts.pricing import price_cart
from carts.selectors import (
    cart_company,
    cart_found,
    cart_get,
    cart_lines,
    cart_lines_remember,
    cart_problems,
    storefront_cart_visible,
)
from catalog.models import Product
from catalog.selectors import quantity_to_base
from fulfillment.models import ShippingMethod
from fulfillment.selectors import shipping_method_get
from orderflow.db import (
    RELAX_COMMIT_SQL,
    columns,
    create,
    fetch,
    save_fields,
    update_rows,
)
from orderflow.errors import Conflict, NotFound, ValidationFailed
from orderflow.money import format_amount

MAX_LINE_QUANTITY = 100_000


def _editable(cart: Cart) -> None:
    if cart.status == CartStatus.CONVERTED:
        raise Conflict("This cart was already checked out.", code="cart_converted")
    if cart.status not in EDITABLE_STATUSES:
        raise Conflict(f"A cart that is {cart.status} cannot change.", code="cart_not_active")


def _reactivate(cart: Cart) -> tuple[str, ...]:
    """An edit brings an abandoned cart back: active again. The fields this changed."""
    if cart.status == CartStatus.ABANDONED:
        cart.status = CartStatus.ACTIVE
        return ("status",)
    return ()


# Lock the cart and record an edit (as ``_touch`` does: the version and activity) in one
# statement: the row lock is the UPDATE's, and a refusal afterwards (not editable, another
# shopper's cart, bad input) rolls it back.
_EDIT_SQL = (
    f"WITH c AS (UPDATE {Cart._meta.db_table} SET version = version + 1, "
    "last_activity_at = %s, updated_at = %s "
    "WHERE public_id = %s AND channel_id = %s RETURNING *) "
    f"SELECT {columns(Cart, 'c')}, {columns(ShippingMethod, 'm')}{{product}}{{relax}} FROM c "
    f"LEFT JOIN {ShippingMethod._meta.db_table} m ON m.id = c.shipping_method_id{{join}}"
)
# Adding a line also reads the product of its sku in the same statement (products are not
# what the cart's lock protects: the same read as _product_by_sku's, one round trip fewer).
_PRODUCT_BY_SKU_WHERE = "WHERE UPPER(p.sku) = UPPER(%s) ORDER BY p.sku LIMIT 1"
_EDIT_PRODUCT = (f", {columns(Product, 'p')}",
                 f" LEFT JOIN LATERAL (SELECT * FROM {Product._meta.db_table} p "
                 f"{_PRODUCT_BY_SKU_WHERE}) p ON true")
# The same statement also relaxes the edit's commit (as _cart_for_edit does), when it may be.
_EDIT_SQLS = {
    (relaxed, with_product): _EDIT_SQL.format(
        relax=f", {RELAX_COMMIT_SQL}" if relaxed else "",
        product=_EDIT_PRODUCT[0] if with_product else "",
        join=_EDIT_PRODUCT[1] if with_product else "")
    for relaxed in (False, True) for with_product in (False, True)
}


def _cart_for_edit(principal, cart_id: str) -> Cart:
    """The cart, locked, for an edit. A cart edit is something the shopper can make again:
    its commit does not wait for the disk (orderflow.db.relax_commit, asked for in the
    locking read itself; docs/storefront.md), unless ORDERFLOW_DURABLE_CART_EDITS. Checkout
    and cart creation always wait."""
    return cart_get(principal=principal, public_id=cart_id, for_update=True,
                    relaxed=_edits_relaxed())


def _edits_relaxed() -> bool:
    """The cart edits' policy (see ``_cart_for_edit``)."""
    return not settings.ORDERFLOW_DURABLE_CART_EDITS


def _cart_for_line_edit(principal, cart_id: str, sku: str | None = None
                        ) -> tuple[Cart, Product | None]:
    """The cart, locked, with the edit about to be made already recorded as ``_touch``
    records it (version bumped so earlier pricing no longer counts, activity stamped, an
    abandoned cart active again), and the product of ``sku`` when one is given (checked as
    ``_product_by_sku`` checks it, after the cart): for a storefront on PostgreSQL one
    statement instead of a locking read, a later UPDATE (plus one for the status, when the
    cart was abandoned) and the product's read."""
    if connection.vendor != "postgresql" or not principal.is_storefront or principal.is_staff:
        cart = _cart_for_edit(principal, cart_id)
        _editable(cart)
        _touch(cart)
        return cart, _product_by_sku(sku) if sku is not None else None
    now = timezone.now()
    relaxed = _edits_relaxed()  # inside the edit's transaction, on PostgreSQL
    params = [now, now, cart_id, principal.channel_id]
    models = [Cart, ShippingMethod]
    if sku is not None:
        params.append(sku.strip())
        models.append(Product)
    found = fetch(_EDIT_SQLS[relaxed, sku is not None], params, *models)
    cart = cart_found(principal, cart_id, storefront_cart_visible(principal, found))
    _editable(cart)
    reactivated = _reactivate(cart)
    if reactivated:
        save_fields(cart, list(reactivated))
    return cart, _product_checked(found[0][2], sku) if sku is not None else None


def _touch(cart: Cart, *fields: str) -> None:
    """Save ``fields`` and bump the version, so earlier pricing no longer counts."""
    # The row is locked (``cart_get(for_update=True)``), so the in-memory version is current.
    cart.version += 1
    save_fields(cart, [*fields, *_reactivate(cart), "version", "last_activity_at",
                       "updated_at"])


@transaction.atomic
def cart_create(*, channel, customer=None, api_key=None, connection=None, email: str = "",
                metadata: dict | None = None, shipping_address: dict | None = None,
                billing_address: dict | None = None, shipping_method: str | None = None) -> Cart:
    """A new cart; the addresses and the shipping method (by code) may come with it, so a
    storefront that knows them needs no extra round trips before pricing."""
    country = (shipping_address or {}).get("country")
    method = _shipping_method(shipping_method, channel=channel, country=country) \
        if shipping_method else None
    (cart,) = create([Cart(
        channel=channel, customer=customer, api_key=api_key, connection=connection,
        email=(email or (customer.email if customer else "")).strip().lower(),
        currency=channel.currency, metadata=metadata or {},
        shipping_address=shipping_address or None,
        billing_address=(billing_address or shipping_address) or None,
        shipping_method=method,
    )])
    events.cart_created(cart)
    cart_lines_remember(cart, [])
    return cart


def _shipping_method(code: str, *, channel, country: str | None):
    method = shipping_method_get(code=code, channel=channel)
    if method is None or not method.ships_to(country):
        raise ValidationFailed(f"No shipping method '{code}' for this cart.",
                               code="shipping_method_unavailable",
                               errors={"code": ["Not available for this cart."]})
    return method


_PRODUCT_BY_SKU_SQL = (
    f"SELECT {columns(Product, 'p')} FROM {Product._meta.db_table} p {_PRODUCT_BY_SKU_WHERE}"
)


def _product_by_sku(sku: str) -> Product:
    # Product.objects.filter(sku__iexact=sku).first(), by hand: see orderflow.db.
    found = fetch(_PRODUCT_BY_SKU_SQL, [sku.strip()], Product)
    return _product_checked(found[0][0] if found else None, sku)


def _product_checked(product: Product | None, sku: str) -> Product:
    """The product of ``sku``, or the refusal a shopper sees for it."""
    if product is None:
        raise ValidationFailed(f"No product with sku {sku}.", code="unknown_sku",
                               errors={"sku": [f"Unknown sku {sku}."]})
    if not product.is_active:
        raise Conflict(f"{product.sku} is no longer sold.", code="product_inactive",
                       sku=product.sku)
    return product


def _check_quantity(quantity: int) -> None:
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise ValidationFailed(f"Quantity must be between 1 and {MAX_LINE_QUANTITY}.",
                               code="invalid_quantity",
                               errors={"quantity": ["Out of range."]})


@transaction.atomic
def cart_add_line(*, principal, cart_id: str, sku: str, quantity: int | None = None,
                  order_uom: str | None = None, order_quantity: int | None = None,
                  metadata: dict | None = None) -> Cart:
    """Add ``quantity`` base units, or ``order_quantity`` of ``order_uom``; the same sku
    again merges into its line."""
    cart, product = _cart_for_line_edit(principal, cart_id, sku)
    if order_uom:
        prefetch_related_objects([product], "units")
        base = quantity_to_base(product=product, uom=order_uom, quantity=order_quantity or 0)
    else:
        base = quantity or 0
    _check_quantity(base)
    # All lines, under the cart's lock: the merge check needs one, the answer all of them
    # (handed to the selector, so the response does not read them again after commit).
    lines = cart_lines(cart=cart)
    line = next((existing for existing in lines if existing.product_id == product.pk), None)
    if line is None:
        lines.extend(create([CartLine(
            cart=cart, product=product, quantity=base,
            order_uom=(order_uom or "").upper(), order_quantity=order_quantity if order_uom
            else None, metadata=metadata or {},
        )]))
    else:
        same_unit = order_uom and line.order_uom == order_uom.upper()
        line.quantity += base
        _check_quantity(line.quantity)
        if same_unit:
            line.order_quantity = (line.order_quantity or 0) + order_quantity
        else:  # mixed units settle in the base unit
            line.order_uom, line.order_quantity = "", None
        if metadata:
            line.metadata = {**line.metadata, **metadata}
        save_fields(line, ["quantity", "order_uom", "order_quantity", "metadata",
                           "updated_at"])
    cart_lines_remember(cart, lines)
    return cart


def _line(cart: Cart, line_id: str) -> CartLine:
    line = CartLine.objects.select_related("product").filter(cart=cart, public_id=line_id).first()
    if line is None:
        raise NotFound(f"No line {line_id} in this cart.")
    return line


@transaction.atomic
def cart_update_line(*, principal, cart_id: str, line_id: str, quantity: int | None = None,
                     order_quantity: int | None = None, metadata: dict | None = None) -> Cart:
    cart, _ = _cart_for_line_edit(principal, cart_id)
    line = _line(cart, line_id)
    fields = ["updated_at"]
    if order_quantity is not None:
        if not line.order_uom:
            raise ValidationFailed("This line is in base units: send quantity.",
                                   code="invalid_quantity",
                                   errors={"order_quantity": ["Line has no order unit."]})
        line.quantity = quantity_to_base(product=line.product, uom=line.order_uom,
                                         quantity=order_quantity)
        line.order_quantity = order_quantity
        fields += ["quantity", "order_quantity"]
    elif quantity is not None:
        line.quantity, line.order_uom, line.order_quantity = quantity, "", None
        fields += ["quantity", "order_uom", "order_quantity"]
    _check_quantity(line.quantity)
    if metadata is not None:
        line.metadata = metadata
        fields.append("metadata")
    save_fields(line, fields)
    return cart


@transaction.atomic
def cart_remove_line(*, principal, cart_id: str, line_id: str) -> Cart:
    cart, _ = _cart_for_line_edit(principal, cart_id)
    _line(cart, line_id).delete()
    return cart


@transaction.atomic
def cart_set_addresses(*, principal, cart_id: str, shipping_address: dict,
                       billing_address: dict | None = None, email: str | None = None) -> Cart:
    cart = _cart_for_edit(principal, cart_id)
    _editable(cart)
    cart.shipping_address = shipping_address
    cart.billing_address = billing_address or shipping_address
    fields = ["shipping_address", "billing_address"]
    if email:
        cart.email = email.strip().lower()
        fields.append("email")
    _touch(cart, *fields)
    return cart


@transaction.atomic
def cart_set_shipping_method(*, principal, cart_id: str, code: str) -> Cart:
    cart = _cart_for_edit(principal, cart_id)
    _editable(cart)
    cart.shipping_method = _shipping_method(
        code, channel=cart.channel, country=(cart.shipping_address or {}).get("country"))
    _touch(cart, "shipping_method")
    return cart


@transaction.atomic
def cart_price(*, principal, cart_id: str) -> Cart:
    """Re-price every line and the shipping server-side and stamp ``priced_at``."""
    cart = _cart_for_edit(principal, cart_id)
    _editable(cart)
    lines = cart_lines(cart=cart, for_pricing=True)
    priced = price_cart(cart=cart, lines=lines, company=cart_company(cart))
    for p in priced.lines:
        line = p.line
        line.unit_price, line.price_source = p.unit_price, p.source
        line.line_subtotal, line.tax_rate = p.subtotal, p.tax_rate
        line.tax_amount, line.line_total = p.tax_amount, p.total
    update_rows(CartLine, lines, ["unit_price", "price_source", "line_subtotal", "tax_rate",
                                  "tax_amount", "line_total"])
    cart.subtotal, cart.tax_total = priced.subtotal, priced.tax_total
    cart.shipping_total, cart.total = priced.shipping_total, priced.total
    cart.priced_at = timezone.now()
    cart.priced_version = cart.version
    save_fields(cart, ["subtotal", "tax_total", "shipping_total", "total", "priced_at",
                       "priced_version", "updated_at", "last_activity_at"])
    cart_lines_remember(cart, lines)
    return cart


@transaction.atomic
def cart_checkout(*, principal, cart_id: str, payment: dict, email: str = "", notes: str = "",
                  shipping_address: dict | None = None, billing_address: dict | None = None):
    """Turn a priced cart into an order: one transaction, the cart row locked.

    Refuses (nothing written, the cart unchanged) a converted, empty, unpriced or stale cart,
    inactive products, missing shipping or address, short stock, and terms over the credit
    limit.
    """
    from catalog.services import stock_reserve
    from orders.constants import PaymentKind
    from orders.selectors import company_outstanding
    from orders.services import order_place

    cart = cart_get(principal=principal, public_id=cart_id, for_update=True)
    if cart.status == CartStatus.CONVERTED:
        raise Conflict("This cart was already checked out.", code="cart_converted")
    if cart.status not in EDITABLE_STATUSES:
        raise Conflict(f"A cart that is {cart.status} cannot be checked out.",
                       code="cart_not_active")
    if shipping_address:
        # Addresses given at checkout count only if they do not change the priced totals
        # (checked below with everything else).
        cart.shipping_address = shipping_address
        cart.billing_address = billing_address or cart.billing_address or shipping_address

    lines = cart_lines(cart=cart, for_pricing=True)
    company = cart_company(cart)
    priced = price_cart(cart=cart, lines=lines, company=company)
    current = {(p.line.product.pk, p.line.quantity): p.unit_price for p in priced.lines}
    problems = [
        problem for problem in cart_problems(cart=cart, lines=lines, current_prices=current)
        # Stock is decided by the reservation below, atomically, not by this earlier read.
        if problem["code"] != CartProblem.INSUFFICIENT_STOCK
    ]
    if not problems and cart.is_priced and priced.total != cart.total:
        problems.append({"code": CartProblem.PRICE_CHANGED,
                         "detail": "Shipping or tax changed since pricing: POST …/price."})
    if not problems and not priced.shipping_available:
        problems.append({"code": CartProblem.SHIPPING_METHOD_UNAVAILABLE,
                         "detail": "The chosen shipping method cannot ship this cart."})
    if problems:
        first = problems[0]
        raise Conflict(first["detail"], code=first["code"], problems=problems)

    customer = principal.customer or cart.customer
    email = (email or (customer.email if customer else "") or cart.email).strip().lower()
    if not email:
        raise ValidationFailed("An email address is needed for the order.",
                               code="email_missing", errors={"email": ["Required."]})

    kind = payment["kind"]
    if kind == PaymentKind.TERMS:
        if company is None:
            raise Conflict("Credit terms are only available to company buyers.",
                           code="terms_not_available")
        outstanding = company_outstanding(company=company)
        if outstanding + priced.total > company.credit_limit:
            currency = company.currency
            raise Conflict(
                "This order would take the company over its credit limit.",
                code="over_credit_limit",
                credit_limit=format_amount(company.credit_limit, currency),
                outstanding=format_amount(outstanding, currency),
                order_total=format_amount(priced.total, currency),
                shortfall=format_amount(outstanding + priced.total - company.credit_limit,
                                        currency),
                currency=currency,
            )

    cart.status = CartStatus.CONVERTED
    cart.converted_at = timezone.now()
    if customer is not None and cart.customer_id is None:
        cart.customer = customer
    save_fields(cart, ["status", "converted_at", "customer", "shipping_address",
                       "billing_address", "updated_at", "last_activity_at"])
    order = order_place(cart=cart, priced=priced, customer=customer, company=company,
                        email=email, payment=payment, notes=notes, actor=principal.actor)
    # Last, after the cart's conversion and the order's rows: the products' rows, which every
    # checkout of a popular sku needs, stay locked only from this statement to COMMIT, so
    # those checkouts queue for that, not for the whole checkout. Short stock raises here,
    # and this transaction takes the order and the conversion back with everything else.
    stock_reserve(items=[(line.product, line.quantity) for line in lines])
    return order
