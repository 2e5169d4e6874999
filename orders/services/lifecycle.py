"""The order's way through its statuses after placement: confirm, cancel, ship, complete."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.services import stock_consume, stock_release
from orderflow.errors import Conflict, ValidationFailed
from orderflow.money import format_amount
from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    INVOICED_KINDS,
    CancelReason,
    FulfillmentStatus,
    InvoiceStatus,
    OrderAction,
    OrderStatus,
    PaymentRecordStatus,
    SupplierOrderStatus,
    TransactionKind,
)
from orders.lock_objects import (
    invoice_qs_select_for_update,
    order_line_qs_select_for_update,
    payment_qs_select_for_update,
    supplier_order_qs_select_for_update,
)
from orders.models import (
    Invoice,
    Order,
    OrderLine,
)
from orders.selectors import order_ids_awaiting_payment_since
from orders.services.common import (
    ZERO,
    check_transition,
    emit_order,
    lock_order,
    move_status,
    order_lines,
    order_payments,
)
from orders.services.invoices import (
    issue_invoice,
    move_invoice,
)
from orders.services.suppliers import (
    forward_to_suppliers,
)
from orders.services.transactions import (
    record_transaction,
)


def release_stock(order: Order) -> dict[str, int]:
    """Give back exactly what the order's lines still hold; returns {sku: units}."""
    lines = [line for line in order_lines(order) if line.quantity_reserved > 0]
    quantities: dict[int, int] = defaultdict(int)
    for line in lines:
        quantities[line.product_id] += line.quantity_reserved
    stock_release(quantities=dict(quantities))
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(quantity_reserved=0)
    return {line.sku: line.quantity_reserved for line in lines}


def void_and_owe(order: Order, actor: Actor) -> None:
    """A closed order keeps no money: open authorizations are voided and whatever was
    captured and not refunded becomes a refund owed."""
    for payment in payment_qs_select_for_update().filter(order=order):
        open_auth = payment.amount_authorized - payment.amount_captured - payment.amount_voided
        if open_auth > ZERO:
            record_transaction(order=order, payment=payment, kind=TransactionKind.VOID,
                                amount=open_auth, actor=actor,
                                message="Order closed: authorization released.")
        owed = payment.amount_captured - payment.amount_refunded
        fields = []
        if owed != payment.refund_owed:
            payment.refund_owed = owed
            fields.append("refund_owed")
        if payment.amount_due:
            payment.amount_due = ZERO
            fields.append("amount_due")
        if payment.status == PaymentRecordStatus.PENDING:
            payment.status = PaymentRecordStatus.VOIDED
            fields.append("status")
        if fields:
            payment.save(update_fields=[*fields, "updated_at"])


def close_dependants(order: Order, actor: Actor, now: datetime) -> None:
    for so in (supplier_order_qs_select_for_update().select_related("supplier")
               .filter(order=order).exclude(status=SupplierOrderStatus.CANCELED)):
        so.status, so.canceled_at = SupplierOrderStatus.CANCELED, now
        so.save(update_fields=["status", "canceled_at", "updated_at"])
        so.order = order
        events.supplier_order_emit("supplier_order.canceled", so)
    for invoice in invoice_qs_select_for_update().filter(order=order,
                                                              status=InvoiceStatus.ISSUED):
        invoice.order = order
        move_invoice(invoice, InvoiceStatus.VOID, actor, now)


@transaction.atomic
def order_confirm(*, order: Order, actor: Actor, note: str = "") -> Order:
    """Confirm an order waiting for payment (staff saw the money arrive another way)."""
    order = lock_order(order)
    target = check_transition(order, OrderAction.CONFIRM)
    now = timezone.now()
    old = order.status
    order.save(update_fields=move_status(order, target, now))
    supplier_orders = forward_to_suppliers(order)
    events.order_status_event(order=order, actor=actor, type=events.ORDER_CONFIRMED,
                              old_status=old, message=note or "Order confirmed.",
                              supplier_orders=supplier_orders, note=note)
    emit_order("order.confirmed", order)
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor: Actor, reason: str = CancelReason.STAFF,
                 note: str = "") -> Order:
    """Cancel an open order: reserved stock goes back exactly, open authorizations are
    voided, captured money becomes a refund owed, supplier orders and open invoices end."""
    order = lock_order(order)
    return cancel(order, actor=actor, reason=reason, note=note)


def cancel(order: Order, *, actor: Actor, reason: str, note: str) -> Order:
    target = check_transition(order, OrderAction.CANCEL)
    now = timezone.now()
    old = order.status
    order.cancel_reason = reason
    released = release_stock(order)
    void_and_owe(order, actor)
    close_dependants(order, actor, now)
    order.save(update_fields=[*move_status(order, target, now), "cancel_reason", "payment_status"])
    owed = sum((p.refund_owed for p in order_payments(order)), ZERO)
    message = f"Canceled ({reason})" + (f": {note}" if note else ".")
    if owed:
        message += f" Refund owed: {format_amount(owed, order.currency)} {order.currency}."
    events.order_status_event(order=order, actor=actor, type=events.ORDER_CANCELED,
                              old_status=old, message=message, reason=reason, note=note,
                              released=released,
                              refund_owed=format_amount(owed, order.currency))
    emit_order("order.canceled", order)
    return order


