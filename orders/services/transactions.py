"""Provider results recorded on a payment, and the order's payment status derived from them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    TransactionKind,
    TransactionResult,
)
from orders.models import (
    Order,
    Payment,
    PaymentTransaction,
)
from orders.payments import payment_record_status_derive, payment_status_derive
from orders.services.common import (
    ZERO,
)


def refresh_payment_status(order: Order) -> str:
    """Recompute ``order.payment_status`` from all its transactions (one query)."""
    txs = PaymentTransaction.objects.filter(payment__order=order).only("kind", "amount", "result")
    order.payment_status = payment_status_derive(txs, total=order.total)
    return order.payment_status


def record_transaction(*, order: Order, payment: Payment, kind: str, amount: Decimal,
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
        refresh_payment_status(order)
    events.payment_transaction_event(order=order, actor=actor, payment=payment, tx=tx,
                                     old_status=old_status)
    verb = {"authorize": "authorized", "capture": "captured", "refund": "refunded",
            "void": "voided"}[kind]
    suffix = "" if result == TransactionResult.SUCCEEDED else "_failed"
    events.payment_emit(f"payment.{verb}{suffix}", order=order, payment=payment, tx=tx)
    return tx
