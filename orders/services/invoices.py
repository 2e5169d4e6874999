"""Invoices: issued, paid or voided, each with its timeline entry and ``invoice.*`` event."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from orderflow.errors import Conflict, InvalidTransition
from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    INVOICE_TRANSITIONS,
    INVOICED_KINDS,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
    TransactionKind,
)
from orders.lock_objects import invoice_qs_select_for_update, payment_qs_select_for_update
from orders.models import (
    Invoice,
    Order,
)
from orders.services.common import (
    ZERO,
    lock_order,
)
from orders.services.transactions import (
    record_transaction,
)


def issue_invoice(order: Order, *, actor: Actor, now: datetime) -> Invoice:
    terms_days = order.company.terms_days if order.company_id else 0
    invoice = Invoice.objects.create(
        order=order, company=order.company, customer=order.customer, amount=order.total,
        currency=order.currency, issued_at=now,
        due_date=(timezone.localtime(now) + timedelta(days=terms_days)).date(),
    )
    invoice.order = order
    events.invoice_event(invoice=invoice, actor=actor, type=events.INVOICE_ISSUED,
                         message=f"Invoice {invoice.number} issued, due "
                                 f"{invoice.due_date.isoformat()}.")
    events.invoice_emit("invoice.issued", invoice)
    if order.payment_status == PaymentStatus.PAID:
        move_invoice(invoice, InvoiceStatus.PAID, actor, now)
    return invoice


def move_invoice(invoice: Invoice, target: str, actor: Actor, now: datetime) -> None:
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
    order = lock_order(order)
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED):
        raise Conflict(f"A {order.status} order cannot be invoiced.",
                       code="order_not_invoiceable", status_value=order.status)
    if Invoice.objects.filter(order=order).exclude(status=InvoiceStatus.VOID).exists():
        raise Conflict("This order already has an invoice.", code="invoice_exists")
    return issue_invoice(order, actor=actor, now=timezone.now())


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, actor: Actor, reference: str = "",
                      occurred_at: datetime | None = None) -> Invoice:
    """The buyer paid the invoice: the balance is captured on the order's terms/COD
    payment (so the order's payment status follows) and the invoice is paid."""
    order = lock_order(invoice.order)
    invoice = invoice_qs_select_for_update().get(pk=invoice.pk)
    invoice.order = order
    if InvoiceStatus.PAID not in INVOICE_TRANSITIONS[invoice.status]:
        raise InvalidTransition(entity="invoice", from_status=invoice.status,
                                to_status=InvoiceStatus.PAID)
    payments = list(payment_qs_select_for_update().filter(order=order))
    net = sum((p.amount_net for p in payments), ZERO)
    balance = min(invoice.amount, order.total) - net
    if balance > ZERO and payments:
        payment = next((p for p in payments if p.kind in INVOICED_KINDS), payments[0])
        record_transaction(order=order, payment=payment, kind=TransactionKind.CAPTURE,
                            amount=balance, actor=actor, reference=reference or invoice.number,
                            occurred_at=occurred_at, message=f"Invoice {invoice.number} paid.")
        order.save(update_fields=["payment_status", "updated_at"])
    move_invoice(invoice, InvoiceStatus.PAID, actor, timezone.now())
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: Actor) -> Invoice:
    order = lock_order(invoice.order)
    invoice = invoice_qs_select_for_update().get(pk=invoice.pk)
    invoice.order = order
    move_invoice(invoice, InvoiceStatus.VOID, actor, timezone.now())
    return invoice
