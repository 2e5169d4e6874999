from celery import shared_task

from analytics.services import recompute_dirty


@shared_task(name="analytics.tasks.recompute_dirty_days_task")
def recompute_dirty_days_task() -> int:
    """Recompute the rollups of the days marked dirty since the last run; idempotent."""
    return sum(len(r.days) for r in recompute_dirty())
