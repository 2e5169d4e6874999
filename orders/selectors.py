"""Order reads, scoped by principal, and the credit a company has used."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, Q, Sum

from orderflow.errors import NotFound
from orders.constants import OPEN_STATUSES, OrderStatus, PaymentKind, PaymentStatus
from orders.models import Order, OrderLine, Payment


def order_queryset(*, principal):
    qs = Order.objects.select_related("channel", "customer", "company").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    )
    if principal.is_staff:
        return qs
    if not principal.is_storefront:
        return qs.none()
    qs = qs.filter(channel_id=principal.channel.pk)
    if principal.customer is not None:
        return qs.filter(customer_id=principal.customer.pk)
    if principal.connection is not None:
        # A bridge connection sees the orders placed through it.
        return qs.filter(connection_id=principal.connection.pk)
    # A secret key without a shopper token sees the guest orders it placed.
    return qs.filter(customer__isnull=True, api_key_id=principal.api_key.pk)


def order_list(*, principal):
    return order_queryset(principal=principal)


def order_get(*, principal, public_id: str) -> Order:
    order = order_queryset(principal=principal).filter(public_id=public_id).first()
    if order is None:
        raise NotFound(f"No order {public_id}.")
    return order


def company_outstanding(*, company) -> Decimal:
    """Credit in use: open or delivered terms orders that are not paid yet."""
    unpaid_terms = (
        Order.objects.filter(company=company, payments__kind=PaymentKind.TERMS)
        .filter(Q(status__in=OPEN_STATUSES) | Q(status=OrderStatus.COMPLETED))
        .exclude(payment_status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED])
        .distinct()
    )
    total = Order.objects.filter(pk__in=unpaid_terms.values("pk")).aggregate(s=Sum("total"))["s"]
    return total or Decimal("0")
