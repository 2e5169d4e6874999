"""Celery tasks of the scheduled exports, and the one way to queue a run.

The services never queue a run themselves: "Run now" (the admin) and the retry sweep below
queue it through ``export_enqueue`` once the service's transaction has committed."""

import logging

from celery import shared_task

from bridges.exports import services
from bridges.models import ExportRun

logger = logging.getLogger("orderflow.exports")


@shared_task(name=services.RUN_EXPORT_TASK, time_limit=services.EXPORT_TIME_LIMIT,
             soft_time_limit=services.EXPORT_TIME_LIMIT - 30)
def run_export_task(schedule_id: int, trigger: str = "schedule") -> dict:
    """Beat runs it with the schedule's crontab (kwargs ``{"schedule_id": …}``); "Run now"
    and the retry sweep queue it too. Running it twice exports nothing twice."""
    run = services.export_run(schedule_id=schedule_id, trigger=trigger)
    if run is None:
        return {"ran": False}
    return {"ran": True, "run": run.public_id, "status": run.status,
            "orders": run.order_count, "rows": run.row_count}


def export_enqueue(schedule_id: int, *, trigger: str = ExportRun.Trigger.SCHEDULE) -> bool:
    """Hand a run to a worker. A broker outage is logged, not raised: beat's next tick or the
    retry sweep runs it later."""
    try:
        run_export_task.apply_async(kwargs={"schedule_id": schedule_id, "trigger": trigger},
                                    retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure
        logger.warning("could not enqueue export of schedule %s: %s", schedule_id, exc)
        return False
    return True


@shared_task(name="bridges.tasks.retry_exports_task", time_limit=120, soft_time_limit=100)
def retry_exports_task() -> dict:
    """Take back runs whose worker died and queue every retry that is due."""
    reclaimed, due = services.export_runs_retry_due()
    queued = sum(export_enqueue(schedule_id, trigger=ExportRun.Trigger.RETRY)
                 for schedule_id in due)
    return {"reclaimed": reclaimed, "due": len(due), "queued": queued}


@shared_task(name="bridges.tasks.prune_export_runs_task")
def prune_export_runs_task() -> int:
    return services.export_runs_prune()
