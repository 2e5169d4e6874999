"""Scheduled exports: the orders changed since the last successful run, as CSV or JSON, written
to a directory or POSTed to a URL signed like a webhook, on a cron schedule kept in
django-celery-beat.

A run is three steps, so no transaction stays open while a file is written or a receiver
answers (the webhook engine does the same):

1. ``_run_claim`` — one short transaction with the schedule row locked: refuses when another
   run of the schedule is in flight (at most one ``running`` run per schedule, also enforced by
   a partial unique constraint), takes the snapshot cutoff and writes the ``running`` run.
2. ``_run_produce`` — selects the orders in (watermark, cutoff], builds the body and writes or
   uploads it. No transaction.
3. ``_run_record`` — one transaction: on success the run is ``succeeded`` and the watermark
   moves to the cutoff; on failure the run is ``failed``, the watermark stays where it was
   (the next run covers the same orders again, so nothing is skipped) and a retry is due at
   ``next_attempt_at``, with the webhooks' backoff. ``retry_exports_task`` (beat, in
   bridges/exports/tasks.py) starts the due retries and takes back runs whose worker died.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from bridges.constants import ExportDestination, ExportFormat, ExportRunStatus
from bridges.exports.rows import ORDERS, order_line_rows
from bridges.models import ExportRun, ExportSchedule, TransactionLog
from bridges.webhooks import outbound
from bridges.webhooks.outbound import retry_after_seconds, retry_delay
from bridges.webhooks.signing import webhook_secret_new, webhook_signatures
from orderflow.errors import Conflict, ValidationFailed
from orderflow.timeline import Actor
from orders.constants import OrderStatus
from orders.models import Order
from orders.resources import orders_export_json

logger = logging.getLogger("orderflow.exports")

RUN_EXPORT_TASK = "bridges.tasks.run_export_task"
PERIODIC_TASK_PREFIX = "Export: "
# The run task's hard time limit. A run still ``running`` a minute after it belongs to a
# worker that died (killed, or stopped by the limit) and is taken back by the sweeper.
EXPORT_TIME_LIMIT = 600
RUN_LEASE = timedelta(seconds=EXPORT_TIME_LIMIT + 60)
MAX_RETRY_WAIT = 86400
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
CONTENT_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8",
                 ExportFormat.JSON: "application/json"}
FILE_MODE = 0o640  # exports hold names, e-mails and addresses: not world-readable


def settle_seconds() -> int:
    return int(settings.ORDERFLOW_EXPORT_SETTLE_SECONDS)


def directory_roots() -> list[str]:
    return list(settings.ORDERFLOW_EXPORT_DIRECTORY_ROOTS)


# --- schedules ---------------------------------------------------------------------------------

SCHEDULE_FIELDS = {
    "name", "cron", "format", "channels", "statuses", "destination", "url", "directory",
    "timeout_seconds", "max_attempts", "is_active", "watermark",
}
SCHEDULE_DEFAULTS = {
    "cron": "0 * * * *", "format": ExportFormat.CSV, "statuses": [],
    "destination": ExportDestination.DIRECTORY, "url": "", "directory": "",
    "timeout_seconds": 30, "max_attempts": 5, "is_active": True, "watermark": None,
}


def cron_fields(expression: str) -> dict[str, str]:
    """``"*/15 8-18 * * mon-fri"`` → the five fields by name, or ``ValidationFailed`` saying
    which field is wrong. Celery's parser decides (it is what beat runs)."""
    parts = (expression or "").split()
    if len(parts) != 5:
        raise ValidationFailed(
            "A cron expression has 5 fields: minute hour day-of-month month day-of-week "
            f"(e.g. \"0 * * * *\"); got {len(parts)}.",
            code="invalid_cron", errors={"cron": [
                f"Expected 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)}."]})
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        crontab(**fields)
    except Exception as exc:  # noqa: BLE001 - celery raises ValueError or ParseException
        message = str(exc)
        for name, value in fields.items():
            try:
                crontab(**{name: value})
            except Exception as field_exc:  # noqa: BLE001
                message = f"{name.replace('_', ' ')} {value!r}: {field_exc}"
                break
        raise ValidationFailed(f"Not a valid cron expression: {message}", code="invalid_cron",
                               errors={"cron": [f"Not a valid cron expression: {message}"]},
                               ) from None
    return fields


