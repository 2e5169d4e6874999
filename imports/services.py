"""Import jobs: a file read in chunks and fed, chunk by chunk, to the admin's
django-import-export resource of its kind, so a row is validated exactly as the admin's
import validates it.

- The file is streamed: CSV and JSON Lines row by row, XLSX through openpyxl's read-only mode;
  only one chunk (``ORDERFLOW_IMPORT_CHUNK_ROWS`` rows) is in memory at a time. A JSON array
  is the exception: it is parsed whole (use JSON Lines for big files).
- "All or nothing" imports every chunk in one transaction and rolls it back if any row was
  refused, reporting every bad row (products, price list entries, companies, customers,
  addresses: one pass, status ``importing``); orders and tracking validate every chunk first
  (dry run, status ``validating``) and only a file without a bad row then imports.
- Products, price list entries, companies, customers and addresses are written in
  django-import-export's bulk mode: per chunk one query for the existing rows by natural key,
  one per foreign-key column, one ``bulk_create`` and one ``bulk_update``
  (``orderflow.resources``).
- "Skip bad rows" imports chunk by chunk, one transaction each: a chunk with bad rows is rolled
  back and imported again without them; the bad rows are reported.
- Rows are matched by the resources' natural keys, so the same file twice changes nothing the
  second time (every row counts as unchanged).

Progress and cancel requests also go through the cache: while an all-or-nothing import holds
its transaction the job row cannot show progress to others (nor be written by them on SQLite).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import openpyxl
import tablib
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from import_export.results import RowResult

from catalog.resources import PriceListEntryResource, ProductResource
from customers.resources import AddressResource, CompanyResource, CustomerResource
from fulfillment.resources import COLUMNS as TRACKING_COLUMNS
from fulfillment.resources import TrackingImportResource
from imports.constants import FINISHED, ImportFormat, ImportKind, ImportMode, ImportStatus
from imports.models import ImportJob, ImportRowError
from orderflow.carddata import redact_card_numbers
from orderflow.errors import Conflict, ValidationFailed
from orderflow.resources import neutralise_formula
from orders.resources import OrderImportResource

logger = logging.getLogger("orderflow.imports")

RESOURCES = {
    ImportKind.PRODUCTS: ProductResource,
    ImportKind.PRICE_LIST_ENTRIES: PriceListEntryResource,
    ImportKind.COMPANIES: CompanyResource,
    ImportKind.CUSTOMERS: CustomerResource,
    ImportKind.ADDRESSES: AddressResource,
    ImportKind.ORDERS: OrderImportResource,
    ImportKind.TRACKING: TrackingImportResource,
}
# Columns a file must have beyond the natural key (the rest may be left out on update).
REQUIRED_EXTRA = {
    ImportKind.PRODUCTS: ["name", "list_price"],
    ImportKind.PRICE_LIST_ENTRIES: ["unit_price"],
    ImportKind.COMPANIES: ["name"],
    ImportKind.CUSTOMERS: [],
    ImportKind.ADDRESSES: ["full_name", "line1", "city", "country"],
    ImportKind.ORDERS: ["external_reference", "channel", "email", "sku"],
    ImportKind.TRACKING: list(TRACKING_COLUMNS),
}
# Rows that one service call imports together (an order's lines, a parcel's lines) are kept
# in one chunk: a chunk never ends between two adjacent rows with the same key.
GROUP_COLUMNS = {
    ImportKind.ORDERS: ("channel", "external_reference", "order_number"),
    ImportKind.TRACKING: ("order_number", "carrier", "tracking_number"),
}
ERRORS_KEPT = 10_000  # row errors stored per job; the failed count goes on
PROGRESS_TTL = 24 * 3600
CELL_PREFIX = re.compile(r"^(row \d+, )?column [^:]+: ")


class ImportAborted(Exception):
    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class ImportCanceled(Exception):
    pass


def chunk_rows() -> int:
    return getattr(settings, "ORDERFLOW_IMPORT_CHUNK_ROWS", 500)


def max_bytes() -> int:
    return settings.ORDERFLOW_IMPORT_MAX_BYTES


def format_for(filename: str, declared: str | None = None) -> str:
    if declared:
        if declared not in ImportFormat.values:
            raise ValidationFailed(f"format must be one of {', '.join(ImportFormat.values)}",
                                   code="invalid_import",
                                   errors={"format": [f"unknown format {declared!r}"]})
        return declared
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in {"jsonl", "ndjson"}:
        return ImportFormat.JSON
    if suffix in ImportFormat.values:
        return suffix
    raise ValidationFailed("cannot tell the file's format from its name; pass format",
                           code="invalid_import",
                           errors={"format": ["csv, json or xlsx"]})


# -- reading ------------------------------------------------------------------------------

def _cell(value) -> str:
    return "" if value is None else value


def _csv_rows(handle) -> tuple[list[str], Iterator[list]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], iter(())
    except UnicodeDecodeError:
        raise ImportAborted("unreadable_file", "the file is not UTF-8 text") from None

    def rows():
        width = len(headers)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                yield (row + [""] * width)[:width]
        except UnicodeDecodeError:
            raise ImportAborted("unreadable_file", "the file is not UTF-8 text") from None
        except csv.Error as exc:
            raise ImportAborted("unreadable_file", f"line {reader.line_num}: {exc}") from None

    return headers, rows()


def _json_objects(handle) -> Iterator[dict]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig")
    first = text.read(1)
    while first and first.isspace():
        first = text.read(1)
    if first == "[":
        # A JSON array is parsed whole: JSON Lines is the streaming form.
        try:
            data = json.loads(first + text.read())
        except ValueError as exc:
            raise ImportAborted("unreadable_file", f"not valid JSON: {exc}") from None
        yield from data
        return
    for number, line in enumerate(_prepend(first, text), 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise ImportAborted("unreadable_file",
                                f"line {number} is not valid JSON: {exc}") from None


def _prepend(first: str, text) -> Iterator[str]:
    line = first + text.readline()
    while line:
        yield line
        line = text.readline()


def _json_rows(handle) -> tuple[list[str], Iterator[list]]:
    objects = _json_objects(handle)
    first = next(objects, None)
    if first is None:
        return [], iter(())
    if not isinstance(first, dict):
        raise ImportAborted("unreadable_file", "each JSON row must be an object")
    headers = [str(k).strip() for k in first]

    def rows():
        for obj in _chain(first, objects):
            if not isinstance(obj, dict):
                raise ImportAborted("unreadable_file", "each JSON row must be an object")
            yield [_cell(obj.get(h)) for h in headers]

    return headers, rows()


def _chain(first, rest):
    yield first
    yield from rest


def _xlsx_rows(handle) -> tuple[list[str], Iterator[list]]:
    try:
        # data_only: a formula cell gives its cached value; nothing is ever evaluated.
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise ImportAborted("unreadable_file", f"not an XLSX workbook: {exc}") from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        return [], iter(())
    headers = [str(h).strip() if h is not None else "" for h in header]

    def rows():
        width = len(headers)
        for row in values:
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            yield [_cell(v) for v in (list(row) + [None] * width)[:width]]
        book.close()

    return headers, rows()


READERS = {ImportFormat.CSV: _csv_rows, ImportFormat.JSON: _json_rows,
           ImportFormat.XLSX: _xlsx_rows}


def read_rows(handle, fmt: str) -> tuple[list[str], Iterator[list]]:
    return READERS[fmt](handle)


def required_columns(kind: str) -> list[str]:
    resource = RESOURCES[kind]()
    key_columns = [resource.fields[name].column_name for name in resource._meta.import_id_fields]
    return key_columns + REQUIRED_EXTRA[kind]


# A column another one can stand in for (orders: the source's order number as the reference).
STANDS_IN = {"external_reference": "order_number"}


def missing_columns(kind: str, headers: list[str]) -> list[str]:
    return [c for c in required_columns(kind)
            if c not in headers and STANDS_IN.get(c) not in headers]


def _group_key(kind: str, headers: list[str]):
    """How to tell which rows belong together for ``kind`` (None: every row stands alone)."""
    positions = [headers.index(c) for c in GROUP_COLUMNS.get(kind, ()) if c in headers]
    if not positions:
        return None
    return lambda row: tuple(str(row[i]).strip() if i < len(row) else "" for i in positions)


def _chunks(rows: Iterator[list], size: int, key=None) -> Iterator[list[list]]:
    chunk: list[list] = []
    for row in rows:
        if len(chunk) >= size and (key is None or key(row) != key(chunk[-1])):
            yield chunk
            chunk = []
        chunk.append(row)
    if chunk:
        yield chunk


# -- the resource, with file row numbers ----------------------------------------------------

class _FileRowNumbers:
    """Messages name the row of the file, not of the chunk (row 1 = the first after the
    header)."""

    row_offset = 0

    def import_row(self, row, instance_loader, **kwargs):
        kwargs["row_number"] = kwargs["row_number"] + self.row_offset
        return super().import_row(row, instance_loader, **kwargs)


# Kinds whose resources import row by row through django-import-export (orders and tracking
# replace its loop with service calls): the job writes them in bulk and, in all-or-nothing
# mode, in one pass.
BULK_KINDS = {ImportKind.PRODUCTS, ImportKind.PRICE_LIST_ENTRIES, ImportKind.COMPANIES,
              ImportKind.CUSTOMERS, ImportKind.ADDRESSES}


def _job_resource(kind: str, cls):
    """The admin's resource with file row numbers; for ``BULK_KINDS`` in django-import-export's
    bulk mode (one ``bulk_create`` / ``bulk_update`` per chunk, no savepoint per row: a chunk
    is one transaction, rolled back whole when a row is refused) and without the row diffs
    only the admin's import preview shows (``skip_unchanged`` still works:
    ``BaseResource.skip_row``)."""
    attrs = {}
    if kind in BULK_KINDS:
        attrs["Meta"] = type("Meta", (), {"use_bulk": True, "batch_size": None,
                                          "skip_diff": True})
    return type(f"Job{cls.__name__}", (_FileRowNumbers, cls), attrs)


_JOB_RESOURCES = {kind: _job_resource(kind, cls) for kind, cls in RESOURCES.items()}


@dataclass
class RowFailure:
    row_number: int
    column: str
    message: str
    raw: dict


@dataclass
class ChunkOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def failed_rows(self) -> set[int]:
        return {f.row_number for f in self.failures}


def _columns_by_attribute(resource) -> dict[str, str]:
    columns = {}
    for name, f in resource.fields.items():
        columns[name] = f.column_name
        if f.attribute:
            columns[f.attribute] = f.column_name
    return columns


def _redacted(raw: dict) -> dict:
    """A refused row as kept for the failed-rows CSV, without any card number in it."""
    return {k: redact_card_numbers(str(v)) if v is not None else v for k, v in raw.items()}


def _failures(result, resource, headers, chunk, offset) -> list[RowFailure]:
    columns = _columns_by_attribute(resource)
    failures = []
    for invalid in result.invalid_rows:
        raw = _redacted(dict(zip(headers, chunk[invalid.number - 1], strict=False)))
        error = invalid.error
        by_field = error.message_dict if hasattr(error, "error_dict") else {
            NON_FIELD_ERRORS: error.messages}
        for name, messages in by_field.items():
            column = "" if name == NON_FIELD_ERRORS else columns.get(name, name)
            for message in messages:
                failures.append(RowFailure(offset + invalid.number, column,
                                           CELL_PREFIX.sub("", str(message)), raw))
    for number, errors in result.row_errors():
        raw = _redacted(dict(zip(headers, chunk[number - 1], strict=False)))
        for error in errors:
            failures.append(RowFailure(offset + number, "", str(error.error), raw))
    return failures


def _import_chunk(kind, headers, chunk, offset, *, dry_run: bool) -> ChunkOutcome:
    resource = _JOB_RESOURCES[kind]()
    resource.row_offset = offset
    dataset = tablib.Dataset(*chunk, headers=headers)
    result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True,
                                  raise_errors=False)
    outcome = ChunkOutcome(failures=_failures(result, resource, headers, chunk, offset))
    if result.base_errors and not outcome.failures:
        # With refused rows the chunk is rolled back anyway (and retried without them when
        # skipping): a bulk write that failed because of them is not the file's error.
        raise ImportAborted("import_error", str(result.base_errors[0].error))
    if not outcome.failures:
        outcome.created = result.totals[RowResult.IMPORT_TYPE_NEW]
        outcome.updated = result.totals[RowResult.IMPORT_TYPE_UPDATE]
        outcome.unchanged = result.totals[RowResult.IMPORT_TYPE_SKIP]
    return outcome


def _group_failures(kind, headers, numbered, bad: set[int]) -> list[RowFailure]:
    """Rows imported together with a refused row (the other lines of its order or parcel)
    are refused with it — a partial order is worse than none. Adds their positions to
    ``bad`` and returns their failures."""
    key = _group_key(kind, headers)
    if key is None:
        return []
    refused = {key(numbered[p][1]): numbered[p][0] for p in bad}
    failures = []
    for position, (number, row) in enumerate(numbered):
        first = refused.get(key(row))
        if position not in bad and first is not None:
            bad.add(position)
            failures.append(RowFailure(number, "", f"not imported: row {first} of the same "
                                                   "order or parcel was refused",
                                       _redacted(dict(zip(headers, row, strict=False)))))
    return failures


def _import_chunk_skipping(kind, headers, chunk, offset) -> ChunkOutcome:
    """Import the chunk's good rows; a failed attempt rolled back, so retry without the rows
    it refused (a row may only fail once the others are gone, hence a few attempts)."""
    numbered = list(enumerate(chunk, offset + 1))
    failures: list[RowFailure] = []
    for _attempt in range(3):
        if not numbered:
            return ChunkOutcome(failures=failures)
        outcome = _import_chunk(kind, headers, [row for _, row in numbered], 0, dry_run=False)
        if not outcome.failures:
            outcome.failures = failures
            return outcome
        bad = set()
        for failure in outcome.failures:
            position = failure.row_number - 1
            failure.row_number = numbered[position][0]
            bad.add(position)
        failures.extend(outcome.failures)
        failures.extend(_group_failures(kind, headers, numbered, bad))
        numbered = [item for i, item in enumerate(numbered) if i not in bad]
    # Still failing: one row (or one order's rows) at a time, so every good row gets in.
    total = ChunkOutcome(failures=failures)
    key = _group_key(kind, headers)
    groups: dict = {}
    for number, row in numbered:
        groups.setdefault(key(row) if key else number, []).append((number, row))
    for members in groups.values():
        one = _import_chunk(kind, headers, [row for _, row in members], members[0][0] - 1,
                            dry_run=False)
        total.created += one.created
        total.updated += one.updated
        total.unchanged += one.unchanged
        total.failures.extend(one.failures)
        refused = {f.row_number - members[0][0] for f in one.failures}
        total.failures.extend(_group_failures(kind, headers, members, refused))
    return total


# -- the job --------------------------------------------------------------------------------

def job_create(*, kind: str, mode: str, upload, fmt: str | None, user) -> ImportJob:
    if kind not in ImportKind.values:
        raise ValidationFailed(f"kind must be one of {', '.join(ImportKind.values)}",
                               code="invalid_import", errors={"kind": [f"unknown kind {kind!r}"]})
    mode = mode or ImportMode.ALL_OR_NOTHING
    if mode not in ImportMode.values:
        raise ValidationFailed(f"mode must be one of {', '.join(ImportMode.values)}",
                               code="invalid_import", errors={"mode": [f"unknown mode {mode!r}"]})
    if upload.size > max_bytes():
        raise ValidationFailed(
            f"the file is {upload.size} bytes; the limit is {max_bytes()}",
            code="file_too_large", status=413, max_bytes=max_bytes())
    fmt = format_for(upload.name, fmt)
    job = ImportJob(kind=kind, mode=mode, format=fmt, filename=upload.name[:255],
                    size=upload.size, created_by=user if user and user.pk else None)
    job.file.save(upload.name, upload, save=False)
    job.save()
    return job


def job_create_stored(*, kind: str, mode: str, name: str, user) -> ImportJob:
    """A job for a file the admin's preview already stored (``name`` in the default
    storage, under ``imports/``)."""
    if kind not in ImportKind.values or mode not in ImportMode.values:
        raise ValidationFailed("unknown kind or mode", code="invalid_import")
    if not name.startswith("imports/pending/") or ".." in name or \
            not default_storage.exists(name):
        raise ValidationFailed("the uploaded file is gone; upload it again",
                               code="invalid_import")
    job = ImportJob(kind=kind, mode=mode, format=format_for(name),
                    filename=name.rsplit("/", 1)[-1], size=default_storage.size(name),
                    created_by=user if user and user.pk else None)
    job.file.name = name
    job.save()
    return job


def store_pending(upload) -> str:
    """Keep an upload between the admin's preview and its confirmation."""
    if upload.size > max_bytes():
        raise ValidationFailed(f"the file is {upload.size} bytes; the limit is {max_bytes()}",
                               code="file_too_large", status=413)
    format_for(upload.name)
    name = f"imports/pending/{secrets.token_hex(8)}/{get_valid_filename(upload.name)}"
    return default_storage.save(name, upload)


