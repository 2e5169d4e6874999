"""Import a product CSV with a bad row in a real browser and read the row's error."""

from pathlib import Path

import pytest

from catalog.models import Product
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURE = Path(__file__).resolve().parents[1] / "catalog" / "fixtures" / "products_unreadable.csv"


def test_import_a_product_csv_with_a_bad_row_and_read_its_error(visit, staff):
    factories.TaxClassFactory(code="standard")
    factories.SupplierFactory(code="own")
    visit.login("ops")
    page = visit.goto("/admin/catalog/product/import/", "product import")
    page.set_input_files("input[type=file]", str(FIXTURE))
    format_select = page.locator("select[name=format]")
    if format_select.count():
        format_select.select_option(label="csv")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_load_state("load")
    visit.shot("import preview with row errors")
    text = page.inner_text("body")
    assert "row 2, column list_price: 'abc' is not a number" in text
    assert "row 3, column tax_class: no tax class with code 'GCT-9'" in text
    assert "Traceback" not in text and "ConversionSyntax" not in text
    assert Product.objects.count() == 0
