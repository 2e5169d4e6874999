"""Cart use cases. Each is one transaction on a locked cart; prices are always computed here,
never taken from the client."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from carts import events
from carts.constants import EDITABLE_STATUSES, CartProblem, CartStatus
from carts.models import Cart, CartLine
from carts.selectors import (
    CART_RELATED,
    cart_company,
    cart_get,
    cart_lines,
    cart_problems,
    price_cart,
)
from catalog.selectors import product_for_sale, quantity_to_base
from catalog.services import stock_reserve
from customers.constants import PaymentTerms
from customers.selectors import customer_default_addresses
from fulfillment.selectors import shipping_method_get
from orderflow.errors import Conflict, NotFound, ValidationFailed
from orderflow.money import format_amount
from orderflow.transactions import relaxed_commit
from orders.constants import MAX_LINE_QUANTITY, PaymentKind
from orders.credit import credit_check
from orders.services import order_place


def cart_edit(service):
    """The transaction of a cart edit. A cart edit is something the shopper can make again,
    so by default its commit does not wait for the disk (``relaxed_commit``; see
    docs/storefront.md, "What a 2xx promises"); ``ORDERFLOW_DURABLE_CART_EDITS=true`` makes
    it wait like checkout and cart creation always do."""
    @wraps(service)
    def edit(*args, **kwargs):
        if settings.ORDERFLOW_DURABLE_CART_EDITS:
            with transaction.atomic():
                return service(*args, **kwargs)
        with relaxed_commit():
            return service(*args, **kwargs)
    return edit


def _editable(cart: Cart) -> None:
    if cart.status == CartStatus.CONVERTED:
        raise Conflict("This cart was already checked out.", code="cart_converted")
    if cart.status not in EDITABLE_STATUSES:
        raise Conflict(f"A cart that is {cart.status} cannot change.", code="cart_not_active")


def _cart_for_edit(principal, cart_id: str) -> Cart:
    """The cart, locked until the edit's transaction ends, after checking it may change."""
    cart = cart_get(principal=principal, public_id=cart_id, for_update=True)
    _editable(cart)
    return cart


def _touch(cart: Cart, *fields: str) -> None:
    """Save ``fields`` and record the edit: the version goes up, so earlier pricing no longer
    counts; the activity is stamped; an abandoned cart that comes back is active again."""
    # The row is locked (``_cart_for_edit``), so the in-memory version is current.
    cart.version += 1
    changed = [*fields, "version", "last_activity_at", "updated_at"]
    came_back = cart.status == CartStatus.ABANDONED
    if came_back:  # on their own, not through a reminder's link (``cart_recover``)
        cart.status, cart.recovered_at = CartStatus.ACTIVE, timezone.now()
        changed += ["status", "recovered_at"]
    cart.save(update_fields=changed)
    if came_back:
        events.cart_recovered(cart)


@transaction.atomic
def cart_create(*, channel, customer=None, api_key=None, connection=None, email: str = "",
                metadata: dict | None = None, shipping_address: dict | None = None,
                billing_address: dict | None = None, shipping_method: str | None = None) -> Cart:
    """A new cart; the addresses and the shipping method (by code) may come with it, so a
    storefront that knows them needs no extra round trips before pricing."""
    country = (shipping_address or {}).get("country")
    method = _shipping_method(shipping_method, channel=channel, country=country) \
        if shipping_method else None
    cart = Cart.objects.create(
        channel=channel, customer=customer, api_key=api_key, connection=connection,
        email=(email or (customer.email if customer else "")).strip().lower(),
        currency=channel.currency, metadata=metadata or {},
        shipping_address=shipping_address or None,
        billing_address=(billing_address or shipping_address) or None,
        shipping_method=method,
    )
    events.cart_created(cart)
    return cart


def _shipping_method(code: str, *, channel, country: str | None):
    method = shipping_method_get(code=code, channel=channel)
    if method is None or not method.ships_to(country):
        raise ValidationFailed(f"No shipping method '{code}' for this cart.",
                               code="shipping_method_unavailable",
                               errors={"code": ["Not available for this cart."]})
    return method


