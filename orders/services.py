"""Order use cases: one transaction each, on a locked order row.

Every status change looks its action up in ``constants.ORDER_TRANSITIONS`` first; a refused
change raises before anything is written. Each writes its timeline entry (``events.*_event``)
and outbox events in the same transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from catalog.services import stock_consume, stock_release
from orderflow.db import batched_creates, create
from orderflow.errors import Conflict, DomainError, InvalidTransition, ValidationFailed
from orderflow.models import OutboxEvent
from orderflow.money import format_amount, quantize
from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    INVOICE_NUMBER_FORMAT,
    INVOICE_TRANSITIONS,
    INVOICED_KINDS,
    ORDER_NUMBER_FORMAT,
    ORDER_TRANSITIONS,
    STATUS_TIMESTAMPS,
    SUPPLIER_ORDER_TRANSITIONS,
    ApprovalDecision,
    CancelReason,
    FulfillmentStatus,
    InvoiceStatus,
    OrderAction,
    OrderEditStatus,
    OrderStatus,
    PaymentKind,
    PaymentRecordStatus,
    PaymentStatus,
    SupplierOrderStatus,
    TransactionKind,
    TransactionResult,
)
from orders.models import (
    Invoice,
    Order,
    OrderApproval,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentTransaction,
    SupplierOrder,
    SupplierOrderLine,
)
from orders.payments import payment_record_status_derive, payment_status_derive
from orders.selectors import approval_levels_required

NUMBER_FORMAT = ORDER_NUMBER_FORMAT  # kept for callers of the first release
ZERO = Decimal("0")


class NotAnApprover(DomainError):
    status = 403
    code = "not_an_approver"
    title = "Not an approver of this order"


# --- helpers -------------------------------------------------------------------------------

def _lock(order: Order) -> Order:
    """The order row, locked until the transaction ends, with what payloads read."""
    return (Order.objects.select_for_update(of=("self",))
            .select_related("channel", "customer", "company").get(pk=order.pk))


def _check(order: Order, action: str) -> str:
    sources, target = ORDER_TRANSITIONS[action]
    if order.status not in sources:
        raise InvalidTransition(entity="order", from_status=order.status, to_status=target)
    return target


def _move(order: Order, target: str, now: datetime) -> list[str]:
    """Set the status and stamp its timestamp; returns the fields to save."""
    order.status = target
    fields = ["status", "updated_at"]
    stamp = STATUS_TIMESTAMPS.get(target)
    if stamp:
        setattr(order, stamp, now)
        fields.append(stamp)
    return fields


def _lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("id"))


def _payments(order: Order) -> list[Payment]:
    return list(Payment.objects.filter(order=order).order_by("id"))


def _emit(event_type: str, order: Order) -> None:
    events.order_emit(event_type, order, lines=_lines(order), payments=_payments(order))


def _forward_to_suppliers(order: Order, *, new_lines=None) -> list[SupplierOrder]:
    """Group the lines of outside suppliers into one supplier order each.

    A fixed number of queries whatever the number of suppliers (it runs inside checkout).
    ``new_lines``: the lines of an order being placed, with ``product.supplier`` loaded —
    none of them is forwarded yet, so nothing needs reading.
    """
    if new_lines is not None:
        lines = [line for line in new_lines if _forwarded(line.product)]
        existing = 0
    else:
        lines = list(OrderLine.objects.filter(order=order, product__supplier__is_external=True,
                                              supplier_line__isnull=True)
                     .select_related("product__supplier").order_by("id"))
        existing = None
    if not lines:
        return []
    by_supplier: dict[int, list[OrderLine]] = defaultdict(list)
    suppliers = {}
    for line in lines:
        by_supplier[line.product.supplier_id].append(line)
        suppliers[line.product.supplier_id] = line.product.supplier
    if existing is None:
        existing = SupplierOrder.objects.filter(order=order).count()
    base = order.number.replace("OF-", "SO-", 1)
    ordered = sorted(suppliers.values(), key=lambda s: s.code)
    supplier_orders = create([
        SupplierOrder(order=order, supplier=supplier, number=f"{base}-{existing + i}")
        for i, supplier in enumerate(ordered, start=1)
    ])
    so_lines = {}
    rows = []
    for so in supplier_orders:
        so_lines[so.supplier_id] = [
            SupplierOrderLine(supplier_order=so, order_line=line, sku=line.sku, name=line.name,
                              quantity=line.quantity)
            for line in by_supplier[so.supplier_id]
        ]
        rows.extend(so_lines[so.supplier_id])
    create(rows)
    events.supplier_orders_created_emit(supplier_orders, so_lines)
    return supplier_orders


def _forwarded(product) -> bool:
    """Whether a line of this product goes to its supplier (an external one)."""
    return bool(product.supplier_id and product.supplier.is_external)


def _release_stock(order: Order) -> dict[str, int]:
    """Give back exactly what the order's lines still hold; returns {sku: units}."""
    lines = [line for line in _lines(order) if line.quantity_reserved > 0]
    quantities: dict[int, int] = defaultdict(int)
    for line in lines:
        quantities[line.product_id] += line.quantity_reserved
    stock_release(quantities=dict(quantities))
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(quantity_reserved=0)
    return {line.sku: line.quantity_reserved for line in lines}


def _refresh_payment_status(order: Order) -> str:
    """Recompute ``order.payment_status`` from all its transactions (one query)."""
    txs = PaymentTransaction.objects.filter(payment__order=order).only("kind", "amount", "result")
    order.payment_status = payment_status_derive(txs, total=order.total)
    return order.payment_status


def _record_transaction(*, order: Order, payment: Payment, kind: str, amount: Decimal,
                        actor: Actor, reference: str = "", occurred_at: datetime | None = None,
                        result: str = TransactionResult.SUCCEEDED, message: str = "",
                        ) -> PaymentTransaction:
    """Add a provider result to a locked payment; keeps its running sums, its status and the
    order's payment status. Saves the payment, not the order (the caller does)."""
    tx = PaymentTransaction.objects.create(
        payment=payment, kind=kind, result=result, amount=amount, currency=payment.currency,
        reference=reference, message=message, actor_label=actor.display[:200],
        occurred_at=occurred_at or timezone.now(),
    )
    old_status = order.payment_status
    if result == TransactionResult.SUCCEEDED:
        field = {TransactionKind.AUTHORIZE: "amount_authorized",
                 TransactionKind.CAPTURE: "amount_captured",
                 TransactionKind.REFUND: "amount_refunded",
                 TransactionKind.VOID: "amount_voided"}[kind]
        setattr(payment, field, getattr(payment, field) + amount)
        if kind == TransactionKind.REFUND:
            payment.refund_owed = max(payment.refund_owed - amount, ZERO)
        if kind == TransactionKind.CAPTURE:
            # Captures settle the payment's own amount first, then what an edit added.
            covered = max(payment.amount - (payment.amount_captured - amount), ZERO)
            payment.amount_due = max(payment.amount_due - max(amount - covered, ZERO), ZERO)
        payment.status = payment_record_status_derive(payment.transactions.all())
        payment.save(update_fields=[field, "refund_owed", "amount_due", "status",
                                    "updated_at"])
        _refresh_payment_status(order)
    events.payment_transaction_event(order=order, actor=actor, payment=payment, tx=tx,
                                     old_status=old_status)
    verb = {"authorize": "authorized", "capture": "captured", "refund": "refunded",
            "void": "voided"}[kind]
    suffix = "" if result == TransactionResult.SUCCEEDED else "_failed"
    events.payment_emit(f"payment.{verb}{suffix}", order=order, payment=payment, tx=tx)
    return tx


