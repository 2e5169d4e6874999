"""Order import: CSV one row per line (JSON with lines nested), grouped into orders, each
created by ``order_import`` like checkout; any bad row imports nothing and is reported."""

from decimal import Decimal
from pathlib import Path

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Product
from orderflow.models import OutboxEvent
from orders.models import Order, OrderEvent, SupplierOrder
from orders.resources import OrderImportResource
from tests.import_helpers import load_dataset, row_errors

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.django_db


def held(sku) -> int:
    return Product.objects.get(sku=sku).stock_reserved


def test_good_file_creates_each_order_through_the_service(shop):
    result = OrderImportResource().import_data(load_dataset(FIXTURES / "orders_good.csv"))

    assert not result.has_errors() and not result.has_validation_errors(), row_errors(result)
    assert result.totals["new"] == 3
    phone = Order.objects.get(external_reference="PHONE-1001")
    assert (phone.status, phone.payment_status, phone.email) == (
        "confirmed", "unpaid", "ana@example.com")
    assert phone.number.startswith("OF-")
    assert [(line.sku, line.quantity) for line in phone.lines.order_by("id")] == [
        ("COF-250", 2), ("RICE-5KG", 1)]
    # Priced like checkout: list prices, 15 % on coffee, standard shipping.
    assert (phone.subtotal, phone.tax_total, phone.shipping_total, phone.total) == (
        Decimal("7000.00"), Decimal("735.00"), Decimal("1200.00"), Decimal("8935.00"))
    assert phone.shipping_address["line1"] == "1 Duke Street"
    market = Order.objects.get(external_reference="MKT-77")
    line = market.lines.get()
    assert (line.quantity, line.order_uom, line.order_quantity, line.unit_price) == (
        12, "CS12", 1, Decimal("2300.00"))
    assert market.total == Decimal("27600.00") + Decimal("4140.00") + Decimal("500.00")
    assert (market.status, market.payment_status) == ("confirmed", "paid")
    assert market.payments.get().reference == "pi_mkt_77"
    # Stock reserved, timeline, outbox and supplier forwarding as for checkout.
    assert (held("COF-250"), held("RICE-5KG")) == (14, 1)
    assert list(OrderEvent.objects.filter(order=phone).values_list("type", flat=True)) == [
        "order_imported"]
    assert OutboxEvent.objects.filter(type="order.created").count() == 2
    assert OutboxEvent.objects.get(type="order.created",
                                   aggregate_id=market.public_id).payload[
        "external_reference"] == "MKT-77"
    assert SupplierOrder.objects.filter(order=phone).count() == 2


def test_importing_the_same_file_again_changes_nothing(shop):
    OrderImportResource().import_data(load_dataset(FIXTURES / "orders_good.csv"))
    result = OrderImportResource().import_data(load_dataset(FIXTURES / "orders_good.csv"))
    assert not row_errors(result)
    assert result.totals["skip"] == 3 and result.totals["new"] == 0
    assert Order.objects.count() == 2 and held("COF-250") == 14


def test_one_bad_row_imports_nothing_and_names_the_row(shop):
    result = OrderImportResource().import_data(load_dataset(FIXTURES / "orders_bad_row.csv"))

    assert result.has_validation_errors()
    errors = row_errors(result)
    assert list(errors) == [2]
    assert "Unknown sku NOPE-1" in errors[2]
    assert Order.objects.count() == 0  # MKT-77 was fine and still not committed
    assert held("COF-250") == 0
    assert not OutboxEvent.objects.filter(type="order.created").exists()


def test_short_stock_is_a_row_error_on_the_line_that_is_short(shop):
    dataset = load_dataset(FIXTURES / "orders_good.csv")
    dataset.append(["MKT-78", "ECOMMERCE", "dee@example.com", "", "JMD", "cod", "", "false",
                    "", "0", "Dee", "3 Main Street", "Kingston", "JM", "", "MUG", "6", "", "",
                    ""])
    result = OrderImportResource().import_data(dataset)
    errors = row_errors(result)
    assert list(errors) == [4]
    assert "Only 5 of MUG available" in errors[4]
    assert Order.objects.count() == 0 and held("COF-250") == 0


def test_rows_of_one_order_must_agree(shop):
    dataset = load_dataset(FIXTURES / "orders_good.csv")
    rows = dataset.dict
    rows[1]["email"] = "someone.else@example.com"
    changed = tablib.Dataset(headers=dataset.headers)
    for row in rows:
        changed.append([row[h] for h in dataset.headers])
    errors = row_errors(OrderImportResource().import_data(changed))
    assert list(errors) == [2] and "email" in errors[2]
    assert Order.objects.count() == 0


def test_nested_json_imports_an_order_with_its_lines(shop):
    result = OrderImportResource().import_data(load_dataset(FIXTURES / "orders_nested.json"))
    assert not result.has_validation_errors(), row_errors(result)
    order = Order.objects.get(external_reference="LEGACY-9")
    assert [(line.sku, line.quantity) for line in order.lines.order_by("id")] == [
        ("RICE-5KG", 2), ("MUG", 1)]
    assert order.total == Decimal("4000.00") + Decimal("1500.00") + Decimal("225.00")
    assert order.payment_status == "paid"


def upload(name):
    with open(FIXTURES / name, "rb") as fh:
        return SimpleUploadedFile(name, fh.read(), content_type="text/csv")


def test_admin_preview_shows_row_errors_and_offers_no_commit(shop, admin_client_logged):
    response = admin_client_logged.post(
        "/admin/orders/order/import/",
        {"resource": "0", "format": "0", "import_file": upload("orders_bad_row.csv")})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unknown sku NOPE-1" in page
    assert response.context.get("confirm_form") is None
    assert Order.objects.count() == 0


def test_admin_import_previews_then_commits_as_the_staff_user(shop, admin_client_logged):
    preview = admin_client_logged.post(
        "/admin/orders/order/import/",
        {"resource": "0", "format": "0", "import_file": upload("orders_good.csv")})
    assert preview.status_code == 200
    assert "PHONE-1001" in preview.content.decode()
    assert Order.objects.count() == 0  # the preview is a dry run
    form = preview.context["confirm_form"]
    confirm = admin_client_logged.post("/admin/orders/order/process_import/", form.initial)
    assert confirm.status_code == 302
    assert Order.objects.count() == 2
    event = OrderEvent.objects.get(order__external_reference="PHONE-1001")
    assert event.type == "order_imported" and event.actor_source == "admin"
    assert event.actor_user is not None