def _check_quantity(quantity: int) -> None:
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise ValidationFailed(f"Quantity must be between 1 and {MAX_LINE_QUANTITY}.",
                               code="invalid_quantity",
                               errors={"quantity": ["Out of range."]})


@cart_edit
def cart_add_line(*, principal, cart_id: str, sku: str, quantity: int | None = None,
                  order_uom: str | None = None, order_quantity: int | None = None,
                  metadata: dict | None = None, reprice: bool = False) -> Cart:
    """Add ``quantity`` base units, or ``order_quantity`` of ``order_uom``; the same sku
    again merges into its line. ``reprice``: price the cart in the same transaction (the
    bridge answers every line edit with the cart priced)."""
    cart = _cart_for_edit(principal, cart_id)
    product = product_for_sale(sku=sku)
    if order_uom:
        prefetch_related_objects([product], "units")
        base = quantity_to_base(product=product, uom=order_uom, quantity=order_quantity or 0)
    else:
        base = quantity or 0
    _check_quantity(base)
    line = CartLine.objects.filter(cart=cart, product=product).first()
    if line is None:
        CartLine.objects.create(
            cart=cart, product=product, quantity=base,
            order_uom=(order_uom or "").upper(), order_quantity=order_quantity if order_uom
            else None, metadata=metadata or {},
        )
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
        line.save(update_fields=["quantity", "order_uom", "order_quantity", "metadata",
                                 "updated_at"])
    _touch(cart)
    if reprice:
        _price(cart, customer=_buyer(principal, cart))
    return cart


def _line(cart: Cart, line_id: str) -> CartLine:
    line = CartLine.objects.select_related("product").filter(cart=cart, public_id=line_id).first()
    if line is None:
        raise NotFound(f"No line {line_id} in this cart.")
    return line


@cart_edit
def cart_update_line(*, principal, cart_id: str, line_id: str, quantity: int | None = None,
                     order_quantity: int | None = None, metadata: dict | None = None,
                     reprice: bool = False) -> Cart:
    cart = _cart_for_edit(principal, cart_id)
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
    line.save(update_fields=fields)
    _touch(cart)
    if reprice:
        _price(cart, customer=_buyer(principal, cart))
    return cart


@cart_edit
def cart_remove_line(*, principal, cart_id: str, line_id: str, reprice: bool = False) -> Cart:
    cart = _cart_for_edit(principal, cart_id)
    _line(cart, line_id).delete()
    _touch(cart)
    if reprice:
        _price(cart, customer=_buyer(principal, cart))
    return cart


@cart_edit
def cart_set_addresses(*, principal, cart_id: str, shipping_address: dict,
                       billing_address: dict | None = None, email: str | None = None) -> Cart:
    cart = _cart_for_edit(principal, cart_id)
    cart.shipping_address = shipping_address
    cart.billing_address = billing_address or shipping_address
    _forget_defaults(cart, "shipping_address", "billing_address")
    fields = ["shipping_address", "billing_address", "defaults"]
    if email:
        cart.email = email.strip().lower()
        fields.append("email")
    _touch(cart, *fields)
    return cart


@cart_edit
def cart_set_shipping_method(*, principal, cart_id: str, code: str,
                             reprice: bool = False) -> Cart:
    cart = _cart_for_edit(principal, cart_id)
    cart.shipping_method = _shipping_method(
        code, channel=cart.channel, country=(cart.shipping_address or {}).get("country"))
    _forget_defaults(cart, "shipping_method")
    _touch(cart, "shipping_method", "defaults")
    if reprice:
        _price(cart, customer=_buyer(principal, cart))
    return cart


# --- defaults: what a cart takes when the client did not choose ------------------------------

def _buyer(principal, cart: Cart):
    """Who buys: the signed-in shopper, else the cart's customer (checkout's rule)."""
    return principal.customer or cart.customer


def _forget_defaults(cart: Cart, *names: str) -> None:
    """The client chose these itself: they are no longer defaults."""
    if any(name in cart.defaults for name in names):
        cart.defaults = {k: v for k, v in cart.defaults.items() if k not in names}


