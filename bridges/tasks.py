"""Celery tasks of the bridges app: thin, idempotent, ids in, services do the work."""

from celery import shared_task

from bridges.services import bridge_records_prune, idempotency_keys_prune, webhooks

# Well under the Redis visibility timeout (1 h), and above one batch's worst case
# (ORDERFLOW_WEBHOOK_BATCH_SECONDS of slow answers) plus the loop's 20 s budget.
DELIVERY_TIME_LIMIT = 240


@shared_task(name="bridges.tasks.prune_idempotency_keys_task")
def prune_idempotency_keys_task() -> int:
    return idempotency_keys_prune()


@shared_task(name="bridges.tasks.prune_bridge_records_task")
def prune_bridge_records_task() -> dict:
    return bridge_records_prune()


@shared_task(name="bridges.tasks.dispatch_outbox_task", time_limit=120, soft_time_limit=100)
def dispatch_outbox_task() -> int:
    """Enqueued on commit of every transaction that wrote outbox events."""
    return webhooks.outbox_dispatch_all(max_batches=20)


@shared_task(name="bridges.tasks.deliver_webhooks_task", time_limit=DELIVERY_TIME_LIMIT,
             soft_time_limit=DELIVERY_TIME_LIMIT - 20)
def deliver_webhooks_task(endpoint_id: int) -> dict:
    totals = webhooks.endpoint_deliver_due(endpoint_id)
    if totals.pop("more"):
        webhooks.enqueue_delivery(endpoint_id)
    return totals


@shared_task(name="bridges.tasks.sweep_webhooks_task", time_limit=120, soft_time_limit=100)
def sweep_webhooks_task() -> dict:
    return webhooks.webhooks_sweep()


@shared_task(name="bridges.tasks.prune_webhook_log_task")
def prune_webhook_log_task() -> dict:
    return webhooks.webhook_log_prune()
