"""Import jobs through the API: upload → 202 → the job runs (Celery, eager) → status, counts,
errors; both modes, idempotent re-import, missing columns, size limit, cancel, permissions."""

import csv
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from catalog.models import PriceListEntry, Product
from customers.models import Company, Customer
from imports.models import ImportJob
from imports.services import job_run
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "sku,name,base_uom,tax_class,supplier,list_price,currency,is_active\n"
GOOD = [
    "JOB-001,Job coffee,EA,standard,own,2450.00,JMD,1\n",
    "JOB-002,Job rice,EA,zero,own,2100.00,JMD,1\n",
    "JOB-003,Job mug,EA,standard,,1500.00,JMD,0\n",
]
BAD = "JOB-004,Job typo,EA,standard,own,abc,JMD,1\n"


def upload(client, content: str | bytes, *, kind="products", mode=None, name="p.csv",
           **extra):
    data = content.encode() if isinstance(content, str) else content
    body = {"file": SimpleUploadedFile(name, data), "kind": kind}
    if mode:
        body["mode"] = mode
    body.update(extra)
    return client.post("/api/v1/imports", body, format="multipart")


def run(client, django_capture_on_commit_callbacks, content, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content, **kwargs)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    return client.get(f"/api/v1/imports/{response.json()['id']}").json()