def _take_defaults(cart: Cart, *, customer) -> list[str]:
    """Fill what the cart lacks, in memory: the signed-in customer's default addresses (their
    own, else their company's) and the channel's default shipping method when it can ship
    there. Each default taken is noted in ``cart.defaults``. Returns the fields to save."""
    taken = {}
    if not cart.shipping_address and customer is not None:
        shipping, billing = customer_default_addresses(customer=customer)
        if shipping is not None:
            cart.shipping_address = shipping.postal
            taken["shipping_address"] = _address_default("shipping", shipping, customer)
        if cart.shipping_address and not cart.billing_address:
            if billing is not None:
                cart.billing_address = billing.postal
                taken["billing_address"] = _address_default("billing", billing, customer)
            else:
                cart.billing_address = cart.shipping_address
                taken["billing_address"] = {
                    "value": None, "source": "shipping_address",
                    "detail": "billing address defaulted to the shipping address"}
    method = cart.channel.default_shipping_method
    country = (cart.shipping_address or {}).get("country")
    if cart.shipping_method_id is None and method is not None and method.is_active \
            and method.ships_to(country):
        cart.shipping_method = method
        taken["shipping_method"] = {
            "value": method.code, "source": "channel",
            "detail": f"shipping method defaulted to {method.code} ({method.name}) from "
                      f"channel {cart.channel.code}"}
    if not taken:
        return []
    cart.defaults = {**cart.defaults, **taken}
    return [*taken, "defaults"]


def _address_default(kind: str, address, customer) -> dict:
    own = address.customer_id == customer.pk
    book = "the customer's address book" if own else \
        f"company {customer.company.code}'s address book"
    name = address.label or address.line1
    return {"value": address.public_id, "source": "customer" if own else "company",
            "detail": f"{kind} address defaulted to {name} from {book}"}


def _payment_default(*, cart: Cart, customer, company) -> dict:
    """The payment a checkout without one takes: ``terms`` for a company on credit terms,
    else ``cod`` for a signed-in customer where the channel allows it. A guest, or a channel
    without COD, must send one (400 naming ``payment``)."""
    if company is not None and company.payment_terms != PaymentTerms.COD:
        return {"value": PaymentKind.TERMS, "source": "company_terms",
                "detail": f"payment kind defaulted to terms from company terms "
                          f"{company.payment_terms}"}
    if customer is not None and cart.channel.cod_allowed:
        return {"value": PaymentKind.COD, "source": "channel",
                "detail": f"payment kind defaulted to cod: not on credit terms, and channel "
                          f"{cart.channel.code} allows cash on delivery"}
    reason = "a guest checkout" if customer is None else \
        f"channel {cart.channel.code} does not offer cash on delivery"
    raise ValidationFailed(f"Send a payment: none is taken by default for {reason}.",
                           errors={"payment": ["This field is required."]})


# --- pricing ----------------------------------------------------------------------------------

def _stamp(cart: Cart, lines: list[CartLine], priced) -> list[str]:
    """Store ``priced`` on the lines (saved here) and the cart (in memory): the cart's fields
    to save."""
    for p in priced.lines:
        line = p.line
        line.unit_price, line.price_source = p.unit_price, p.source
        line.line_subtotal, line.tax_rate = p.subtotal, p.tax_rate
        line.tax_amount, line.line_total = p.tax_amount, p.total
    CartLine.objects.bulk_update(lines, ["unit_price", "price_source", "line_subtotal",
                                         "tax_rate", "tax_amount", "line_total", "updated_at"])
    cart.subtotal, cart.tax_total = priced.subtotal, priced.tax_total
    cart.shipping_total, cart.total = priced.shipping_total, priced.total
    cart.priced_at = timezone.now()
    cart.priced_version = cart.version
    return ["subtotal", "tax_total", "shipping_total", "total", "priced_at", "priced_version"]


def _price(cart: Cart, *, customer) -> None:
    """Take the defaults, re-price every line and the shipping, stamp ``priced_at``, save."""
    fields = _take_defaults(cart, customer=customer)
    lines = cart_lines(cart=cart, for_pricing=True)
    priced = price_cart(cart=cart, lines=lines, company=cart_company(cart))
    fields += _stamp(cart, lines, priced)
    cart.save(update_fields=[*fields, "updated_at", "last_activity_at"])


