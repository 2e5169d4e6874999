"""The Celery task that runs an import job, and the one way to queue it."""

import logging

from celery import shared_task
from django.db import transaction

from imports import services

logger = logging.getLogger("orderflow.imports")

RUN_TASK = "imports.tasks.import_job_run_task"


# A 100,000-row file takes minutes: the default 300 s limit would kill it half-way.
@shared_task(name=RUN_TASK, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def import_job_run_task(job_id: int) -> dict:
    job = services.job_run(job_id)
    if job is None:
        return {"ran": False}
    return {"ran": True, "job": job.public_id, "status": job.status}


def import_job_enqueue(job_id: int) -> None:
    """Queue the job once the transaction that wrote it has committed."""
    transaction.on_commit(lambda: import_job_run_task.apply_async(args=[job_id], retry=False))
