"""Order timeline entries and outbox payloads: the one place their shapes are built.

Timeline factories (``*_event``) write an ``OrderEvent``; ``*_emit`` functions write outbox
events. Both run inside the calling service's transaction.
"""

from __future__ import annotations

from orderflow.money import format_amount
from orderflow.outbox import emit, emit_many
from orderflow.timeline import Actor, record
from orders.models import (
    Invoice,
    Order,
    OrderEvent,
    Payment,
    PaymentTransaction,
    SupplierOrder,
)

# Timeline types (past tense).
ORDER_PLACED = "order_placed"
ORDER_CONFIRMED = "order_confirmed"
ORDER_APPROVAL_RECORDED = "order_approval_recorded"
ORDER_APPROVED = "order_approved"
ORDER_DECLINED = "order_declined"
ORDER_CANCELED = "order_canceled"
ORDER_COMPLETED = "order_completed"
ORDER_EXPORTED = "order_exported"
ORDER_SHIPPED = "order_lines_shipped"
ORDER_UPDATED = "order_updated"
ORDER_EDIT_STAGED = "order_edit_staged"
ORDER_EDIT_DISCARDED = "order_edit_discarded"
ORDER_IMPORTED = "order_imported"
PAYMENT_RECORDED = "payment_{kind}"  # payment_authorize, payment_capture, …
PAYMENT_FAILED = "payment_{kind}_failed"
INVOICE_ISSUED = "invoice_issued"
INVOICE_PAID = "invoice_paid"
INVOICE_VOIDED = "invoice_voided"
SUPPLIER_ORDER_ACKNOWLEDGED = "supplier_order_acknowledged"
# Shipments and returns (the fulfillment app's steps), told on the order's timeline too.
SHIPMENT_CREATED = "shipment_created"
SHIPMENT_SHIPPED = "shipment_shipped"
SHIPMENT_DELIVERED = "shipment_delivered"
SHIPMENT_CANCELED = "shipment_canceled"
RETURN_REQUESTED = "return_requested"
RETURN_AUTHORIZED = "return_authorized"
RETURN_REJECTED = "return_rejected"
RETURN_RECEIVED = "return_received"
RETURN_REFUNDED = "return_refunded"
RETURN_CLOSED = "return_closed"
FULFILLMENT_TYPES = frozenset({
    SHIPMENT_CREATED, SHIPMENT_SHIPPED, SHIPMENT_DELIVERED, SHIPMENT_CANCELED,
    RETURN_REQUESTED, RETURN_AUTHORIZED, RETURN_REJECTED, RETURN_RECEIVED, RETURN_REFUNDED,
    RETURN_CLOSED,
})


def _money(order_or_currency, amount) -> str:
    currency = getattr(order_or_currency, "currency", order_or_currency)
    return format_amount(amount, currency)


# --- timeline ------------------------------------------------------------------------------

def order_placed_event(*, order: Order, actor: Actor, payment_kind: str,
                       supplier_orders: list[SupplierOrder] = (), defaults: dict | None = None,
                       contact: dict | None = None) -> OrderEvent:
    """``defaults``: ``{field: {value, source, detail}}`` of what checkout took by default,
    each told in the message ("payment kind defaulted to terms from company terms NET30")."""
    parameters = {"status": order.status, "total": _money(order, order.total),
                  "currency": order.currency, "payment_kind": payment_kind,
                  "cart_id": order.cart.public_id if order.cart_id else None}
    message = f"Order placed through {order.channel.code} ({payment_kind})."
    if defaults:
        parameters["defaults"] = defaults
        message += "".join(f" {_sentence(taken['detail'])}" for taken in defaults.values())
    if contact:
        parameters["contact"] = contact
        message += " Contact: " + ", ".join(contact.values()) + "."
    if order.approval_levels:
        parameters["approval_levels"] = order.approval_levels
        message += f" Needs approval at level(s) {_levels(order.approval_levels)}."
    if supplier_orders:
        parameters["supplier_orders"] = [so.number for so in supplier_orders]
        message += f" Forwarded to {len(supplier_orders)} supplier(s)."
    return record(OrderEvent, order=order, actor=actor, type=ORDER_PLACED, message=message,
                  parameters=parameters)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _levels(levels) -> str:
    return ", ".join(str(level) for level in levels)


def order_status_event(*, order: Order, actor: Actor, type: str, old_status: str,
                       message: str, supplier_orders: list[SupplierOrder] = (),
                       **extra) -> OrderEvent:
    """A status change: ``status`` old/new plus whatever the action adds."""
    parameters = {"status": {"old": old_status, "new": order.status}, **extra}
    if supplier_orders:
        parameters["supplier_orders"] = [so.number for so in supplier_orders]
        message += f" Forwarded to {len(supplier_orders)} supplier(s)."
    return record(OrderEvent, order=order, actor=actor, type=type, message=message,
                  parameters=parameters)


