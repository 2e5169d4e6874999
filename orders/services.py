"""Order use cases: one transaction each, on a locked order row.

Every status change looks its action up in ``constants.ORDER_TRANSITIONS`` first; a refused
change raises before anything is written. Each writes its timeline entry (``events.*_event``)
and outbox events in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.services import stock_consume, stock_release
from orderflow.errors import Conflict, DomainError, InvalidTransition, ValidationFailed
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


def _forward_to_suppliers(order: Order) -> list[SupplierOrder]:
    """Group the lines of outside suppliers into one supplier order each.

    A fixed number of queries whatever the number of suppliers (it runs inside checkout).
    """
    lines = list(OrderLine.objects.filter(order=order, product__supplier__is_external=True,
                                          supplier_line__isnull=True)
                 .select_related("product__supplier").order_by("id"))
    if not lines:
        return []
    by_supplier: dict[int, list[OrderLine]] = defaultdict(list)
    suppliers = {}
    for line in lines:
        by_supplier[line.product.supplier_id].append(line)
        suppliers[line.product.supplier_id] = line.product.supplier
    existing = SupplierOrder.objects.filter(order=order).count()
    base = order.number.replace("OF-", "SO-", 1)
    ordered = sorted(suppliers.values(), key=lambda s: s.code)
    supplier_orders = SupplierOrder.objects.bulk_create([
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
    SupplierOrderLine.objects.bulk_create(rows)
    events.supplier_orders_created_emit(supplier_orders, so_lines)
    return supplier_orders


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
            payment.amount_due = max(payment.amount_due - amount, ZERO)
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


def _confirm(order: Order, *, now: datetime) -> list[SupplierOrder]:
    """What every way into ``confirmed`` does besides the status: forward to suppliers."""
    return _forward_to_suppliers(order)


# --- placing -------------------------------------------------------------------------------

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
    order = Order.objects.create(
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
    )
    # The human number follows the row id: unique without a shared counter to lock.
    order.number = ORDER_NUMBER_FORMAT.format(order.pk)
    Order.objects.filter(pk=order.pk).update(number=order.number)
    lines = OrderLine.objects.bulk_create([
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
    payment_row = Payment.objects.create(
        order=order, kind=kind, reference=payment.get("reference", ""), amount=priced.total,
        currency=cart.currency, status=PaymentRecordStatus.PENDING,
    )
    supplier_orders = _confirm(order, now=now) if confirmed else []
    events.order_placed_event(order=order, actor=actor, payment_kind=kind,
                              supplier_orders=supplier_orders)
    events.order_emit("order.created", order, lines=lines, payments=[payment_row])
    if confirmed:
        events.order_emit("order.confirmed", order, lines=lines, payments=[payment_row])
    if levels:
        events.order_emit("order.approval_requested", order, lines=lines,
                          payments=[payment_row])
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
    all_lines = list(lines.values())
    if all(line.quantity_shipped == line.quantity for line in all_lines):
        order.fulfillment_status = FulfillmentStatus.FULFILLED
    else:
        order.fulfillment_status = FulfillmentStatus.PARTIALLY_FULFILLED
    order.save(update_fields=["fulfillment_status", "updated_at"])
    events.order_lines_shipped_event(order=order, actor=actor, shipped=dict(quantities),
                                     old_fulfillment=old)
    _emit("order.fulfillment_updated", order)
    if order.fulfillment_status == FulfillmentStatus.FULFILLED:
        now = timezone.now()
        kinds = {p.kind for p in _payments(order)}
        if kinds & INVOICED_KINDS and not Invoice.objects.filter(
                order=order).exclude(status=InvoiceStatus.VOID).exists():
            _invoice_issue(order, actor=actor, now=now)
        _complete(order, actor=actor, now=now, automatic=True)
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
