from celery import shared_task

from bridges.services import idempotency_keys_prune


@shared_task(name="bridges.tasks.prune_idempotency_keys_task")
def prune_idempotency_keys_task() -> int:
    return idempotency_keys_prune()
