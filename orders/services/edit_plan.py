"""What an edit of a placed order would do, computed without writing anything.

An edit is staged (validated and priced, nothing on the order changes), then applied in one
transaction or discarded. Pricing is checkout's: untouched lines keep what the buyer agreed
to; a line whose quantity changes keeps its agreed unit price; an added line is priced as
checkout would price it now (contract tiers, then list price). Tax follows the destination:
a new shipping country re-resolves the rate of every line. Shipping is re-quoted when what
it depends on changes (lines, method or destination)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import Product
from catalog.selectors import product_for_sale, quantity_to_base
from fulfillment.selectors import RATES_PREFETCH, shipping_method_get
from orderflow.errors import Conflict, ValidationFailed
from orderflow.money import format_amount
from orders.constants import (
    MAX_LINE_QUANTITY,
    FulfillmentStatus,
    InvoiceStatus,
    PaymentKind,
    PaymentRecordStatus,
)
from orders.credit import credit_position
from orders.models import (
    Invoice,
    Order,
    OrderLine,
    Payment,
)
from orders.pricing import LineToPrice, line_amounts, line_tax_rate, price_lines, shipping_price
from orders.services.common import (
    ZERO,
    order_payments,
)

EDIT_LINE_FIELDS = ["quantity", "order_uom", "order_quantity", "unit_price", "price_source",
                    "line_subtotal", "tax_rate", "tax_amount", "line_total",
                    "quantity_reserved"]


class QuantityBelowShipped(Conflict):
    code = "quantity_below_shipped"
    title = "Cannot go below what shipped"


@dataclass
class PlannedLine:
    line: OrderLine | None  # the existing row; None for an added line
    product: object
    change: str  # unchanged | changed | added | removed
    quantity: int
    order_uom: str = ""
    order_quantity: int | None = None
    unit_price: Decimal = ZERO
    price_source: str = ""
    tax_rate: Decimal = ZERO
    subtotal: Decimal = ZERO
    tax_amount: Decimal = ZERO
    total: Decimal = ZERO
    reserved: int = 0
    metadata: dict = field(default_factory=dict)

    @property
    def shipped(self) -> int:
        return self.line.quantity_shipped if self.line is not None else 0

    @property
    def before(self) -> int:
        return self.line.quantity if self.line is not None else 0


@dataclass
class EditPlan:
    order: Order
    lines: list[PlannedLine]
    shipping_address: dict | None
    billing_address: dict | None
    shipping_method: object | None
    shipping_method_changed: bool
    subtotal: Decimal
    tax_total: Decimal
    shipping_total: Decimal
    total: Decimal
    reserve: dict[int, int]  # product pk → units to reserve
    release: dict[int, int]  # product pk → units to give back
    payments: list[Payment]
    paid: Decimal
    problems: list[dict]


def _edit_product(sku: str):
    return product_for_sale(sku=sku, queryset=Product.objects.select_related(
        "tax_class", "supplier").prefetch_related("units", "tax_class__rates"))


def _edit_quantity(quantity, where: str) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not (
            1 <= quantity <= MAX_LINE_QUANTITY):
        raise ValidationFailed(f"Quantity must be between 1 and {MAX_LINE_QUANTITY}.",
                               code="invalid_quantity", errors={where: ["Out of range."]})
    return quantity


def _refuse_below_shipped(line: OrderLine, quantity: int) -> None:
    if quantity < line.quantity_shipped:
        raise QuantityBelowShipped(
            f"{line.sku}: {line.quantity_shipped} already shipped; the line cannot go below "
            "that.", line_id=line.public_id, sku=line.sku,
            quantity_shipped=line.quantity_shipped, requested=quantity)


def check_editable(order: Order) -> None:
    if not order.is_editable:
        what = ("fully shipped" if order.fulfillment_status == FulfillmentStatus.FULFILLED
                else order.status)
        raise Conflict(f"A {what} order cannot be edited; only confirmed orders that are not "
                       "fully shipped can.", code="order_not_editable",
                       status_value=order.status, fulfillment_status=order.fulfillment_status)


def edit_plan(order: Order, changes: dict) -> EditPlan:
    """Everything applying ``changes`` would do, computed from the current rows; writes
    nothing. Raises on changes that can never be made (unknown line, below shipped …)."""
    currency = order.currency
    rows = list(OrderLine.objects.filter(order=order).select_related("product__tax_class")
                .prefetch_related("product__units", "product__tax_class__rates")
                .order_by("id"))
    by_id = {line.public_id: line for line in rows}
    errors: dict[str, list[str]] = {}

    removed: set[str] = set()
    for i, line_id in enumerate(changes.get("remove_lines") or []):
        line = by_id.get(line_id)
        if line is None:
            errors[f"remove_lines[{i}]"] = [f"No line {line_id} on this order."]
            continue
        _refuse_below_shipped(line, 0)
        removed.add(line_id)

    updates: dict[str, tuple[int, str, int | None]] = {}
    for i, change in enumerate(changes.get("update_lines") or []):
        where = f"update_lines[{i}]"
        line = by_id.get(change.get("id"))
        if line is None:
            errors[where] = [f"No line {change.get('id')} on this order."]
            continue
        if line.public_id in removed or line.public_id in updates:
            errors[where] = ["A line can be changed once per edit."]
            continue
        if change.get("order_quantity") is not None:
            if not line.order_uom:
                errors[where] = ["This line is in base units: send quantity."]
                continue
            order_quantity = _edit_quantity(change["order_quantity"], where)
            quantity = quantity_to_base(product=line.product, uom=line.order_uom,
                                        quantity=order_quantity)
            unit = (line.order_uom, order_quantity)
        else:
            quantity = change.get("quantity")
            unit = ("", None)
        quantity = _edit_quantity(quantity, where)
        _refuse_below_shipped(line, quantity)
        if (quantity, unit[0], unit[1]) != (line.quantity, line.order_uom, line.order_quantity):
            updates[line.public_id] = (quantity, *unit)

    added: list[tuple[object, int, str, int | None, dict]] = []
    kept_products = {line.product_id for line in rows if line.public_id not in removed}
    for i, change in enumerate(changes.get("add_lines") or []):
        where = f"add_lines[{i}]"
        product = _edit_product(change.get("sku", ""))
        if product.pk in kept_products:
            errors[where] = [f"{product.sku} is already on the order: change that line's "
                             "quantity instead."]
            continue
        kept_products.add(product.pk)
        if change.get("order_uom"):
            order_quantity = _edit_quantity(change.get("order_quantity"), where)
            quantity = quantity_to_base(product=product, uom=change["order_uom"],
                                        quantity=order_quantity)
            unit = (change["order_uom"].upper(), order_quantity)
        else:
            quantity = change.get("quantity")
            unit = ("", None)
        added.append((product, _edit_quantity(quantity, where), *unit,
                       change.get("metadata") or {}))
    if errors:
        raise ValidationFailed("Some changes cannot be made.", code="invalid_edit",
                               errors=errors)

    shipping_address = changes.get("shipping_address", order.shipping_address)
    billing_address = changes.get("billing_address", order.billing_address)
    old_country = ((order.shipping_address or {}).get("country") or "").upper()
    country = ((shipping_address or {}).get("country") or "").upper()
    country_changed = country != old_country

    method_changed = "shipping_method" in changes
    if method_changed:
        method = shipping_method_get(code=changes["shipping_method"], channel=order.channel)
    else:
        method = order.shipping_method
    if method is not None:
        method = type(method).objects.prefetch_related(RATES_PREFETCH).get(pk=method.pk)
    if (method_changed or country_changed) and method is not None and not method.ships_to(
            country):
        method = None
    if method_changed and method is None:
        raise ValidationFailed(
            f"No shipping method '{changes['shipping_method']}' for this order.",
            code="shipping_method_unavailable",
            errors={"shipping_method": ["Not available for this order."]})
    if country_changed and method is None and order.shipping_method_id is not None:
        raise ValidationFailed("The order's shipping method does not ship to "
                               f"{country}; choose another one.",
                               code="shipping_method_unavailable",
                               errors={"shipping_address": ["Not served by the method."]})

    planned: list[PlannedLine] = []
    for line in rows:
        if line.public_id in removed:
            planned.append(PlannedLine(line=line, product=line.product, change="removed",
                                        quantity=0, reserved=0))
            continue
        quantity, uom, order_quantity = updates.get(
            line.public_id, (line.quantity, line.order_uom, line.order_quantity))
        changed = line.public_id in updates
        tax_rate = line.tax_rate
        if country_changed:
            tax_rate = line_tax_rate(product=line.product, country=country)
        if changed or tax_rate != line.tax_rate:
            subtotal, tax, total = line_amounts(unit_price=line.unit_price, quantity=quantity,
                                                tax_rate=tax_rate, currency=currency)
        else:
            subtotal, tax, total = line.line_subtotal, line.tax_amount, line.line_total
        reserved = line.quantity_reserved
        if changed:
            reserved = quantity - line.quantity_shipped if line.product.track_inventory else 0
        planned.append(PlannedLine(
            line=line, product=line.product,
            change="changed" if changed or tax_rate != line.tax_rate else "unchanged",
            quantity=quantity, order_uom=uom, order_quantity=order_quantity,
            unit_price=line.unit_price, price_source=line.price_source, tax_rate=tax_rate,
            subtotal=subtotal, tax_amount=tax, total=total, reserved=reserved,
            metadata=line.metadata))
    new_lines = price_lines(
        items=[LineToPrice(product=product, quantity=quantity, order_uom=uom,
                           order_quantity=order_quantity, metadata=metadata)
               for product, quantity, uom, order_quantity, metadata in added],
        company=order.company, country=country, currency=currency)
    for p in new_lines.lines:
        planned.append(PlannedLine(
            line=None, product=p.product, change="added", quantity=p.quantity,
            order_uom=p.order_uom, order_quantity=p.order_quantity, unit_price=p.unit_price,
            price_source=p.source, tax_rate=p.tax_rate, subtotal=p.subtotal,
            tax_amount=p.tax_amount, total=p.total,
            reserved=p.quantity if p.product.track_inventory else 0, metadata=p.metadata))

    live = [p for p in planned if p.change != "removed"]
    if not live:
        raise ValidationFailed("An order keeps at least one line; cancel it instead.",
                               code="order_needs_lines",
                               errors={"remove_lines": ["Would remove every line."]})
    subtotal = sum((p.subtotal for p in live), ZERO)
    tax_total = sum((p.tax_amount for p in live), ZERO)
    lines_changed = any(p.change in ("changed", "added", "removed") for p in planned)
    shipping_total = order.shipping_total
    if method is not None and (lines_changed or method_changed or country_changed):
        weight = sum((p.product.weight_grams * p.quantity for p in live), 0)
        shipping_total = shipping_price(method=method, subtotal=subtotal, weight_grams=weight,
                                        currency=currency)
        if shipping_total is None:
            raise Conflict("The shipping method cannot ship the edited order.",
                           code="shipping_method_unavailable")
    total = subtotal + tax_total + shipping_total

    delta: dict[int, int] = defaultdict(int)
    products = {}
    for p in planned:
        current = p.line.quantity_reserved if p.line is not None else 0
        delta[p.product.pk] += p.reserved - current
        products[p.product.pk] = p.product
    reserve = {pk: d for pk, d in delta.items() if d > 0}
    release = {pk: -d for pk, d in delta.items() if d < 0}

    payments = order_payments(order)
    paid = sum((p.amount_net for p in payments), ZERO)

    problems = []
    if total != order.total and Invoice.objects.filter(order=order).exclude(
            status=InvoiceStatus.VOID).exists():
        raise Conflict("This order is invoiced: void the invoice before changing its total.",
                       code="order_invoiced")
    if reserve:
        stock = {pk: (on_hand, held) for pk, on_hand, held in Product.objects.filter(
            pk__in=reserve).values_list("pk", "stock_on_hand", "stock_reserved")}
        for pk, units in reserve.items():
            free = max(stock[pk][0] - stock[pk][1], 0)
            if free < units:
                problems.append({"code": "insufficient_stock", "sku": products[pk].sku,
                                 "requested": units, "available": free})
    if (total > order.total and order.company_id is not None
            and any(p.kind == PaymentKind.TERMS for p in payments)):
        credit = credit_position(company=order.company, order_total=total,
                                 replacing=order.total)
        if credit.shortfall > ZERO:
            problems.append(credit.as_problem())
    return EditPlan(
        order=order, lines=planned, shipping_address=shipping_address,
        billing_address=billing_address, shipping_method=method,
        shipping_method_changed=method_changed and method.pk != order.shipping_method_id,
        subtotal=subtotal, tax_total=tax_total, shipping_total=shipping_total, total=total,
        reserve=reserve, release=release, payments=payments, paid=paid, problems=problems)


def edit_money(plan: EditPlan) -> dict[str, Decimal]:
    """Paid so far (captured − refunded) against the new total: what is left to collect or
    to give back, and how much of the collection no payment's ``amount`` covers yet."""
    to_collect = max(plan.total - plan.paid, ZERO)
    to_refund = max(plan.paid - plan.total, ZERO)
    uncaptured = sum((max(p.amount - p.amount_captured, ZERO) for p in plan.payments
                      if p.status not in (PaymentRecordStatus.VOIDED,
                                          PaymentRecordStatus.REFUNDED)), ZERO)
    return {"to_collect": to_collect, "to_refund": to_refund,
            "amount_due": max(to_collect - uncaptured, ZERO)}


