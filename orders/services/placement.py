"""Placing orders: from a checked-out cart, or imported from elsewhere. Both create the order
through ``order_create``, the way Saleor's ``_create_order`` does: the order, its lines in
one ``bulk_create``, its payment record, and its supplier orders when it is confirmed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.services import stock_reserve
from orderflow.errors import Conflict, ValidationFailed
from orderflow.money import quantize
from orderflow.timeline import Actor
from orders import events
from orders.constants import OrderStatus, PaymentKind, PaymentRecordStatus, TransactionKind
from orders.credit import credit_check
from orders.models import Order, OrderLine, Payment, SupplierOrder
from orders.pricing import LineToPrice, Priced, price_lines
from orders.selectors import approval_levels_required
from orders.services.suppliers import forward_to_suppliers
from orders.services.transactions import record_transaction


def order_create(*, channel, priced: Priced, email: str, status: str, payment_kind: str,
                 now: datetime, payment_reference: str = "", customer=None, company=None,
                 cart=None, shipping_method=None, shipping_address: dict | None = None,
                 billing_address: dict | None = None, notes: str = "",
                 metadata: dict | None = None, external_reference: str = "",
                 approval_levels: list[int] = ()
                 ) -> tuple[Order, list[OrderLine], Payment, list[SupplierOrder]]:
    """Write a new order from ``priced`` lines: the order (its number drawn by the database),
    its lines, its payment record (pending) and, when it is born confirmed, its supplier
    orders. Stock is the caller's: reserved before or after, in the same transaction. The
    caller writes the timeline entry and the outbox events, which differ by way in."""
    assert transaction.get_connection().in_atomic_block, "order_create needs a transaction"
    confirmed = status == OrderStatus.CONFIRMED
    order = Order.objects.create(
        channel=channel, customer=customer, company=company, cart=cart,
        api_key_id=cart.api_key_id if cart else None,
        connection_id=cart.connection_id if cart else None,
        email=email, status=status, approval_levels=list(approval_levels),
        currency=priced.currency, subtotal=priced.subtotal, tax_total=priced.tax_total,
        shipping_total=priced.shipping_total, total=priced.total,
        shipping_method=shipping_method,
        shipping_method_name=shipping_method.name if shipping_method is not None else "",
        shipping_address=shipping_address, billing_address=billing_address or shipping_address,
        notes=notes, metadata=metadata or {}, external_reference=external_reference,
        placed_at=now, confirmed_at=now if confirmed else None,
    )
    lines = OrderLine.objects.bulk_create([
        OrderLine(
            order=order, product=p.product, sku=p.product.sku, name=p.product.name,
            quantity=p.quantity, order_uom=p.order_uom, order_quantity=p.order_quantity,
            unit_price=p.unit_price, price_source=p.source, line_subtotal=p.subtotal,
            tax_rate=p.tax_rate, tax_amount=p.tax_amount, line_total=p.total,
            quantity_reserved=p.quantity if p.product.track_inventory else 0,
            metadata=p.metadata,
        )
        for p in priced.lines
    ])
    payment = Payment.objects.create(
        order=order, kind=payment_kind, reference=payment_reference, amount=priced.total,
        currency=priced.currency, status=PaymentRecordStatus.PENDING,
    )
    supplier_orders = forward_to_suppliers(order, new_lines=lines) if confirmed else []
    return order, lines, payment, supplier_orders


def order_place(*, cart, priced: Priced, customer, company, email: str, payment: dict,
                notes: str, actor: Actor, defaults: dict | None = None,
                contact: dict | None = None) -> Order:
    """The order of a checked-out cart, with its timeline entry and outbox events.
    ``defaults``: what checkout took by default (``cart.defaults``), named on the timeline;
    ``contact``: a guest's name and phone.

    Runs inside ``cart_checkout``'s transaction, which locked and converted the cart and
    reserves the stock after this. COD and terms orders are confirmed at once, a payment
    reference waits for its capture, and an order over one of the company's approval
    thresholds waits for its approvers.
    """
    kind = payment["kind"]
    levels = approval_levels_required(company=company, total=priced.total)
    if levels:
        status = OrderStatus.AWAITING_APPROVAL
    elif kind in (PaymentKind.COD, PaymentKind.TERMS):
        status = OrderStatus.CONFIRMED
    else:
        status = OrderStatus.PENDING_PAYMENT
    order, lines, payment_row, supplier_orders = order_create(
        channel=cart.channel, priced=priced, email=email, status=status, payment_kind=kind,
        payment_reference=payment.get("reference", ""), now=timezone.now(),
        customer=customer, company=company, cart=cart, shipping_method=cart.shipping_method,
        shipping_address=cart.shipping_address, billing_address=cart.billing_address,
        notes=notes, metadata=cart.metadata, approval_levels=levels)
    events.order_placed_event(order=order, actor=actor, payment_kind=kind,
                              supplier_orders=supplier_orders, defaults=defaults,
                              contact=contact)
    types = ["order.created"]
    if status == OrderStatus.CONFIRMED:
        types.append("order.confirmed")
    if levels:
        types.append("order.approval_requested")
    events.order_emit(types, order, lines=lines, payments=[payment_row])
    # The caller answers with this order: its lines and payment as if prefetched.
    order._prefetched_objects_cache = {"lines": lines, "payments": [payment_row]}
    return order


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
    "unit_price" (or None)}]``, products with ``tax_class.rates`` and ``supplier`` loaded.
    No approval rules: the order was agreed where it was taken. A COD, terms or paid order is
    confirmed; an unpaid payment reference waits for payment.
    """
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
    priced = price_lines(
        items=[LineToPrice(product=line["product"], quantity=line["quantity"],
                           unit_price=line.get("unit_price"), source="import",
                           order_uom=line.get("order_uom") or "",
                           order_quantity=line.get("order_quantity"),
                           metadata=line.get("metadata") or {}) for line in lines],
        company=company, country=((shipping_address or {}).get("country") or "").upper(),
        currency=currency, shipping_method=shipping_method if shipping_total is None else None)
    if not priced.shipping_available:
        raise ValidationFailed("The shipping method cannot ship this order.",
                               code="shipping_method_unavailable",
                               errors={"shipping_method": ["Not available."]})
    if shipping_total is not None:
        priced.shipping_total = quantize(shipping_total, currency)
        priced.total = priced.subtotal + priced.tax_total + priced.shipping_total
    if payment_kind == PaymentKind.TERMS and (company is None or not paid):
        credit_check(company=company, order_total=priced.total)

    stock_reserve(items=[(p.product, p.quantity) for p in priced.lines])
    confirmed = paid or payment_kind in (PaymentKind.COD, PaymentKind.TERMS)
    order, lines_created, payment, _ = order_create(
        channel=channel, priced=priced, email=email.strip().lower(),
        status=OrderStatus.CONFIRMED if confirmed else OrderStatus.PENDING_PAYMENT,
        payment_kind=payment_kind, payment_reference=payment_reference, now=timezone.now(),
        customer=customer, company=company, shipping_method=shipping_method,
        shipping_address=shipping_address, billing_address=billing_address, notes=notes,
        metadata=metadata, external_reference=external_reference)
    if paid:
        record_transaction(order=order, payment=payment, kind=TransactionKind.CAPTURE,
                           amount=priced.total, actor=actor, reference=payment_reference,
                           message=f"Paid before import ({source}).")
        order.save(update_fields=["payment_status", "updated_at"])
    events.order_imported_event(order=order, actor=actor, source=source)
    events.order_emit("order.created", order, lines=lines_created, payments=[payment])
    if confirmed:
        events.order_emit("order.confirmed", order, lines=lines_created, payments=[payment])
    return order
