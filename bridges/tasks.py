"""Celery tasks of the bridges app: thin, idempotent, ids in, services do the work."""

import secrets

from celery import shared_task
from django.conf import settings

from bridges.services import bridge_records_prune, idempotency_keys_prune, webhooks

# Well under the Redis visibility timeout (1 h), and above one batch's worst case
# (ORDERFLOW_WEBHOOK_BATCH_SECONDS, then one more timeout) plus the loop's 5 s budget.
DELIVERY_TIME_LIMIT = 240


@shared_task(name="bridges.tasks.prune_idempotency_keys_task")
def prune_idempotency_keys_task() -> int:
    return idempotency_keys_prune()


@shared_task(name="bridges.tasks.prune_bridge_records_task")
def prune_bridge_records_task() -> dict:
    return bridge_records_prune()


@shared_task(name="bridges.tasks.dispatch_outbox_task", time_limit=120, soft_time_limit=100)
def dispatch_outbox_task(token: str | None = None) -> int:
    """Woken after commit of transactions that wrote outbox events (coalesced through
    orderflow.outbox.WAKE_FLAG); each link of the chain passes its ``token`` on. See
    ``webhooks.outbox_dispatch_step``."""
    return webhooks.outbox_dispatch_step(token=token or secrets.token_hex(8),
                                         schedule_next=_dispatch_again)


def _dispatch_again(token: str, *, gather: bool) -> None:
    webhooks.enqueue_task(dispatch_outbox_task, token,
                          countdown=settings.ORDERFLOW_WEBHOOK_GATHER_SECONDS if gather else None)


@shared_task(name="bridges.tasks.deliver_webhooks_task", time_limit=DELIVERY_TIME_LIMIT,
             soft_time_limit=DELIVERY_TIME_LIMIT - 20)
def deliver_webhooks_task(endpoint_id: int) -> dict:
    totals = webhooks.endpoint_deliver_due(endpoint_id)
    if totals.pop("more"):
        webhooks.enqueue_task(deliver_webhooks_task, endpoint_id)
    return totals


@shared_task(name="bridges.tasks.sweep_webhooks_task", time_limit=120, soft_time_limit=100)
def sweep_webhooks_task() -> dict:
    return webhooks.webhooks_sweep()


@shared_task(name="bridges.tasks.prune_webhook_log_task")
def prune_webhook_log_task() -> dict:
    from bridges.services.exports import export_runs_prune

    return {**webhooks.webhook_log_prune(), "export_runs": export_runs_prune()}


# --- scheduled exports (bridges.services.exports) ----------------------------------------------

from bridges.services import exports  # noqa: E402


@shared_task(name="bridges.tasks.run_export_task", time_limit=exports.EXPORT_TIME_LIMIT,
             soft_time_limit=exports.EXPORT_TIME_LIMIT - 30)
def run_export_task(schedule_id: int, trigger: str = "schedule") -> dict:
    """Beat runs it with the schedule's crontab (kwargs ``{"schedule_id": …}``); "Run now"
    and the retry sweep queue it too. Running it twice exports nothing twice."""
    run = exports.export_run(schedule_id=schedule_id, trigger=trigger)
    if run is None:
        return {"ran": False}
    return {"ran": True, "run": run.public_id, "status": run.status,
            "orders": run.order_count, "rows": run.row_count}


@shared_task(name="bridges.tasks.retry_exports_task", time_limit=120, soft_time_limit=100)
def retry_exports_task() -> dict:
    return exports.export_runs_retry_due()
