"""Scheduled exports: contents (JSON and CSV match the orders), the watermark (only what
changed, never skipping after a failure), signed uploads to a real receiver, retries, the
directory destination, the beat entry, and the admin pages.

Runs call ``export_run`` in-process, as the worker's task does; retries go through the sweep
and the real task with Celery in eager mode.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bridges.constants import ExportRunStatus
from bridges.exports import services as exports
from bridges.exports.tasks import retry_exports_task, run_export_task
from bridges.models import ExportRun, ExportSchedule, TransactionLog
from bridges.webhooks.signing import webhook_secret_new
from orderflow.errors import Conflict, ValidationFailed
from orderflow.timeline import Actor
from orders import services as order_services
from orders.events import order_payload
from orders.models import Order
from orders.resources import OrderResource
from tests import factories
from tests.orders.conftest import make_order
from tests.receiver import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("export_settings")]
SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
SYSTEM = Actor.system("test")


@pytest.fixture
def export_settings():
    # Settle margin 0: orders written by the test are exportable at once (one test below
    # checks the margin with its default).
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"],
                           ORDERFLOW_WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
                           ORDERFLOW_EXPORT_SETTLE_SECONDS=0):
        yield


@pytest.fixture
def eager():
    """Celery runs queued tasks inline (the sweep's and "Run now"'s enqueues)."""
    from orderflow.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def rx():
    with Receiver(hold_seconds=3) as receiver:
        yield receiver


@pytest.fixture
def web(db):
    return factories.ChannelFactory(code="ECOMMERCE", name="Web shop")


@pytest.fixture
def b2b(db):
    return factories.ChannelFactory(code="B2B_PORTAL", name="B2B portal")


def to_directory(directory, **options):
    options.setdefault("name", "ERP orders")
    options.setdefault("cron", "*/15 * * * *")
    return exports.export_schedule_create(destination="directory", directory=str(directory),
                                          **options)


def to_url(rx, path="/exports", **options):
    options.setdefault("name", "Warehouse feed")
    options.setdefault("cron", "0 * * * *")
    options.setdefault("format", "json")
    return exports.export_schedule_create(destination="url", url=rx.url(path), **options)


def run(schedule, trigger="schedule") -> ExportRun:
    result = exports.export_run(schedule_id=schedule.pk, trigger=trigger)
    assert result is not None
    return result


def read_json(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_csv(data: bytes | str) -> list[dict]:
    text = data.decode() if isinstance(data, bytes) else data
    return list(csv.DictReader(io.StringIO(text)))


def as_json(value):
    """What a value looks like after the export's JSON encoding."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def watermark(schedule):
    return ExportSchedule.objects.values_list("watermark", flat=True).get(pk=schedule.pk)


def time_travel(export_run):
    ExportRun.objects.filter(pk=export_run.pk).update(next_attempt_at=timezone.now())


# --- JSON to a directory -----------------------------------------------------------------------

def test_json_export_holds_the_matching_orders_with_their_lines(tmp_path, web, b2b):
    first = make_order(channel=web, lines=[(None, 1), (None, 3)])
    second = make_order(channel=web, lines=[(None, 2)])
    make_order(channel=b2b)  # another channel
    make_order(channel=web, status="canceled")  # another status
    schedule = to_directory(tmp_path, format="json", channels=[web], statuses=["confirmed"])

    export_run = run(schedule)

    assert export_run.status == ExportRunStatus.SUCCEEDED, export_run.error
    assert (export_run.order_count, export_run.row_count) == (2, 3)
    assert export_run.changed_after is None
    stamp = export_run.changed_until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert export_run.location == str(tmp_path / f"erp-orders-{stamp}.json")
    assert os.listdir(tmp_path) == [f"erp-orders-{stamp}.json"]  # no temporary file left
    assert os.stat(export_run.location).st_mode & 0o777 == 0o640
    data = read_json(export_run.location)
    assert data["id"] == export_run.public_id
    assert data["schedule"] == {"id": schedule.public_id, "name": "ERP orders"}
    assert data["changed_after"] is None and data["order_count"] == 2
    assert [o["number"] for o in data["orders"]] == [first.number, second.number]
    # Each order is exactly the order.* webhook payload (one builder).
    for order, exported in zip([first, second], data["orders"], strict=True):
        order = Order.objects.get(pk=order.pk)
        assert exported == as_json(order_payload(order))
    lines = data["orders"][0]["lines"]
    assert [(line["sku"], line["quantity"]) for line in lines] == [
        (line.sku, line.quantity) for line in first.lines.order_by("id")]
    assert data["orders"][0]["total"] == "400.00" and data["orders"][1]["total"] == "200.00"
    assert lines[1]["line_total"] == "300.00"
    assert watermark(schedule) == export_run.changed_until