@dataclass
class Preview:
    headers: list[str]
    rows: list[list]
    checked: int
    total_rows: int
    failures: list[RowFailure]
    missing: list[str]
    error: str = ""


def preview(*, kind: str, name: str, rows_shown: int = 10, rows_checked: int = 100) -> Preview:
    """The first rows of a stored file, dry-run through the resource (nothing is written),
    and the row count: what the admin shows before an import is confirmed."""
    fmt = format_for(name)
    with default_storage.open(name, "rb") as handle:
        try:
            headers, rows = read_rows(handle, fmt)
            missing = missing_columns(kind, headers) if headers else []
            first = []
            total = 0
            for row in rows:
                if total < rows_checked:
                    first.append(row)
                total += 1
        except ImportAborted as exc:
            return Preview([], [], 0, 0, [], [], error=exc.message)
    failures = []
    if headers and not missing and first:
        failures = _import_chunk(kind, headers, first, 0, dry_run=True).failures
    return Preview(headers, first[:rows_shown], len(first), total, failures, missing)


def _cache_key(job: ImportJob, what: str) -> str:
    # The public id, never the pk: a pk comes back in a recreated database, the cache stays.
    return f"imports:{what}:{job.public_id}"


def job_cancel(*, job: ImportJob) -> ImportJob:
    """A queued job is canceled at once; a running one at its next chunk (an all-or-nothing
    import rolls back everything, skip-bad-rows keeps the chunks already imported)."""
    if job.status in FINISHED:
        raise Conflict(f"the import is already {job.status}", code="import_finished")
    canceled = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.CANCELED, finished_at=timezone.now())
    if not canceled:
        cache.set(_cache_key(job, "cancel"), True, PROGRESS_TTL)
    job.refresh_from_db()
    return job


