"""Beat and worker tasks of abandoned-cart recovery: thin wrappers over recovery.services,
safe to run twice (a cart never gets the same step twice: ``reminder_send``)."""

from celery import shared_task

from recovery.selectors import due_reminders
from recovery.services import carts_abandon, carts_expire, reminder_send


@shared_task(name="recovery.tasks.recovery_scan_task")
def recovery_scan_task() -> dict:
    """Every ORDERFLOW_RECOVERY_SCAN_SECONDS: mark idle carts abandoned, then queue one send
    task per reminder due."""
    abandoned = carts_abandon()
    due = due_reminders()
    for cart_pk, step in due:
        recovery_send_task.delay(cart_pk, step)
    return {"abandoned": len(abandoned), "queued": len(due)}


@shared_task(name="recovery.tasks.recovery_send_task")
def recovery_send_task(cart_pk: int, step: int) -> bool:
    """Send one cart's reminder ``step`` unless it was sent already (or no longer applies)."""
    return reminder_send(cart_pk=cart_pk, step=step) is not None


@shared_task(name="recovery.tasks.recovery_expire_task")
def recovery_expire_task() -> int:
    """Expire carts idle past their channel's expiry days."""
    return len(carts_expire())