def test_a_second_run_exports_only_what_changed_since(tmp_path, web):
    a = make_order(channel=web)
    b = make_order(channel=web)
    schedule = to_directory(tmp_path, format="json")
    first = run(schedule)
    assert first.order_count == 2

    order_services.order_mark_exported(order=a, actor=SYSTEM)  # a changes
    c = make_order(channel=web)  # c is new, b untouched
    second = run(schedule)

    assert second.changed_after == first.changed_until
    numbers = [o["number"] for o in read_json(second.location)["orders"]]
    assert sorted(numbers) == sorted([a.number, c.number]) and b.number not in numbers
    exported_a = next(o for o in read_json(second.location)["orders"] if o["number"] == a.number)
    assert exported_a["exported_at"] is not None  # the state after the change

    third = run(schedule)  # nothing changed: success, no file, the watermark moves
    assert third.status == ExportRunStatus.SUCCEEDED
    assert (third.order_count, third.row_count, third.location) == (0, 0, "")
    assert len(os.listdir(tmp_path)) == 2
    assert watermark(schedule) == third.changed_until >= second.changed_until


def test_an_order_leaving_the_status_filter_is_not_exported_again(tmp_path, web):
    order = make_order(channel=web)
    schedule = to_directory(tmp_path, format="json", statuses=["confirmed"])
    assert run(schedule).order_count == 1
    order_services.order_cancel(order=order, actor=SYSTEM)
    assert run(schedule).order_count == 0


def test_the_settle_margin_leaves_recent_changes_for_the_next_run(tmp_path, web):
    settled = make_order(channel=web)
    recent = make_order(channel=web)
    now = timezone.now()
    Order.objects.filter(pk=settled.pk).update(updated_at=now - timedelta(minutes=5))
    Order.objects.filter(pk=recent.pk).update(updated_at=now - timedelta(seconds=10))
    schedule = to_directory(tmp_path, format="json")

    with override_settings(ORDERFLOW_EXPORT_SETTLE_SECONDS=60):
        first = run(schedule)
    assert [o["number"] for o in read_json(first.location)["orders"]] == [settled.number]
    assert timezone.now() - timedelta(seconds=61) < first.changed_until \
        <= timezone.now() - timedelta(seconds=60)

    second = run(schedule)  # a minute later (margin 0 here): the recent order is not skipped
    assert [o["number"] for o in read_json(second.location)["orders"]] == [recent.number]


def test_selecting_the_orders_costs_the_same_queries_for_few_or_many(tmp_path, web):
    schedule = to_directory(tmp_path, format="json")

    def queries_for(n_orders):
        Order.objects.all().delete()
        for _ in range(n_orders):
            make_order(channel=web, lines=[(None, 1), (None, 2)])
        probe = ExportRun(schedule=schedule, changed_until=timezone.now())
        with CaptureQueriesContext(connection) as ctx:
            export = exports.export_build(schedule, probe)
        assert export.order_count == n_orders
        return len(ctx.captured_queries)

    assert queries_for(1) == queries_for(6)
    schedule.format = "csv"
    assert queries_for(1) == queries_for(6)


# --- CSV ---------------------------------------------------------------------------------------

def test_csv_export_has_one_row_per_order_line(tmp_path, web):
    first = make_order(channel=web, lines=[(None, 1), (None, 3)])
    second = make_order(channel=web, lines=[(None, 2), (None, 1), (None, 5)])
    schedule = to_directory(tmp_path, name="Nightly CSV")

    export_run = run(schedule)

    assert export_run.location.endswith(".csv") and "nightly-csv-" in export_run.location
    assert (export_run.order_count, export_run.row_count) == (2, 5)
    with open(export_run.location, "rb") as handle:
        rows = read_csv(handle.read())
    # The admin's order export, column for column.
    assert list(rows[0]) == OrderResource().get_export_headers()
    expected = [(order.number, line.sku, str(line.quantity), f"{line.line_total:.2f}")
                for order in (first, second) for line in order.lines.order_by("id")]
    assert [(r["order_number"], r["sku"], r["quantity"], r["line_total"]) for r in rows] \
        == expected
    assert {r["order_total"] for r in rows if r["order_number"] == second.number} == {"800.00"}
    assert {r["channel"] for r in rows} == {"ECOMMERCE"}


