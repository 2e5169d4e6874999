"""Asking for and building quotes: the buyer's request, staff's quote and its versions.

Prices go through ``orders.pricing.price_lines`` (the one pricing module) with the quoted unit
price fixed; the list price beside it is the buyer's price without the quote
(``catalog.selectors.unit_prices_resolve``: contract price, else list price).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.selectors import product_for_sale, product_queryset, unit_prices_resolve
from customers.selectors import customer_default_addresses
from orderflow.errors import ValidationFailed
from orderflow.models import Channel
from orderflow.money import quantize, to_decimal, zero
from orderflow.timeline import Actor
from orders.pricing import LineToPrice, price_lines
from quotes import events
from quotes.constants import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    QuoteAction,
    QuoteRequestStatus,
    QuoteStatus,
)
from quotes.lock_objects import quote_request_qs_select_for_update
from quotes.models import Quote, QuoteLine, QuoteRequest, QuoteRequestLine, QuoteVersion
from quotes.policy import discount_percent
from quotes.services import notifications
from quotes.services.common import check_transition, lock_quote, move_status

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class LineInput:
    """A quote line as staff give it: a price, or a discount off the list price, or neither
    (the list price)."""

    sku: str
    quantity: int
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    unit_cost: Decimal | None = None
    notes: str = ""


def _line_errors(index: int, message: str, field: str = "quantity") -> ValidationFailed:
    return ValidationFailed(f"Line {index + 1}: {message}", code="invalid_line",
                            errors={f"lines[{index}].{field}": [message]})


def _check_lines(lines) -> None:
    if not lines:
        raise ValidationFailed("A quote needs at least one line.", code="lines_required",
                               errors={"lines": ["At least one line."]})
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"At most {MAX_LINES} lines.", code="too_many_lines",
                               errors={"lines": [f"At most {MAX_LINES}."]})
    for index, line in enumerate(lines):
        if not 1 <= int(line.quantity) <= MAX_LINE_QUANTITY:
            raise _line_errors(index, f"quantity must be 1 to {MAX_LINE_QUANTITY}.")


def _products(skus: list[str]) -> dict[str, object]:
    """Products by the sku given, each as pricing needs it (tax rates prefetched)."""
    queryset = product_queryset()
    return {sku: product_for_sale(sku=sku, queryset=queryset) for sku in dict.fromkeys(skus)}


def _company_channel(channel: Channel | None) -> Channel:
    if channel is not None:
        return channel
    found = (Channel.objects.filter(code=settings.ORDERFLOW_QUOTES_CHANNEL, is_active=True)
             .first() or Channel.objects.filter(is_active=True).order_by("id").first())
    if found is None:
        raise ValidationFailed("No active channel to quote in.", code="channel_required")
    return found


def _ship_to(company, customer) -> dict | None:
    if customer is not None:
        shipping, _ = customer_default_addresses(customer=customer)
        if shipping is not None:
            return shipping.postal
    address = company.addresses.filter(is_default_shipping=True).order_by("id").first() \
        or company.addresses.order_by("id").first()
    return address.postal if address else None


# --- requests --------------------------------------------------------------------------------

@transaction.atomic
def quote_request_create(*, channel, company, lines: list[dict], actor: Actor, customer=None,
                         api_key=None, cart=None, notes: str = "",
                         requested_delivery_date: date | None = None,
                         created_by=None) -> QuoteRequest:
    """A buyer's request for a quote (``lines``: ``{sku, quantity, target_unit_price?,
    notes?}``); from a cart, its lines are copied (later cart changes do not touch it).
    Staff are e-mailed; ``quote.requested`` goes out."""
    if company is None:
        raise ValidationFailed("Quotes are for company buyers: the shopper token must name a "
                               "customer of a company.", code="company_required")
    if cart is not None:
        lines = [{"sku": line.product.sku, "quantity": line.quantity}
                 for line in cart.lines.select_related("product").order_by("id")]
    _check_lines([LineInput(sku=line["sku"], quantity=line["quantity"]) for line in lines])
    if requested_delivery_date is not None and requested_delivery_date < timezone.localdate():
        raise ValidationFailed("The requested delivery date is in the past.",
                               code="invalid_date",
                               errors={"requested_delivery_date": ["In the past."]})
    products = _products([line["sku"] for line in lines])
    request = QuoteRequest.objects.create(
        channel=channel, company=company, customer=customer, api_key=api_key, cart=cart,
        notes=notes, requested_delivery_date=requested_delivery_date, created_by=created_by,
        metadata={"source": actor.source})
    QuoteRequestLine.objects.bulk_create([
        QuoteRequestLine(request=request, product=products[line["sku"]],
                         sku=products[line["sku"]].sku, name=products[line["sku"]].name,
                         quantity=int(line["quantity"]),
                         target_unit_price=line.get("target_unit_price"),
                         notes=line.get("notes") or "")
        for line in lines])
    events.quote_requested_emit(request)
    notifications.quote_requested_mail(request)
    return request


# --- versions ----------------------------------------------------------------------------------

def _write_version(*, quote: Quote, version: QuoteVersion, lines: list[LineInput]) -> None:
    """Price ``lines`` into ``version`` (its lines replaced, its totals set)."""
    _check_lines(lines)
    products = _products([line.sku for line in lines])
    currency = quote.currency
    listed = unit_prices_resolve(items=[(products[line.sku], int(line.quantity))
                                        for line in lines], company=quote.company)
    items, extra = [], []
    for index, line in enumerate(lines):
        product, quantity = products[line.sku], int(line.quantity)
        list_price = quantize(listed[(product.pk, quantity)].amount, currency)
        if line.unit_price is not None:
            unit_price = quantize(to_decimal(line.unit_price), currency)
        elif line.discount_percent is not None:
            off = to_decimal(line.discount_percent)
            if not 0 <= off <= 100:
                raise _line_errors(index, "discount_percent must be 0 to 100.",
                                   "discount_percent")
            unit_price = quantize(list_price * (HUNDRED - off) / HUNDRED, currency)
        else:
            unit_price = list_price
        if unit_price < 0:
            raise _line_errors(index, "unit_price cannot be negative.", "unit_price")
        items.append(LineToPrice(product=product, quantity=quantity, unit_price=unit_price,
                                 source="quote"))
        cost = line.unit_cost
        if cost is None and product.metadata.get("unit_cost") is not None:
            cost = product.metadata["unit_cost"]
        extra.append((list_price, None if cost is None else quantize(to_decimal(cost),
                                                                     currency), line.notes))
    country = ((quote.shipping_address or {}).get("country") or "").upper()
    priced = price_lines(items=items, company=quote.company, country=country,
                         currency=currency)
    QuoteLine.objects.filter(version=version).delete()
    QuoteLine.objects.bulk_create([
        QuoteLine(version=version, product=p.product, sku=p.product.sku, name=p.product.name,
                  quantity=p.quantity, list_price=list_price, unit_price=p.unit_price,
                  discount_percent=discount_percent(list_price=list_price,
                                                    unit_price=p.unit_price),
                  unit_cost=cost, tax_rate=p.tax_rate, line_subtotal=p.subtotal,
                  tax_amount=p.tax_amount, line_total=p.total, notes=notes[:500])
        for p, (list_price, cost, notes) in zip(priced.lines, extra, strict=True)])
    version.subtotal = priced.subtotal
    version.tax_total = priced.tax_total
    version.shipping_total = quantize(version.shipping_total or zero(currency), currency)
    version.total = priced.subtotal + priced.tax_total + version.shipping_total
    version.save(update_fields=["subtotal", "tax_total", "shipping_total", "total"])


def _valid_until(value: date | None) -> date:
    today = timezone.localdate()
    if value is None:
        return today + timedelta(days=settings.ORDERFLOW_QUOTE_VALIDITY_DAYS)
    if value < today:
        raise ValidationFailed("valid_until is in the past.", code="invalid_date",
                               errors={"valid_until": ["In the past."]})
    return value


def _shipping(value) -> Decimal:
    amount = to_decimal(value if value is not None else 0)
    if amount < 0:
        raise ValidationFailed("shipping_total cannot be negative.", code="validation_error",
                               errors={"shipping_total": ["Not negative."]})
    return amount


@transaction.atomic
def quote_create(*, actor: Actor, author=None, request: QuoteRequest | None = None,
                 company=None, customer=None, channel=None, lines: list[LineInput] | None = None,
                 valid_until: date | None = None, terms: str = "", notes: str = "",
                 shipping_total=None) -> Quote:
    """A draft quote (version 1), from a request (its lines, unless ``lines`` are given) or
    from scratch (``company`` + ``lines``). The request is marked ``quoted``."""
    if request is not None:
        request = quote_request_qs_select_for_update().select_related(
            "company", "customer", "channel").get(pk=request.pk)
        if request.status == QuoteRequestStatus.CLOSED:
            raise ValidationFailed(f"Request {request.number} is closed.",
                                   code="request_closed")
        company, customer = request.company, request.customer
        channel = request.channel
        if lines is None:
            lines = [LineInput(sku=line.sku, quantity=line.quantity, notes=line.notes)
                     for line in request.lines.order_by("id")]
    if company is None:
        raise ValidationFailed("A quote needs a company (or a request).",
                               code="company_required", errors={"company": ["Required."]})
    if customer is not None and customer.company_id != company.pk:
        raise ValidationFailed("The contact must belong to the company.",
                               code="validation_error", errors={"customer": ["Not of it."]})
    channel = _company_channel(channel)
    quote = Quote.objects.create(
        channel=channel, company=company, customer=customer, request=request,
        status=QuoteStatus.DRAFT, currency=channel.currency, author=author,
        shipping_address=_ship_to(company, customer))
    version = QuoteVersion.objects.create(
        quote=quote, number=1, currency=quote.currency, valid_until=_valid_until(valid_until),
        terms=terms or settings.ORDERFLOW_QUOTE_DEFAULT_TERMS, notes=notes,
        shipping_total=_shipping(shipping_total), created_by=author)
    _write_version(quote=quote, version=version, lines=list(lines or []))
    quote.current = version
    quote.save(update_fields=["current", "updated_at"])
    if request is not None and request.status == QuoteRequestStatus.OPEN:
        request.status = QuoteRequestStatus.QUOTED
        request.save(update_fields=["status", "updated_at"])
    events.quote_created_event(quote=quote, version=version, actor=actor)
    events.quote_emit("quote.created", quote)
    return quote


UNSET = object()


@transaction.atomic
def quote_revise(*, quote: Quote, actor: Actor, lines: list[LineInput] | None = None,
                 valid_until=UNSET, terms: str | None = None, notes: str | None = None,
                 shipping_total=None, user=None) -> Quote:
    """Edit a quote. A draft version that was never submitted nor sent is edited in place;
    otherwise (pending, approved, sent, changes requested) the next version is created from
    it with the changes, and the quote goes back to ``draft`` (its earlier approvals stay
    with the earlier version)."""
    quote = lock_quote(quote)
    target = check_transition(quote, QuoteAction.REVISE)
    old = quote.current
    old_lines = list(old.lines.order_by("id"))
    old_total = old.total
    if old.is_frozen:
        version = QuoteVersion.objects.create(
            quote=quote, number=old.number + 1, currency=old.currency,
            valid_until=old.valid_until, terms=old.terms, notes=old.notes,
            shipping_total=old.shipping_total, created_by=user)
        if lines is None:
            lines = [LineInput(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price,
                               unit_cost=line.unit_cost, notes=line.notes)
                     for line in old_lines]
    else:
        version = old
    if valid_until is not UNSET:
        version.valid_until = _valid_until(valid_until)
    if terms is not None:
        version.terms = terms
    if notes is not None:
        version.notes = notes
    if shipping_total is not None:
        version.shipping_total = _shipping(shipping_total)
    version.save(update_fields=["valid_until", "terms", "notes", "shipping_total"])
    if lines is None:
        lines = [LineInput(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price,
                           unit_cost=line.unit_cost, notes=line.notes) for line in old_lines]
    _write_version(quote=quote, version=version, lines=lines)
    old_status = quote.status
    quote.current = version
    quote.awaiting_level = None
    fields = ["current", "awaiting_level", "updated_at"]
    if quote.status != target:
        fields += move_status(quote, target, timezone.now())
    quote.save(update_fields=list(dict.fromkeys(fields)))
    events.quote_revised_event(quote=quote, old_number=old.number, old_total=old_total,
                               new=version, actor=actor, old_status=old_status)
    events.quote_emit("quote.revised", quote)
    return quote
