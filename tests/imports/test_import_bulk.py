"""The product import job works per chunk, not per row (issue 23's performance budget): a
fixed number of queries whatever the number of rows, with the same results, errors and
all-or-nothing behaviour as before."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product
from imports.models import ImportJob
from imports.services import job_create, job_run

pytestmark = pytest.mark.django_db

HEADER = "sku,name,base_uom,tax_class,supplier,list_price,currency,stock_on_hand\n"


def rows(count: int, start: int = 1, price: str = "10.00") -> str:
    return "".join(f"BULK-{n:04d},Bulk {n},EA,{'standard' if n % 2 else 'zero'},own,"
                   f"{price},JMD,{n % 7}\n" for n in range(start, start + count))


def run_job(content: str, mode: str = "") -> tuple[ImportJob, int]:
    """The job, run, and the statements it sent other than its INSERTs (a ``bulk_create``
    is one INSERT on PostgreSQL, one per ~70 rows on SQLite: its parameter limit)."""
    job = job_create(kind="products", mode=mode, fmt="csv", user=None,
                     upload=SimpleUploadedFile("p.csv", content.encode()))
    with CaptureQueriesContext(connection) as queries:
        job = job_run(job.pk)
    return job, sum(1 for q in queries.captured_queries if not q["sql"].startswith("INSERT"))


def messages(job: ImportJob) -> list[str]:
    return [f"{e.row_number} {e.column}: {e.message}"
            for e in job.row_errors.order_by("row_number", "id")]


def test_queries_do_not_grow_with_the_rows(reference_data):
    small, small_queries = run_job(HEADER + rows(20))
    big, big_queries = run_job(HEADER + rows(300, start=100))
    assert (small.status, small.created_count) == ("done", 20)
    assert (big.status, big.created_count) == ("done", 300)
    assert big_queries == small_queries
    # The job's own bookkeeping plus, per chunk: existing products, tax classes, suppliers,
    # one INSERT (and the sequence reset on PostgreSQL).
    assert big_queries <= 20


def test_the_same_file_again_is_unchanged_without_a_write_per_row(reference_data):
    content = HEADER + rows(50)
    first, _ = run_job(content)
    stamp = timezone.now() - timedelta(days=1)
    Product.objects.update(updated_at=stamp)
    again, queries = run_job(content)
    assert (again.status, again.created_count, again.updated_count,
            again.unchanged_count) == ("done", 0, 0, 50)
    assert not Product.objects.exclude(updated_at=stamp).exists()
    assert queries <= 20


def test_a_changed_row_is_updated_with_a_fresh_timestamp(reference_data):
    run_job(HEADER + rows(3))
    stamp = timezone.now() - timedelta(days=1)
    Product.objects.update(updated_at=stamp)
    job, _ = run_job(HEADER + rows(1) + rows(1, start=2, price="12.50") + rows(1, start=3))
    assert (job.status, job.updated_count, job.unchanged_count) == ("done", 1, 2)
    changed = Product.objects.get(sku="BULK-0002")
    assert changed.list_price == Decimal("12.50")
    assert changed.updated_at > stamp
    assert Product.objects.get(sku="BULK-0001").updated_at == stamp


def test_a_sku_twice_in_the_file_keeps_the_later_row(reference_data):
    job, _ = run_job(HEADER + rows(1) + rows(1, price="99.00"))
    assert (job.status, job.created_count, job.updated_count) == ("done", 1, 1)
    assert Product.objects.get(sku="BULK-0001").list_price == Decimal("99.00")


@override_settings(ORDERFLOW_IMPORT_CHUNK_ROWS=5)
def test_all_or_nothing_reports_bad_rows_of_every_chunk_and_imports_nothing(reference_data):
    content = (HEADER + rows(2)
               + "BULK-0003,Typo,EA,standard,own,abc,JMD,1\n"       # row 3, chunk 1
               + rows(5, start=4)
               + "BULK-0009,Unknown tax,EA,nope,own,1.00,JMD,1\n"   # row 9, chunk 2
               + "BULK-0010,Negative,EA,standard,own,1.00,JMD,-1\n"  # row 10, chunk 2
               + rows(3, start=11))
    job, _ = run_job(content)
    assert job.status == "failed" and job.error_code == "rows_invalid"
    assert job.failed_count == 3
    assert messages(job) == [
        "3 list_price: 'abc' is not a number",
        "9 tax_class: no tax class with code 'nope'",
        '10 : Constraint “product_stock_on_hand_not_negative” is violated.',
        '10 : Constraint “product_stock_reserved_within_on_hand” is violated.',
    ]
    assert not Product.objects.filter(sku__startswith="BULK-").exists()


@override_settings(ORDERFLOW_IMPORT_CHUNK_ROWS=5)
def test_skip_bad_rows_imports_the_good_rows_of_every_chunk(reference_data):
    content = (HEADER + rows(6) + "BULK-0007,Negative,EA,standard,own,1.00,JMD,-1\n"
               + rows(3, start=8))
    job, _ = run_job(content, mode="skip_bad_rows")
    assert (job.status, job.created_count, job.failed_count) == ("done", 9, 1)
    assert Product.objects.filter(sku__startswith="BULK-").count() == 9


@pytest.mark.parametrize("mode", ["all_or_nothing", "skip_bad_rows"])
def test_a_bad_later_row_with_the_same_sku_is_reported_on_its_row(reference_data, mode):
    job, _ = run_job(HEADER + rows(2) + "BULK-0001,Again,EA,standard,own,1.00,JMD,-5\n",
                     mode=mode)
    assert messages(job)[0] == \
        "3 : Constraint “product_stock_on_hand_not_negative” is violated."
    if mode == "skip_bad_rows":
        assert (job.status, job.created_count, job.failed_count) == ("done", 2, 1)
        assert Product.objects.get(sku="BULK-0001").stock_on_hand == 1
    else:
        assert (job.status, job.failed_count) == ("failed", 1)
        assert not Product.objects.filter(sku__startswith="BULK-").exists()


def run_kind(kind: str, content: str) -> ImportJob:
    job = job_create(kind=kind, mode="", fmt="csv", user=None,
                     upload=SimpleUploadedFile("f.csv", content.encode()))
    return job_run(job.pk)


def test_other_kinds_twice_are_unchanged_the_second_time(reference_data):
    """Keys of several columns (a foreign key among them), an empty key cell, and keys that
    ``before_import_row`` normalises (e-mails in capitals) all match their rows again."""
    from tests import factories

    run_job(HEADER + rows(2))
    factories.PriceListFactory(code="b2b")
    files = [
        ("price_list_entries", "price_list,sku,min_quantity,unit_price\n"
                               "b2b,BULK-0001,1,9.00\nb2b,BULK-0001,12,8.50\n"
                               "b2b,BULK-0002,1,9.50\n"),
        ("companies", "code,name,price_list,currency\nacme,Acme Ltd,b2b,JMD\n"
                      "own-co,Own,,JMD\n"),
        ("customers", "email,first_name,last_name,company\n"
                      " Ann@Example.COM ,Ann,Lee,acme\nbob@example.com,Bob,Ray,\n"),
        ("addresses", "customer,company,label,full_name,line1,city,country\n"
                      "ANN@example.com,,home,Ann Lee,1 Main St,Kingston,jm\n"
                      ",acme,hq,Acme,2 Duke St,Kingston,JM\n"),
    ]
    for kind, content in files:
        first = run_kind(kind, content)
        assert (first.status, first.failed_count) == ("done", 0), (kind, first.error,
                                                                    messages(first))
        again = run_kind(kind, content)
        assert (again.status, again.created_count, again.updated_count) == ("done", 0, 0), kind
        assert again.unchanged_count == first.created_count, kind