def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path, web):
    make_order(channel=web, email="=cmd@example.com")
    export_run = run(to_directory(tmp_path))
    with open(export_run.location, "rb") as handle:
        (row,) = read_csv(handle.read())
    assert row["email"] == "'=cmd@example.com"


# --- URL destination ---------------------------------------------------------------------------

def test_a_url_upload_is_signed_like_a_webhook_and_logged(rx, web):
    order = make_order(channel=web, lines=[(None, 2)])
    schedule = to_url(rx)

    export_run = run(schedule)

    assert export_run.status == ExportRunStatus.SUCCEEDED, export_run.error
    (request,) = rx.wait_for(1)
    assert request.path == "/exports"
    body = Webhook(schedule.secret).verify(request.body, request.headers)
    assert [o["number"] for o in body["orders"]] == [order.number]
    assert request.header("webhook-id") == export_run.public_id == body["id"]
    assert request.header("content-type") == "application/json"
    assert request.header("x-orderflow-export-schedule") == schedule.public_id
    assert "attachment" in request.header("content-disposition")
    assert schedule.secret.startswith("whsec_")
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secret_new()).verify(request.body, request.headers)
    assert (export_run.status_code, export_run.location) == (200, rx.url("/exports"))

    (log,) = TransactionLog.objects.filter(kind="export")
    assert (log.direction, log.method, log.status_code, log.code) == ("out", "POST", 200,
                                                                     "succeeded")
    assert log.correlation_id == export_run.public_id and log.client == schedule.public_id
    assert log.endpoint == rx.url("/exports") and order.number in log.object_ids
    assert log.request_headers["webhook-signature"] == "[redacted]"
    assert "1 order(s), 1 line(s)" in log.request_body


def test_a_csv_upload_verifies_too(rx, web):
    make_order(channel=web, lines=[(None, 1), (None, 1)])
    schedule = to_url(rx, format="csv")
    run(schedule)
    (request,) = rx.wait_for(1)
    Webhook(schedule.secret).verify(request.body, request.headers, json_parse=False)
    assert request.header("content-type").startswith("text/csv")
    assert len(read_csv(request.body)) == 2


def test_a_failed_upload_keeps_the_watermark_and_the_retry_sends_the_same_orders(
        rx, web, eager):
    a = make_order(channel=web)
    b = make_order(channel=web)
    schedule = to_url(rx)
    rx.script([500])

    failed = run(schedule)

    assert failed.status == ExportRunStatus.FAILED
    assert (failed.status_code, failed.error, failed.attempt) == (500, "HTTP 500", 1)
    assert watermark(schedule) is None  # not advanced
    wait = (failed.next_attempt_at - failed.finished_at).total_seconds()
    assert SCHEDULE[0] * 0.8 <= wait <= SCHEDULE[0] * 1.2  # the first backoff window
    assert TransactionLog.objects.get(kind="export").status_code == 500

    assert retry_exports_task()["due"] == 0  # not due yet
    c = make_order(channel=web)  # changed meanwhile
    time_travel(failed)
    assert retry_exports_task() == {"reclaimed": 0, "due": 1, "queued": 1}

    retry = schedule.runs.order_by("-id").first()
    assert (retry.trigger, retry.attempt, retry.status) == ("retry", 2, "succeeded")
    assert retry.changed_after is None  # from the same watermark: nothing skipped
    first_body, second_body = (r.json for r in rx.wait_for(2))
    assert {o["number"] for o in first_body["orders"]} == {a.number, b.number}
    assert {o["number"] for o in second_body["orders"]} == {a.number, b.number, c.number}
    assert watermark(schedule) == retry.changed_until
    failed.refresh_from_db()
    assert failed.next_attempt_at is None  # consumed
    assert retry_exports_task()["due"] == 0
    assert TransactionLog.objects.filter(kind="export").count() == 2  # one per upload


