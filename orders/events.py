"""Order timeline entries and outbox payloads: the one place their shapes are built."""

from __future__ import annotations

from orderflow.money import format_amount
from orderflow.outbox import emit
from orderflow.timeline import Actor, record
from orders.models import Order, OrderEvent

ORDER_PLACED = "order_placed"
ORDER_CONFIRMED = "order_confirmed"


def order_placed_event(*, order: Order, actor: Actor, payment_kind: str) -> OrderEvent:
    return record(
        OrderEvent, order=order, actor=actor, type=ORDER_PLACED,
        message=f"Order placed through {order.channel.code} ({payment_kind}).",
        parameters={"status": order.status, "total": format_amount(order.total, order.currency),
                    "currency": order.currency, "payment_kind": payment_kind,
                    "cart_id": order.cart.public_id if order.cart_id else None},
    )


def _money(order: Order, amount) -> str:
    return format_amount(amount, order.currency)


def order_payload(order: Order, lines=None, payments=None) -> dict:
    """The ``data`` of every ``order.*`` webhook."""
    lines = lines if lines is not None else list(order.lines.all())
    payments = payments if payments is not None else list(order.payments.all())
    return {
        "id": order.public_id,
        "number": order.number,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "channel": order.channel.code,
        "customer_id": order.customer.public_id if order.customer_id else None,
        "company_id": order.company.public_id if order.company_id else None,
        "email": order.email,
        "currency": order.currency,
        "subtotal": _money(order, order.subtotal),
        "tax_total": _money(order, order.tax_total),
        "shipping_total": _money(order, order.shipping_total),
        "total": _money(order, order.total),
        "shipping_method": order.shipping_method_name or None,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "lines": [
            {"id": line.public_id, "sku": line.sku, "name": line.name,
             "quantity": line.quantity, "order_uom": line.order_uom or None,
             "order_quantity": line.order_quantity,
             "unit_price": _money(order, line.unit_price),
             "line_subtotal": _money(order, line.line_subtotal),
             "tax_rate": str(line.tax_rate), "tax_amount": _money(order, line.tax_amount),
             "line_total": _money(order, line.line_total)}
            for line in lines
        ],
        "payments": [
            {"id": p.public_id, "kind": p.kind, "reference": p.reference or None,
             "amount": _money(order, p.amount), "currency": p.currency, "status": p.status}
            for p in payments
        ],
        "notes": order.notes,
        "metadata": order.metadata,
        "placed_at": order.placed_at,
        "confirmed_at": order.confirmed_at,
        "approved_at": order.approved_at,
        "declined_at": order.declined_at,
        "completed_at": order.completed_at,
        "canceled_at": order.canceled_at,
    }


def order_emit(event_type: str, order: Order, *, lines=None, payments=None) -> None:
    emit(event_type, order_payload(order, lines, payments), channel=order.channel,
         aggregate=order)
