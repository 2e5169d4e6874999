"""Import/export benchmark (issue 23, "Performance budget"): the product import job and the
streaming order export, each against PostgreSQL ``COPY`` of the same rows, with the peak
memory of the process doing the work.

Run by ``bench/run.py --mode imports`` on its disposable, migrated PostgreSQL database (or by
hand: ``DATABASE_URL=postgres://…/scratch .venv/bin/python bench/imports.py --rows 100000
--orders 1000000`` on a database you can throw away). Each part runs in a child process of
its own, so its peak resident memory (``ru_maxrss``) is its own:

- ``import``: a CSV of ``--rows`` products (the columns of the product import) →
  ``imports.services.job_run`` of a queued ``products`` job in the default mode (all or
  nothing: every chunk validated, then imported), exactly what the Celery worker runs — vs
  ``COPY … FROM STDIN (FORMAT csv)`` of the same file into a scratch table of text columns.
  ``ratio`` = job rows/s ÷ COPY rows/s (budget ≥ 1 %), peak memory budget 400 MB.
- ``export``: ``--orders`` orders of one line each, loaded with ``INSERT … SELECT
  generate_series`` (bench/analytics.py's loader) → ``GET /api/v1/orders/export`` through
  Django's test client in this process, the streamed body read to its end — vs
  ``COPY (SELECT the same columns … ORDER BY the same keys) TO STDOUT (FORMAT csv)``.
  ``ratio`` budget ≥ 2 %; the peak memory is printed and should not grow with ``--orders``.

Prints one JSON line on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT_RATIO_BUDGET = 0.01
EXPORT_RATIO_BUDGET = 0.02
IMPORT_MEMORY_BUDGET_MB = 400
PRODUCT_COLUMNS = ["sku", "name", "description", "base_uom", "tax_class", "supplier",
                   "list_price", "currency", "weight_grams", "is_active", "track_inventory",
                   "stock_on_hand"]


def log(message: str) -> None:
    print(f"[imports] {message}", file=sys.stderr, flush=True)


def peak_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderflow.settings")
    import django

    django.setup()


def product_csv(path: Path, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PRODUCT_COLUMNS)
        for n in range(1, rows + 1):
            writer.writerow([f"BENCH-{n:07d}", f"Bench product {n}", f"Row {n} of the bench",
                             "EA", "bench", "bench", f"{100 + n % 900}.50", "JMD",
                             str(100 + n % 50), "1", "1", str(n % 100)])


def copy_in_seconds(path: Path) -> float:
    """The reference: the same file into a scratch table of text columns (no constraint,
    no index: what the database can take in at best)."""
    from django.db import connection

    columns = ", ".join(f"{c} text" for c in PRODUCT_COLUMNS)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_copy_products")
        cur.execute(f"CREATE UNLOGGED TABLE bench_copy_products ({columns})")
        started = time.perf_counter()
        with open(path, "rb") as handle, cur.copy(
                "COPY bench_copy_products FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while data := handle.read(1 << 20):
                copy.write(data)
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE bench_copy_products")
    return seconds


def sig(value: float) -> float:
    return float(f"{value:.3g}")


class QueryCounter:
    """Counts the statements the import sends (``execute_wrapper``: no list of queries is
    kept, so the count costs no memory)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def part_import(rows: int) -> dict:
    setup_django()
    from django.core.files import File
    from django.db import connection

    from catalog.models import Product, Supplier, TaxClass
    from imports.constants import ImportStatus
    from imports.services import job_create, job_run

    TaxClass.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    Supplier.objects.get_or_create(code="bench", defaults={"name": "Bench supplier"})
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-import-") as tmp:
        path = Path(tmp) / "products.csv"
        product_csv(path, rows)
        copy_seconds = min(copy_in_seconds(path) for _ in range(3))
        baseline = peak_mb()
        with open(path, "rb") as handle:
            job = job_create(kind="products", mode="", upload=File(handle, name="products.csv"),
                             fmt="csv", user=None)
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            job = job_run(job.pk)
        seconds = time.perf_counter() - started
    if job.status != ImportStatus.DONE or Product.objects.filter(
            sku__startswith="BENCH-").count() != rows:
        raise SystemExit(f"the import job did not import every row: {job.status} "
                         f"{job.error_code} {job.error}")
    job_rate, copy_rate = rows / seconds, rows / copy_seconds
    return {"rows": rows, "mode": job.mode, "job_seconds": round(seconds, 2),
            "job_rows_per_s": round(job_rate), "copy_seconds": round(copy_seconds, 3),
            "copy_rows_per_s": round(copy_rate), "ratio": sig(job_rate / copy_rate),
            "budget_ratio": IMPORT_RATIO_BUDGET,
            "queries": counter.count, "queries_per_row": sig(counter.count / rows),
            "ms_per_query": round(seconds * 1000 / max(counter.count, 1), 2),
            "within_budget": job_rate / copy_rate >= IMPORT_RATIO_BUDGET,
            "peak_memory_mb": peak_mb(), "baseline_memory_mb": baseline,
            "budget_memory_mb": IMPORT_MEMORY_BUDGET_MB,
            "memory_within_budget": peak_mb() < IMPORT_MEMORY_BUDGET_MB}