def edit_preview(plan: EditPlan) -> dict:
    order = plan.order

    def money(amount):
        return format_amount(amount, order.currency)

    money_moves = edit_money(plan)
    skus = {p.product.pk: p.product.sku for p in plan.lines}
    preview = {
        "lines": [
            {"id": p.line.public_id if p.line is not None else None, "sku": p.product.sku,
             "name": p.product.name, "change": p.change, "quantity": p.quantity,
             "quantity_before": p.before, "quantity_shipped": p.shipped,
             "order_uom": p.order_uom or None, "order_quantity": p.order_quantity,
             "unit_price": money(p.unit_price), "price_source": p.price_source,
             "tax_rate": str(p.tax_rate), "line_subtotal": money(p.subtotal),
             "tax_amount": money(p.tax_amount), "line_total": money(p.total)}
            for p in plan.lines
        ],
        "totals": {
            "before": {"subtotal": money(order.subtotal), "tax_total": money(order.tax_total),
                       "shipping_total": money(order.shipping_total),
                       "total": money(order.total)},
            "after": {"subtotal": money(plan.subtotal), "tax_total": money(plan.tax_total),
                      "shipping_total": money(plan.shipping_total),
                      "total": money(plan.total)},
        },
        "stock": sorted(
            [{"sku": skus[pk], "reserve": units} for pk, units in plan.reserve.items()]
            + [{"sku": skus[pk], "release": units} for pk, units in plan.release.items()],
            key=lambda row: row["sku"]),
        "balance": {
            "currency": order.currency,
            "paid": money(plan.paid),
            "total_before": money(order.total),
            "total_after": money(plan.total),
            "difference": money(plan.total - order.total),
            "to_collect": money(money_moves["to_collect"]),
            "to_refund": money(money_moves["to_refund"]),
            "amount_due": money(money_moves["amount_due"]),
        },
        "shipping_method": {"old": order.shipping_method_name or None,
                            "new": (plan.shipping_method.name if plan.shipping_method
                                    else order.shipping_method_name) or None},
        "shipping_address": {"old": order.shipping_address, "new": plan.shipping_address},
        "billing_address": {"old": order.billing_address, "new": plan.billing_address},
        "problems": plan.problems,
    }
    for key in ("shipping_method", "shipping_address", "billing_address"):
        if preview[key]["old"] == preview[key]["new"]:
            preview[key] = None
    return preview


def comparable(preview: dict) -> dict:
    """What must be identical between staging and applying (problems are re-decided)."""
    return {k: v for k, v in preview.items() if k != "problems"}


def edit_changes(changes: dict) -> dict:
    """Only the keys an edit knows, without empty ones."""
    known = ("add_lines", "update_lines", "remove_lines", "shipping_address",
             "billing_address", "shipping_method")
    cleaned = {k: changes[k] for k in known if k in changes and changes[k] not in (None, [])}
    if not cleaned:
        raise ValidationFailed("An edit needs at least one change.", code="empty_edit",
                               errors={"changes": ["Nothing to change."]})
    return cleaned
