"""The catalogue of webhook event types: what endpoints can subscribe to.

Every type an app emits through ``orderflow.outbox.emit`` is listed here (a test keeps the two
in step) and documented with an example payload in docs/webhooks.md.
"""

EVENT_TYPES: dict[str, str] = {
    "cart.created": "A cart was created (storefront API or bridge).",
    "order.created": "An order was placed (checkout through the API or bridge, or an import).",
    "order.confirmed": "An order was confirmed: COD/terms at checkout, paid in full, approved, "
                       "or by staff.",
    "order.approval_requested": "An order waits for a B2B approver.",
    "order.approval_recorded": "One approval level was granted; more levels remain.",
    "order.approved": "The last approval level was granted.",
    "order.declined": "An approver declined the order.",
    "order.canceled": "The order was canceled; reserved stock was released.",
    "order.completed": "Every line was shipped and the order is complete.",
    "order.updated": "A staged edit was applied (lines, addresses or shipping method).",
    "order.fulfillment_updated": "Lines were shipped (the fulfillment status follows).",
    "payment.authorized": "A payment authorization succeeded.",
    "payment.authorized_failed": "A payment authorization failed.",
    "payment.captured": "Money was captured.",
    "payment.captured_failed": "A capture failed.",
    "payment.refunded": "Money was refunded.",
    "payment.refunded_failed": "A refund failed.",
    "payment.voided": "An authorization was voided.",
    "payment.voided_failed": "Voiding an authorization failed.",
    "invoice.issued": "An invoice was issued for an order.",
    "invoice.paid": "An invoice was paid (marked paid, or the order was paid in full).",
    "invoice.voided": "An invoice was voided (by staff, or its order was canceled/declined).",
    "supplier_order.created": "Lines were forwarded to an outside supplier.",
    "supplier_order.updated": "A supplier order's lines changed after an order edit.",
    "supplier_order.acknowledged": "The supplier acknowledged its order.",
    "supplier_order.canceled": "A supplier order was canceled (its order ended or an edit "
                               "removed its lines).",
    "shipment.created": "A shipment was created (pending: some units of some lines).",
    "shipment.shipped": "A shipment left with the carrier; its units rolled up into the order.",
    "shipment.delivered": "The carrier delivered a shipment.",
    "shipment.canceled": "A pending shipment was canceled; its units may ship again.",
    "return.requested": "A buyer (or staff) asked to return shipped units.",
    "return.authorized": "A return was authorized; it has its RMA number.",
    "return.rejected": "A return request was rejected.",
    "return.received": "A return's goods arrived (per line: quantity, condition, restock).",
    "return.refunded": "A return was refunded on the payment, or credited on the invoice.",
    "return.closed": "A return was closed.",
    "product.stock_changed": "A product's on-hand stock changed: staff adjusted it (Adjust "
                             "stock…) or a received return was restocked.",
    "webhook.test": "Sent by the \"send test event\" button; only to that endpoint.",
}