@cart_edit
def cart_price(*, principal, cart_id: str) -> Cart:
    """Re-price every line and the shipping server-side and stamp ``priced_at``; a cart
    without a shipping method or addresses takes the defaults first (``_take_defaults``)."""
    cart = _cart_for_edit(principal, cart_id)
    _price(cart, customer=_buyer(principal, cart))
    return cart


@transaction.atomic
def cart_checkout(*, principal, cart_id: str, payment: dict | None = None, email: str = "",
                  notes: str = "", shipping_address: dict | None = None,
                  billing_address: dict | None = None, contact: dict | None = None,
                  price_unpriced: bool = False):
    """Turn a priced cart into an order: one transaction, the cart row locked.

    What the cart lacks is taken from the defaults (``_take_defaults``), and without
    ``payment`` the buyer's payment default (``_payment_default``); each one taken is kept in
    ``cart.defaults`` and written on the order's timeline. ``price_unpriced`` (the bridge,
    whose guide has no pricing step): a cart changed since its last pricing is priced here;
    a priced cart whose prices moved is still refused (``price_changed``). ``contact``: the
    buyer's name and phone as a guest checkout gave them, for the timeline.

    Refuses (nothing written, the cart unchanged) a converted, empty, unpriced or stale cart,
    inactive products, missing shipping or address, short stock, and terms over the credit
    limit.
    """
    cart = cart_get(principal=principal, public_id=cart_id, for_update=True)
    if cart.status == CartStatus.CONVERTED:
        raise Conflict("This cart was already checked out.", code="cart_converted")
    if cart.status not in EDITABLE_STATUSES:
        raise Conflict(f"A cart that is {cart.status} cannot be checked out.",
                       code="cart_not_active")
    customer = _buyer(principal, cart)
    company = cart_company(cart)
    if payment is None:
        payment_default = _payment_default(cart=cart, customer=customer, company=company)
        payment = {"kind": payment_default["value"]}
        cart.defaults = {**cart.defaults, "payment": payment_default}
    if shipping_address:
        # Addresses given at checkout count only if they do not change the priced totals
        # (checked below with everything else).
        cart.shipping_address = shipping_address
        cart.billing_address = billing_address or cart.billing_address or shipping_address
        _forget_defaults(cart, "shipping_address", *(["billing_address"] if billing_address
                                                     else []))
    _take_defaults(cart, customer=customer)

    lines = cart_lines(cart=cart, for_pricing=True)
    priced = price_cart(cart=cart, lines=lines, company=company)
    price_fields = _stamp(cart, lines, priced) \
        if price_unpriced and lines and not cart.is_priced else []
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

    email = (email or (customer.email if customer else "") or cart.email).strip().lower()
    if not email:
        raise ValidationFailed("An email address is needed for the order.",
                               code="email_missing", errors={"email": ["Required."]})

    if payment["kind"] == PaymentKind.COD and not cart.channel.cod_allowed:
        raise Conflict(f"Channel {cart.channel.code} does not offer cash on delivery.",
                       code="payment_kind_not_available")
    if payment["kind"] == PaymentKind.TERMS:
        credit_check(company=company, order_total=priced.total)

    came_back = cart.status == CartStatus.ABANDONED  # checked out straight from abandoned
    if came_back:
        cart.recovered_at = timezone.now()
    cart.status = CartStatus.CONVERTED
    cart.converted_at = timezone.now()
    if customer is not None and cart.customer_id is None:
        cart.customer = customer
    cart.save(update_fields=["status", "converted_at", "customer", "shipping_address",
                             "billing_address", "shipping_method", "defaults", *price_fields,
                             "recovered_at", "updated_at", "last_activity_at"])
    if came_back:
        events.cart_recovered(cart)
    order = order_place(cart=cart, priced=priced, customer=customer, company=company,
                        email=email, payment=payment, notes=notes, actor=principal.actor,
                        defaults=cart.defaults, contact=contact)
    # Last, after the cart's conversion and the order's rows: the products' rows, which every
    # checkout of a popular sku needs, stay locked only from this statement to COMMIT, so
    # those checkouts queue for that, not for the whole checkout. Short stock raises here,
    # and this transaction takes the order and the conversion back with everything else.
    stock_reserve(items=[(line.product, line.quantity) for line in lines])
    return order