def job_live(job: ImportJob) -> ImportJob:
    """The job with the progress its worker reported through the cache."""
    if job.status not in FINISHED:
        rows_done = cache.get(_cache_key(job, "progress"))
        if rows_done is not None:
            job.rows_done = max(job.rows_done, rows_done)
    return job


def _canceled(job: ImportJob) -> bool:
    return bool(cache.get(_cache_key(job, "cancel")))


def _progress(job: ImportJob, *, write_row: bool, **counts) -> None:
    cache.set(_cache_key(job, "progress"), job.rows_done, PROGRESS_TTL)
    if write_row:
        ImportJob.objects.filter(pk=job.pk).update(rows_done=job.rows_done, **counts)


def _store_failures(job: ImportJob, failures: list[RowFailure]) -> None:
    room = ERRORS_KEPT - job.row_errors.count()
    if room > 0 and failures:
        ImportRowError.objects.bulk_create(
            ImportRowError(job=job, row_number=f.row_number, column=f.column[:100],
                           message=f.message, raw=[[k, str(v)] for k, v in f.raw.items()])
            for f in failures[:room])


def _finish(job: ImportJob, status: str, **changes) -> None:
    changes.setdefault("rows_done", job.rows_done)
    ImportJob.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(),
                                               **changes)
    cache.delete_many([_cache_key(job, "progress"), _cache_key(job, "cancel")])


