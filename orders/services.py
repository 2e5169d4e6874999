"""Order use cases. Placing an order is called by checkout inside its transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from orderflow.timeline import Actor
from orders import events
from orders.constants import OrderStatus, PaymentKind, PaymentRecordStatus
from orders.models import Order, OrderLine, Payment

NUMBER_FORMAT = "OF-{:06d}"


def order_place(*, cart, priced, customer, company, email: str, payment: dict, notes: str,
                actor: Actor) -> Order:
    """Create the order, its lines, payment, timeline and outbox events from a priced cart.

    Runs inside ``cart_checkout``'s transaction (stock is already reserved there).
    """
    assert transaction.get_connection().in_atomic_block, "order_place needs a transaction"
    now = timezone.now()
    kind = payment["kind"]
    confirmed = kind in (PaymentKind.COD, PaymentKind.TERMS)
    order = Order.objects.create(
        channel=cart.channel, customer=customer, company=company, cart=cart,
        api_key_id=cart.api_key_id, connection_id=cart.connection_id, email=email,
        status=OrderStatus.CONFIRMED if confirmed else OrderStatus.PENDING_PAYMENT,
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
    order.number = NUMBER_FORMAT.format(order.pk)
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
    events.order_placed_event(order=order, actor=actor, payment_kind=kind)
    events.order_emit("order.created", order, lines=lines, payments=[payment_row])
    if confirmed:
        events.order_emit("order.confirmed", order, lines=lines, payments=[payment_row])
    return order