def _validate_schedule(values: dict) -> None:
    errors: dict[str, list[str]] = {}
    if not str(values.get("name") or "").strip():
        errors["name"] = ["Give the schedule a name."]
    try:
        cron_fields(values["cron"])
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if values["format"] not in ExportFormat.values:
        errors["format"] = [f"One of {', '.join(ExportFormat.values)}."]
    statuses = values["statuses"]
    if not isinstance(statuses, list) or any(s not in OrderStatus.values for s in statuses):
        errors["statuses"] = [f"Order statuses among {', '.join(OrderStatus.values)}."]
    destination = values["destination"]
    if destination == ExportDestination.URL:
        if not values["url"]:
            errors["url"] = ["Give the URL the export is POSTed to."]
        else:
            try:
                outbound.check_url(values["url"])
            except outbound.AddressRefused as exc:
                errors["url"] = [str(exc)]
    elif destination == ExportDestination.DIRECTORY:
        problem = _directory_problem(values["directory"])
        if problem:
            errors["directory"] = [problem]
    else:
        errors["destination"] = [f"One of {', '.join(ExportDestination.values)}."]
    if not 1 <= int(values["timeout_seconds"]) <= 120:
        errors["timeout_seconds"] = ["Between 1 and 120 seconds."]
    if not 1 <= int(values["max_attempts"]) <= 20:
        errors["max_attempts"] = ["Between 1 and 20."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="invalid_export_schedule", errors=errors)


def _directory_problem(directory: str) -> str | None:
    if not directory:
        return "Give the directory the files are written to."
    if "\x00" in directory or not os.path.isabs(directory):
        return "An absolute path on the server, e.g. /srv/exports/erp."
    roots = directory_roots()
    if roots:
        real = os.path.realpath(directory)
        inside = any(os.path.commonpath([real, os.path.realpath(root)])
                     == os.path.realpath(root) for root in roots)
        if not inside:
            return ("Not inside a directory allowed by ORDERFLOW_EXPORT_DIRECTORY_ROOTS "
                    f"({', '.join(roots)}).")
    return None


def _schedule_values(schedule: ExportSchedule | None, changes: dict) -> dict:
    values = {}
    for name in SCHEDULE_FIELDS - {"channels"}:
        if name in changes:
            values[name] = changes[name]
        elif schedule is not None:
            values[name] = getattr(schedule, name)
        else:
            values[name] = SCHEDULE_DEFAULTS.get(name, "")
    values["name"] = str(values["name"] or "").strip()
    values["cron"] = " ".join(str(values["cron"] or "").split())
    values["statuses"] = list(values["statuses"] or [])
    if values["destination"] == ExportDestination.DIRECTORY and values["directory"]:
        values["directory"] = os.path.normpath(values["directory"])
    return values


def export_schedule_validate(*, schedule: ExportSchedule | None = None, **changes) -> dict:
    """The values a create/update would save, or ``ValidationFailed`` with per-field errors
    (the admin form shows the same errors)."""
    unknown = set(changes) - SCHEDULE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    values = _schedule_values(schedule, changes)
    _validate_schedule(values)
    duplicate = ExportSchedule.objects.filter(name=values["name"])
    if schedule is not None:
        duplicate = duplicate.exclude(pk=schedule.pk)
    if duplicate.exists():
        raise ValidationFailed(f"A schedule named {values['name']!r} already exists.",
                               code="invalid_export_schedule",
                               errors={"name": ["Another schedule has this name."]})
    return values


def _periodic_task_sync(schedule: ExportSchedule) -> PeriodicTask:
    """The beat entry of a schedule: its crontab, enabled while the schedule is active."""
    tz = ZoneInfo(getattr(settings, "CELERY_TIMEZONE", None) or settings.TIME_ZONE)
    spec = {**cron_fields(schedule.cron), "timezone": tz}
    cron = CrontabSchedule.objects.filter(**spec).order_by("pk").first() \
        or CrontabSchedule.objects.create(**spec)
    task = schedule.periodic_task or PeriodicTask()
    name = (PERIODIC_TASK_PREFIX + schedule.name)[:200]
    # A beat entry left over by an earlier schedule of the same name (deleted outside the
    # service) would make the name clash: it ran our task for a row that is gone.
    PeriodicTask.objects.filter(name=name, task=RUN_EXPORT_TASK).exclude(pk=task.pk).delete()
    task.name = name
    task.task = RUN_EXPORT_TASK
    task.crontab, task.interval, task.solar, task.clocked = cron, None, None, None
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.args = "[]"
    task.enabled = schedule.is_active
    task.one_off = False
    task.description = (f"Scheduled export {schedule.public_id}; edit it on the export "
                        f"schedule's page, not here (saving the schedule overwrites this).")
    task.save()
    return task


