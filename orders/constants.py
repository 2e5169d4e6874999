"""Order statuses, the transition table, and the other choices of the orders app.

A status changes only through the service of its action (``orders.services``); each service
looks its action up in ``ORDER_TRANSITIONS`` before it writes anything.
"""

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"

class PaymentStatus(models.TextChoices):
    """Derived from the payment transactions (``orders.payments.payment_status_derive``)."""

    UNPAID = "unpaid", "Unpaid"
    AUTHORIZED = "authorized", "Authorized"
    # Captured less than the total with nothing refunded (a partial capture, or an edit that
    # raised the total of an order already paid).
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"

class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", "Unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
    FULFILLED = "fulfilled", "Fulfilled"

class PaymentKind(models.TextChoices):
    PAYMENT_INTENT = "payment_intent", "Payment reference (outside provider)"
    COD = "cod", "Cash on delivery"
    TERMS = "terms", "Credit terms"

class PaymentRecordStatus(models.TextChoices):
    """The state of one payment, derived from its own transactions."""

    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    VOIDED = "voided", "Voided"
    REFUNDED = "refunded", "Refunded"

class TransactionKind(models.TextChoices):
    AUTHORIZE = "authorize", "Authorize"
    CAPTURE = "capture", "Capture"
    REFUND = "refund", "Refund"
    VOID = "void", "Void"

class TransactionResult(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"

class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"

INVOICE_TRANSITIONS = {
    InvoiceStatus.ISSUED: {InvoiceStatus.PAID, InvoiceStatus.VOID},
    InvoiceStatus.PAID: set(),
    InvoiceStatus.VOID: set(),
}

class SupplierOrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CANCELED = "canceled", "Canceled"

SUPPLIER_ORDER_TRANSITIONS = {
    SupplierOrderStatus.OPEN: {SupplierOrderStatus.ACKNOWLEDGED, SupplierOrderStatus.CANCELED},
    SupplierOrderStatus.ACKNOWLEDGED: {SupplierOrderStatus.CANCELED},
    SupplierOrderStatus.CANCELED: set(),
}

class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"

class OrderAction(models.TextChoices):
    CONFIRM = "confirm", "Confirm"
    APPROVE = "approve", "Approve"
    DECLINE = "decline", "Decline"
    CANCEL = "cancel", "Cancel"
    COMPLETE = "complete", "Complete"

# Statuses whose orders hold reserved stock and count against a company's credit.
OPEN_STATUSES = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.AWAITING_APPROVAL,
                           OrderStatus.CONFIRMED})
FINAL_STATUSES = frozenset({OrderStatus.DECLINED, OrderStatus.COMPLETED, OrderStatus.CANCELED})

# action → (the statuses it may start from, the status it leads to). ``approve`` leads to
# ``confirmed`` only with the last required level; earlier levels leave the status as it is.
ORDER_TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    OrderAction.CONFIRM: (frozenset({OrderStatus.PENDING_PAYMENT}), OrderStatus.CONFIRMED),
    OrderAction.APPROVE: (frozenset({OrderStatus.AWAITING_APPROVAL}), OrderStatus.CONFIRMED),
    OrderAction.DECLINE: (frozenset({OrderStatus.AWAITING_APPROVAL}), OrderStatus.DECLINED),
    OrderAction.CANCEL: (OPEN_STATUSES, OrderStatus.CANCELED),
    OrderAction.COMPLETE: (frozenset({OrderStatus.CONFIRMED}), OrderStatus.COMPLETED),
}

# Every (from, to) pair the table allows, for documentation and tests.
ALLOWED_STATUS_CHANGES = frozenset(
    (source, target) for sources, target in ORDER_TRANSITIONS.values() for source in sources
)

# The timestamp each target status stamps on the order.
STATUS_TIMESTAMPS = {
    OrderStatus.CONFIRMED: "confirmed_at",
    OrderStatus.DECLINED: "declined_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.CANCELED: "canceled_at",
}

class OrderEditStatus(models.TextChoices):
    STAGED = "staged", "Staged"
    APPLIED = "applied", "Applied"
    DISCARDED = "discarded", "Discarded"

ORDER_EDIT_TRANSITIONS = {
    OrderEditStatus.STAGED: {OrderEditStatus.APPLIED, OrderEditStatus.DISCARDED},
    OrderEditStatus.APPLIED: set(),
    OrderEditStatus.DISCARDED: set(),
}

# An order can be edited while it is confirmed and not fully shipped (a fully shipped
# confirmed order completes at once). Orders waiting for payment or approval are not edited:
# what the buyer pays or the approvers approve must not move under them.
EDITABLE_STATUSES = frozenset({OrderStatus.CONFIRMED})

class CancelReason(models.TextChoices):
    CUSTOMER = "customer", "Customer asked"
    STAFF = "staff", "Staff decision"
    PAYMENT_TIMEOUT = "payment_timeout", "Payment not captured in time"
    FRAUD = "fraud", "Suspected fraud"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"
    OTHER = "other", "Other"

# Payment kinds whose orders get an invoice once fully shipped.
INVOICED_KINDS = frozenset({PaymentKind.TERMS, PaymentKind.COD})

MAX_LINE_QUANTITY = 100_000  # base units on one cart or order line