COPY_ORDERS_SQL = """
    COPY (SELECT o.currency, o.number, o.public_id, o.status, o.payment_status,
                 o.fulfillment_status, c.code, co.code, o.email, o.total, o.placed_at,
                 o.exported_at, l.public_id, l.sku, l.name, l.quantity, l.quantity_shipped,
                 l.order_uom, l.order_quantity, l.unit_price, l.line_total
          FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
               LEFT JOIN orderflow_channel c ON c.id = o.channel_id
               LEFT JOIN customers_company co ON co.id = o.company_id
          ORDER BY o.placed_at, l.order_id, l.id)
    TO STDOUT WITH (FORMAT csv, HEADER true)"""


def copy_out() -> tuple[float, int]:
    """The reference: the same rows (the columns the export reads, in its order) as CSV."""
    from django.db import connection

    size = 0
    with connection.cursor() as cur:
        started = time.perf_counter()
        with cur.copy(COPY_ORDERS_SQL) as copy:
            for data in copy:
                size += len(data)
        return time.perf_counter() - started, size


def part_export(orders: int, load_rows: bool) -> dict:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.analytics import load
    from orders.models import OrderLine

    if load_rows:
        started = time.perf_counter()
        load(orders)
        log(f"loaded {orders} orders in {time.perf_counter() - started:.1f}s")
    lines = OrderLine.objects.count()
    copy_seconds, copy_bytes = min(copy_out() for _ in range(3))
    user = get_user_model().objects.filter(username="bench-export").first() or \
        get_user_model().objects.create_superuser("bench-export", "b@example.com", "x" * 20)
    client = Client()
    client.force_login(user)
    baseline = peak_mb()
    started = time.perf_counter()
    response = client.get("/api/v1/orders/export?format=csv")
    assert response.status_code == 200 and response.streaming, response.status_code
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    rows -= 1  # the header
    if rows != lines:
        raise SystemExit(f"the export has {rows} rows for {lines} order lines")
    rate, copy_rate = rows / seconds, rows / copy_seconds
    return {"orders": orders, "rows": rows, "export_seconds": round(seconds, 2),
            "export_rows_per_s": round(rate), "export_mb": round(size / 2**20, 1),
            "copy_seconds": round(copy_seconds, 3), "copy_rows_per_s": round(copy_rate),
            "copy_mb": round(copy_bytes / 2**20, 1), "ratio": sig(rate / copy_rate),
            "budget_ratio": EXPORT_RATIO_BUDGET,
            "within_budget": rate / copy_rate >= EXPORT_RATIO_BUDGET,
            "peak_memory_mb": peak_mb(), "baseline_memory_mb": baseline,
            "note": "in process (Django test client), no HTTP server"}


def child(part: str, args) -> dict:
    cmd = [sys.executable, __file__, "--part", part, "--rows", str(args.rows),
           "--orders", str(args.orders)] + (["--skip-load"] if args.skip_load else [])
    out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench/imports.py")
    parser.add_argument("--rows", type=int, default=100_000, help="products imported")
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders exported")
    parser.add_argument("--skip-load", action="store_true", help="orders are already there")
    parser.add_argument("--part", choices=("import", "export"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part == "import":
        report = part_import(args.rows)
    elif args.part == "export":
        report = part_export(args.orders, not args.skip_load)
    else:
        log(f"product import of {args.rows} rows: job vs COPY")
        imported = child("import", args)
        log(f"import: {imported['job_rows_per_s']} rows/s vs COPY "
            f"{imported['copy_rows_per_s']} rows/s: ratio {imported['ratio']} (budget "
            f"{IMPORT_RATIO_BUDGET}); peak {imported['peak_memory_mb']} MB")
        log(f"order export of {args.orders} orders: streamed CSV vs COPY TO")
        exported = child("export", args)
        log(f"export: {exported['export_rows_per_s']} rows/s vs COPY "
            f"{exported['copy_rows_per_s']} rows/s: ratio {exported['ratio']} (budget "
            f"{EXPORT_RATIO_BUDGET}); peak {exported['peak_memory_mb']} MB")
        report = {"mode": "imports", "import": imported, "export": exported}
    print(json.dumps(report, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