@transaction.atomic
def export_schedule_create(*, name: str, cron: str, **options) -> ExportSchedule:
    """A schedule, its signing secret (``whsec_…``) and its beat entry. ``watermark`` (optional)
    is where the first run starts: orders changed after it; empty = every order."""
    channels = options.pop("channels", None)
    values = export_schedule_validate(name=name, cron=cron, **options)
    try:
        with transaction.atomic():
            schedule = ExportSchedule.objects.create(**values, secret=webhook_secret_new())
    except IntegrityError:
        raise ValidationFailed(f"A schedule named {values['name']!r} already exists.",
                               code="invalid_export_schedule",
                               errors={"name": ["Another schedule has this name."]}) from None
    if channels:
        schedule.channels.set(channels)
    schedule.periodic_task = _periodic_task_sync(schedule)
    schedule.save(update_fields=["periodic_task"])
    return schedule


@transaction.atomic
def export_schedule_update(*, schedule: ExportSchedule, **changes) -> ExportSchedule:
    """Change a schedule and its beat entry. Setting ``watermark`` moves where the next run
    starts (back: orders are exported again; forward: they are skipped on purpose)."""
    locked = ExportSchedule.objects.select_for_update().get(pk=schedule.pk)
    channels = changes.pop("channels", None)
    values = export_schedule_validate(schedule=locked, **changes)
    for name in changes:
        setattr(locked, name, values[name])
    try:
        with transaction.atomic():
            locked.save(update_fields=[*changes, "updated_at"])
    except IntegrityError:
        raise ValidationFailed(f"A schedule named {values['name']!r} already exists.",
                               code="invalid_export_schedule",
                               errors={"name": ["Another schedule has this name."]}) from None
    if channels is not None:
        locked.channels.set(channels)
    task = _periodic_task_sync(locked)
    if locked.periodic_task_id != task.pk:
        locked.periodic_task = task
        locked.save(update_fields=["periodic_task"])
    return locked


@transaction.atomic
def export_schedule_delete(*, schedule: ExportSchedule) -> None:
    """The schedule, its beat entry and its runs (the transaction log keeps the uploads)."""
    locked = ExportSchedule.objects.select_for_update().get(pk=schedule.pk)
    if locked.periodic_task_id:
        PeriodicTask.objects.filter(pk=locked.periodic_task_id).delete()
    locked.delete()


@transaction.atomic
def export_schedule_run_now(*, schedule: ExportSchedule, actor: Actor) -> ExportSchedule:
    """Check that the schedule may run now (the admin's "Run now"); the caller queues the
    run after commit (``bridges.exports.tasks.export_enqueue``)."""
    locked = ExportSchedule.objects.select_for_update().get(pk=schedule.pk)
    if not locked.is_active:
        raise Conflict(f"{locked.name} is inactive: activate it to run it.",
                       code="export_schedule_inactive")
    if _in_flight(locked, timezone.now()) is not None:
        raise Conflict(f"{locked.name} is already running; its run is on the list below.",
                       code="export_run_in_progress")
    logger.info("export %s requested by %s", locked.public_id, actor.display)
    return locked


# --- what a run exports ------------------------------------------------------------------------

def export_orders(schedule: ExportSchedule, *, changed_after: datetime | None,
                  changed_until: datetime):
    """Orders of the schedule's channels/statuses with changed_after < updated_at ≤
    changed_until, oldest placed first."""
    orders = Order.objects.filter(updated_at__lte=changed_until)
    if changed_after is not None:
        orders = orders.filter(updated_at__gt=changed_after)
    channel_ids = [c.pk for c in schedule.channels.all()]
    if channel_ids:
        orders = orders.filter(channel_id__in=channel_ids)
    if schedule.statuses:
        orders = orders.filter(status__in=schedule.statuses)
    return orders.order_by("placed_at", "id")


@dataclass
class Export:
    body: bytes
    order_count: int
    row_count: int
    order_numbers: list[str]