def _void_and_owe(order: Order, actor: Actor) -> None:
    """A closed order keeps no money: open authorizations are voided and whatever was
    captured and not refunded becomes a refund owed."""
    for payment in Payment.objects.select_for_update().filter(order=order).order_by("id"):
        open_auth = payment.amount_authorized - payment.amount_captured - payment.amount_voided
        if open_auth > ZERO:
            _record_transaction(order=order, payment=payment, kind=TransactionKind.VOID,
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


def _close_dependants(order: Order, actor: Actor, now: datetime) -> None:
    for so in (SupplierOrder.objects.select_for_update(of=("self",)).select_related("supplier")
               .filter(order=order).exclude(status=SupplierOrderStatus.CANCELED)):
        so.status, so.canceled_at = SupplierOrderStatus.CANCELED, now
        so.save(update_fields=["status", "canceled_at", "updated_at"])
        so.order = order
        events.supplier_order_emit("supplier_order.canceled", so)
    for invoice in Invoice.objects.select_for_update().filter(order=order,
                                                              status=InvoiceStatus.ISSUED):
        invoice.order = order
        _invoice_move(invoice, InvoiceStatus.VOID, actor, now)


def _confirm(order: Order, *, now: datetime, new_lines=None) -> list[SupplierOrder]:
    """What every way into ``confirmed`` does besides the status: forward to suppliers."""
    return _forward_to_suppliers(order, new_lines=new_lines)


# --- placing -------------------------------------------------------------------------------

def _next_order_id() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))",
                       [Order._meta.db_table, Order._meta.pk.column])
        return cursor.fetchone()[0]


def _place_rows(batch, *, cart, priced, customer, company, email: str, payment: dict,
                notes: str, status: str, levels, now):
    """The order, its lines and its payment record (see ``order_place``)."""
    confirmed = status == OrderStatus.CONFIRMED
    # The human number follows the row id: unique without a shared counter to lock. On
    # PostgreSQL the id is drawn from its sequence first, so the row is written once.
    ident = batch.next_key(Order) or _next_order_id()
    numbered = {"pk": ident, "number": ORDER_NUMBER_FORMAT.format(ident)} if ident else {}
    (order,) = create([Order(
        **numbered,
        channel=cart.channel, customer=customer, company=company, cart=cart,
        api_key_id=cart.api_key_id, connection_id=cart.connection_id, email=email,
        status=status, approval_levels=levels,
        currency=cart.currency, subtotal=priced.subtotal, tax_total=priced.tax_total,
        shipping_total=priced.shipping_total, total=priced.total,
        shipping_method=cart.shipping_method,
        shipping_method_name=cart.shipping_method.name if cart.shipping_method_id else "",
        shipping_address=cart.shipping_address,
        billing_address=cart.billing_address or cart.shipping_address,
        notes=notes, metadata=cart.metadata, placed_at=now,
        confirmed_at=now if confirmed else None,
    )])
    if not ident:
        order.number = ORDER_NUMBER_FORMAT.format(order.pk)
        Order.objects.filter(pk=order.pk).update(number=order.number)
    lines = create([
        OrderLine(
            order=order, product=p.line.product, sku=p.line.product.sku,
            name=p.line.product.name, quantity=p.line.quantity, order_uom=p.line.order_uom,
            order_quantity=p.line.order_quantity, unit_price=p.unit_price,
            price_source=p.source, line_subtotal=p.subtotal, tax_rate=p.tax_rate,
            tax_amount=p.tax_amount, line_total=p.total,
            quantity_reserved=p.line.quantity if p.line.product.track_inventory else 0,
            metadata=p.line.metadata,
        )
        for p in priced.lines
    ])
    (payment_row,) = create([Payment(
        order=order, kind=payment["kind"], reference=payment.get("reference", ""),
        amount=priced.total, currency=cart.currency, status=PaymentRecordStatus.PENDING,
    )])
    return order, lines, payment_row


def order_place(*, cart, priced, customer, company, email: str, payment: dict, notes: str,
                actor: Actor) -> Order:
    """Create the order, its lines, payment, timeline and outbox events from a priced cart.

    Runs inside ``cart_checkout``'s transaction (stock is already reserved there). COD and
    terms orders are confirmed at once, a payment reference waits for its capture, and an
    order over one of the company's approval thresholds waits for its approvers.
    """
    assert transaction.get_connection().in_atomic_block, "order_place needs a transaction"
    now = timezone.now()
    kind = payment["kind"]
    levels = approval_levels_required(company=company, total=priced.total)
    if levels:
        status = OrderStatus.AWAITING_APPROVAL
    elif kind in (PaymentKind.COD, PaymentKind.TERMS):
        status = OrderStatus.CONFIRMED
    else:
        status = OrderStatus.PENDING_PAYMENT
    confirmed = status == OrderStatus.CONFIRMED
    types = ["order.created"]
    if confirmed:
        types.append("order.confirmed")
    if levels:
        types.append("order.approval_requested")
    forwarded = [p.line.product for p in priced.lines if _forwarded(p.line.product)] \
        if confirmed else []
    suppliers = len({product.supplier_id for product in forwarded})
    # Every row below in one INSERT statement, their keys drawn first in one more.
    with batched_creates({
        Order: 1, OrderLine: len(priced.lines), Payment: 1, OrderEvent: 1,
        SupplierOrder: suppliers, SupplierOrderLine: len(forwarded),
        OutboxEvent: len(types) + suppliers,
    }) as batch:
        order, lines, payment_row = _place_rows(
            batch, cart=cart, priced=priced, customer=customer, company=company, email=email,
            payment=payment, notes=notes, status=status, levels=levels, now=now)
        supplier_orders = _confirm(order, now=now, new_lines=lines) if confirmed else []
        events.order_placed_event(order=order, actor=actor, payment_kind=kind,
                                  supplier_orders=supplier_orders)
        events.order_emit(types, order, lines=lines, payments=[payment_row])
    # The caller answers with this order: hand it its lines and payment as if prefetched.
    order._prefetched_objects_cache = {"lines": lines, "payments": [payment_row]}
    return order


# --- lifecycle -----------------------------------------------------------------------------

@transaction.atomic
def order_confirm(*, order: Order, actor: Actor, note: str = "") -> Order:
    """Confirm an order waiting for payment (staff saw the money arrive another way)."""
    order = _lock(order)
    target = _check(order, OrderAction.CONFIRM)
    now = timezone.now()
    old = order.status
    order.save(update_fields=_move(order, target, now))
    supplier_orders = _confirm(order, now=now)
    events.order_status_event(order=order, actor=actor, type=events.ORDER_CONFIRMED,
                              old_status=old, message=note or "Order confirmed.",
                              supplier_orders=supplier_orders, note=note)
    _emit("order.confirmed", order)
    return order


def _approver_level(order: Order, principal) -> int | None:
    """The highest level ``principal`` may approve for this order, None if none."""
    user = principal.user
    if principal.is_staff and user is not None and user.has_perm("orders.approve_order"):
        return 9
    customer = principal.customer
    if customer is None or order.company_id is None or principal.is_storefront:
        return None
    approver = customer.approver_of.filter(company_id=order.company_id).first()
    return approver.level if approver else None


