"""The catalogue of webhook event types: what endpoints can subscribe to.

Every type an app emits through ``orderflow.outbox.emit`` is listed here (a test keeps the two
in step) and documented with an example payload in docs/webhooks.md.
"""

EVENT_TYPES: dict[str, str] = {
    "cart.created": "A cart was created (storefront API or bridge).",
    "cart.abandoned": "A cart with an e-mail sat idle past its channel's threshold "
                      "(abandoned-cart recovery).",
    "cart.recovered": "An abandoned cart came back: through a reminder's link (step) or "
                      "the shopper's own edit.",
    "cart.expired": "A cart sat idle past its channel's expiry days.",
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
    "quote.requested": "A company buyer asked for a quote (data is the request, with its lines).",
    "quote.created": "Staff drafted a quote (from a request, or from scratch).",
    "quote.revised": "A quote was edited: its draft version changed, or a new version was made.",
    "quote.submitted": "A quote was submitted to the approval policy (levels in the data).",
    "quote.approval_recorded": "One quote approval level was granted; more levels remain.",
    "quote.approved": "A quote was approved: the last level, or no approval rule matched.",
    "quote.declined": "An approver (level set) or the buyer (level null) declined a quote.",
    "quote.changes_requested": "An approver or the buyer sent a quote back with a comment.",
    "quote.sent": "A quote was sent to the buyer.",
    "quote.accepted": "The buyer accepted the sent version of a quote.",
    "quote.converted": "An accepted quote became an order (order_id in the data).",
    "quote.conversion_failed": "An accepted quote could not become an order "
                               "(conversion_error says why; it can be retried).",
    "quote.expired": "A quote passed its version's valid-until date unanswered.",
    "quote.expiring": "The buyer was reminded that a sent quote ends soon (once per version).",
    "quote.withdrawn": "Staff withdrew a quote.",
    "webhook.test": "Sent by the \"send test event\" button; only to that endpoint.",
    "webhook_endpoint.disabled": "A webhook endpoint was switched off: automatically (410 Gone, "
                                 "or failing for ORDERFLOW_WEBHOOK_DISABLE_AFTER_HOURS) or by "
                                 "staff. Sent to the other endpoints.",
    "webhook_endpoint.enabled": "A disabled webhook endpoint was switched back on.",
}