def export_build(schedule: ExportSchedule, run: ExportRun) -> Export:
    """The file of a run. CSV is the admin's and the API's order export
    (``bridges.exports.rows.ORDERS``: one row per order line, the order's columns
    repeated); JSON is ``order_payload`` per order, as the ``order.*`` webhooks carry it.
    Either way a fixed number of queries."""
    orders = export_orders(schedule, changed_after=run.changed_after,
                           changed_until=run.changed_until)
    if schedule.format == ExportFormat.JSON:
        payloads = orders_export_json(orders)
        body = json.dumps({
            "id": run.public_id,
            "schedule": {"id": schedule.public_id, "name": schedule.name},
            "changed_after": run.changed_after,
            "changed_until": run.changed_until,
            "order_count": len(payloads),
            "orders": payloads,
        }, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
        return Export(body, len(payloads), sum(len(p["lines"]) for p in payloads),
                      [p["number"] or p["id"] for p in payloads])
    # One statement selects the lines with their orders, so the counts describe the file.
    # The rows are the API export's and the admin's: ``bridges.exports.rows.ORDERS``.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ORDERS.headers)
    column = ORDERS.headers.index("order_number")
    numbers: dict[str, None] = {}
    count = 0
    for row in ORDERS.rows(order_line_rows(orders), spreadsheet=True):
        writer.writerow(row)
        numbers[row[column]] = None
        count += 1
    return Export(buffer.getvalue().encode(), len(numbers), count, list(numbers))


def export_filename(schedule: ExportSchedule, run: ExportRun) -> str:
    slug = slugify(schedule.name) or f"export-{schedule.pk}"
    stamp = run.changed_until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{slug}-{stamp}.{schedule.format}"


# --- running -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    ok: bool
    error: str = ""
    status_code: int | None = None
    location: str = ""
    retry_after: float | None = None
    export: Export | None = None
    log: TransactionLog | None = None  # one per upload attempt


def _in_flight(schedule: ExportSchedule, now: datetime) -> ExportRun | None:
    """The schedule's running run, unless its worker is gone: that one is failed (with a
    retry) so the schedule can run again. Call with the schedule row locked."""
    run = schedule.runs.filter(status=ExportRunStatus.RUNNING).first()
    if run is not None and run.started_at < now - RUN_LEASE:
        _record(run, Outcome(ok=False, error="The worker stopped before the run finished "
                                             "(killed or over its time limit)."), now=now)
        return None
    return run


def _run_claim(schedule_id: int, trigger: str) -> ExportRun | None:
    now = timezone.now()
    with transaction.atomic():
        schedule = ExportSchedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None or not schedule.is_active:
            logger.info("export schedule %s is gone or inactive: not run", schedule_id)
            return None
        if _in_flight(schedule, now) is not None:
            logger.info("export schedule %s is already running: not run", schedule_id)
            return None
        previous = schedule.runs.order_by("-started_at", "-id").first()
        if trigger == ExportRun.Trigger.RETRY and not (
                previous is not None and previous.status == ExportRunStatus.FAILED
                and previous.next_attempt_at is not None and previous.next_attempt_at <= now):
            return None  # already retried, or superseded by a run that succeeded
        # This run covers whatever the pending retry would have: it replaces it.
        schedule.runs.filter(next_attempt_at__isnull=False).update(next_attempt_at=None)
        attempt = 1
        if previous is not None and previous.status == ExportRunStatus.FAILED:
            attempt = previous.attempt + 1
        # The snapshot cutoff lags "now" by the settle margin. ``updated_at`` is stamped when
        # a transaction writes the row, not when it commits: an order saved at 12:00:00 by a
        # transaction still open when this run reads (commit at 12:00:02) is invisible now,
        # and a cutoff of 12:00:01 would move the watermark past it for good. Only orders
        # whose transactions had ``settle`` seconds to commit are exported; a later run takes
        # the rest. The margin also absorbs clock skew between web servers and workers.
        cutoff = now - timedelta(seconds=settle_seconds())
        if schedule.watermark is not None and cutoff < schedule.watermark:
            cutoff = schedule.watermark  # never backwards (e.g. the margin was raised)
        try:
            with transaction.atomic():
                return ExportRun.objects.create(
                    schedule=schedule, trigger=trigger, attempt=attempt,
                    changed_after=schedule.watermark, changed_until=cutoff)
        except IntegrityError:  # another claim won (the unique "running" constraint)
            return None


def export_run(*, schedule_id: int,
               trigger: str = ExportRun.Trigger.SCHEDULE) -> ExportRun | None:
    """Run a schedule once, now; ``None`` when it did not run (inactive, gone, already
    running, or — for a retry — nothing to retry any more). Safe to call twice: the second
    call exports only what changed in between."""
    if trigger not in ExportRun.Trigger.values:
        trigger = ExportRun.Trigger.SCHEDULE
    run = _run_claim(schedule_id, trigger)
    if run is None:
        return None
    schedule = run.schedule
    try:
        outcome = _run_produce(schedule, run)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, never lost
        logger.exception("export run %s failed", run.public_id)
        outcome = Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    return _record(run, outcome)


def _run_produce(schedule: ExportSchedule, run: ExportRun) -> Outcome:
    export = export_build(schedule, run)
    if export.order_count == 0:
        # Nothing changed: no empty file, no empty POST; the watermark still moves.
        return Outcome(ok=True, export=export)
    if schedule.destination == ExportDestination.URL:
        outcome = _upload(schedule, run, export)
    else:
        outcome = _write(schedule, run, export)
    outcome.export = export
    return outcome


def export_headers(schedule: ExportSchedule, run: ExportRun, body: bytes, *,
                   timestamp: int) -> dict[str, str]:
    """Standard Webhooks headers (the same secret format and signature as webhooks);
    ``webhook-id`` is the run's id."""
    headers = {
        "content-type": CONTENT_TYPES[schedule.format],
        "content-disposition": f'attachment; filename="{export_filename(schedule, run)}"',
        "user-agent": outbound.USER_AGENT,
        "webhook-id": run.public_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signatures(secrets_=[schedule.secret],
                                                msg_id=run.public_id, timestamp=timestamp,
                                                body=body),
        "x-orderflow-export-schedule": schedule.public_id,
        "x-orderflow-attempt": str(run.attempt),
        "x-orderflow-changed-until": run.changed_until.isoformat(),
    }
    if run.changed_after is not None:
        headers["x-orderflow-changed-after"] = run.changed_after.isoformat()
    return headers


def _upload(schedule: ExportSchedule, run: ExportRun, export: Export) -> Outcome:
    now = timezone.now()
    headers = export_headers(schedule, run, export.body, timestamp=int(now.timestamp()))
    response = outbound.post(schedule.url, body=export.body, headers=headers,
                             timeout=schedule.timeout_seconds)
    status = response.status
    ok = status is not None and 200 <= status < 300
    if ok:
        error = ""
    elif status is None:
        error = response.error
    elif 300 <= status < 400:
        error = f"HTTP {status}: redirects are not followed"
    else:
        error = f"HTTP {status}"
    log = TransactionLog(
        direction=TransactionLog.Direction.OUTBOUND, kind=TransactionLog.Kind.EXPORT,
        correlation_id=run.public_id, client=schedule.public_id, method="POST",
        endpoint=schedule.url[:300], status_code=status or 0,
        code="succeeded" if ok else (response.error_kind or "failed"),
        latency_ms=response.latency_ms, object_ids=_object_ids(export),
        request_headers={**{k: v for k, v in headers.items() if k != "webhook-signature"},
                         "webhook-signature": "[redacted]"},
        request_body=_summary(schedule, export), response_body=response.body,
    )
    return Outcome(ok=ok, error=error[:500], status_code=status, location=schedule.url,
                   retry_after=None if ok else retry_after_seconds(response, now), log=log)


def _write(schedule: ExportSchedule, run: ExportRun, export: Export) -> Outcome:
    """Write to a temporary file in the same directory, then rename it into place: a reader
    never sees half a file, and a failed write leaves nothing behind."""
    started = timezone.now()
    directory = schedule.directory
    path = os.path.join(directory, export_filename(schedule, run))
    if os.path.exists(path):  # the same second as an earlier file: never overwrite it
        root, ext = os.path.splitext(path)
        path = f"{root}-{run.public_id}{ext}"
    error = ""
    try:
        problem = _directory_problem(directory)
        if problem:
            raise PermissionError(problem)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".orderflow-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(export.body)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)
    except OSError as exc:
        error = f"Could not write {path}: {exc.strerror or exc}"[:500]
    latency = int((timezone.now() - started).total_seconds() * 1000)
    log = TransactionLog(
        direction=TransactionLog.Direction.OUTBOUND, kind=TransactionLog.Kind.EXPORT,
        correlation_id=run.public_id, client=schedule.public_id, method="FILE",
        endpoint=path[:300], status_code=0, code="failed" if error else "succeeded",
        latency_ms=latency, object_ids=_object_ids(export),
        request_body=_summary(schedule, export), response_body=error,
    )
    return Outcome(ok=not error, error=error, location=path, log=log)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (best effort: not every platform can open a dir)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _object_ids(export: Export) -> str:
    text = " ".join(export.order_numbers)
    return text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0]


def _summary(schedule: ExportSchedule, export: Export) -> str:
    # The body itself holds personal data and can be large: the log keeps what it was.
    return (f"{schedule.format.upper()} export: {export.order_count} order(s), "
            f"{export.row_count} line(s), {len(export.body)} bytes")


def _record(run: ExportRun, outcome: Outcome, *, now: datetime | None = None) -> ExportRun:
    """Finish a run. Success moves the watermark to the run's cutoff; failure leaves it and
    schedules the retry."""
    now = now or timezone.now()
    with transaction.atomic():
        schedule = ExportSchedule.objects.select_for_update().filter(
            pk=run.schedule_id).first()
        locked = ExportRun.objects.select_for_update().filter(pk=run.pk).first()
        if schedule is None or locked is None:
            return run  # deleted meanwhile
        if locked.status != ExportRunStatus.RUNNING:
            logger.warning("export run %s was already finished (%s)", run.public_id,
                           locked.status)
            return locked
        export = outcome.export
        locked.finished_at = now
        locked.location = outcome.location[:500]
        locked.status_code = outcome.status_code
        locked.error = outcome.error
        locked.order_count = export.order_count if export else 0
        locked.row_count = export.row_count if export else 0
        if outcome.ok:
            locked.status = ExportRunStatus.SUCCEEDED
            # Only when nobody moved it meanwhile (an admin resetting it to re-export).
            if schedule.watermark == locked.changed_after:
                schedule.watermark = locked.changed_until
                schedule.save(update_fields=["watermark"])
        else:
            locked.status = ExportRunStatus.FAILED
            if locked.attempt < schedule.max_attempts and schedule.is_active:
                wait = outcome.retry_after
                if wait is None:
                    wait = retry_delay(locked.attempt)
                locked.next_attempt_at = now + timedelta(seconds=min(wait, MAX_RETRY_WAIT))
        locked.save(update_fields=["status", "finished_at", "location", "status_code", "error",
                                   "order_count", "row_count", "next_attempt_at"])
        if outcome.log is not None:
            outcome.log.save()
    return locked


# --- beat --------------------------------------------------------------------------------------

def export_runs_retry_due() -> tuple[int, list[int]]:
    """Beat's sweep: take back runs whose worker died (they fail and get a retry); returns
    how many were taken back and the schedules whose retry is due, for the caller to queue
    (``bridges.exports.tasks``). Queuing twice is harmless: a retry runs only while still
    due."""
    now = timezone.now()
    reclaimed = 0
    stale = list(ExportRun.objects.filter(status=ExportRunStatus.RUNNING,
                                          started_at__lt=now - RUN_LEASE).values_list(
        "schedule_id", flat=True))
    for schedule_id in stale:
        with transaction.atomic():
            schedule = ExportSchedule.objects.select_for_update(skip_locked=True).filter(
                pk=schedule_id).first()
            if schedule is None:
                continue  # being claimed right now: the claim takes the stale run back
            stale_run = schedule.runs.filter(status=ExportRunStatus.RUNNING,
                                             started_at__lt=now - RUN_LEASE).exists()
            if stale_run and _in_flight(schedule, now) is None:
                reclaimed += 1
    due = list(ExportRun.objects.filter(
        status=ExportRunStatus.FAILED, next_attempt_at__lte=now, schedule__is_active=True,
    ).values_list("schedule_id", flat=True).distinct().order_by())
    return reclaimed, due


def export_runs_prune() -> int:
    """Finished runs past the log retention; a schedule's latest run always stays (it holds
    the pending retry, if any)."""
    cutoff = timezone.now() - settings.ORDERFLOW_WEBHOOK_LOG_RETENTION
    latest = ExportRun.objects.filter(schedule=OuterRef("schedule")).order_by("-started_at",
                                                                               "-id")
    deleted, _ = (ExportRun.objects.filter(started_at__lt=cutoff)
                  .exclude(status=ExportRunStatus.RUNNING)
                  .exclude(pk=Subquery(latest.values("pk")[:1])).delete())
    return deleted