def _open_rows(job: ImportJob):
    job.file.open("rb")
    headers, rows = read_rows(job.file, job.format)
    if not headers:
        raise ImportAborted("empty_file", "the file has no header row")
    missing = missing_columns(job.kind, headers)
    if missing:
        raise ImportAborted("missing_columns",
                            f"the header misses the column(s) {', '.join(missing)}",
                            missing_columns=missing)
    return headers, rows


def _count_rows(job: ImportJob) -> int:
    try:
        _, rows = _open_rows(job)
        return sum(1 for _ in rows)
    finally:
        job.file.close()


def job_run(job_id: int) -> ImportJob | None:
    """Run a queued job to its end. Running it again (a redelivered task) does nothing."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.VALIDATING, started_at=timezone.now())
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    try:
        job.total_rows = _count_rows(job)
        ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        if job.mode == ImportMode.SKIP_BAD_ROWS:
            _run_skipping(job)
        else:
            _run_all_or_nothing(job)
    except ImportAborted as exc:
        _finish(job, ImportStatus.FAILED, error_code=exc.code, error=exc.message,
                missing_columns=exc.extra.get("missing_columns", []))
    except ImportCanceled:
        _finish(job, ImportStatus.CANCELED)
    except Exception as exc:
        logger.exception("import job %s failed", job.public_id)
        _finish(job, ImportStatus.FAILED, error_code="internal_error", error=str(exc)[:1000])
    finally:
        job.file.close()
    job.refresh_from_db()
    return job


def _run_skipping(job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING)
    headers, rows = _open_rows(job)
    counts = {"created_count": 0, "updated_count": 0, "unchanged_count": 0, "failed_count": 0}
    offset = 0
    for chunk in _chunks(rows, chunk_rows(), _group_key(job.kind, headers)):
        if _canceled(job):
            raise ImportCanceled
        outcome = _import_chunk_skipping(job.kind, headers, chunk, offset)
        _store_failures(job, outcome.failures)
        counts["created_count"] += outcome.created
        counts["updated_count"] += outcome.updated
        counts["unchanged_count"] += outcome.unchanged
        counts["failed_count"] += len(outcome.failed_rows)
        offset += len(chunk)
        job.rows_done = offset
        _progress(job, write_row=True, **counts)
    _finish(job, ImportStatus.DONE, **counts)


def _run_all_or_nothing(job: ImportJob) -> None:
    if job.kind in BULK_KINDS:
        _run_all_or_nothing_one_pass(job)
    else:
        _run_all_or_nothing_two_passes(job)


def _run_all_or_nothing_one_pass(job: ImportJob) -> None:
    """Every chunk imported in one transaction, rolled back at the end if any row was
    refused: every bad row is still reported (a refused chunk rolls back to its savepoint and
    the next chunk goes on), and nothing stays. Once a row is refused the remaining chunks
    are only checked (dry run). The refused rows are stored after the rollback."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING)
    headers, rows = _open_rows(job)
    counts = {"created_count": 0, "updated_count": 0, "unchanged_count": 0}
    failures: list[RowFailure] = []
    failed = 0
    with transaction.atomic():
        offset = 0
        for chunk in _chunks(rows, chunk_rows(), _group_key(job.kind, headers)):
            if _canceled(job):
                transaction.set_rollback(True)
                raise ImportCanceled
            outcome = _import_chunk(job.kind, headers, chunk, offset, dry_run=bool(failed))
            if outcome.failures:
                failed += len(outcome.failed_rows)
                failures.extend(outcome.failures[:max(ERRORS_KEPT - len(failures), 0)])
            counts["created_count"] += outcome.created
            counts["updated_count"] += outcome.updated
            counts["unchanged_count"] += outcome.unchanged
            offset += len(chunk)
            job.rows_done = offset
            _progress(job, write_row=False)
        if failed:
            transaction.set_rollback(True)
    if failed:
        _store_failures(job, failures)
        _finish(job, ImportStatus.FAILED, error_code="rows_invalid", failed_count=failed,
                error=f"{failed} row(s) refused; nothing was imported")
        return
    _finish(job, ImportStatus.DONE, **counts)


