"""Files from a ``rows.Table``: CSV and JSON Lines as a stream of byte chunks (constant
memory: one cursor chunk of rows and one buffer of text at a time), XLSX into a temporary file
(openpyxl's write-only mode keeps memory flat, but a workbook is a zip with a shared index, so
it is complete only at the end).

CSV and XLSX cells that a spreadsheet would run as a formula are neutralised
(``Table.rows(spreadsheet=True)``); JSON Lines carries the text as it is (no program evaluates it).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator

from django.db.models import QuerySet

from bridges.exports.rows import Table

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FLUSH_ROWS = 500  # rows per chunk of a streamed body
XLSX_MAX_ROWS = 1_048_575  # a worksheet holds 1,048,576 rows, the header included


class TooManyRows(Exception):
    pass


def csv_chunks(table: Table, queryset: QuerySet) -> Iterator[bytes]:
    """The header, then the rows, ``FLUSH_ROWS`` at a time, as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    count = 0
    for row in table.rows(queryset, spreadsheet=True):
        writer.writerow(row)
        count += 1
        if count % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_bytes(table: Table, queryset: QuerySet) -> bytes:
    return b"".join(csv_chunks(table, queryset))


def jsonl_chunks(table: Table, queryset: QuerySet) -> Iterator[bytes]:
    """One JSON object a line, keyed by the CSV's column names, ``FLUSH_ROWS`` at a time."""
    headers = table.headers
    lines: list[str] = []
    for row in table.rows(queryset):
        lines.append(json.dumps(dict(zip(headers, row, strict=True)), ensure_ascii=False,
                                separators=(",", ":")))
        if len(lines) == FLUSH_ROWS:
            yield ("\n".join(lines) + "\n").encode()
            lines.clear()
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def xlsx_file(table: Table, queryset: QuerySet):
    """A temporary file (deleted when closed) holding the workbook, positioned at its start;
    ``TooManyRows`` beyond what a worksheet holds (counted first: one more query)."""
    import openpyxl  # only this format needs it

    if queryset.count() > XLSX_MAX_ROWS:
        raise TooManyRows(f"more than {XLSX_MAX_ROWS} rows do not fit in a worksheet")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(str(table.model._meta.verbose_name_plural)[:31])
    sheet.append(table.headers)
    for row in table.rows(queryset, spreadsheet=True):
        sheet.append(row)
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        book.save(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle
