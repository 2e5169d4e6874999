"""Staff import a product CSV with one bad row: the preview shows the row's error, "all or
nothing" would import nothing, so they switch to "skip bad rows" and watch the job reach 100 %."""

import pytest

from catalog.models import Product
from imports.models import ImportJob
from tests import factories

CONTENT = "sku,name,base_uom,tax_class,list_price,currency\n" + "".join(
    f"BRW-{n:03d},Browser product {n},EA,standard,{10 + n}.00,JMD\n" for n in range(1, 40)
) + "BRW-BAD,Price typo,EA,standard,abc,JMD\n"

@pytest.fixture
def eager():
    from orderflow.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old

def test_upload_preview_skip_bad_rows_and_watch_it_finish(visit, staff, eager, tmp_path):
    factories.TaxClassFactory(code="standard")
    upload = tmp_path / "products.csv"
    upload.write_text(CONTENT)
    visit.login("ops")
    visit.goto("/admin/imports/importjob/", "import jobs list")
    visit.goto("/admin/imports/importjob/add/", "upload form")
    page = visit.page
    page.select_option("select[name=kind]", "products")
    page.set_input_files("input[name=file]", str(upload))
    visit.click("#preview", "preview with one bad row")
    assert "40</strong> row(s) in the file" in page.content()
    assert "1 error(s)" in visit.text("#error-count")
    assert "'abc' is not a number" in visit.text("#preview-errors")
    assert Product.objects.filter(sku__startswith="BRW-").count() == 0

    page.check("input[name=mode][value=skip_bad_rows]")
    visit.click("#confirm", "job page after confirm")
    page.wait_for_function(
        "document.querySelector('#job-status').innerText === 'Done'", timeout=20000)
    visit.shot("job done")
    assert "100 %" in visit.text("#progress-text")
    assert "40 of 40 rows" in visit.text("#progress-text")
    assert "row 40, column list_price: 'abc' is not a number" in visit.text("#row-errors")
    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.failed_count) == ("done", 39, 1)
    assert Product.objects.filter(sku__startswith="BRW-").count() == 39

    with page.expect_download() as download:
        page.click("#failed-rows")
    failed = download.value.path().read_text() if hasattr(download.value.path(), "read_text") \
        else open(download.value.path()).read()
    assert "BRW-BAD,Price typo" in failed and "'abc' is not a number" in failed
    visit.goto("/admin/imports/importjob/", "import jobs list with the job")
    assert job.public_id in page.content()

def test_all_or_nothing_with_a_bad_row_imports_nothing(visit, staff, eager, tmp_path):
    factories.TaxClassFactory(code="standard")
    upload = tmp_path / "products.csv"
    upload.write_text(CONTENT)
    visit.login("ops")
    visit.goto("/admin/imports/importjob/add/", "upload form")
    visit.page.select_option("select[name=kind]", "products")
    visit.page.set_input_files("input[name=file]", str(upload))
    visit.click("#preview", "preview")
    visit.click("#confirm", "confirmed all or nothing")
    visit.page.wait_for_function(
        "document.querySelector('#job-status').innerText === 'Failed'", timeout=20000)
    visit.shot("job failed")
    assert "nothing was imported" in visit.text("#job-error")
    assert "row 40, column list_price" in visit.text("#row-errors")
    assert Product.objects.filter(sku__startswith="BRW-").count() == 0