def test_retry_after_is_honoured_and_retries_stop_at_max_attempts(rx, web, eager):
    make_order(channel=web)
    schedule = to_url(rx, max_attempts=2)
    rx.script([(503, "busy", {"Retry-After": "120"}), 500])

    first = run(schedule)
    wait = (first.next_attempt_at - first.finished_at).total_seconds()
    assert 119 <= wait <= 121
    time_travel(first)
    retry_exports_task()
    second = schedule.runs.order_by("-id").first()
    assert (second.attempt, second.status, second.next_attempt_at) == (2, "failed", None)
    assert watermark(schedule) is None
    # The next scheduled run still tries (the watermark never moved) and succeeds.
    third = run(schedule)
    assert (third.attempt, third.status, third.order_count) == (3, "succeeded", 1)
    assert watermark(schedule) == third.changed_until


def test_an_unreachable_receiver_fails_the_run(web):
    make_order(channel=web)
    schedule = exports.export_schedule_create(name="Down", cron="0 * * * *",
                                              destination="url", url="http://127.0.0.1:9/in")
    failed = run(schedule)
    assert failed.status == "failed" and failed.status_code is None
    assert "Connection refused" in failed.error and failed.next_attempt_at is not None
    log = TransactionLog.objects.get(kind="export")
    assert (log.status_code, log.correlation_id) == (0, failed.public_id)
    assert log.code not in ("", "succeeded")


def test_a_run_that_replaces_a_pending_retry_cancels_it(rx, web, eager):
    make_order(channel=web)
    schedule = to_url(rx)
    rx.script([500])
    failed = run(schedule)
    manual = run(schedule, trigger="manual")  # e.g. "Run now" before the retry is due
    assert (manual.attempt, manual.status) == (2, "succeeded")
    failed.refresh_from_db()
    assert failed.next_attempt_at is None
    time_travel(failed)  # even if it were due, the retry no longer runs
    assert exports.export_run(schedule_id=schedule.pk, trigger="retry") is None


# --- directory failures ------------------------------------------------------------------------

def test_a_directory_that_cannot_be_written_fails_and_keeps_the_watermark(tmp_path, web):
    order = make_order(channel=web)
    missing = tmp_path / "mounted-share"
    schedule = to_directory(missing, format="json")

    failed = run(schedule)

    assert failed.status == ExportRunStatus.FAILED
    assert "Could not write" in failed.error and "No such file" in failed.error
    assert failed.next_attempt_at is not None and watermark(schedule) is None
    log = TransactionLog.objects.get(kind="export")
    assert (log.method, log.code, log.correlation_id) == ("FILE", "failed", failed.public_id)

    (tmp_path / "blocker").write_text("a file, not a directory")
    exports.export_schedule_update(schedule=schedule, directory=str(tmp_path / "blocker"))
    assert run(schedule).status == ExportRunStatus.FAILED

    missing.mkdir()
    exports.export_schedule_update(schedule=schedule, directory=str(missing))
    retried = run(schedule, trigger="manual")
    assert retried.status == ExportRunStatus.SUCCEEDED and retried.attempt == 3
    assert [o["number"] for o in read_json(retried.location)["orders"]] == [order.number]
    assert watermark(schedule) == retried.changed_until


def test_a_file_of_the_same_name_is_never_overwritten(tmp_path, web, monkeypatch):
    make_order(channel=web)
    schedule = to_directory(tmp_path, format="json")
    probe = ExportRun(schedule=schedule, changed_until=timezone.now())
    taken = tmp_path / exports.export_filename(schedule, probe)
    taken.write_text("an earlier file")
    monkeypatch.setattr(exports.timezone, "now", lambda: probe.changed_until)
    export_run = run(schedule)
    monkeypatch.undo()
    assert taken.read_text() == "an earlier file"
    assert export_run.location.endswith(f"-{export_run.public_id}.json")


def test_directory_roots_limit_where_files_may_go(tmp_path):
    with override_settings(ORDERFLOW_EXPORT_DIRECTORY_ROOTS=[str(tmp_path / "exports")]):
        with pytest.raises(ValidationFailed) as refused:
            to_directory(tmp_path / "elsewhere")
        assert "directory" in refused.value.errors
        assert to_directory(tmp_path / "exports" / "erp").pk


# --- overlapping runs --------------------------------------------------------------------------

def test_a_schedule_already_running_is_not_run_twice(tmp_path, web):
    make_order(channel=web)
    schedule = to_directory(tmp_path)
    ExportRun.objects.create(schedule=schedule, changed_until=timezone.now())  # in flight

    assert exports.export_run(schedule_id=schedule.pk) is None
    assert os.listdir(tmp_path) == []
    with pytest.raises(Conflict) as busy:
        exports.export_schedule_run_now(schedule=schedule, actor=SYSTEM)
    assert busy.value.code == "export_run_in_progress"


def test_a_run_whose_worker_died_is_taken_back_and_retried(tmp_path, web, eager):
    make_order(channel=web)
    schedule = to_directory(tmp_path, format="json")
    stuck = ExportRun.objects.create(schedule=schedule, changed_until=timezone.now())
    ExportRun.objects.filter(pk=stuck.pk).update(
        started_at=timezone.now() - exports.RUN_LEASE - timedelta(seconds=1))

    assert retry_exports_task()["reclaimed"] == 1
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "worker stopped" in stuck.error
    time_travel(stuck)
    retry_exports_task()
    retry = schedule.runs.order_by("-id").first()
    assert (retry.trigger, retry.attempt, retry.status, retry.order_count) == (
        "retry", 2, "succeeded", 1)


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_on_two_connections_export_once(web):
    make_order(channel=web)
    with Receiver(hold_seconds=1.5) as receiver:
        receiver.script(["timeout"])  # the first upload takes 1.5 s
        schedule = exports.export_schedule_create(
            name="Slow receiver", cron="0 * * * *", destination="url",
            url=receiver.url("/slow"), timeout_seconds=10)
        results = {}

        def first_run():
            try:
                results["first"] = exports.export_run(schedule_id=schedule.pk)
            finally:
                connection.close()

        worker = threading.Thread(target=first_run)
        worker.start()
        receiver.wait_for(1)  # the first run is uploading, its claim committed
        results["second"] = exports.export_run(schedule_id=schedule.pk)
        worker.join(10)
    assert results["second"] is None
    assert results["first"].status == "succeeded" and results["first"].order_count == 1
    assert len(receiver.requests) == 1
    assert schedule.runs.count() == 1


# --- schedules: validation and the beat entry --------------------------------------------------

@pytest.mark.parametrize("cron, fragment", [
    ("61 * * * *", "minute"),
    ("0 25 * * *", "hour"),
    ("0 0 * * funday", "day of week"),
    ("* * * *", "5 fields"),
    ("0 0 1 * * *", "5 fields"),
    ("", "5 fields"),
])
def test_a_bad_cron_expression_is_refused(tmp_path, cron, fragment):
    with pytest.raises(ValidationFailed) as refused:
        to_directory(tmp_path, cron=cron)
    assert refused.value.code == "invalid_export_schedule"
    assert fragment in refused.value.errors["cron"][0]
    assert not ExportSchedule.objects.exists() and not PeriodicTask.objects.exists()


@pytest.mark.parametrize("changes, field", [
    ({"destination": "url", "url": "http://example.com/in"}, "url"),  # https required
    ({"destination": "url", "url": "https://10.1.2.3/in"}, "url"),  # private address
    ({"destination": "url", "url": ""}, "url"),
    ({"directory": "exports/erp"}, "directory"),  # relative
    ({"statuses": ["shipped"]}, "statuses"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
])
def test_destination_and_options_are_validated(tmp_path, changes, field):
    values = {"name": "X", "cron": "0 * * * *", "destination": "directory",
              "directory": str(tmp_path), **changes}
    with pytest.raises(ValidationFailed) as refused:
        exports.export_schedule_create(**values)
    assert field in refused.value.errors


def test_saving_a_schedule_writes_its_beat_entry(tmp_path, web):
    schedule = to_directory(tmp_path, cron="*/15 8-18 * * mon-fri", channels=[web])

    task = PeriodicTask.objects.get()
    assert schedule.periodic_task_id == task.pk
    assert (task.name, task.task, task.enabled) == ("Export: ERP orders",
                                                    "bridges.tasks.run_export_task", True)
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year,
            cron.day_of_week) == ("*/15", "8-18", "*", "*", "mon-fri")
    assert list(schedule.channels.all()) == [web]

    exports.export_schedule_update(schedule=schedule, cron="30 2 * * *", is_active=False,
                                   name="ERP nightly")
    task = PeriodicTask.objects.get()  # the same entry, changed
    assert task.pk == schedule.periodic_task_id and not task.enabled
    assert task.name == "Export: ERP nightly"
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "2", "*")

    with pytest.raises(ValidationFailed):
        exports.export_schedule_update(schedule=schedule, cron="30 2 * *")
    assert PeriodicTask.objects.get().crontab.minute == "30"  # unchanged

    exports.export_schedule_delete(schedule=schedule)
    assert not PeriodicTask.objects.exists() and not ExportSchedule.objects.exists()


def test_an_inactive_schedule_does_not_run(tmp_path, web):
    make_order(channel=web)
    schedule = to_directory(tmp_path, is_active=False)
    assert exports.export_run(schedule_id=schedule.pk) is None
    with pytest.raises(Conflict):
        exports.export_schedule_run_now(schedule=schedule, actor=SYSTEM)


def test_the_beat_task_runs_the_schedule(tmp_path, web, eager):
    make_order(channel=web)
    schedule = to_directory(tmp_path)
    kwargs = json.loads(schedule.periodic_task.kwargs)
    result = run_export_task.apply(kwargs=kwargs).get()
    assert result["ran"] and result["status"] == "succeeded" and result["orders"] == 1
    assert run_export_task.apply(kwargs=kwargs).get()["orders"] == 0  # twice: nothing twice


def test_resetting_the_watermark_exports_again(tmp_path, web):
    order = make_order(channel=web)
    schedule = to_directory(tmp_path, format="json")
    run(schedule)
    assert run(schedule).order_count == 0
    exports.export_schedule_update(schedule=schedule, watermark=None)
    again = run(schedule)
    assert [o["number"] for o in read_json(again.location)["orders"]] == [order.number]


# --- admin -------------------------------------------------------------------------------------

def add_form(**overrides):
    data = {"name": "Admin export", "is_active": "on", "cron": "*/30 * * * *",
            "format": "json", "statuses": ["confirmed", "completed"],
            "destination": "directory", "url": "", "directory": "/srv/exports",
            "timeout_seconds": "30", "max_attempts": "5",
            "export_after_0": "", "export_after_1": ""}
    data.update(overrides)
    return data


def test_admin_creates_a_schedule_through_the_service(admin_client_logged, web):
    url = reverse("admin:bridges_exportschedule_add")
    assert admin_client_logged.get(url).status_code == 200
    response = admin_client_logged.post(url, add_form(channels=[web.pk]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule = ExportSchedule.objects.get()
    assert (schedule.cron, schedule.format, schedule.statuses) == (
        "*/30 * * * *", "json", ["confirmed", "completed"])
    assert list(schedule.channels.all()) == [web] and schedule.secret.startswith("whsec_")
    assert PeriodicTask.objects.get().crontab.minute == "*/30"


def test_admin_form_shows_the_service_errors(admin_client_logged):
    response = admin_client_logged.post(reverse("admin:bridges_exportschedule_add"),
                                        add_form(cron="*/30 * * *", directory="relative/dir"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "5 fields" in errors["cron"][0] and "absolute" in errors["directory"][0]
    assert not ExportSchedule.objects.exists()


def test_admin_change_page_masks_the_secret_and_lists_runs(admin_client_logged, tmp_path,
                                                           web):
    make_order(channel=web)
    schedule = to_directory(tmp_path)
    export_run = run(schedule)
    page = admin_client_logged.get(
        reverse("admin:bridges_exportschedule_change", args=[schedule.pk])).content.decode()
    assert schedule.secret not in page and schedule.secret[:6] in page
    assert export_run.location in page and 'id="run-now"' in page
    revealed = admin_client_logged.post(
        reverse("admin:bridges_exportschedule_reveal", args=[schedule.pk]))
    assert schedule.secret in revealed.content.decode()

    changelist = admin_client_logged.get(reverse("admin:bridges_exportschedule_changelist"))
    assert changelist.status_code == 200 and "Succeeded" in changelist.content.decode()
    runs = admin_client_logged.get(reverse("admin:bridges_exportrun_changelist"),
                                   {"status__exact": "succeeded", "q": "ERP"})
    assert runs.status_code == 200 and export_run.location in runs.content.decode()
    detail = admin_client_logged.get(reverse("admin:bridges_exportrun_change",
                                             args=[export_run.pk]))
    assert detail.status_code == 200 and export_run.public_id in detail.content.decode()


def test_admin_change_saves_through_the_service(admin_client_logged, tmp_path):
    schedule = to_directory(tmp_path)
    response = admin_client_logged.post(
        reverse("admin:bridges_exportschedule_change", args=[schedule.pk]),
        add_form(name="ERP orders", cron="5 4 * * *", directory=str(tmp_path), format="csv"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule.refresh_from_db()
    assert schedule.cron == "5 4 * * *" and schedule.watermark is None
    assert PeriodicTask.objects.get().crontab.hour == "4"


def test_admin_run_now_queues_a_run(admin_client_logged, tmp_path, web, eager,
                                    django_capture_on_commit_callbacks):
    order = make_order(channel=web)
    schedule = to_directory(tmp_path, format="json")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client_logged.post(
            reverse("admin:bridges_exportschedule_run_now", args=[schedule.pk]), follow=True)
    assert len(callbacks) == 1  # queued after commit, not run in the request
    assert "queued" in response.content.decode()
    export_run = schedule.runs.get()
    assert (export_run.trigger, export_run.status) == ("manual", "succeeded")
    assert [o["number"] for o in read_json(export_run.location)["orders"]] == [order.number]


def test_admin_pages_need_webhooks_manage(client, tmp_path):
    schedule = to_directory(tmp_path)
    user = factories.UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="bridges", codename__in=[
            "view_exportschedule", "change_exportschedule", "view_exportrun"]))
    client.force_login(user)
    assert client.get(reverse("admin:bridges_exportschedule_changelist")).status_code == 403
    assert client.get(reverse("admin:bridges_exportrun_changelist")).status_code == 403
    assert client.post(reverse("admin:bridges_exportschedule_run_now",
                               args=[schedule.pk])).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="webhooks_manage"))
    user = type(user).objects.get(pk=user.pk)  # fresh permission cache
    client.force_login(user)
    assert client.get(reverse("admin:bridges_exportschedule_changelist")).status_code == 200
    page = client.get(reverse("admin:bridges_exportschedule_change", args=[schedule.pk]))
    assert page.status_code == 200 and 'id="reveal"' not in page.content.decode()
    assert client.post(reverse("admin:bridges_exportschedule_reveal",
                               args=[schedule.pk])).status_code == 403


def test_money_in_exports_is_a_string_with_minor_digits(tmp_path, web):
    product = factories.ProductFactory(list_price=Decimal("12.5"), stock_on_hand=10)
    make_order(channel=web, lines=[(product, 3)])
    data = read_json(run(to_directory(tmp_path, format="json")).location)
    line = data["orders"][0]["lines"][0]
    assert (line["unit_price"], line["line_total"]) == ("12.50", "37.50")


def test_admin_delete_removes_the_beat_entry(admin_client_logged, tmp_path):
    schedule = to_directory(tmp_path)
    url = reverse("admin:bridges_exportschedule_delete", args=[schedule.pk])
    assert admin_client_logged.get(url).status_code == 200
    assert admin_client_logged.post(url, {"post": "yes"}).status_code == 302
    assert not ExportSchedule.objects.exists() and not PeriodicTask.objects.exists()


def test_old_runs_are_pruned_but_each_schedules_latest_stays(tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from bridges.exports.services import export_runs_prune, export_schedule_create
    from bridges.models import ExportRun

    schedule = export_schedule_create(name="Prune", cron="0 * * * *", destination="directory",
                                      directory=str(tmp_path))
    long_ago = timezone.now() - timedelta(days=40)
    runs = [ExportRun.objects.create(schedule=schedule, status="succeeded",
                                     changed_until=long_ago) for _ in range(3)]
    ExportRun.objects.filter(pk__in=[r.pk for r in runs]).update(started_at=long_ago)
    ExportRun.objects.filter(pk=runs[-1].pk).update(started_at=long_ago + timedelta(hours=1))
    assert export_runs_prune() == 2
    assert list(ExportRun.objects.values_list("pk", flat=True)) == [runs[-1].pk]
