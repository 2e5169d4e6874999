from django.db import models


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    AUTHORIZED = "authorized", "Authorized"
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
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    VOIDED = "voided", "Voided"
    REFUNDED = "refunded", "Refunded"


# Statuses whose orders hold reserved stock and count against a company's credit.
OPEN_STATUSES = {OrderStatus.PENDING_PAYMENT, OrderStatus.AWAITING_APPROVAL,
                 OrderStatus.CONFIRMED}
