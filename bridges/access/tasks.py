"""Beat's housekeeping of the records API access leaves behind."""

from celery import shared_task

from bridges.access.services import bridge_records_prune, idempotency_keys_prune


@shared_task(name="bridges.tasks.prune_idempotency_keys_task")
def prune_idempotency_keys_task() -> int:
    return idempotency_keys_prune()


@shared_task(name="bridges.tasks.prune_bridge_records_task")
def prune_bridge_records_task() -> dict:
    return bridge_records_prune()