def order_approval_recorded_event(*, order: Order, actor: Actor, level: int, comment: str,
                                  remaining: list[int]) -> OrderEvent:
    return record(
        OrderEvent, order=order, actor=actor, type=ORDER_APPROVAL_RECORDED,
        message=f"Level {level} approved by {actor.display}"
                + (f": {comment}" if comment else "")
                + (f" — waiting for level(s) {_levels(remaining)}." if remaining else "."),
        parameters={"level": level, "comment": comment, "remaining_levels": remaining},
    )


def payment_transaction_event(*, order: Order, actor: Actor, payment: Payment,
                              tx: PaymentTransaction, old_status: str) -> OrderEvent:
    template = PAYMENT_RECORDED if tx.result == "succeeded" else PAYMENT_FAILED
    verb = {"authorize": "authorized", "capture": "captured", "refund": "refunded",
            "void": "voided"}[tx.kind]
    message = (f"{_money(order, tx.amount)} {order.currency} {verb} on {payment.kind} payment"
               + (f" ({tx.reference})" if tx.reference else ""))
    if tx.result != "succeeded":
        message = f"Provider refused: {message}" + (f" — {tx.message}" if tx.message else "")
    return record(
        OrderEvent, order=order, actor=actor, type=template.format(kind=tx.kind),
        message=message + ".",
        parameters={"payment_id": payment.public_id, "transaction_id": tx.public_id,
                    "kind": tx.kind, "result": tx.result, "amount": _money(order, tx.amount),
                    "reference": tx.reference or None,
                    "payment_status": {"old": old_status, "new": order.payment_status}},
    )


def invoice_event(*, invoice: Invoice, actor: Actor, type: str, message: str) -> OrderEvent:
    return record(OrderEvent, order=invoice.order, actor=actor, type=type, message=message,
                  parameters={"invoice_id": invoice.public_id, "number": invoice.number,
                              "amount": _money(invoice, invoice.amount),
                              "status": invoice.status,
                              "due_date": invoice.due_date.isoformat()})


def order_exported_event(*, order: Order, actor: Actor) -> OrderEvent:
    return record(OrderEvent, order=order, actor=actor, type=ORDER_EXPORTED,
                  message="Marked exported.",
                  parameters={"exported_at": order.exported_at.isoformat()})


def order_lines_shipped_event(*, order: Order, actor: Actor, shipped: dict,
                              old_fulfillment: str, shipment: str = "") -> OrderEvent:
    parameters = {"lines": shipped,
                  "fulfillment_status": {"old": old_fulfillment,
                                         "new": order.fulfillment_status}}
    message = f"Shipped {sum(shipped.values())} unit(s) on {len(shipped)} line(s)"
    if shipment:
        parameters["shipment"] = shipment
        message += f" in shipment {shipment}"
    return record(OrderEvent, order=order, actor=actor, type=ORDER_SHIPPED,
                  message=message + ".", parameters=parameters)


def order_fulfillment_event(*, order: Order, actor: Actor, type: str, message: str,
                            parameters: dict) -> OrderEvent:
    """A shipment's or a return's step on its order's timeline (``FULFILLMENT_TYPES``;
    written by the fulfillment app's services, whose own payloads live in
    ``fulfillment.events``)."""
    if type not in FULFILLMENT_TYPES:
        raise ValueError(f"{type!r} is not a fulfillment timeline type")
    return record(OrderEvent, order=order, actor=actor, type=type, message=message,
                  parameters=parameters)


def supplier_order_event(*, supplier_order: SupplierOrder, actor: Actor, type: str,
                         message: str) -> OrderEvent:
    return record(OrderEvent, order=supplier_order.order, actor=actor, type=type,
                  message=message,
                  parameters={"supplier_order_id": supplier_order.public_id,
                              "number": supplier_order.number,
                              "supplier": supplier_order.supplier.code,
                              "status": supplier_order.status})


def order_edit_event(*, order: Order, actor: Actor, edit, type: str) -> OrderEvent:
    """An edit staged or discarded: the order did not change."""
    balance = edit.preview.get("balance", {})
    verb = "staged" if type == ORDER_EDIT_STAGED else "discarded"
    message = f"Edit {edit.public_id} {verb}"
    if type == ORDER_EDIT_STAGED:
        message += (f": total {balance.get('total_before')} → {balance.get('total_after')} "
                    f"{order.currency}")
    return record(OrderEvent, order=order, actor=actor, type=type, message=message + ".",
                  parameters={"edit_id": edit.public_id, "changes": edit.changes,
                              "balance": balance})


def order_edit_applied_event(*, order: Order, actor: Actor, edit, diff: dict, balance: dict,
                             old_fulfillment: str) -> OrderEvent:
    """The one timeline entry of an applied edit: the before/after diff and the money."""
    message = f"Order edited (edit {edit.public_id})"
    if balance["to_collect"] != _money(order, 0) and diff.get("total"):
        message += f"; {balance['to_collect']} {order.currency} to collect"
    if balance["to_refund"] != _money(order, 0):
        message += f"; {balance['to_refund']} {order.currency} to refund"
    parameters = {"edit_id": edit.public_id, "diff": diff, "balance": balance}
    if old_fulfillment != order.fulfillment_status:
        parameters["fulfillment_status"] = {"old": old_fulfillment,
                                            "new": order.fulfillment_status}
    return record(OrderEvent, order=order, actor=actor, type=ORDER_UPDATED,
                  message=message + ".", parameters=parameters)