def _run_all_or_nothing_two_passes(job: ImportJob) -> None:
    """Orders and tracking: every chunk checked in a dry run first, then imported."""
    headers, rows = _open_rows(job)
    failed = 0
    offset = 0
    for chunk in _chunks(rows, chunk_rows(), _group_key(job.kind, headers)):
        if _canceled(job):
            raise ImportCanceled
        outcome = _import_chunk(job.kind, headers, chunk, offset, dry_run=True)
        _store_failures(job, outcome.failures)
        failed += len(outcome.failed_rows)
        offset += len(chunk)
        job.rows_done = offset
        _progress(job, write_row=True, failed_count=failed)
    job.file.close()
    if failed:
        _finish(job, ImportStatus.FAILED, error_code="rows_invalid", failed_count=failed,
                error=f"{failed} row(s) refused; nothing was imported")
        return

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING, rows_done=0)
    job.rows_done = 0
    headers, rows = _open_rows(job)
    counts = {"created_count": 0, "updated_count": 0, "unchanged_count": 0}
    failures: list[RowFailure] = []
    with transaction.atomic():
        offset = 0
        for chunk in _chunks(rows, chunk_rows(), _group_key(job.kind, headers)):
            if _canceled(job):
                transaction.set_rollback(True)
                raise ImportCanceled
            outcome = _import_chunk(job.kind, headers, chunk, offset, dry_run=False)
            if outcome.failures:
                # Valid alone but not together (e.g. a key twice in the file): nothing stays.
                failures = outcome.failures
                transaction.set_rollback(True)
                break
            counts["created_count"] += outcome.created
            counts["updated_count"] += outcome.updated
            counts["unchanged_count"] += outcome.unchanged
            offset += len(chunk)
            job.rows_done = offset
            _progress(job, write_row=False)
    if failures:
        _store_failures(job, failures)
        _finish(job, ImportStatus.FAILED, error_code="rows_invalid",
                failed_count=len({f.row_number for f in failures}),
                error="rows refused while importing; nothing was imported")
        return
    _finish(job, ImportStatus.DONE, **counts)


# -- the failed rows as a file --------------------------------------------------------------

def failed_rows_csv(job: ImportJob) -> Iterator[str]:
    """The refused rows as they were read, plus an ``error`` column: fix and re-upload."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers: list[str] | None = None
    current: tuple[int, dict] | None = None
    messages: list[str] = []

    def flush():
        writer.writerow([neutralise_formula(current[1].get(h, "")) for h in headers]
                        + ["; ".join(messages)])

    for error in job.row_errors.order_by("row_number", "id").iterator(chunk_size=1000):
        if headers is None:
            headers = [k for k, _ in error.raw]
            writer.writerow([*headers, "error"])
        if current is not None and current[0] != error.row_number:
            flush()
            messages = []
        current = (error.row_number, dict(error.raw))
        messages.append(error_text(error))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if current is not None:
        flush()
    yield buffer.getvalue()


def error_text(error: ImportRowError) -> str:
    where = f"row {error.row_number}"
    if error.column:
        where += f", column {error.column}"
    return f"{where}: {error.message}"
