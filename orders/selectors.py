"""Order reads, scoped by principal, and the credit a company has used.

Visibility: staff see every order; a storefront key the orders of its channel (the shopper's
own with a shopper token); a signed-in buyer their own orders, and an approver also the
orders of their company; a supplier login only its supplier orders. Anything else is 404.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Sum
from django.utils import timezone

from catalog.models import SupplierUser
from customers.models import Customer
from orderflow.errors import NotFound
from orderflow.models import Channel
from orders.constants import (
    OPEN_STATUSES,
    InvoiceStatus,
    OrderStatus,
    PaymentKind,
    PaymentStatus,
)
from orders.models import (
    Invoice,
    Order,
    OrderApprovalRule,
    OrderEdit,
    OrderLine,
    Payment,
    PaymentTransaction,
    SupplierOrder,
    SupplierOrderLine,
)


def principal_with_memberships(principal, *, staff_buyer: bool = True):
    """Add what a signed-in Django user acts as: the supplier their login belongs to and
    their buyer record (approvers). ``staff_buyer=False`` skips the buyer lookup for a staff
    login that is no supplier's (``principal.is_staff``): for reads scoped by
    ``order_queryset`` it changes nothing, as staff see every order."""
    user = principal.user
    if user is None or principal.api_key is not None or principal.connection is not None:
        return principal
    supplier = principal.supplier
    if supplier is None:
        login = SupplierUser.objects.select_related("supplier").filter(user_id=user.pk).first()
        supplier = login.supplier if login else None
    customer = principal.customer
    if customer is None and (staff_buyer or supplier is not None
                             or not getattr(user, "is_staff", False)):
        customer = (Customer.objects.select_related("company")
                    .filter(user_id=user.pk, is_active=True).first())
    return replace(principal, customer=customer, supplier=supplier)


def _approver_company_ids(customer) -> list[int]:
    return list(customer.approver_of.values_list("company_id", flat=True))


def _order_base(with_details: bool = False):
    qs = Order.objects.select_related("channel", "customer", "company").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    )
    if with_details:
        qs = qs.prefetch_related(
            Prefetch("payments__transactions",
                     queryset=PaymentTransaction.objects.order_by("occurred_at", "id")),
            Prefetch("invoices", queryset=Invoice.objects.select_related("company", "customer")
                     .order_by("id")),
            "approvals",
            Prefetch("supplier_orders",
                     queryset=SupplierOrder.objects.select_related("supplier").order_by("id")),
            Prefetch("supplier_orders__lines",
                     queryset=SupplierOrderLine.objects.order_by("id")),
            # The fulfillment app's shipments, through their reverse relations (in the order
            # their models sort them): orders imports nothing of fulfillment.
            "shipments", "shipments__lines__order_line",
        )
    return qs


def order_queryset(*, principal, with_details: bool = False):
    return _visible_to(principal, _order_base(with_details))


def _visible_to(principal, qs):
    if principal.is_staff:
        return qs
    if principal.is_storefront:
        qs = qs.filter(channel_id=principal.channel_id)
        if principal.customer is not None:
            return qs.filter(customer_id=principal.customer.pk)
        if principal.connection is not None:
            # A bridge connection sees the orders placed through it.
            return qs.filter(connection_id=principal.connection.pk)
        # A secret key without a shopper token sees the guest orders it placed.
        return qs.filter(customer__isnull=True, api_key_id=principal.api_key.pk)
    if principal.supplier is None and principal.customer is not None:
        visible = Q(customer_id=principal.customer.pk)
        companies = _approver_company_ids(principal.customer)
        if companies:
            visible |= Q(company_id__in=companies)
        return qs.filter(visible)
    return qs.none()


# What a list page shows of an order (``orders.presenters.OrderSerializer``), its lines and
# its payments, plus the keys, the timestamps a list may be ordered by (its cursor reads
# them) and the currency the amounts are formatted in.
ORDER_LIST_FIELDS = (
    "public_id", "number", "status", "payment_status", "fulfillment_status", "email",
    "currency", "subtotal", "tax_total", "shipping_total", "total", "shipping_method_name",
    "shipping_address", "billing_address", "notes", "external_reference", "metadata",
    "approval_levels", "cancel_reason", "decline_reason", "placed_at", "confirmed_at",
    "approved_at", "declined_at", "completed_at", "canceled_at", "exported_at", "created_at",
    "updated_at", "channel_id", "customer__public_id", "company__public_id",
)
ORDER_LIST_LINE_FIELDS = (
    "order_id", "public_id", "sku", "name", "quantity", "order_uom", "order_quantity",
    "quantity_shipped", "unit_price", "line_subtotal", "tax_rate", "tax_amount", "line_total",
    "metadata",
)
ORDER_LIST_PAYMENT_FIELDS = (
    "order_id", "public_id", "kind", "reference", "amount", "currency", "status",
    "amount_captured", "amount_refunded", "refund_owed", "amount_due",
)


def order_list(*, principal):
    """The orders ``principal`` (as authenticated, memberships not yet looked up) may list,
    as ``order_queryset`` scopes them, shaped for a page: customer and company joined, the
    channels prefetched (a page's few channels built once each, not once per order), lines
    and payments prefetched as plain lists ``page_lines`` and ``page_payments`` (four queries
    whatever the page size; lists rather than ``lines.all()`` querysets, which Django would
    build and filter once per order), and only the columns the list shows. A
    staff login's buyer record is not looked up: staff see every order (a staff user who is
    a supplier's login is that supplier, looked up)."""
    principal = principal_with_memberships(principal, staff_buyer=False)
    qs = (Order.objects.select_related("customer", "company")
          .only(*ORDER_LIST_FIELDS)
          .prefetch_related(
              Prefetch("channel", queryset=Channel.objects.only("code")),
              Prefetch("lines", queryset=OrderLine.objects.only(*ORDER_LIST_LINE_FIELDS)
                       .order_by("id"), to_attr="page_lines"),
              Prefetch("payments", queryset=Payment.objects.only(*ORDER_LIST_PAYMENT_FIELDS)
                       .order_by("id"), to_attr="page_payments")))
    return _visible_to(principal, qs)


def order_get(*, principal, public_id: str, with_details: bool = False) -> Order:
    order = (order_queryset(principal=principal, with_details=with_details)
             .filter(public_id=public_id).first())
    if order is None:
        raise NotFound(f"No order {public_id}.")
    return order


def order_edit_get(*, principal, order_id: str, edit_id: str) -> OrderEdit:
    """An edit of an order the principal sees (edits are staff business: the API lets only
    staff this far)."""
    order = order_get(principal=principal, public_id=order_id)
    edit = OrderEdit.objects.filter(order_id=order.pk, public_id=edit_id).first()
    if edit is None:
        raise NotFound(f"No edit {edit_id} on order {order_id}.")
    edit.order = order
    return edit


def payment_get(*, principal, order_id: str, payment_id: str) -> tuple[Order, Payment]:
    """An order and one of its payments, for recording provider results, through the same
    visibility as the order endpoints (``order_queryset``): staff reach every order; a
    storefront secret key the guest orders it placed, or with a shopper token that
    shopper's orders. Any other principal's order is 404 (no order body)."""
    order = order_get(principal=principal, public_id=order_id)
    for payment in order.payments.all():
        if payment.public_id == payment_id:
            return order, payment
    raise NotFound(f"No payment {payment_id} on order {order_id}.")


def approval_levels_required(*, company, total: Decimal) -> list[int]:
    """The levels, lowest first, of the company's active rules that ``total`` is over."""
    if company is None:
        return []
    levels = (OrderApprovalRule.objects
              .filter(company_id=company.pk, is_active=True, threshold__lt=total)
              .values_list("level", flat=True))
    return sorted(set(levels))


def order_ids_awaiting_payment_since(*, cutoff: datetime) -> list[int]:
    """Orders still waiting for a capture that were placed before ``cutoff``."""
    return list(Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, placed_at__lt=cutoff)
                .order_by("placed_at").values_list("pk", flat=True))