def _authorize_decision(order: Order, principal) -> tuple[int, list[OrderApproval]]:
    """The level now pending, after checking that ``principal`` may decide it."""
    decided = list(OrderApproval.objects.filter(order=order).order_by("level"))
    done = {a.level for a in decided}
    pending = [level for level in order.approval_levels if level not in done]
    level = pending[0] if pending else 1
    may = _approver_level(order, principal)
    if may is None:
        raise NotAnApprover("Only the company's approvers (or staff with the approve "
                            "permission) decide on this order.")
    if may < level:
        raise NotAnApprover(f"This order waits for a level {level} approver; you approve up "
                            f"to level {may}.", level=level)
    me = (principal.customer.pk if principal.customer is not None and not principal.is_staff
          else None, principal.user.pk if principal.user is not None else None)
    for a in decided:
        if (me[0] is not None and a.approver_id == me[0]) or (
                me[1] is not None and a.user_id == me[1]):
            raise Conflict("You already approved this order at another level; the next level "
                           "needs someone else.", code="already_approved_by_you")
    return level, decided


@transaction.atomic
def order_approve(*, order: Order, principal, comment: str = "") -> Order:
    """Approve the pending level; the last required level confirms the order."""
    order = _lock(order)
    target = _check(order, OrderAction.APPROVE)
    level, decided = _authorize_decision(order, principal)
    actor = principal.actor
    OrderApproval.objects.create(
        order=order, level=level, decision=ApprovalDecision.APPROVED,
        approver=principal.customer if not principal.is_staff else None,
        user=principal.user, actor_label=actor.display[:200], comment=comment,
    )
    remaining = [lv for lv in order.approval_levels
                 if lv not in {a.level for a in decided} | {level}]
    if remaining:
        order.save(update_fields=["updated_at"])
        events.order_approval_recorded_event(order=order, actor=actor, level=level,
                                             comment=comment, remaining=remaining)
        _emit("order.approval_recorded", order)
        return order
    now = timezone.now()
    old = order.status
    order.approved_at = now
    order.save(update_fields=[*_move(order, target, now), "approved_at"])
    supplier_orders = _confirm(order, now=now)
    events.order_status_event(
        order=order, actor=actor, type=events.ORDER_APPROVED, old_status=old,
        message=f"Approved (level {level}) by {actor.display}"
                + (f": {comment}" if comment else "") + "; order confirmed.",
        supplier_orders=supplier_orders, level=level, comment=comment)
    _emit("order.approved", order)
    _emit("order.confirmed", order)
    return order


@transaction.atomic
def order_decline(*, order: Order, principal, reason: str) -> Order:
    """An approver ends the order: declined with the reason; stock and payments released."""
    if not reason.strip():
        raise ValidationFailed("A decline needs a reason.", code="reason_required",
                               errors={"reason": ["Required."]})
    order = _lock(order)
    target = _check(order, OrderAction.DECLINE)
    level, _ = _authorize_decision(order, principal)
    actor = principal.actor
    OrderApproval.objects.create(
        order=order, level=level, decision=ApprovalDecision.DECLINED,
        approver=principal.customer if not principal.is_staff else None,
        user=principal.user, actor_label=actor.display[:200], comment=reason,
    )
    now = timezone.now()
    old = order.status
    order.decline_reason = reason.strip()
    released = _release_stock(order)
    _void_and_owe(order, actor)
    _close_dependants(order, actor, now)
    order.save(update_fields=[*_move(order, target, now), "decline_reason", "payment_status"])
    events.order_status_event(order=order, actor=actor, type=events.ORDER_DECLINED,
                              old_status=old,
                              message=f"Declined (level {level}) by {actor.display}: {reason}",
                              level=level, reason=reason, released=released)
    _emit("order.declined", order)
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor: Actor, reason: str = CancelReason.STAFF,
                 note: str = "") -> Order:
    """Cancel an open order: reserved stock goes back exactly, open authorizations are
    voided, captured money becomes a refund owed, supplier orders and open invoices end."""
    order = _lock(order)
    return _cancel(order, actor=actor, reason=reason, note=note)


def _cancel(order: Order, *, actor: Actor, reason: str, note: str) -> Order:
    target = _check(order, OrderAction.CANCEL)
    now = timezone.now()
    old = order.status
    order.cancel_reason = reason
    released = _release_stock(order)
    _void_and_owe(order, actor)
    _close_dependants(order, actor, now)
    order.save(update_fields=[*_move(order, target, now), "cancel_reason", "payment_status"])
    owed = sum((p.refund_owed for p in _payments(order)), ZERO)
    message = f"Canceled ({reason})" + (f": {note}" if note else ".")
    if owed:
        message += f" Refund owed: {format_amount(owed, order.currency)} {order.currency}."
    events.order_status_event(order=order, actor=actor, type=events.ORDER_CANCELED,
                              old_status=old, message=message, reason=reason, note=note,
                              released=released,
                              refund_owed=format_amount(owed, order.currency))
    _emit("order.canceled", order)
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
    order = _lock(order)
    if order.status != OrderStatus.PENDING_PAYMENT or order.placed_at >= cutoff:
        return False
    _cancel(order, actor=Actor.system("payment timeout"), reason=CancelReason.PAYMENT_TIMEOUT,
            note="No payment captured in time.")
    return True


def orders_cancel_unpaid(*, now: datetime | None = None) -> int:
    """Cancel every order waiting for payment longer than ``ORDERFLOW_PAYMENT_TIMEOUT``;
    each in its own transaction. Returns how many were canceled."""
    from orders.selectors import order_ids_awaiting_payment_since

    cutoff = (now or timezone.now()) - settings.ORDERFLOW_PAYMENT_TIMEOUT
    return sum(order_cancel_unpaid(order_id=pk, cutoff=cutoff)
               for pk in order_ids_awaiting_payment_since(cutoff=cutoff))


def _complete(order: Order, *, actor: Actor, now: datetime, automatic: bool) -> None:
    target = _check(order, OrderAction.COMPLETE)
    if order.fulfillment_status != FulfillmentStatus.FULFILLED:
        raise Conflict("Only a fully shipped order can be completed.",
                       code="order_not_fulfilled",
                       fulfillment_status=order.fulfillment_status)
    old = order.status
    order.save(update_fields=_move(order, target, now))
    events.order_status_event(
        order=order, actor=actor, type=events.ORDER_COMPLETED, old_status=old,
        message="Every line shipped: order completed." if automatic else "Order completed.")
    _emit("order.completed", order)


@transaction.atomic
def order_complete(*, order: Order, actor: Actor) -> Order:
    """Complete a confirmed, fully shipped order (shipping the last units does it too)."""
    order = _lock(order)
    _complete(order, actor=actor, now=timezone.now(), automatic=False)
    return order


@transaction.atomic
def order_lines_ship(*, order: Order, quantities: dict[str, int], actor: Actor) -> Order:
    """Record shipped base units per order line (``{line public id: units}``).

    The roll-up point for shipments (the fulfillment app calls it): shipped units leave the
    shelf and the order's reservation, the fulfillment status follows, a terms or COD order
    fully shipped gets its invoice, and a fully shipped order completes.
    """
    order = _lock(order)
    if order.status != OrderStatus.CONFIRMED:
        raise Conflict(f"A {order.status} order cannot ship.", code="order_not_shippable",
                       status_value=order.status)
    lines = {line.public_id: line for line in
             OrderLine.objects.select_for_update().filter(order=order).order_by("id")}
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
    order.fulfillment_status = _fulfillment_of(list(lines.values()))
    order.save(update_fields=["fulfillment_status", "updated_at"])
    events.order_lines_shipped_event(order=order, actor=actor, shipped=dict(quantities),
                                     old_fulfillment=old)
    _emit("order.fulfillment_updated", order)
    if order.fulfillment_status == FulfillmentStatus.FULFILLED:
        _finish_fulfilled(order, actor=actor)
    return order


# --- export --------------------------------------------------------------------------------

@transaction.atomic
def orders_mark_exported(*, orders: list[Order], actor: Actor) -> list[Order]:
    """Stamp ``exported_at`` on each order not stamped yet (an ERP took them); re-marking
    keeps the first stamp. One transaction for the whole batch."""
    now = timezone.now()
    locked = list(Order.objects.select_for_update(of=("self",)).select_related("channel")
                  .filter(pk__in=[o.pk for o in orders]).order_by("pk"))
    for order in locked:
        if order.exported_at is None:
            order.exported_at = now
            order.save(update_fields=["exported_at", "updated_at"])
            events.order_exported_event(order=order, actor=actor)
    return locked


def order_mark_exported(*, order: Order, actor: Actor) -> Order:
    return orders_mark_exported(orders=[order], actor=actor)[0]


# --- payments ------------------------------------------------------------------------------

def _lock_payment(order: Order, payment: Payment) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment.pk, order_id=order.pk)


def _amount(value, currency: str) -> Decimal | None:
    if value is None:
        return None
    amount = quantize(value, currency)
    if amount <= ZERO:
        raise ValidationFailed("The amount must be positive.", code="invalid_amount",
                               errors={"amount": ["Must be greater than zero."]})
    return amount


def _refuse_closed(order: Order, verb: str) -> None:
    if order.status in (OrderStatus.CANCELED, OrderStatus.DECLINED):
        raise Conflict(f"A {order.status} order takes no new {verb}; record refunds only.",
                       code="order_closed", status_value=order.status)


@transaction.atomic
def payment_authorize(*, order: Order, payment: Payment, actor: Actor, amount=None,
                      reference: str = "", occurred_at: datetime | None = None,
                      result: str = TransactionResult.SUCCEEDED, message: str = "") -> Order:
    order = _lock(order)
    payment = _lock_payment(order, payment)
    _refuse_closed(order, "authorizations")
    amount = _amount(amount, order.currency) or payment.amount + payment.amount_due
    _record_transaction(order=order, payment=payment, kind=TransactionKind.AUTHORIZE,
                        amount=amount, actor=actor, reference=reference,
                        occurred_at=occurred_at, result=result, message=message)
    order.save(update_fields=["payment_status", "updated_at"])
    return order


@transaction.atomic
def payment_capture(*, order: Order, payment: Payment, actor: Actor, amount=None,
                    reference: str = "", occurred_at: datetime | None = None,
                    result: str = TransactionResult.SUCCEEDED, message: str = "") -> Order:
    """Record a capture. Capturing the whole balance of an order waiting for payment
    confirms it; a fully paid order settles its open invoice."""
    order = _lock(order)
    payment = _lock_payment(order, payment)
    _refuse_closed(order, "captures")
    net = sum((p.amount_net for p in _payments(order)), ZERO)
    balance = order.total - net
    amount = _amount(amount, order.currency) or balance
    if amount <= ZERO or amount > balance:
        raise Conflict(
            f"Nothing more than {format_amount(max(balance, ZERO), order.currency)} can be "
            "captured on this order.", code="amount_exceeds_balance",
            balance=format_amount(max(balance, ZERO), order.currency))
    _record_transaction(order=order, payment=payment, kind=TransactionKind.CAPTURE,
                        amount=amount, actor=actor, reference=reference,
                        occurred_at=occurred_at, result=result, message=message)
    fields = ["payment_status", "updated_at"]
    if (order.status == OrderStatus.PENDING_PAYMENT
            and order.payment_status == PaymentStatus.PAID):
        target = _check(order, OrderAction.CONFIRM)
        now = timezone.now()
        fields += _move(order, target, now)
        order.save(update_fields=fields)
        supplier_orders = _confirm(order, now=now)
        events.order_status_event(order=order, actor=actor, type=events.ORDER_CONFIRMED,
                                  old_status=OrderStatus.PENDING_PAYMENT,
                                  message="Payment captured in full: order confirmed.",
                                  supplier_orders=supplier_orders)
        _emit("order.confirmed", order)
    else:
        order.save(update_fields=fields)
    if order.payment_status == PaymentStatus.PAID:
        now = timezone.now()
        for invoice in Invoice.objects.select_for_update().filter(
                order=order, status=InvoiceStatus.ISSUED):
            invoice.order = order
            _invoice_move(invoice, InvoiceStatus.PAID, actor, now)
    return order


@transaction.atomic
def payment_refund(*, order: Order, payment: Payment, actor: Actor, amount=None,
                   reference: str = "", occurred_at: datetime | None = None,
                   result: str = TransactionResult.SUCCEEDED, message: str = "") -> Order:
    """Record a refund, by default of what is owed (else of everything captured)."""
    order = _lock(order)
    payment = _lock_payment(order, payment)
    refundable = payment.amount_captured - payment.amount_refunded
    amount = _amount(amount, order.currency) or payment.refund_owed or refundable
    if amount <= ZERO or amount > refundable:
        raise Conflict(
            f"At most {format_amount(refundable, order.currency)} can be refunded on this "
            "payment.", code="amount_exceeds_captured",
            refundable=format_amount(refundable, order.currency))
    _record_transaction(order=order, payment=payment, kind=TransactionKind.REFUND,
                        amount=amount, actor=actor, reference=reference,
                        occurred_at=occurred_at, result=result, message=message)
    order.save(update_fields=["payment_status", "updated_at"])
    return order


@transaction.atomic
def payment_void(*, order: Order, payment: Payment, actor: Actor, reference: str = "",
                 occurred_at: datetime | None = None,
                 result: str = TransactionResult.SUCCEEDED, message: str = "") -> Order:
    """Release what is still authorized on a payment."""
    order = _lock(order)
    payment = _lock_payment(order, payment)
    open_auth = payment.amount_authorized - payment.amount_captured - payment.amount_voided
    if open_auth <= ZERO:
        raise Conflict("Nothing is authorized on this payment.", code="nothing_to_void")
    _record_transaction(order=order, payment=payment, kind=TransactionKind.VOID,
                        amount=open_auth, actor=actor, reference=reference,
                        occurred_at=occurred_at, result=result, message=message)
    order.save(update_fields=["payment_status", "updated_at"])
    return order


PAYMENT_SERVICES = {
    TransactionKind.AUTHORIZE: payment_authorize,
    TransactionKind.CAPTURE: payment_capture,
    TransactionKind.REFUND: payment_refund,
    TransactionKind.VOID: payment_void,
}


# --- invoices ------------------------------------------------------------------------------

def _invoice_issue(order: Order, *, actor: Actor, now: datetime) -> Invoice:
    terms_days = order.company.terms_days if order.company_id else 0
    invoice = Invoice.objects.create(
        order=order, company=order.company, customer=order.customer, amount=order.total,
        currency=order.currency, issued_at=now,
        due_date=(timezone.localtime(now) + timedelta(days=terms_days)).date(),
    )
    invoice.number = INVOICE_NUMBER_FORMAT.format(invoice.pk)
    Invoice.objects.filter(pk=invoice.pk).update(number=invoice.number)
    invoice.order = order
    events.invoice_event(invoice=invoice, actor=actor, type=events.INVOICE_ISSUED,
                         message=f"Invoice {invoice.number} issued, due "
                                 f"{invoice.due_date.isoformat()}.")
    events.invoice_emit("invoice.issued", invoice)
    if order.payment_status == PaymentStatus.PAID:
        _invoice_move(invoice, InvoiceStatus.PAID, actor, now)
    return invoice


def _invoice_move(invoice: Invoice, target: str, actor: Actor, now: datetime) -> None:
    if target not in INVOICE_TRANSITIONS[invoice.status]:
        raise InvalidTransition(entity="invoice", from_status=invoice.status, to_status=target)
    invoice.status = target
    stamp = "paid_at" if target == InvoiceStatus.PAID else "voided_at"
    setattr(invoice, stamp, now)
    invoice.save(update_fields=["status", stamp, "updated_at"])
    kind, verb = ((events.INVOICE_PAID, "paid") if target == InvoiceStatus.PAID
                  else (events.INVOICE_VOIDED, "voided"))
    events.invoice_event(invoice=invoice, actor=actor, type=kind,
                         message=f"Invoice {invoice.number} {verb}.")
    events.invoice_emit(f"invoice.{verb}", invoice)


@transaction.atomic
def invoice_issue(*, order: Order, actor: Actor) -> Invoice:
    """Issue the order's invoice now (staff action; shipping the last units does it for
    terms and COD orders). Due date: the company's payment terms from today."""
    order = _lock(order)
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED):
        raise Conflict(f"A {order.status} order cannot be invoiced.",
                       code="order_not_invoiceable", status_value=order.status)
    if Invoice.objects.filter(order=order).exclude(status=InvoiceStatus.VOID).exists():
        raise Conflict("This order already has an invoice.", code="invoice_exists")
    return _invoice_issue(order, actor=actor, now=timezone.now())


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, actor: Actor, reference: str = "",
                      occurred_at: datetime | None = None) -> Invoice:
    """The buyer paid the invoice: the balance is captured on the order's terms/COD
    payment (so the order's payment status follows) and the invoice is paid."""
    order = _lock(invoice.order)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice.order = order
    if InvoiceStatus.PAID not in INVOICE_TRANSITIONS[invoice.status]:
        raise InvalidTransition(entity="invoice", from_status=invoice.status,
                                to_status=InvoiceStatus.PAID)
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("id"))
    net = sum((p.amount_net for p in payments), ZERO)
    balance = min(invoice.amount, order.total) - net
    if balance > ZERO and payments:
        payment = next((p for p in payments if p.kind in INVOICED_KINDS), payments[0])
        _record_transaction(order=order, payment=payment, kind=TransactionKind.CAPTURE,
                            amount=balance, actor=actor, reference=reference or invoice.number,
                            occurred_at=occurred_at, message=f"Invoice {invoice.number} paid.")
        order.save(update_fields=["payment_status", "updated_at"])
    _invoice_move(invoice, InvoiceStatus.PAID, actor, timezone.now())
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: Actor) -> Invoice:
    order = _lock(invoice.order)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice.order = order
    _invoice_move(invoice, InvoiceStatus.VOID, actor, timezone.now())
    return invoice


# --- supplier orders -----------------------------------------------------------------------

@transaction.atomic
def supplier_order_acknowledge(*, supplier_order: SupplierOrder, actor: Actor) -> SupplierOrder:
    """The supplier confirms it received the order and will ship it."""
    order = _lock(supplier_order.order)
    so = (SupplierOrder.objects.select_for_update(of=("self",)).select_related("supplier")
          .get(pk=supplier_order.pk))
    so.order = order
    target = SupplierOrderStatus.ACKNOWLEDGED
    if target not in SUPPLIER_ORDER_TRANSITIONS[so.status]:
        raise InvalidTransition(entity="supplier order", from_status=so.status,
                                to_status=target)
    so.status, so.acknowledged_at = target, timezone.now()
    so.save(update_fields=["status", "acknowledged_at", "updated_at"])
    events.supplier_order_event(supplier_order=so, actor=actor,
                                type=events.SUPPLIER_ORDER_ACKNOWLEDGED,
                                message=f"{so.supplier.name} acknowledged {so.number}.")
    events.supplier_order_emit("supplier_order.acknowledged", so)
    return so


# --- edits ---------------------------------------------------------------------------------
#
# An edit is staged (validated and priced, nothing on the order changes), then applied in one
# transaction or discarded. Pricing is checkout's: untouched lines keep what the buyer agreed
# to; a line whose quantity changes keeps its agreed unit price; an added line is priced as
# checkout would price it now (contract tiers, then list price). Tax follows the destination:
# a new shipping country re-resolves the rate of every line. Shipping is re-quoted when what
# it depends on changes (lines, method or destination).

EDIT_LINE_FIELDS = ["quantity", "order_uom", "order_quantity", "unit_price", "price_source",
                    "line_subtotal", "tax_rate", "tax_amount", "line_total",
                    "quantity_reserved"]


class QuantityBelowShipped(Conflict):
    code = "quantity_below_shipped"
    title = "Cannot go below what shipped"


@dataclass
class _PlannedLine:
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
class _EditPlan:
    order: Order
    lines: list[_PlannedLine]
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
    from catalog.models import Product

    product = (Product.objects.select_related("tax_class")
               .prefetch_related("units", "tax_class__rates")
               .filter(sku__iexact=str(sku).strip()).first())
    if product is None:
        raise ValidationFailed(f"No product with sku {sku}.", code="unknown_sku",
                               errors={"sku": [f"Unknown sku {sku}."]})
    if not product.is_active:
        raise Conflict(f"{product.sku} is no longer sold.", code="product_inactive",
                       sku=product.sku)
    return product


def _edit_quantity(quantity, where: str) -> int:
    from carts.services import MAX_LINE_QUANTITY

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


def _check_editable(order: Order) -> None:
    if not order.is_editable:
        what = ("fully shipped" if order.fulfillment_status == FulfillmentStatus.FULFILLED
                else order.status)
        raise Conflict(f"A {what} order cannot be edited; only confirmed orders that are not "
                       "fully shipped can.", code="order_not_editable",
                       status_value=order.status, fulfillment_status=order.fulfillment_status)