@transaction.atomic
def order_cancel_unpaid(*, order_id: int, cutoff: datetime) -> bool:
    """Cancel one order still unpaid since before ``cutoff`` (reason ``payment_timeout``).

    Checks again under the lock: a capture that landed meanwhile wins, and a second run
    finds nothing to do.
    """
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return False
    order = lock_order(order)
    if order.status != OrderStatus.PENDING_PAYMENT or order.placed_at >= cutoff:
        return False
    cancel(order, actor=Actor.system("payment timeout"), reason=CancelReason.PAYMENT_TIMEOUT,
            note="No payment captured in time.")
    return True


def orders_cancel_unpaid(*, now: datetime | None = None) -> int:
    """Cancel every order waiting for payment longer than ``ORDERFLOW_PAYMENT_TIMEOUT``;
    each in its own transaction. Returns how many were canceled."""
    cutoff = (now or timezone.now()) - settings.ORDERFLOW_PAYMENT_TIMEOUT
    return sum(order_cancel_unpaid(order_id=pk, cutoff=cutoff)
               for pk in order_ids_awaiting_payment_since(cutoff=cutoff))


def complete(order: Order, *, actor: Actor, now: datetime, automatic: bool) -> None:
    target = check_transition(order, OrderAction.COMPLETE)
    if order.fulfillment_status != FulfillmentStatus.FULFILLED:
        raise Conflict("Only a fully shipped order can be completed.",
                       code="order_not_fulfilled",
                       fulfillment_status=order.fulfillment_status)
    old = order.status
    order.save(update_fields=move_status(order, target, now))
    events.order_status_event(
        order=order, actor=actor, type=events.ORDER_COMPLETED, old_status=old,
        message="Every line shipped: order completed." if automatic else "Order completed.")
    emit_order("order.completed", order)


@transaction.atomic
def order_complete(*, order: Order, actor: Actor) -> Order:
    """Complete a confirmed, fully shipped order (shipping the last units does it too)."""
    order = lock_order(order)
    complete(order, actor=actor, now=timezone.now(), automatic=False)
    return order


def order_lines_ship(*, order: Order, quantities: dict[str, int], actor: Actor,
                     shipment: str = "") -> Order:
    """Record shipped base units per order line (``{line public id: units}``).

    The internal roll-up step of ``fulfillment.services.shipment_ship`` — the one path by
    which units ship — run inside its transaction (``shipment``: its number, named on the
    timeline): shipped units leave the shelf and the order's reservation, the fulfillment
    status follows, a terms or COD order fully shipped gets its invoice, and a fully shipped
    order completes.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_lines_ship runs inside shipment_ship's transaction")
    order = lock_order(order)
    if order.status != OrderStatus.CONFIRMED:
        raise Conflict(f"A {order.status} order cannot ship.", code="order_not_shippable",
                       status_value=order.status)
    lines = {line.public_id: line for line in
             order_line_qs_select_for_update().filter(order=order)}
    errors = {}
    for line_id, qty in quantities.items():
        line = lines.get(line_id)
        if line is None:
            errors[line_id] = ["No such line on this order."]
        elif qty < 1 or qty > line.quantity_unshipped:
            errors[line_id] = [f"Ship between 1 and {line.quantity_unshipped}."]
    if errors or not quantities:
        raise ValidationFailed("Some quantities cannot ship.", code="invalid_quantity",
                               errors=errors or {"quantities": ["Nothing to ship."]})
    consume: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    changed = []
    for line_id, qty in quantities.items():
        line = lines[line_id]
        from_reserved = min(qty, line.quantity_reserved)
        line.quantity_shipped += qty
        line.quantity_reserved -= from_reserved
        consume[line.product_id][0] += qty
        consume[line.product_id][1] += from_reserved
        changed.append(line)
    OrderLine.objects.bulk_update(changed, ["quantity_shipped", "quantity_reserved"])
    stock_consume({pk: (q[0], q[1]) for pk, q in consume.items()})
    old = order.fulfillment_status
    order.fulfillment_status = fulfillment_of(list(lines.values()))
    order.save(update_fields=["fulfillment_status", "updated_at"])
    events.order_lines_shipped_event(order=order, actor=actor, shipped=dict(quantities),
                                     old_fulfillment=old, shipment=shipment)
    emit_order("order.fulfillment_updated", order)
    if order.fulfillment_status == FulfillmentStatus.FULFILLED:
        finish_fulfilled(order, actor=actor)
    return order


def fulfillment_of(lines: list[OrderLine]) -> str:
    if lines and all(line.quantity_shipped == line.quantity for line in lines):
        return FulfillmentStatus.FULFILLED
    if any(line.quantity_shipped for line in lines):
        return FulfillmentStatus.PARTIALLY_FULFILLED
    return FulfillmentStatus.UNFULFILLED


def finish_fulfilled(order: Order, *, actor: Actor) -> None:
    """A fully shipped order: terms and COD get their invoice, then the order completes."""
    now = timezone.now()
    kinds = {p.kind for p in order_payments(order)}
    if kinds & INVOICED_KINDS and not Invoice.objects.filter(
            order=order).exclude(status=InvoiceStatus.VOID).exists():
        issue_invoice(order, actor=actor, now=now)
    complete(order, actor=actor, now=now, automatic=True)