# --- abandoned-cart recovery (the sequence itself is recovery/) ------------------------------

@cart_edit
def cart_set_email(*, principal, cart_id: str, email: str,
                   marketing_consent: bool | None = None) -> Cart:
    """The shopper's e-mail address (and whether they agreed to marketing e-mail): what
    makes an idle cart count as abandoned, and where its reminders go."""
    cart = _cart_for_edit(principal, cart_id)
    cart.email = email.strip().lower()
    fields = ["email"]
    if marketing_consent is not None:
        cart.marketing_consent = marketing_consent
        fields.append("marketing_consent")
    _touch(cart, *fields)
    return cart


def _locked(cart_pk: int) -> Cart | None:
    return Cart.objects.select_for_update(of=("self",)).select_related(
        *CART_RELATED, "customer__company__price_list").filter(pk=cart_pk).first()


@transaction.atomic
def cart_status_move(*, cart_pk: int, to: str, idle_before=None) -> Cart | None:
    """Move a cart ``active → abandoned`` or ``active | abandoned → expired`` (beat, staff),
    one transaction on the locked row with its outbox event (``cart.abandoned``,
    ``cart.expired``). ``idle_before``: move it only if it is still idle since before then
    (a shopper may have touched it since the scan read it). Returns the cart, or ``None``
    when it no longer qualifies (nothing written)."""
    allowed = {CartStatus.ABANDONED: {CartStatus.ACTIVE},
               CartStatus.EXPIRED: {CartStatus.ACTIVE, CartStatus.ABANDONED}}
    if to not in allowed:
        raise ValueError(f"cart_status_move cannot move a cart to {to}")
    cart = _locked(cart_pk)
    if cart is None or cart.status not in allowed[to]:
        return None
    if idle_before is not None and cart.last_activity_at >= idle_before:
        return None
    now = timezone.now()
    cart.status = to
    if to == CartStatus.ABANDONED:
        if not cart.email or not CartLine.objects.filter(cart=cart).exists():
            return None
        cart.abandoned_at, cart.recovered_at, cart.recovered_step = now, None, None
        cart.save(update_fields=["status", "abandoned_at", "recovered_at", "recovered_step",
                                 "updated_at"])
        events.cart_abandoned(cart)
    else:
        cart.expired_at = now
        cart.save(update_fields=["status", "expired_at", "updated_at"])
        events.cart_expired(cart)
    return cart


@transaction.atomic
def cart_recover(*, cart_pk: int, step: int | None) -> tuple[Cart, list[dict]]:
    """A reminder's link was followed: an abandoned cart is ``active`` again, recovered
    through ``step`` (``cart.recovered``); the cart is re-priced (prices may have moved since
    the shopper left) and what now stands between it and checkout is returned. A cart that is
    already active is only re-priced. Converted or expired: ``Conflict``."""
    cart = _locked(cart_pk)
    if cart is None:
        raise NotFound("No such cart.")
    if cart.status == CartStatus.CONVERTED:
        raise Conflict("This cart was already checked out.", code="cart_converted")
    if cart.status not in EDITABLE_STATUSES:
        raise Conflict(f"A cart that is {cart.status} cannot come back.",
                       code="cart_not_active")
    recovered = cart.status == CartStatus.ABANDONED
    if recovered:
        cart.status, cart.recovered_at, cart.recovered_step = \
            CartStatus.ACTIVE, timezone.now(), step
        cart.save(update_fields=["status", "recovered_at", "recovered_step", "updated_at"])
    lines = cart_lines(cart=cart, for_pricing=True)
    before = {line.pk: line.unit_price for line in lines}
    if lines:
        _price(cart, customer=cart.customer)
    if recovered:
        events.cart_recovered(cart)
    moved = [
        {"code": CartProblem.PRICE_CHANGED, "sku": line.product.sku, "line_id": line.public_id,
         "priced": format_amount(before[line.pk], cart.currency),
         "current": format_amount(line.unit_price, cart.currency),
         "detail": f"The price of {line.product.sku} changed since the cart was left; "
                   f"the cart is priced at today's price."}
        for line in lines
        if before[line.pk] is not None and before[line.pk] != line.unit_price
    ]
    return cart, moved + cart_problems(cart=cart, lines=lines)
