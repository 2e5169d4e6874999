"""The admin's import: upload → preview (nothing written) → confirm → the job page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Product
from imports.models import ImportJob

pytestmark = pytest.mark.django_db

CONTENT = (
    "sku,name,base_uom,tax_class,list_price,currency\n"
    "ADM-1,Admin coffee,EA,standard,10.00,JMD\n"
    "ADM-2,Admin typo,EA,standard,abc,JMD\n"
)


def test_preview_then_confirm_skipping_bad_rows(admin_client_logged, reference_data, eager,
                                                django_capture_on_commit_callbacks):
    client = admin_client_logged
    page = client.post("/admin/imports/importjob/add/", {
        "kind": "products", "mode": "all_or_nothing",
        "file": SimpleUploadedFile("products.csv", CONTENT.encode())})
    assert page.status_code == 200
    html = page.content.decode()
    assert "2</strong> row(s) in the file" in html
    assert "1 error(s)" in html
    assert "&#x27;abc&#x27; is not a number" in html
    assert not Product.objects.filter(sku__startswith="ADM-").exists()
    assert not ImportJob.objects.exists()

    stored = page.context["confirm"].initial["stored"]
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post("/admin/imports/importjob/add/", {
            "kind": "products", "mode": "skip_bad_rows", "stored": stored})
    job = ImportJob.objects.get()
    assert queued.url == f"/admin/imports/importjob/{job.pk}/job/"
    done = client.get(queued.url)
    assert (job.status, job.created_count, job.failed_count) == ("done", 1, 1)
    html = done.content.decode()
    assert "100 %" in html and "row 2, column list_price" in html
    assert 'http-equiv="refresh"' not in html  # finished: no more refreshing

    csv_response = client.get(f"/admin/imports/importjob/{job.pk}/failed-rows.csv")
    body = b"".join(csv_response.streaming_content).decode()
    assert body.splitlines()[1].startswith("ADM-2,Admin typo")
    assert client.get("/admin/imports/importjob/").status_code == 200


def test_running_job_page_refreshes_itself(admin_client_logged, reference_data):
    job = ImportJob.objects.create(kind="products", format="csv", file="imports/x.csv",
                                   status="importing", total_rows=200, rows_done=50)
    html = admin_client_logged.get(f"/admin/imports/importjob/{job.pk}/change/").content.decode()
    assert 'http-equiv="refresh"' in html
    assert "25 %" in html and "50 of 200 rows" in html
    assert 'id="cancel"' in html


def test_preview_names_missing_columns(admin_client_logged, reference_data):
    page = admin_client_logged.post("/admin/imports/importjob/add/", {
        "kind": "products", "mode": "all_or_nothing",
        "file": SimpleUploadedFile("p.csv", b"sku,base_uom\nX,EA\n")})
    assert "misses the column(s): name, list_price" in page.content.decode()
    assert 'id="confirm"' not in page.content.decode()
