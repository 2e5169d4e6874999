"""The Celery tasks of the bridges app live in its parts (access, webhooks, exports); Celery's
``autodiscover_tasks`` imports this module, which imports them. Their names stay
``bridges.tasks.…``: beat's schedule and django-celery-beat rows use them."""

from bridges.access.tasks import (  # noqa: F401
    prune_bridge_records_task,
    prune_idempotency_keys_task,
)
from bridges.exports.tasks import (  # noqa: F401
    prune_export_runs_task,
    retry_exports_task,
    run_export_task,
)
from bridges.webhooks.tasks import (  # noqa: F401
    deliver_webhooks_task,
    dispatch_outbox_task,
    prune_webhook_log_task,
    sweep_webhooks_task,
)
