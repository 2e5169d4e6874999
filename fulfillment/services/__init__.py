"""Shipment and return use cases, one transaction each, on the locked order row.

This package sits above ``orders`` in the layers (pyproject.toml, ``[tool.importlinter]``):
shipping rolls units up into the order through ``orders.services.lifecycle.order_lines_ship``
and refunds go through ``orders.services.payment_refund``; fulfillment never writes the
order's rows itself. Callers import the use cases from here.
"""

from fulfillment.services.returns import (
    refund_due,
    return_authorize,
    return_close,
    return_receive,
    return_refund,
    return_reject,
    return_request,
)
from fulfillment.services.shipments import (
    quantities_unshipped,
    shipment_cancel,
    shipment_create,
    shipment_deliver,
    shipment_ship,
    shipment_update_tracking,
)

__all__ = [
    "quantities_unshipped", "refund_due", "return_authorize", "return_close",
    "return_receive", "return_refund", "return_reject", "return_request", "shipment_cancel",
    "shipment_create", "shipment_deliver", "shipment_ship", "shipment_update_tracking",
]
