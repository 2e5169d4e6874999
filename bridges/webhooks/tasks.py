"""Celery tasks of the outbound webhooks: thin, idempotent, ids in, services do the work.

The names stay ``bridges.tasks.…`` (beat's schedule and django-celery-beat rows use them);
services send them by name (``DELIVER_TASK``, and the kernel's outbox wakes
``settings.ORDERFLOW_OUTBOX_DISPATCH_TASK``), so they never import this module."""

import secrets

from celery import shared_task
from django.conf import settings

from bridges.webhooks import services

# Well under the Redis visibility timeout (1 h), and above one batch's worst case
# (ORDERFLOW_WEBHOOK_BATCH_SECONDS, then one more timeout) plus the loop's 5 s budget.
DELIVERY_TIME_LIMIT = 240


@shared_task(name="bridges.tasks.dispatch_outbox_task", time_limit=120, soft_time_limit=100)
def dispatch_outbox_task(token: str | None = None) -> int:
    """Woken after commit of transactions that wrote outbox events (coalesced through
    orderflow.outbox.WAKE_FLAG); each link of the chain passes its ``token`` on. See
    ``services.outbox_dispatch_step``."""
    return services.outbox_dispatch_step(token=token or secrets.token_hex(8),
                                         schedule_next=_dispatch_again)


def _dispatch_again(token: str, *, gather: bool) -> None:
    services.enqueue_task(dispatch_outbox_task, token,
                          countdown=settings.ORDERFLOW_WEBHOOK_GATHER_SECONDS if gather else None)


@shared_task(name=services.DELIVER_TASK, time_limit=DELIVERY_TIME_LIMIT,
             soft_time_limit=DELIVERY_TIME_LIMIT - 20)
def deliver_webhooks_task(endpoint_id: int) -> dict:
    totals = services.endpoint_deliver_due(endpoint_id)
    if totals.pop("more"):
        services.enqueue_task(deliver_webhooks_task, endpoint_id)
    return totals


@shared_task(name="bridges.tasks.sweep_webhooks_task", time_limit=120, soft_time_limit=100)
def sweep_webhooks_task() -> dict:
    return services.webhooks_sweep()


@shared_task(name="bridges.tasks.prune_webhook_log_task")
def prune_webhook_log_task() -> dict:
    return services.webhook_log_prune()
