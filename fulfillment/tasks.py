"""Celery tasks of the fulfillment app: thin, by id, safe to run twice (a second run sends
the same e-mail again, which is the lesser harm than none)."""

from celery import shared_task

from fulfillment.services.notifications import return_email_send, shipment_email_send


@shared_task(name="fulfillment.tasks.send_shipment_email_task")
def send_shipment_email_task(shipment_id: int) -> bool:
    return shipment_email_send(shipment_id=shipment_id)


@shared_task(name="fulfillment.tasks.send_return_email_task")
def send_return_email_task(return_id: int) -> bool:
    return return_email_send(return_id=return_id)
