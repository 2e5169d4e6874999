"""How the payment status of an order follows from its transactions: one pure function."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from orders.constants import (
    PaymentRecordStatus,
    PaymentStatus,
    TransactionKind,
    TransactionResult,
)

ZERO = Decimal("0")


@dataclass(frozen=True)
class Totals:
    authorized: Decimal = ZERO
    captured: Decimal = ZERO
    refunded: Decimal = ZERO
    voided: Decimal = ZERO

    @property
    def open_authorization(self) -> Decimal:
        """Authorized money not yet captured or voided."""
        return max(self.authorized - self.captured - self.voided, ZERO)

    @property
    def net(self) -> Decimal:
        return self.captured - self.refunded


def transaction_totals(transactions: Iterable) -> Totals:
    """Sum the succeeded transactions by kind (failed ones moved no money).

    Each item has ``kind``, ``amount`` and ``result`` (a model row or any object alike).
    """
    sums = dict.fromkeys(TransactionKind.values, ZERO)
    for tx in transactions:
        if getattr(tx, "result", TransactionResult.SUCCEEDED) != TransactionResult.SUCCEEDED:
            continue
        sums[tx.kind] += tx.amount
    return Totals(authorized=sums[TransactionKind.AUTHORIZE],
                  captured=sums[TransactionKind.CAPTURE],
                  refunded=sums[TransactionKind.REFUND], voided=sums[TransactionKind.VOID])


def payment_status_derive(transactions: Iterable, *, total: Decimal) -> str:
    """The order's ``payment_status`` from all transactions of all its payments.

    Refunds decide first (money went back), then captures against the total, then open
    authorizations. The order of the transactions does not matter.
    """
    t = transaction_totals(transactions)
    if t.captured > ZERO:
        if t.refunded >= t.captured:
            return PaymentStatus.REFUNDED
        if t.refunded > ZERO:
            return PaymentStatus.PARTIALLY_REFUNDED
        if t.captured >= total:
            return PaymentStatus.PAID
        return PaymentStatus.PARTIALLY_PAID
    if t.open_authorization > ZERO:
        return PaymentStatus.AUTHORIZED
    return PaymentStatus.UNPAID


def payment_record_status_derive(transactions: Iterable) -> str:
    """The status of one payment row from its own transactions."""
    t = transaction_totals(transactions)
    if t.captured > ZERO:
        return PaymentRecordStatus.REFUNDED if t.refunded >= t.captured \
            else PaymentRecordStatus.CAPTURED
    if t.open_authorization > ZERO:
        return PaymentRecordStatus.AUTHORIZED
    if t.voided > ZERO:
        return PaymentRecordStatus.VOIDED
    return PaymentRecordStatus.PENDING
