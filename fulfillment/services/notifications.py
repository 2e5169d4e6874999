"""The buyer's e-mails about shipments and returns: queued after commit (a Celery task sent
by name — ``fulfillment.tasks`` imports this module, never the other way round), rendered and
sent by the task. A broker that is down loses the e-mail, never the shipment: it is logged."""

from __future__ import annotations

import logging

from celery import current_app
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from fulfillment.models import Return, Shipment

logger = logging.getLogger(__name__)

SHIPMENT_EMAIL_TASK = "fulfillment.tasks.send_shipment_email_task"
RETURN_EMAIL_TASK = "fulfillment.tasks.send_return_email_task"


def _queue(task: str, object_id: int) -> None:
    try:
        current_app.send_task(task, args=[object_id], retry=False)
    except Exception as exc:  # noqa: BLE001 - the change is committed; only the e-mail is lost
        logger.warning("could not queue %s for %s: %s", task, object_id, exc)


def shipment_shipped_notify(shipment_id: int) -> None:
    """After commit: queue the shipping e-mail."""
    _queue(SHIPMENT_EMAIL_TASK, shipment_id)


def return_authorized_notify(return_id: int) -> None:
    """After commit: queue the return instructions e-mail."""
    _queue(RETURN_EMAIL_TASK, return_id)


def _send(*, template: str, subject: str, to: str, context: dict) -> bool:
    if not to:
        return False
    text = render_to_string(f"emails/fulfillment/{template}.txt", context)
    html = render_to_string(f"emails/fulfillment/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def shipment_email_send(*, shipment_id: int) -> bool:
    """Send the shipping e-mail (carrier, tracking link, what is in the parcel) to the
    order's e-mail. Returns whether one was sent."""
    shipment = (Shipment.objects.select_related("order__channel")
                .filter(pk=shipment_id).first())
    if shipment is None:
        return False
    lines = list(shipment.lines.select_related("order_line").order_by("id"))
    order = shipment.order
    return _send(template="shipment_shipped", to=order.email,
                 subject=f"Your order {order.number} has shipped",
                 context={"shipment": shipment, "order": order, "lines": lines})


def return_email_send(*, return_id: int) -> bool:
    """Send the RMA number and the return instructions to the order's e-mail."""
    r = Return.objects.select_related("order__channel").filter(pk=return_id).first()
    if r is None or not r.rma_number:
        return False
    lines = list(r.lines.select_related("order_line").order_by("id"))
    return _send(template="return_authorized", to=r.order.email,
                 subject=f"Return {r.rma_number} for order {r.order.number} is authorized",
                 context={"return": r, "order": r.order, "lines": lines})
