"""Order use cases, one module per part of an order's life; one transaction each, on a
locked order row.

Every status change looks its action up in ``constants.ORDER_TRANSITIONS`` first; a refused
change raises before anything is written. Each writes its timeline entry (``events.*_event``)
and outbox events in the same transaction. Callers import the use cases from here.
Units ship only through shipments (``fulfillment.services.shipment_ship``), which roll up
into the order through ``lifecycle.order_lines_ship``.
"""

from orders.services.approvals import NotAnApprover, order_approve, order_decline
from orders.services.edit_plan import QuantityBelowShipped
from orders.services.edits import order_edit_apply, order_edit_discard, order_edit_stage
from orders.services.export import order_mark_exported, orders_mark_exported
from orders.services.invoices import invoice_issue, invoice_mark_paid, invoice_void
from orders.services.lifecycle import (
    order_cancel,
    order_cancel_unpaid,
    order_complete,
    order_confirm,
    orders_cancel_unpaid,
)
from orders.services.payments import (
    PAYMENT_SERVICES,
    payment_authorize,
    payment_capture,
    payment_refund,
    payment_void,
)
from orders.services.placement import order_import, order_place
from orders.services.suppliers import supplier_order_acknowledge

__all__ = [
    "PAYMENT_SERVICES", "NotAnApprover", "QuantityBelowShipped", "invoice_issue",
    "invoice_mark_paid", "invoice_void", "order_approve", "order_cancel", "order_cancel_unpaid",
    "order_complete", "order_confirm", "order_decline", "order_edit_apply",
    "order_edit_discard", "order_edit_stage", "order_import",
    "order_mark_exported", "order_place", "orders_cancel_unpaid", "orders_mark_exported",
    "payment_authorize", "payment_capture", "payment_refund", "payment_void",
    "supplier_order_acknowledge",
]
