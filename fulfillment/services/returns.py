"""Returns (RMA): requested by the buyer or staff on shipped units, authorized (the RMA
number and instructions go to the buyer) or rejected, received (per line: quantity,
condition, restock — restock adds to on hand through the catalog), refunded (a refund
transaction on the order's payments, through the orders payment service; for terms/COD
orders with nothing collected yet, a credit against the invoice), closed.

Receiving and refunding are separate steps: staff check the goods before money moves.
Each use case is one transaction that locks the order first, then the return; each writes
the return's timeline, the order's timeline and the ``return.*`` outbox event.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.services import product_adjust_stock
from fulfillment import events
from fulfillment.constants import (
    OPEN_RETURN_STATUSES,
    RETURN_TIMESTAMPS,
    RETURN_TRANSITIONS,
    ItemCondition,
    RefundMethod,
    ReturnReason,
    ReturnStatus,
)
from fulfillment.lock_objects import return_line_qs_select_for_update, return_qs_select_for_update
from fulfillment.models import Return, ReturnLine
from fulfillment.services.common import lock_order, lock_order_lines, move, sums_by_line
from fulfillment.services.notifications import return_authorized_notify
from orderflow.errors import Conflict, InvalidTransition, ValidationFailed
from orderflow.money import format_amount, quantize
from orderflow.timeline import Actor
from orders import events as order_events
from orders.constants import INVOICED_KINDS, FulfillmentStatus, InvoiceStatus, OrderStatus
from orders.models import Invoice, Order, OrderLine, Payment
from orders.services import payment_refund

ZERO = Decimal("0")
RETURNABLE_ORDER_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.COMPLETED})


def quantities_returnable(order: Order, lines: dict[str, OrderLine]) -> dict[str, int]:
    """``{line public id: shipped units no return holds}``: open returns hold what they ask
    for, received ones what arrived, rejected ones nothing."""
    base = ReturnLine.objects.filter(order_line__order_id=order.pk)
    open_ = sums_by_line(base.filter(return_request__status__in=OPEN_RETURN_STATUSES))
    settled = sums_by_line(base.exclude(return_request__status__in=OPEN_RETURN_STATUSES)
                           .exclude(return_request__status=ReturnStatus.REJECTED),
                           "quantity_received")
    return {public_id: line.quantity_shipped - open_.get(line.pk, 0) - settled.get(line.pk, 0)
            for public_id, line in lines.items()}


def _order_step(r: Return, *, actor: Actor, type: str, message: str, **extra) -> None:
    """The step on the return's timeline and, in the same words, on the order's."""
    old = extra.pop("old_status", None)
    events.return_event(return_request=r, actor=actor, type=type, message=message,
                        old_status=old, **extra)
    order_events.order_fulfillment_event(
        order=r.order, actor=actor, type=type, message=message,
        parameters={"return_id": r.public_id, "rma_number": r.rma_number, "status": r.status,
                    **extra})


@transaction.atomic
def return_request(*, order: Order, actor: Actor, lines: list[dict], comment: str = ""
                   ) -> Return:
    """Open a return of shipped units. ``lines``: ``[{"line_id", "quantity", "reason",
    "reason_text"?}]``. Refused with 409 ``over_return`` when a line would return more than
    shipped minus what other returns hold."""
    order = lock_order(order)
    if order.status not in RETURNABLE_ORDER_STATUSES \
            or order.fulfillment_status == FulfillmentStatus.UNFULFILLED:
        raise Conflict("Only an order with shipped units takes returns.",
                       code="order_not_returnable", status_value=order.status,
                       fulfillment_status=order.fulfillment_status)
    order_lines = lock_order_lines(order)
    errors, wanted = {}, {}
    for item in lines:
        line_id, qty = item.get("line_id"), item.get("quantity")
        if line_id not in order_lines:
            errors[str(line_id)] = ["No such line on this order."]
        elif line_id in wanted:
            errors[line_id] = ["Name each line once."]
        elif not isinstance(qty, int) or qty < 1:
            errors[line_id] = ["Return at least 1 unit."]
        elif item.get("reason") not in ReturnReason.values:
            errors[line_id] = [f"reason: one of {', '.join(ReturnReason.values)}."]
        else:
            wanted[line_id] = item
    if errors or not wanted:
        raise ValidationFailed("Some lines cannot be returned.", code="invalid_return",
                               errors=errors or {"lines": ["Name at least one line."]})
    left = quantities_returnable(order, order_lines)
    for line_id, item in wanted.items():
        if item["quantity"] > left[line_id]:
            line = order_lines[line_id]
            raise Conflict(
                f"Line {line.sku} ({line_id}): {item['quantity']} asked, only "
                f"{max(left[line_id], 0)} shipped unit(s) can still be returned.",
                code="over_return", line_id=line_id, sku=line.sku,
                requested=item["quantity"], shipped=line.quantity_shipped,
                left=max(left[line_id], 0))
    r = Return.objects.create(order=order, comment=comment, currency=order.currency,
                              actor_label=actor.display[:200])
    r.order = order
    rows = ReturnLine.objects.bulk_create([
        ReturnLine(return_request=r, order_line=order_lines[line_id], quantity=item["quantity"],
                   reason=item["reason"], reason_text=(item.get("reason_text") or "")[:500])
        for line_id, item in wanted.items()])
    units = sum(item["quantity"] for item in wanted.values())
    _order_step(r, actor=actor, type=events.RETURN_REQUESTED,
                message=f"Return requested: {units} unit(s) on {len(rows)} "
                        "line(s)" + (f" — {comment}" if comment else "") + ".",
                lines={line_id: item["quantity"] for line_id, item in wanted.items()})
    events.return_emit("return.requested", r, rows)
    return r


def _lock(r: Return) -> Return:
    order = lock_order(r.order)
    locked = return_qs_select_for_update().get(pk=r.pk)
    locked.order = order
    return locked


def _move(r: Return, target: str) -> list[str]:
    return move(r, transitions=RETURN_TRANSITIONS, timestamps=RETURN_TIMESTAMPS, target=target,
                entity="return", now=timezone.now())


@transaction.atomic
def return_authorize(*, return_request: Return, actor: Actor, instructions: str = "") -> Return:
    """Accept the request: the RMA number (``RMA-000123``) and the instructions are e-mailed
    to the buyer after commit."""
    r = _lock(return_request)
    old = r.status
    fields = _move(r, ReturnStatus.AUTHORIZED)
    r.instructions = instructions
    r.save(update_fields=[*fields, "instructions"])
    _order_step(r, actor=actor, type=events.RETURN_AUTHORIZED, old_status=old,
                message=f"Return authorized as {r.rma_number}.")
    events.return_emit("return.authorized", r)
    transaction.on_commit(lambda: return_authorized_notify(r.pk))
    return r


@transaction.atomic
def return_reject(*, return_request: Return, actor: Actor, reason: str) -> Return:
    """Refuse the request; its units may be asked for again."""
    if not reason.strip():
        raise ValidationFailed("Say why the return is rejected.", code="reason_required",
                               errors={"reason": ["This field is required."]})
    r = _lock(return_request)
    old = r.status
    fields = _move(r, ReturnStatus.REJECTED)
    r.reject_reason = reason.strip()
    r.save(update_fields=[*fields, "reject_reason"])
    _order_step(r, actor=actor, type=events.RETURN_REJECTED, old_status=old,
                message=f"Return request rejected: {r.reject_reason}",
                reason=r.reject_reason)
    events.return_emit("return.rejected", r)
    return r


@transaction.atomic
def return_receive(*, return_request: Return, actor: Actor, lines: dict[str, dict]) -> Return:
    """The parcel arrived. ``lines``: ``{order line id: {"quantity", "condition",
    "restock"}}`` for what arrived (lines not named: nothing). Restocked units go back on
    hand (``catalog.services.product_adjust_stock``)."""
    r = _lock(return_request)
    old = r.status
    fields = _move(r, ReturnStatus.RECEIVED)
    rows = {row.order_line.public_id: row for row in
            return_line_qs_select_for_update().select_related("order_line__product")
            .filter(return_request=r)}
    errors = {}
    for line_id, item in lines.items():
        row = rows.get(line_id)
        qty = item.get("quantity")
        if row is None:
            errors[line_id] = ["This line is not in the return."]
        elif not isinstance(qty, int) or qty < 0 or qty > row.quantity:
            errors[line_id] = [f"Receive between 0 and {row.quantity if row else 0}."]
        elif item.get("condition", ItemCondition.NEW) not in ItemCondition.values:
            errors[line_id] = [f"condition: one of {', '.join(ItemCondition.values)}."]
    if errors or not any(item.get("quantity") for item in lines.values()):
        raise ValidationFailed("Some received quantities are wrong.", code="invalid_receipt",
                               errors=errors or {"lines": ["Receive at least one unit."]})
    restocked = {}
    for line_id, item in lines.items():
        row = rows[line_id]
        row.quantity_received = item["quantity"]
        row.condition = item.get("condition") or ItemCondition.NEW
        row.restock = bool(item.get("restock")) and row.quantity_received > 0
    ReturnLine.objects.bulk_update(rows.values(), ["quantity_received", "condition", "restock"])
    r.save(update_fields=fields)
    for row in rows.values():
        product = row.order_line.product
        if row.restock and product.track_inventory:
            product_adjust_stock(product=product, delta=row.quantity_received,
                                 reason=f"Return {r.rma_number or r.public_id}", actor=actor)
            restocked[row.order_line.sku] = row.quantity_received
    received = {line_id: row.quantity_received for line_id, row in rows.items()}
    _order_step(r, actor=actor, type=events.RETURN_RECEIVED, old_status=old,
                message=f"Return {r.rma_number} received: {sum(received.values())} unit(s)"
                        + (f", restocked {', '.join(f'{q} × {s}' for s, q in restocked.items())}"
                           if restocked else ", nothing restocked") + ".",
                received=received, restocked=restocked)
    events.return_emit("return.received", r, list(rows.values()))
    return r


def refund_due(r: Return) -> Decimal:
    """What the received units cost the buyer: each line's total (tax included) per unit,
    times the units received, rounded per line."""
    total = ZERO
    for row in r.lines.select_related("order_line"):
        if row.quantity_received:
            line = row.order_line
            total += quantize(line.line_total * row.quantity_received / line.quantity,
                              r.currency)
    return total


def _invoice_credit_room(order: Order, payments: list[Payment]) -> tuple[Invoice | None, Decimal]:
    """A terms/COD order with nothing collected: its live invoice and what is still uncredited
    on it (credits recorded by earlier returns of this order)."""
    if not any(p.kind in INVOICED_KINDS for p in payments):
        return None, ZERO
    invoice = (Invoice.objects.filter(order=order, status=InvoiceStatus.ISSUED)
               .order_by("id").first())
    if invoice is None:
        return None, ZERO
    credited = sum((x.refund_amount for x in Return.objects.filter(
        order=order, refund_method=RefundMethod.INVOICE_CREDIT)), ZERO)
    return invoice, max(invoice.amount - credited, ZERO)


@transaction.atomic
def return_refund(*, return_request: Return, actor: Actor, amount: Decimal | None = None,
                  reference: str = "") -> Return:
    """Give the money back: by default what the received units cost. On the order's
    payments as refund transactions (``orders.services.payment_refund``), never more than
    captured minus already refunded (409 ``refund_exceeds_captured``). A terms or COD order
    that has paid nothing yet gets a credit against its open invoice instead, recorded on
    the return and the order's timeline."""
    r = _lock(return_request)
    order = r.order
    old = r.status
    if not r.can_move_to(ReturnStatus.REFUNDED):
        raise InvalidTransition(entity="return", from_status=r.status,
                                to_status=ReturnStatus.REFUNDED)
    amount = quantize(amount, r.currency) if amount is not None else refund_due(r)
    if amount <= ZERO:
        raise ValidationFailed("The refund must be positive.", code="invalid_amount",
                               errors={"amount": ["Must be greater than zero."]})
    payments = list(Payment.objects.filter(order=order).order_by("id"))
    refundable = sum((p.amount_captured - p.amount_refunded for p in payments), ZERO)
    money = lambda value: format_amount(value, r.currency)  # noqa: E731
    if refundable > ZERO or not any(p.kind in INVOICED_KINDS for p in payments):
        if amount > refundable:
            raise Conflict(
                f"At most {money(refundable)} {r.currency} can be refunded on this order "
                "(captured minus already refunded).", code="refund_exceeds_captured",
                refundable=money(refundable), requested=money(amount))
        method, rest = RefundMethod.PAYMENT, amount
        for p in payments:
            share = min(rest, p.amount_captured - p.amount_refunded)
            if share > ZERO:
                payment_refund(order=order, payment=p, actor=actor, amount=share,
                               reference=reference,
                               message=f"Return {r.rma_number or r.public_id}.")
                rest -= share
        detail = f"refunded {money(amount)} {r.currency} on the payment"
    else:
        invoice, room = _invoice_credit_room(order, payments)
        if invoice is None or amount > room:
            raise Conflict(
                f"At most {money(room)} {r.currency} can be credited: nothing was collected "
                "on this order and its open invoice covers no more.",
                code="refund_exceeds_captured", refundable=money(room),
                requested=money(amount))
        method = RefundMethod.INVOICE_CREDIT
        detail = (f"credited {money(amount)} {r.currency} against invoice {invoice.number} "
                  f"(collect {money(room - amount)} {r.currency} of it)")
    fields = _move(r, ReturnStatus.REFUNDED)
    r.refund_method, r.refund_amount = method, amount
    r.save(update_fields=[*fields, "refund_method", "refund_amount"])
    _order_step(r, actor=actor, type=events.RETURN_REFUNDED, old_status=old,
                message=f"Return {r.rma_number}: {detail}.", amount=money(amount),
                method=method, reference=reference or None)
    events.return_emit("return.refunded", r)
    return r


@transaction.atomic
def return_close(*, return_request: Return, actor: Actor, note: str = "") -> Return:
    """End the return: after the refund, or without one (an exchange handled outside, or
    goods never sent back)."""
    r = _lock(return_request)
    old = r.status
    fields = _move(r, ReturnStatus.CLOSED)
    r.save(update_fields=fields)
    _order_step(r, actor=actor, type=events.RETURN_CLOSED, old_status=old,
                message=f"Return {r.rma_number or r.public_id} closed"
                        + (f": {note}" if note else "") + ".", note=note or None)
    events.return_emit("return.closed", r)
    return r