def order_imported_event(*, order: Order, actor: Actor, source: str) -> OrderEvent:
    return record(OrderEvent, order=order, actor=actor, type=ORDER_IMPORTED,
                  message=f"Order imported from {source}"
                          + (f" (reference {order.external_reference})"
                             if order.external_reference else "") + ".",
                  parameters={"status": order.status, "total": _money(order, order.total),
                              "currency": order.currency, "source": source,
                              "external_reference": order.external_reference or None})


# --- outbox payloads -----------------------------------------------------------------------

def payment_payload(order: Order, p: Payment) -> dict:
    return {"id": p.public_id, "kind": p.kind, "reference": p.reference or None,
            "amount": _money(order, p.amount), "currency": p.currency, "status": p.status,
            "captured": _money(order, p.amount_captured),
            "refunded": _money(order, p.amount_refunded),
            "refund_owed": _money(order, p.refund_owed),
            "amount_due": _money(order, p.amount_due)}


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
             "quantity_shipped": line.quantity_shipped,
             "unit_price": _money(order, line.unit_price),
             "line_subtotal": _money(order, line.line_subtotal),
             "tax_rate": str(line.tax_rate), "tax_amount": _money(order, line.tax_amount),
             "line_total": _money(order, line.line_total),
             "metadata": line.metadata}
            for line in lines
        ],
        "payments": [payment_payload(order, p) for p in payments],
        "notes": order.notes,
        "external_reference": order.external_reference or None,
        "metadata": order.metadata,
        "approval_levels": order.approval_levels,
        "cancel_reason": order.cancel_reason or None,
        "decline_reason": order.decline_reason or None,
        "placed_at": order.placed_at,
        "confirmed_at": order.confirmed_at,
        "approved_at": order.approved_at,
        "declined_at": order.declined_at,
        "completed_at": order.completed_at,
        "canceled_at": order.canceled_at,
        "exported_at": order.exported_at,
    }


def order_emit(event_type: str | list[str], order: Order, *, lines=None, payments=None) -> None:
    """One or several ``order.*`` events with the same payload, in one INSERT."""
    types = [event_type] if isinstance(event_type, str) else event_type
    payload = order_payload(order, lines, payments)
    emit_many([(t, payload, order.channel, order) for t in types])


def payment_emit(event_type: str, *, order: Order, payment: Payment,
                 tx: PaymentTransaction) -> None:
    emit(event_type, {
        "order_id": order.public_id, "order_number": order.number,
        "payment_status": order.payment_status,
        "payment": payment_payload(order, payment),
        "transaction": {"id": tx.public_id, "kind": tx.kind, "result": tx.result,
                        "amount": _money(order, tx.amount), "currency": tx.currency,
                        "reference": tx.reference or None, "occurred_at": tx.occurred_at},
    }, channel=order.channel, aggregate=payment)


def invoice_payload(invoice: Invoice) -> dict:
    order = invoice.order
    return {
        "id": invoice.public_id,
        "number": invoice.number,
        "status": invoice.status,
        "order_id": order.public_id,
        "order_number": order.number,
        "company_id": invoice.company.public_id if invoice.company_id else None,
        "customer_id": invoice.customer.public_id if invoice.customer_id else None,
        "amount": _money(invoice, invoice.amount),
        "currency": invoice.currency,
        "issued_at": invoice.issued_at,
        "due_date": invoice.due_date,
        "paid_at": invoice.paid_at,
        "voided_at": invoice.voided_at,
    }


def invoice_emit(event_type: str, invoice: Invoice) -> None:
    emit(event_type, invoice_payload(invoice), channel=invoice.order.channel, aggregate=invoice)


def supplier_order_payload(so: SupplierOrder, lines=None) -> dict:
    lines = lines if lines is not None else list(so.lines.all())
    order = so.order
    return {
        "id": so.public_id,
        "number": so.number,
        "status": so.status,
        "supplier": so.supplier.code,
        "order_id": order.public_id,
        "order_number": order.number,
        "shipping_method": order.shipping_method_name or None,
        "shipping_address": order.shipping_address,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity}
                  for line in lines],
        "created_at": so.created_at,
        "acknowledged_at": so.acknowledged_at,
        "canceled_at": so.canceled_at,
    }


def supplier_order_emit(event_type: str, so: SupplierOrder) -> None:
    emit(event_type, supplier_order_payload(so), channel=so.order.channel, aggregate=so)


def supplier_orders_created_emit(supplier_orders: list[SupplierOrder], lines: dict) -> None:
    """``supplier_order.created`` for each supplier order, in one INSERT (forwarding runs
    inside checkout and must cost the same for one supplier or ten)."""
    emit_many([
        ("supplier_order.created", supplier_order_payload(so, lines[so.supplier_id]),
         so.order.channel, so)
        for so in supplier_orders
    ])