def test_good_file_imports_every_row_and_reports_counts(
        staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    job = run(staff_client, django_capture_on_commit_callbacks, HEADER + "".join(GOOD))
    assert job["status"] == "done"
    assert job["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert job["progress"]["percent"] == 100
    assert job["progress"]["total_rows"] == job["progress"]["rows_done"] == 3
    assert Product.objects.get(sku="JOB-002").list_price == Decimal("2100.00")


def test_same_file_twice_changes_nothing(staff_client, reference_data, eager,
                                         django_capture_on_commit_callbacks):
    content = HEADER + "".join(GOOD)
    run(staff_client, django_capture_on_commit_callbacks, content)
    job = run(staff_client, django_capture_on_commit_callbacks, content)
    assert job["status"] == "done"
    assert job["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "failed": 0}
    assert Product.objects.filter(sku__startswith="JOB-").count() == 3


def test_changed_row_counts_as_updated(staff_client, reference_data, eager,
                                       django_capture_on_commit_callbacks):
    run(staff_client, django_capture_on_commit_callbacks, HEADER + "".join(GOOD))
    changed = GOOD[0].replace("2450.00", "2500.00")
    job = run(staff_client, django_capture_on_commit_callbacks,
              HEADER + changed + "".join(GOOD[1:]))
    assert job["counts"] == {"created": 0, "updated": 1, "unchanged": 2, "failed": 0}


@override_settings(ORDERFLOW_IMPORT_CHUNK_ROWS=2)
def test_all_or_nothing_imports_nothing_and_names_the_bad_row(
        staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    job = run(staff_client, django_capture_on_commit_callbacks,
              HEADER + "".join(GOOD) + BAD)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "rows_invalid"
    assert job["counts"]["failed"] == 1
    [error] = job["first_errors"]
    # Row 4 of the data although it sits in the second chunk of two rows.
    assert (error["row_number"], error["column"]) == (4, "list_price")
    assert error["text"] == "row 4, column list_price: 'abc' is not a number"
    assert not Product.objects.filter(sku__startswith="JOB-").exists()


@override_settings(ORDERFLOW_IMPORT_CHUNK_ROWS=2)
def test_skip_bad_rows_imports_the_good_ones_and_offers_the_bad_as_csv(
        staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    evil = "=HYPERLINK(1),Evil,EA,nope,own,1,JMD,1\n"
    content = HEADER + GOOD[0] + BAD + "".join(GOOD[1:]) + evil
    job = run(staff_client, django_capture_on_commit_callbacks, content, mode="skip_bad_rows")
    assert job["status"] == "done"
    assert job["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 2}
    assert sorted(Product.objects.filter(sku__startswith="JOB-").values_list("sku", flat=True)
                  ) == ["JOB-001", "JOB-002", "JOB-003"]

    response = staff_client.get(f"/api/v1/imports/{job['id']}/errors?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["sku", "name", "base_uom", "tax_class", "supplier", "list_price",
                       "currency", "is_active", "error"]
    assert rows[1][0] == "JOB-004"
    assert rows[1][-1] == "row 2, column list_price: 'abc' is not a number"
    # A cell a spreadsheet would run as a formula is written as text.
    assert rows[2][0] == "'=HYPERLINK(1)"
    assert "no tax class with code 'nope'" in rows[2][-1]

    listed = staff_client.get(f"/api/v1/imports/{job['id']}/errors").json()
    assert listed["count"] == 2
    assert [e["row_number"] for e in listed["results"]] == [2, 5]

    # Fixed and re-uploaded, the failed rows import; the good rows stay unchanged.
    fixed = (HEADER + BAD.replace("abc", "99.00"))
    again = run(staff_client, django_capture_on_commit_callbacks, fixed)
    assert again["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}


def test_missing_columns_fail_fast_naming_them(staff_client, reference_data, eager,
                                               django_capture_on_commit_callbacks):
    job = run(staff_client, django_capture_on_commit_callbacks,
              "sku,base_uom\nJOB-001,EA\n")
    assert job["status"] == "failed"
    assert job["error"]["code"] == "missing_columns"
    assert job["error"]["missing_columns"] == ["name", "list_price"]
    assert "name, list_price" in job["error"]["detail"]


@override_settings(ORDERFLOW_IMPORT_MAX_BYTES=100)
def test_oversize_upload_is_413_problem(staff_client, reference_data):
    response = upload(staff_client, HEADER + "".join(GOOD) * 3)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "file_too_large"
    assert response.json()["max_bytes"] == 100
    assert not ImportJob.objects.exists()


def test_json_lines_and_json_array_import(staff_client, reference_data, eager,
                                          django_capture_on_commit_callbacks):
    rows = [{"sku": "JSN-1", "name": "Json one", "base_uom": "EA", "tax_class": "standard",
             "list_price": "10.00", "currency": "JMD"},
            {"sku": "JSN-2", "name": "Json two", "base_uom": "EA", "tax_class": "standard",
             "list_price": 12.5, "currency": "JMD"}]
    lines = "\n".join(json.dumps(r) for r in rows) + "\n"
    job = run(staff_client, django_capture_on_commit_callbacks, lines, name="p.jsonl")
    assert (job["format"], job["status"], job["counts"]["created"]) == ("json", "done", 2)
    job = run(staff_client, django_capture_on_commit_callbacks, json.dumps(rows), name="p.json")
    assert job["counts"]["unchanged"] == 2
    assert Product.objects.get(sku="JSN-2").list_price == Decimal("12.50")


def test_xlsx_import(staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["sku", "name", "base_uom", "tax_class", "list_price", "currency"])
    sheet.append(["XL-1", "Sheet product", "EA", "standard", 99.5, "JMD"])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(staff_client, django_capture_on_commit_callbacks, buffer.getvalue(),
              name="p.xlsx")
    assert job["status"] == "done", job
    assert Product.objects.get(sku="XL-1").list_price == Decimal("99.50")


def test_other_kinds(staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    run(staff_client, django_capture_on_commit_callbacks, HEADER + "".join(GOOD))
    factories.PriceListFactory(code="b2b")
    job = run(staff_client, django_capture_on_commit_callbacks,
              "price_list,sku,min_quantity,unit_price\nb2b,JOB-001,1,2200.00\n"
              "b2b,JOB-001,12,2050.00\n", kind="price_list_entries")
    assert job["counts"]["created"] == 2
    assert PriceListEntry.objects.filter(price_list__code="b2b").count() == 2
    job = run(staff_client, django_capture_on_commit_callbacks,
              "code,name,price_list,payment_terms,credit_limit,currency\n"
              "acme,Acme Ltd,b2b,NET30,5000.00,JMD\n", kind="companies")
    assert job["status"] == "done", job
    assert Company.objects.get(code="acme").price_list.code == "b2b"
    job = run(staff_client, django_capture_on_commit_callbacks,
              "email,first_name,last_name,company\n Ann@Example.COM ,Ann,Lee,acme\n",
              kind="customers")
    assert job["status"] == "done", job
    assert Customer.objects.get(email="ann@example.com").company.code == "acme"


def test_cancel_a_queued_job_and_a_finished_one_is_409(staff_client, reference_data):
    response = upload(staff_client, HEADER + "".join(GOOD))  # not run: no commit callbacks
    job_id = response.json()["id"]
    canceled = staff_client.post(f"/api/v1/imports/{job_id}/cancel")
    assert canceled.status_code == 202
    assert canceled.json()["status"] == "canceled"
    # The worker that picks it up later does nothing.
    assert job_run(ImportJob.objects.get(public_id=job_id).pk) is None
    assert not Product.objects.filter(sku__startswith="JOB-").exists()
    again = staff_client.post(f"/api/v1/imports/{job_id}/cancel")
    assert again.status_code == 409
    assert again.json()["code"] == "import_finished"


def test_cancel_while_running_stops_at_the_next_chunk(staff_client, reference_data):
    response = upload(staff_client, HEADER + "".join(GOOD), mode="skip_bad_rows")
    job = ImportJob.objects.get(public_id=response.json()["id"])
    ImportJob.objects.filter(pk=job.pk).update(status="validating")
    staff_client.post(f"/api/v1/imports/{job.public_id}/cancel")
    assert cache.get(f"imports:cancel:{job.public_id}")
    ImportJob.objects.filter(pk=job.pk).update(status="queued")
    job = job_run(job.pk)
    assert job.status == "canceled"
    assert not Product.objects.filter(sku__startswith="JOB-").exists()


def test_unknown_kind_is_400(staff_client):
    response = upload(staff_client, HEADER, kind="planets")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_unknown_job_is_404(staff_client):
    response = staff_client.get("/api/v1/imports/imp_00000000000000000000000000")
    assert response.status_code == 404


def test_anonymous_is_401_and_non_staff_403(db, reference_data):
    anonymous = APIClient()
    assert upload(anonymous, HEADER + GOOD[0]).status_code == 401
    client = APIClient()
    client.force_authenticate(factories.UserFactory())
    assert upload(client, HEADER + GOOD[0]).status_code == 403
    assert not ImportJob.objects.exists()


@override_settings(ORDERFLOW_MAX_BODY_BYTES=1024)
def test_an_upload_is_held_to_the_import_limit_not_the_api_body_limit(
        staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    rows = [f"BIG-{i:04d},Bulk item {i},EA,standard,own,100.00,JMD,1\n" for i in range(60)]
    content = HEADER + "".join(rows)
    assert len(content) > 2 * 1024  # over the JSON body limit, far under the import limit
    job = run(staff_client, django_capture_on_commit_callbacks, content)
    assert job["counts"]["created"] == 60


@override_settings(ORDERFLOW_IMPORT_MAX_BYTES=100)
def test_an_upload_announced_far_over_the_limit_is_refused_before_it_is_read(
        staff_client, reference_data):
    response = upload(staff_client, HEADER + "".join(GOOD) * 2000)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert response.json()["max_bytes"] == 100
    assert not ImportJob.objects.exists()


def test_a_row_holding_a_card_number_is_refused_and_not_kept_in_the_errors(
        staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    card = "JOB-009,Pay with 4111 1111 1111 1111,EA,standard,own,1.00,JMD,1\n"
    job = run(staff_client, django_capture_on_commit_callbacks, HEADER + GOOD[0] + card,
              mode="skip_bad_rows")
    assert job["counts"]["created"] == 1
    assert job["counts"]["failed"] == 1
    assert not Product.objects.filter(sku="JOB-009").exists()
    response = staff_client.get(f"/api/v1/imports/{job['id']}/errors?format=csv")
    text = b"".join(response.streaming_content).decode()
    assert "row 2, column name: looks like a card number" in text
    assert "4111" not in text


def test_a_customer_row_holding_a_card_number_is_refused(
        staff_client, reference_data, eager, django_capture_on_commit_callbacks):
    content = "email,first_name,last_name\nana@example.com,Ana,4111-1111-1111-1111\n"
    job = run(staff_client, django_capture_on_commit_callbacks, content, kind="customers")
    assert job["status"] == "failed"
    assert not Customer.objects.filter(email="ana@example.com").exists()