def company_outstanding(*, company) -> Decimal:
    """Credit in use: unpaid invoices, plus open or delivered terms orders that are neither
    paid nor invoiced yet (an invoiced order counts once, through its invoice)."""
    invoiced = (Invoice.objects.filter(company=company, status=InvoiceStatus.ISSUED)
                .aggregate(s=Sum("amount"))["s"]) or Decimal("0")
    live_invoice = Invoice.objects.filter(
        order_id=OuterRef("pk"), status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID])
    terms_payment = Payment.objects.filter(order_id=OuterRef("pk"), kind=PaymentKind.TERMS)
    uninvoiced = (
        Order.objects.filter(company=company)
        .filter(Q(status__in=OPEN_STATUSES) | Q(status=OrderStatus.COMPLETED))
        .exclude(payment_status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED])
        .filter(Exists(terms_payment)).exclude(Exists(live_invoice))
        .aggregate(s=Sum("total"))["s"]
    ) or Decimal("0")
    return invoiced + uninvoiced


def company_open_orders(*, company):
    """The company's open orders (pending payment, awaiting approval, confirmed), newest
    first: what its credit line and its staff are working on."""
    return (Order.objects.filter(company=company, status__in=OPEN_STATUSES)
            .order_by("-placed_at", "-id"))


def customer_recent_orders(*, customer, limit: int = 10):
    """The customer's latest orders, newest first."""
    return Order.objects.filter(customer=customer).order_by("-placed_at", "-id")[:limit]


# --- invoices --------------------------------------------------------------------------------

def invoice_queryset(*, principal):
    qs = Invoice.objects.select_related("order__channel", "company", "customer")
    if principal.is_staff:
        return qs
    if principal.is_storefront:
        qs = qs.filter(order__channel_id=principal.channel_id)
        if principal.customer is not None:
            return qs.filter(customer_id=principal.customer.pk)
        return qs.none()
    if principal.supplier is None and principal.customer is not None:
        visible = Q(customer_id=principal.customer.pk)
        companies = _approver_company_ids(principal.customer)
        if companies:
            visible |= Q(company_id__in=companies)
        return qs.filter(visible)
    return qs.none()


def invoice_get(*, principal, public_id: str) -> Invoice:
    invoice = invoice_queryset(principal=principal).filter(public_id=public_id).first()
    if invoice is None:
        raise NotFound(f"No invoice {public_id}.")
    return invoice


# --- supplier orders -------------------------------------------------------------------------

def supplier_order_queryset(*, principal):
    qs = SupplierOrder.objects.select_related("supplier", "order__channel").prefetch_related(
        Prefetch("lines", queryset=SupplierOrderLine.objects.order_by("id")))
    if principal.supplier is not None:
        return qs.filter(supplier_id=principal.supplier.pk)
    if principal.is_staff:
        return qs
    return qs.none()


def supplier_order_get(*, principal, public_id: str) -> SupplierOrder:
    so = supplier_order_queryset(principal=principal).filter(public_id=public_id).first()
    if so is None:
        raise NotFound(f"No supplier order {public_id}.")
    return so



# --- the back office's work queue ------------------------------------------------------------
# What needs staff today. Each queue is one filter, used both for the count on the admin index
# and for the list that count links to, so the two always agree.

UNSHIPPED_AFTER_DAYS = 2


def order_work_queue_filters(*, now: datetime | None = None) -> dict[str, Q]:
    """``{queue: Q}`` over orders: awaiting approval, confirmed but not shipped for
    ``UNSHIPPED_AFTER_DAYS`` days, payments authorized and waiting to be captured."""
    now = now or timezone.now()
    return {
        "awaiting_approval": Q(status=OrderStatus.AWAITING_APPROVAL),
        "unshipped": Q(status=OrderStatus.CONFIRMED,
                       fulfillment_status__in=["unfulfilled", "partially_fulfilled"],
                       confirmed_at__lt=now - timedelta(days=UNSHIPPED_AFTER_DAYS)),
        "pending_capture": Q(status__in=OPEN_STATUSES, payment_status=PaymentStatus.AUTHORIZED),
        "pending_payment": Q(status=OrderStatus.PENDING_PAYMENT),
    }


def invoice_overdue_filter(*, now: datetime | None = None) -> Q:
    return Q(status=InvoiceStatus.ISSUED, due_date__lt=(now or timezone.now()).date())


def work_queue_counts(*, now: datetime | None = None) -> dict[str, int]:
    """The order and invoice queues counted in two statements."""
    filters = order_work_queue_filters(now=now)
    counts = Order.objects.aggregate(**{name: Count("pk", filter=q)
                                        for name, q in filters.items()})
    counts["invoices_overdue"] = Invoice.objects.filter(invoice_overdue_filter(now=now)).count()
    return counts
