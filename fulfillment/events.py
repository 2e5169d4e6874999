"""Shipment and return payloads, and the return's own timeline: the one place their shapes
are built.

``return_*_event`` factories write a ``ReturnEvent``; ``*_emit`` functions write outbox
events (``shipment.*``, ``return.*``). Both run inside the calling service's transaction.
The steps are told on the order's timeline too, through ``orders.events`` (the services
call both). Payloads read the order through the shipment's or return's ``order``.
"""

from __future__ import annotations

from fulfillment.models import Return, ReturnEvent, Shipment
from orderflow.money import format_amount
from orderflow.outbox import emit
from orderflow.timeline import Actor, record

# ReturnEvent types (past tense).
RETURN_REQUESTED = "return_requested"
RETURN_AUTHORIZED = "return_authorized"
RETURN_REJECTED = "return_rejected"
RETURN_RECEIVED = "return_received"
RETURN_REFUNDED = "return_refunded"
RETURN_CLOSED = "return_closed"


# --- the return's timeline ---------------------------------------------------------------------

def return_event(*, return_request: Return, actor: Actor, type: str, message: str,
                 old_status: str | None, **extra) -> ReturnEvent:
    """One step of a return: ``status`` old/new plus what the step adds."""
    parameters = {"status": {"old": old_status, "new": return_request.status}, **extra}
    return record(ReturnEvent, return_request=return_request, actor=actor, type=type,
                  message=message, parameters=parameters)


# --- outbox payloads ---------------------------------------------------------------------------

def shipment_payload(shipment: Shipment, lines=None) -> dict:
    """The ``data`` of every ``shipment.*`` webhook. ``lines``: the shipment's lines with
    their ``order_line`` (read from the database when not given)."""
    lines = lines if lines is not None else list(
        shipment.lines.select_related("order_line").order_by("id"))
    order = shipment.order
    so = shipment.supplier_order if shipment.supplier_order_id else None
    return {
        "id": shipment.public_id,
        "number": shipment.number,
        "status": shipment.status,
        "order_id": order.public_id,
        "order_number": order.number,
        "supplier_order_id": so.public_id if so else None,
        "carrier": shipment.carrier or None,
        "service": shipment.service or None,
        "tracking_number": shipment.tracking_number or None,
        "tracking_url": shipment.tracking_url or None,
        "weight_grams": shipment.weight_grams,
        "lines": [{"line_id": line.order_line.public_id, "sku": line.order_line.sku,
                   "name": line.order_line.name, "quantity": line.quantity}
                  for line in lines],
        "created_at": shipment.created_at,
        "shipped_at": shipment.shipped_at,
        "delivered_at": shipment.delivered_at,
        "canceled_at": shipment.canceled_at,
    }


def shipment_emit(event_type: str, shipment: Shipment, lines=None) -> None:
    emit(event_type, shipment_payload(shipment, lines), channel=shipment.order.channel,
         aggregate=shipment)


def return_payload(return_request: Return, lines=None) -> dict:
    """The ``data`` of every ``return.*`` webhook."""
    r = return_request
    lines = lines if lines is not None else list(
        r.lines.select_related("order_line").order_by("id"))
    order = r.order
    return {
        "id": r.public_id,
        "rma_number": r.rma_number,
        "status": r.status,
        "order_id": order.public_id,
        "order_number": order.number,
        "comment": r.comment,
        "instructions": r.instructions or None,
        "reject_reason": r.reject_reason or None,
        "refund_method": r.refund_method or None,
        "refund_amount": format_amount(r.refund_amount, r.currency),
        "currency": r.currency,
        "lines": [{"line_id": line.order_line.public_id, "sku": line.order_line.sku,
                   "name": line.order_line.name, "quantity": line.quantity,
                   "reason": line.reason, "reason_text": line.reason_text or None,
                   "quantity_received": line.quantity_received,
                   "condition": line.condition or None, "restock": line.restock}
                  for line in lines],
        "requested_at": r.created_at,
        "authorized_at": r.authorized_at,
        "rejected_at": r.rejected_at,
        "received_at": r.received_at,
        "refunded_at": r.refunded_at,
        "closed_at": r.closed_at,
    }


def return_emit(event_type: str, return_request: Return, lines=None) -> None:
    emit(event_type, return_payload(return_request, lines),
         channel=return_request.order.channel, aggregate=return_request)
