"""Payment use cases: authorize, capture, refund, void (results from the outside provider)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orderflow.errors import Conflict, ValidationFailed
from orderflow.money import format_amount, quantize
from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    InvoiceStatus,
    OrderAction,
    OrderStatus,
    PaymentStatus,
    TransactionKind,
    TransactionResult,
)
from orders.lock_objects import invoice_qs_select_for_update, payment_qs_select_for_update
from orders.models import (
    Order,
    Payment,
)
from orders.services.common import (
    ZERO,
    check_transition,
    emit_order,
    lock_order,
    move_status,
    order_payments,
)
from orders.services.invoices import (
    move_invoice,
)
from orders.services.suppliers import (
    forward_to_suppliers,
)
from orders.services.transactions import (
    record_transaction,
)


def _lock_payment(order: Order, payment: Payment) -> Payment:
    return payment_qs_select_for_update().get(pk=payment.pk, order_id=order.pk)


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
    order = lock_order(order)
    payment = _lock_payment(order, payment)
    _refuse_closed(order, "authorizations")
    amount = _amount(amount, order.currency) or payment.amount + payment.amount_due
    record_transaction(order=order, payment=payment, kind=TransactionKind.AUTHORIZE,
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
    order = lock_order(order)
    payment = _lock_payment(order, payment)
    _refuse_closed(order, "captures")
    net = sum((p.amount_net for p in order_payments(order)), ZERO)
    balance = order.total - net
    amount = _amount(amount, order.currency) or balance
    if amount <= ZERO or amount > balance:
        raise Conflict(
            f"Nothing more than {format_amount(max(balance, ZERO), order.currency)} can be "
            "captured on this order.", code="amount_exceeds_balance",
            balance=format_amount(max(balance, ZERO), order.currency))
    record_transaction(order=order, payment=payment, kind=TransactionKind.CAPTURE,
                        amount=amount, actor=actor, reference=reference,
                        occurred_at=occurred_at, result=result, message=message)
    fields = ["payment_status", "updated_at"]
    if (order.status == OrderStatus.PENDING_PAYMENT
            and order.payment_status == PaymentStatus.PAID):
        target = check_transition(order, OrderAction.CONFIRM)
        now = timezone.now()
        fields += move_status(order, target, now)
        order.save(update_fields=fields)
        supplier_orders = forward_to_suppliers(order)
        events.order_status_event(order=order, actor=actor, type=events.ORDER_CONFIRMED,
                                  old_status=OrderStatus.PENDING_PAYMENT,
                                  message="Payment captured in full: order confirmed.",
                                  supplier_orders=supplier_orders)
        emit_order("order.confirmed", order)
    else:
        order.save(update_fields=fields)
    if order.payment_status == PaymentStatus.PAID:
        now = timezone.now()
        for invoice in invoice_qs_select_for_update().filter(
                order=order, status=InvoiceStatus.ISSUED):
            invoice.order = order
            move_invoice(invoice, InvoiceStatus.PAID, actor, now)
    return order


@transaction.atomic
def payment_refund(*, order: Order, payment: Payment, actor: Actor, amount=None,
                   reference: str = "", occurred_at: datetime | None = None,
                   result: str = TransactionResult.SUCCEEDED, message: str = "") -> Order:
    """Record a refund, by default of what is owed (else of everything captured)."""
    order = lock_order(order)
    payment = _lock_payment(order, payment)
    refundable = payment.amount_captured - payment.amount_refunded
    amount = _amount(amount, order.currency) or payment.refund_owed or refundable
    if amount <= ZERO or amount > refundable:
        raise Conflict(
            f"At most {format_amount(refundable, order.currency)} can be refunded on this "
            "payment.", code="amount_exceeds_captured",
            refundable=format_amount(refundable, order.currency))
    record_transaction(order=order, payment=payment, kind=TransactionKind.REFUND,
                        amount=amount, actor=actor, reference=reference,
                        occurred_at=occurred_at, result=result, message=message)
    order.save(update_fields=["payment_status", "updated_at"])
    return order


@transaction.atomic
def payment_void(*, order: Order, payment: Payment, actor: Actor, reference: str = "",
                 occurred_at: datetime | None = None,
                 result: str = TransactionResult.SUCCEEDED, message: str = "") -> Order:
    """Release what is still authorized on a payment."""
    order = lock_order(order)
    payment = _lock_payment(order, payment)
    open_auth = payment.amount_authorized - payment.amount_captured - payment.amount_voided
    if open_auth <= ZERO:
        raise Conflict("Nothing is authorized on this payment.", code="nothing_to_void")
    record_transaction(order=order, payment=payment, kind=TransactionKind.VOID,
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