def _edit_plan(order: Order, changes: dict) -> _EditPlan:
    """Everything applying ``changes`` would do, computed from the current rows; writes
    nothing. Raises on changes that can never be made (unknown line, below shipped …)."""
    from carts.pricing import line_amounts
    from catalog.selectors import quantity_to_base, tax_rate_for, unit_prices_resolve
    from fulfillment.selectors import RATES_PREFETCH, shipping_method_get, shipping_quote
    from orders.selectors import company_outstanding

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

    planned: list[_PlannedLine] = []
    for line in rows:
        if line.public_id in removed:
            planned.append(_PlannedLine(line=line, product=line.product, change="removed",
                                        quantity=0, reserved=0))
            continue
        quantity, uom, order_quantity = updates.get(
            line.public_id, (line.quantity, line.order_uom, line.order_quantity))
        changed = line.public_id in updates
        tax_rate = line.tax_rate
        if country_changed:
            rate = tax_rate_for(product=line.product, country=country)
            tax_rate = rate.rate if rate else Decimal("0")
        if changed or tax_rate != line.tax_rate:
            subtotal, tax, total = line_amounts(unit_price=line.unit_price, quantity=quantity,
                                                tax_rate=tax_rate, currency=currency)
        else:
            subtotal, tax, total = line.line_subtotal, line.tax_amount, line.line_total
        reserved = line.quantity_reserved
        if changed:
            reserved = quantity - line.quantity_shipped if line.product.track_inventory else 0
        planned.append(_PlannedLine(
            line=line, product=line.product,
            change="changed" if changed or tax_rate != line.tax_rate else "unchanged",
            quantity=quantity, order_uom=uom, order_quantity=order_quantity,
            unit_price=line.unit_price, price_source=line.price_source, tax_rate=tax_rate,
            subtotal=subtotal, tax_amount=tax, total=total, reserved=reserved,
            metadata=line.metadata))
    prices = unit_prices_resolve(items=[(a[0], a[1]) for a in added], company=order.company)
    for product, quantity, uom, order_quantity, metadata in added:
        price = prices[(product.pk, quantity)]
        rate = tax_rate_for(product=product, country=country)
        tax_rate = rate.rate if rate else Decimal("0")
        subtotal, tax, total = line_amounts(unit_price=price.amount, quantity=quantity,
                                            tax_rate=tax_rate, currency=currency)
        planned.append(_PlannedLine(
            line=None, product=product, change="added", quantity=quantity, order_uom=uom,
            order_quantity=order_quantity, unit_price=price.amount, price_source=price.source,
            tax_rate=tax_rate, subtotal=subtotal, tax_amount=tax, total=total,
            reserved=quantity if product.track_inventory else 0, metadata=metadata))

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
        quote = shipping_quote(method=method, subtotal=subtotal, weight_grams=weight)
        if quote is None:
            raise Conflict("The shipping method cannot ship the edited order.",
                           code="shipping_method_unavailable")
        shipping_total = quantize(quote, currency)
    total = subtotal + tax_total + shipping_total

    delta: dict[int, int] = defaultdict(int)
    products = {}
    for p in planned:
        current = p.line.quantity_reserved if p.line is not None else 0
        delta[p.product.pk] += p.reserved - current
        products[p.product.pk] = p.product
    reserve = {pk: d for pk, d in delta.items() if d > 0}
    release = {pk: -d for pk, d in delta.items() if d < 0}

    payments = _payments(order)
    paid = sum((p.amount_net for p in payments), ZERO)

    problems = []
    if total != order.total and Invoice.objects.filter(order=order).exclude(
            status=InvoiceStatus.VOID).exists():
        raise Conflict("This order is invoiced: void the invoice before changing its total.",
                       code="order_invoiced")
    if reserve:
        from catalog.models import Product

        stock = {pk: (on_hand, held) for pk, on_hand, held in Product.objects.filter(
            pk__in=reserve).values_list("pk", "stock_on_hand", "stock_reserved")}
        for pk, units in reserve.items():
            free = max(stock[pk][0] - stock[pk][1], 0)
            if free < units:
                problems.append({"code": "insufficient_stock", "sku": products[pk].sku,
                                 "requested": units, "available": free})
    if (total > order.total and order.company_id is not None
            and any(p.kind == PaymentKind.TERMS for p in payments)):
        company = order.company
        projected = company_outstanding(company=company) + total - order.total
        if projected > company.credit_limit:
            problems.append({
                "code": "over_credit_limit",
                "credit_limit": format_amount(company.credit_limit, company.currency),
                "outstanding_after": format_amount(projected, company.currency),
                "shortfall": format_amount(projected - company.credit_limit,
                                           company.currency)})
    return _EditPlan(
        order=order, lines=planned, shipping_address=shipping_address,
        billing_address=billing_address, shipping_method=method,
        shipping_method_changed=method_changed and method.pk != order.shipping_method_id,
        subtotal=subtotal, tax_total=tax_total, shipping_total=shipping_total, total=total,
        reserve=reserve, release=release, payments=payments, paid=paid, problems=problems)


def _edit_money(plan: _EditPlan) -> dict[str, Decimal]:
    """Paid so far (captured − refunded) against the new total: what is left to collect or
    to give back, and how much of the collection no payment's ``amount`` covers yet."""
    to_collect = max(plan.total - plan.paid, ZERO)
    to_refund = max(plan.paid - plan.total, ZERO)
    uncaptured = sum((max(p.amount - p.amount_captured, ZERO) for p in plan.payments
                      if p.status not in (PaymentRecordStatus.VOIDED,
                                          PaymentRecordStatus.REFUNDED)), ZERO)
    return {"to_collect": to_collect, "to_refund": to_refund,
            "amount_due": max(to_collect - uncaptured, ZERO)}


def _address_label(address: dict | None) -> str | None:
    return ", ".join(str(v) for k, v in (address or {}).items() if v and k != "phone") or None


def _edit_preview(plan: _EditPlan) -> dict:
    order = plan.order

    def money(amount):
        return format_amount(amount, order.currency)

    money_moves = _edit_money(plan)
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


def _comparable(preview: dict) -> dict:
    """What must be identical between staging and applying (problems are re-decided)."""
    return {k: v for k, v in preview.items() if k != "problems"}


def _edit_changes(changes: dict) -> dict:
    """Only the keys an edit knows, without empty ones."""
    known = ("add_lines", "update_lines", "remove_lines", "shipping_address",
             "billing_address", "shipping_method")
    cleaned = {k: changes[k] for k in known if k in changes and changes[k] not in (None, [])}
    if not cleaned:
        raise ValidationFailed("An edit needs at least one change.", code="empty_edit",
                               errors={"changes": ["Nothing to change."]})
    return cleaned


def _lock_edit(order: Order, edit) -> object:
    from orders.models import OrderEdit

    edit = OrderEdit.objects.select_for_update().get(pk=edit.pk, order_id=order.pk)
    edit.order = order
    return edit


def _edit_move(edit, target: str) -> None:
    from orders.constants import ORDER_EDIT_TRANSITIONS

    if target not in ORDER_EDIT_TRANSITIONS[edit.status]:
        raise InvalidTransition(entity="order edit", from_status=edit.status, to_status=target)
    edit.status = target


@transaction.atomic
def order_edit_stage(*, order: Order, changes: dict, actor: Actor, note: str = ""):
    """Validate and price ``changes`` against the order as it is now and keep them, with the
    preview, as a staged edit. The order itself does not change."""
    from orders.models import OrderEdit

    order = _lock(order)
    _check_editable(order)
    changes = _edit_changes(changes)
    plan = _edit_plan(order, changes)
    preview = _edit_preview(plan)
    if not any(line["change"] != "unchanged" for line in preview["lines"]) and not any(
            preview[k] for k in ("shipping_method", "shipping_address", "billing_address")):
        raise ValidationFailed("These changes leave the order as it is.", code="empty_edit",
                               errors={"changes": ["Nothing would change."]})
    edit = OrderEdit.objects.create(
        order=order, changes=json.loads(json.dumps(changes, cls=DjangoJSONEncoder)),
        preview=preview, note=note,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.display[:200])
    events.order_edit_event(order=order, actor=actor, edit=edit, type=events.ORDER_EDIT_STAGED)
    return edit


@transaction.atomic
def order_edit_discard(*, edit, actor: Actor):
    """Drop a staged edit; the order is untouched."""
    order = _lock(edit.order)
    edit = _lock_edit(order, edit)
    _edit_move(edit, OrderEditStatus.DISCARDED)
    edit.discarded_at = timezone.now()
    edit.save(update_fields=["status", "discarded_at", "updated_at"])
    events.order_edit_event(order=order, actor=actor, edit=edit,
                            type=events.ORDER_EDIT_DISCARDED)
    return edit


@transaction.atomic
def order_edit_apply(*, edit, actor: Actor) -> Order:
    """Apply a staged edit in one transaction: stock reserved and released, lines rewritten,
    totals re-priced, the balance recorded on the payments (an amount due or a refund owed),
    supplier orders adjusted, ``order.updated`` and one timeline entry with the diff.

    Refused, with nothing changed, when the order is no longer editable, when the order or
    its prices moved since staging (``edit_stale``: stage it again), or when stock is short.
    """
    order = _lock(edit.order)
    edit = _lock_edit(order, edit)
    _edit_move(edit, OrderEditStatus.APPLIED)
    _check_editable(order)
    plan = _edit_plan(order, edit.changes)
    preview = _edit_preview(plan)
    if _comparable(preview) != _comparable(edit.preview):
        raise Conflict("The order, its payments or its prices changed since this edit was "
                       "staged; stage it again to see the new preview.", code="edit_stale",
                       edit_id=edit.public_id)
    credit = next((p for p in plan.problems if p["code"] == "over_credit_limit"), None)
    if credit:
        raise Conflict("This edit would take the company over its credit limit.",
                       **credit)
    now = timezone.now()
    before = {"subtotal": order.subtotal, "tax_total": order.tax_total,
              "shipping_total": order.shipping_total, "total": order.total}

    # Stock first: a short sku refuses the edit before anything is written.
    from catalog.services import stock_reserve

    products = {p.product.pk: p.product for p in plan.lines}
    stock_reserve(items=[(products[pk], units) for pk, units in plan.reserve.items()])
    stock_release(quantities=plan.release)

    removed = [p.line for p in plan.lines if p.change == "removed"]
    touched_so = set(SupplierOrderLine.objects.filter(order_line__in=removed)
                     .values_list("supplier_order_id", flat=True))
    OrderLine.objects.filter(pk__in=[line.pk for line in removed]).delete()
    changed = []
    for p in plan.lines:
        if p.change != "changed":
            continue
        line = p.line
        (line.quantity, line.order_uom, line.order_quantity, line.unit_price,
         line.price_source, line.line_subtotal, line.tax_rate, line.tax_amount,
         line.line_total, line.quantity_reserved) = (
            p.quantity, p.order_uom, p.order_quantity, p.unit_price, p.price_source,
            p.subtotal, p.tax_rate, p.tax_amount, p.total, p.reserved)
        changed.append(line)
    OrderLine.objects.bulk_update(changed, EDIT_LINE_FIELDS)
    touched_so |= set(SupplierOrderLine.objects.filter(order_line__in=changed)
                      .values_list("supplier_order_id", flat=True))
    for line in changed:
        SupplierOrderLine.objects.filter(order_line=line).update(quantity=line.quantity)
    added = OrderLine.objects.bulk_create([
        OrderLine(order=order, product=p.product, sku=p.product.sku, name=p.product.name,
                  quantity=p.quantity, order_uom=p.order_uom, order_quantity=p.order_quantity,
                  unit_price=p.unit_price, price_source=p.price_source,
                  line_subtotal=p.subtotal, tax_rate=p.tax_rate, tax_amount=p.tax_amount,
                  line_total=p.total, quantity_reserved=p.reserved, metadata=p.metadata)
        for p in plan.lines if p.change == "added"
    ])

    old_fulfillment = order.fulfillment_status
    order.subtotal, order.tax_total = plan.subtotal, plan.tax_total
    order.shipping_total, order.total = plan.shipping_total, plan.total
    order.shipping_address, order.billing_address = plan.shipping_address, plan.billing_address
    if plan.shipping_method_changed:
        order.shipping_method = plan.shipping_method
        order.shipping_method_name = plan.shipping_method.name
    lines = _lines(order)
    order.fulfillment_status = _fulfillment_of(lines)
    _edit_record_balance(order, plan, actor)
    _refresh_payment_status(order)
    order.save(update_fields=["subtotal", "tax_total", "shipping_total", "total",
                              "shipping_address", "billing_address", "shipping_method",
                              "shipping_method_name", "fulfillment_status", "payment_status",
                              "updated_at"])
    _edit_sync_supplier_orders(order, touched_so, added, now)

    edit.applied_at = now
    edit.save(update_fields=["status", "applied_at", "updated_at"])
    diff = _edit_diff(order, plan, before, preview)
    events.order_edit_applied_event(order=order, actor=actor, edit=edit, diff=diff,
                                    balance=preview["balance"],
                                    old_fulfillment=old_fulfillment)
    events.order_emit("order.updated", order, lines=lines, payments=_payments(order))
    if order.fulfillment_status == FulfillmentStatus.FULFILLED:
        _finish_fulfilled(order, actor=actor)
    return order


def _fulfillment_of(lines: list[OrderLine]) -> str:
    if lines and all(line.quantity_shipped == line.quantity for line in lines):
        return FulfillmentStatus.FULFILLED
    if any(line.quantity_shipped for line in lines):
        return FulfillmentStatus.PARTIALLY_FULFILLED
    return FulfillmentStatus.UNFULFILLED


def _finish_fulfilled(order: Order, *, actor: Actor) -> None:
    """A fully shipped order: terms and COD get their invoice, then the order completes."""
    now = timezone.now()
    kinds = {p.kind for p in _payments(order)}
    if kinds & INVOICED_KINDS and not Invoice.objects.filter(
            order=order).exclude(status=InvoiceStatus.VOID).exists():
        _invoice_issue(order, actor=actor, now=now)
    _complete(order, actor=actor, now=now, automatic=True)


def _edit_record_balance(order: Order, plan: _EditPlan, actor: Actor) -> None:
    """Record what the new total means for the money, as cancel does: a refund owed on the
    payments that hold captured money (latest first), or an amount due on the main payment.
    Both are recomputed from the transactions, so a second edit corrects the first."""
    moves = _edit_money(plan)
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("id"))
    owed_left = moves["to_refund"]
    owed = {}
    for payment in reversed(payments):
        share = min(owed_left, max(payment.amount_net, ZERO))
        owed[payment.pk] = share
        owed_left -= share
    main = next((p for p in payments if p.status != PaymentRecordStatus.VOIDED),
                payments[0] if payments else None)
    for payment in payments:
        due = moves["amount_due"] if main is not None and payment.pk == main.pk else ZERO
        if (payment.refund_owed, payment.amount_due) != (owed[payment.pk], due):
            payment.refund_owed, payment.amount_due = owed[payment.pk], due
            payment.save(update_fields=["refund_owed", "amount_due", "updated_at"])
    plan.payments = payments


def _edit_sync_supplier_orders(order: Order, touched: set[int], added: list[OrderLine],
                               now: datetime) -> None:
    """Forwarded lines follow the edit: changed quantities and removed lines update their
    supplier order (one left without lines is canceled), added lines of an outside supplier
    join its supplier order for this order or start one."""
    from catalog.models import Product

    outside = {pk for pk in Product.objects.filter(
        pk__in=[line.product_id for line in added], supplier__is_external=True)
        .values_list("pk", flat=True)}
    new_lines = [line for line in added if line.product_id in outside]
    existing = {so.supplier_id: so for so in SupplierOrder.objects.select_for_update(
        of=("self",)).select_related("supplier").filter(order=order)}
    suppliers = dict(Product.objects.filter(pk__in=outside).values_list("pk", "supplier_id"))
    created = []
    for line in new_lines:
        so = existing.get(suppliers[line.product_id])
        if so is None:
            from catalog.models import Supplier

            supplier = Supplier.objects.get(pk=suppliers[line.product_id])
            so = SupplierOrder.objects.create(
                order=order, supplier=supplier,
                number=f"{order.number.replace('OF-', 'SO-', 1)}-{len(existing) + 1}")
            existing[supplier.pk] = so
            created.append(so)
        SupplierOrderLine.objects.create(supplier_order=so, order_line=line, sku=line.sku,
                                         name=line.name, quantity=line.quantity)
        if so not in created:
            touched.add(so.pk)
    for so in existing.values():
        so.order = order
        if so in created:
            events.supplier_order_emit("supplier_order.created", so)
            continue
        if so.pk not in touched:
            continue
        has_lines = so.lines.exists()
        if not has_lines and so.status != SupplierOrderStatus.CANCELED:
            so.status, so.canceled_at = SupplierOrderStatus.CANCELED, now
            so.save(update_fields=["status", "canceled_at", "updated_at"])
            events.supplier_order_emit("supplier_order.canceled", so)
        elif has_lines and so.status == SupplierOrderStatus.CANCELED:
            # Emptied by an earlier edit, needed again.
            so.status, so.canceled_at = SupplierOrderStatus.OPEN, None
            so.save(update_fields=["status", "canceled_at", "updated_at"])
            events.supplier_order_emit("supplier_order.updated", so)
        else:
            so.save(update_fields=["updated_at"])
            events.supplier_order_emit("supplier_order.updated", so)


