"""Product and price-list import: a good file commits, a file with one bad row commits nothing."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import PriceListEntry, Product
from catalog.resources import PriceListEntryResource, ProductResource
from tests import factories
from tests.import_helpers import load_dataset, row_errors

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reference_data():
    factories.TaxClassFactory(code="standard")
    factories.TaxClassFactory(code="zero", rate__rate=Decimal("0"), rate__name="GCT 0%")
    factories.SupplierFactory(code="own", is_external=False)


def test_good_product_file_imports_every_row():
    result = ProductResource().import_data(load_dataset(FIXTURES / "products_good.csv"))
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 3
    rice = Product.objects.get(sku="IMP-002")
    assert (rice.tax_class.code, rice.supplier.code, rice.list_price) == (
        "zero", "own", Decimal("2100.00"))
    mug = Product.objects.get(sku="IMP-003")
    assert mug.supplier is None and mug.is_active is False
    assert mug.description == "A mug, with a comma"


def test_reimport_updates_by_sku_instead_of_duplicating():
    ProductResource().import_data(load_dataset(FIXTURES / "products_good.csv"))
    result = ProductResource().import_data(load_dataset(FIXTURES / "products_good.csv"))
    assert result.totals["new"] == 0
    assert Product.objects.count() == 3


def test_one_bad_row_imports_nothing_and_names_the_row():
    result = ProductResource().import_data(load_dataset(FIXTURES / "products_bad_row.csv"))
    assert result.has_validation_errors()
    errors = row_errors(result)
    assert list(errors) == [2]
    assert "greater than or equal to 0" in errors[2]
    assert Product.objects.count() == 0  # rows 1 and 3 were valid and still not committed


def test_unknown_natural_key_is_a_row_error_and_nothing_is_committed():
    result = ProductResource().import_data(load_dataset(FIXTURES / "products_unknown_tax.json"))
    errors = row_errors(result)
    assert list(errors) == [2]
    assert Product.objects.count() == 0


def test_price_list_tiers_import_by_code_and_sku():
    ProductResource().import_data(load_dataset(FIXTURES / "products_good.csv"))
    factories.PriceListFactory(code="b2b")
    result = PriceListEntryResource().import_data(load_dataset(FIXTURES / "price_list_good.csv"))
    assert not result.has_errors() and not result.has_validation_errors()
    tiers = list(PriceListEntry.objects.filter(product__sku="IMP-001")
                 .values_list("min_quantity", "unit_price"))
    assert tiers == [(1, Decimal("2200.0000")), (12, Decimal("2050.0000"))]


def test_price_list_bad_sku_imports_nothing():
    ProductResource().import_data(load_dataset(FIXTURES / "products_good.csv"))
    factories.PriceListFactory(code="b2b")
    result = PriceListEntryResource().import_data(load_dataset(FIXTURES / "price_list_bad_row.csv"))
    assert list(row_errors(result)) == [2]
    assert PriceListEntry.objects.count() == 0


def test_export_neutralises_formula_cells_but_not_numbers():
    factories.ProductFactory(sku="EVIL-1", name="=HYPERLINK(\"http://x\")",
                             description="@SUM(A1)", list_price=Decimal("5.00"))
    csv_text = ProductResource().export().csv
    assert "'=HYPERLINK" in csv_text
    assert "'@SUM(A1)" in csv_text
    assert ",5.0000," in csv_text  # a number, not prefixed


def test_admin_dry_run_previews_row_errors_and_commits_nothing(admin_client_logged):
    with open(FIXTURES / "products_bad_row.csv", "rb") as fh:
        upload = SimpleUploadedFile("products.csv", fh.read(), content_type="text/csv")
    response = admin_client_logged.post(
        "/admin/catalog/product/import/",
        {"resource": "0", "format": "0", "import_file": upload},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ensure this value is greater than or equal to 0" in page
    assert response.context.get("confirm_form") is None  # no way to commit a bad file
    assert Product.objects.count() == 0


def test_admin_import_good_file_then_confirm(admin_client_logged):
    with open(FIXTURES / "products_good.csv", "rb") as fh:
        upload = SimpleUploadedFile("products.csv", fh.read(), content_type="text/csv")
    preview = admin_client_logged.post(
        "/admin/catalog/product/import/",
        {"resource": "0", "format": "0", "import_file": upload},
    )
    assert preview.status_code == 200
    assert Product.objects.count() == 0  # a preview is a dry run
    form = preview.context["confirm_form"]
    confirm = admin_client_logged.post("/admin/catalog/product/process_import/", form.initial)
    assert confirm.status_code == 302
    assert Product.objects.count() == 3


def test_unreadable_cells_are_explained_in_words_with_row_and_column():
    result = ProductResource().import_data(load_dataset(FIXTURES / "products_unreadable.csv"))
    errors = row_errors(result)
    assert errors == {
        2: "row 2, column list_price: 'abc' is not a number",
        3: "row 3, column tax_class: no tax class with code 'GCT-9'",
    }
    assert Product.objects.count() == 0