def _edit_diff(order: Order, plan: _EditPlan, before: dict, preview: dict) -> dict:
    """Before/after of what the edit changed, for the timeline."""
    diff: dict = {}
    lines = [
        {"id": line["id"], "sku": line["sku"], "change": line["change"],
         "quantity": {"old": line["quantity_before"], "new": line["quantity"]}}
        for line in preview["lines"] if line["change"] != "unchanged"
    ]
    if lines:
        diff["lines"] = lines
    for name, old in before.items():
        new = getattr(order, name)
        if old != new:
            diff[name] = {"old": format_amount(old, order.currency),
                          "new": format_amount(new, order.currency)}
    for key in ("shipping_method", "shipping_address", "billing_address"):
        if preview[key]:
            diff[key] = preview[key]
    return diff


# --- import --------------------------------------------------------------------------------

@transaction.atomic
def order_import(*, channel, email: str, lines: list[dict], actor: Actor,
                 external_reference: str = "", customer=None, company=None,
                 payment_kind: str = PaymentKind.COD, payment_reference: str = "",
                 paid: bool = False, shipping_address: dict | None = None,
                 billing_address: dict | None = None, shipping_method=None,
                 shipping_total: Decimal | None = None, notes: str = "",
                 metadata: dict | None = None, source: str = "import") -> Order:
    """Create an order that was taken elsewhere (a phone order, a marketplace, a legacy
    system), the way checkout does: stock reserved, lines priced (the file's unit price, or
    checkout's price when it has none), tax by destination, payment recorded (captured when
    ``paid``), supplier forwarding on confirmation, ``order_imported`` on the timeline and
    ``order.created`` in the outbox.

    ``lines``: ``[{"product", "quantity" (base units), "order_uom", "order_quantity",
    "unit_price" (or None)}]``. No approval rules: the order was agreed where it was taken.
    A COD, terms or paid order is confirmed; an unpaid payment reference waits for payment.
    """
    from carts.pricing import line_amounts
    from catalog.selectors import tax_rate_for, unit_prices_resolve
    from catalog.services import stock_reserve
    from fulfillment.selectors import shipping_quote
    from orders.selectors import company_outstanding

    currency = channel.currency
    if not lines:
        raise ValidationFailed("An order needs at least one line.", code="order_needs_lines")
    if external_reference and Order.objects.filter(
            channel=channel, external_reference=external_reference).exists():
        raise Conflict(f"Order {external_reference} was already imported into "
                       f"{channel.code}.", code="duplicate_order",
                       external_reference=external_reference)
    if payment_kind not in PaymentKind.values:
        raise ValidationFailed(f"Unknown payment kind {payment_kind}.",
                               code="invalid_payment_kind",
                               errors={"payment_kind": [
                                   f"One of {', '.join(PaymentKind.values)}."]})
    country = ((shipping_address or {}).get("country") or "").upper()
    prices = unit_prices_resolve(items=[(line["product"], line["quantity"]) for line in lines
                                        if line.get("unit_price") is None], company=company)
    rows = []
    weight = 0
    for line in lines:
        product, quantity = line["product"], line["quantity"]
        if line.get("unit_price") is not None:
            unit_price, price_source = quantize(line["unit_price"], currency), "import"
        else:
            price = prices[(product.pk, quantity)]
            unit_price, price_source = price.amount, price.source
        rate = tax_rate_for(product=product, country=country)
        tax_rate = rate.rate if rate else Decimal("0")
        subtotal, tax, total = line_amounts(unit_price=unit_price, quantity=quantity,
                                            tax_rate=tax_rate, currency=currency)
        rows.append(OrderLine(
            product=product, sku=product.sku, name=product.name, quantity=quantity,
            order_uom=line.get("order_uom") or "", order_quantity=line.get("order_quantity"),
            unit_price=unit_price, price_source=price_source, line_subtotal=subtotal,
            tax_rate=tax_rate, tax_amount=tax, line_total=total,
            quantity_reserved=quantity if product.track_inventory else 0,
            metadata=line.get("metadata") or {}))
        weight += product.weight_grams * quantity
    subtotal = sum((r.line_subtotal for r in rows), ZERO)
    tax_total = sum((r.tax_amount for r in rows), ZERO)
    if shipping_total is None and shipping_method is not None:
        quote = shipping_quote(method=shipping_method, subtotal=subtotal, weight_grams=weight)
        if quote is None:
            raise ValidationFailed("The shipping method cannot ship this order.",
                                   code="shipping_method_unavailable",
                                   errors={"shipping_method": ["Not available."]})
        shipping_total = quote
    shipping_total = quantize(shipping_total or ZERO, currency)
    total = subtotal + tax_total + shipping_total

    if payment_kind == PaymentKind.TERMS:
        if company is None:
            raise Conflict("Credit terms are only available to company buyers.",
                           code="terms_not_available")
        outstanding = company_outstanding(company=company)
        if not paid and outstanding + total > company.credit_limit:
            raise Conflict("This order would take the company over its credit limit.",
                           code="over_credit_limit",
                           credit_limit=format_amount(company.credit_limit, currency),
                           outstanding=format_amount(outstanding, currency),
                           order_total=format_amount(total, currency))

    stock_reserve(items=[(r.product, r.quantity) for r in rows])
    now = timezone.now()
    confirmed = paid or payment_kind in (PaymentKind.COD, PaymentKind.TERMS)
    order = Order.objects.create(
        channel=channel, customer=customer, company=company, email=email.strip().lower(),
        status=OrderStatus.CONFIRMED if confirmed else OrderStatus.PENDING_PAYMENT,
        currency=currency, subtotal=subtotal, tax_total=tax_total,
        shipping_total=shipping_total, total=total, shipping_method=shipping_method,
        shipping_method_name=shipping_method.name if shipping_method is not None else "",
        shipping_address=shipping_address, billing_address=billing_address or shipping_address,
        notes=notes, metadata=metadata or {}, external_reference=external_reference,
        placed_at=now, confirmed_at=now if confirmed else None)
    order.number = ORDER_NUMBER_FORMAT.format(order.pk)
    Order.objects.filter(pk=order.pk).update(number=order.number)
    for row in rows:
        row.order = order
    lines_created = OrderLine.objects.bulk_create(rows)
    payment = Payment.objects.create(order=order, kind=payment_kind,
                                     reference=payment_reference, amount=total,
                                     currency=currency, status=PaymentRecordStatus.PENDING)
    if paid:
        _record_transaction(order=order, payment=payment, kind=TransactionKind.CAPTURE,
                            amount=total, actor=actor, reference=payment_reference,
                            message=f"Paid before import ({source}).")
        order.save(update_fields=["payment_status", "updated_at"])
    if confirmed:
        _confirm(order, now=now)
    events.order_imported_event(order=order, actor=actor, source=source)
    events.order_emit("order.created", order, lines=lines_created, payments=[payment])
    if confirmed:
        events.order_emit("order.confirmed", order, lines=lines_created, payments=[payment])
    return order
