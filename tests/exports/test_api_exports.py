"""Streaming exports over the API: ``GET /api/v1/{orders,products,customers,shipments}/export``
with the lists' filters, in CSV, JSON Lines and XLSX; the rows are the admin's and the
scheduled exports'; a product export imports back unchanged through an import job."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bridges.exports.rows import ORDERS, PRODUCTS
from catalog.resources import ProductResource
from fulfillment.models import Shipment
from orders.models import Order
from orders.resources import OrderResource
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    assert response.streaming, "CSV and JSON exports are streamed"
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response).decode())))


@pytest.fixture
def web(db):
    return factories.ChannelFactory(code="ECOMMERCE", name="Web shop")


# --- orders ------------------------------------------------------------------------------------

def test_order_export_streams_one_row_per_line_in_a_fixed_number_of_queries(staff_client, web):
    def export(n_orders):
        Order.objects.all().delete()
        for _ in range(n_orders):
            make_order(channel=web, lines=[(None, 1), (None, 2)])
        with CaptureQueriesContext(connection) as ctx:
            response = staff_client.get("/api/v1/orders/export")
            rows = csv_rows(response)  # the rows are read while the body streams
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="orders-')
        assert len(rows) == 2 * n_orders
        return len(ctx.captured_queries)

    export(1)  # the staff user's permissions are cached from here on
    assert export(2) == export(15) == 1  # the rows: one statement, read by a cursor


def test_order_rows_are_the_admin_export_column_for_column(staff_client, web):
    make_order(channel=web, lines=[(None, 1), (None, 3)], email="=cmd@example.com")
    make_order(channel=web, status="pending_payment", company=factories.CompanyFactory())
    response = staff_client.get("/api/v1/orders/export?format=csv")
    admin = OrderResource().export(queryset=Order.objects.all())
    assert body(response).decode() == admin.csv
    assert ORDERS.headers == OrderResource().get_export_headers()
    assert "'=cmd@example.com" in admin.csv  # formula neutralised in both


def test_order_export_takes_the_order_list_filters(staff_client, web):
    kept = make_order(channel=web, status="confirmed")
    make_order(channel=web, status="pending_payment")
    make_order(channel=factories.ChannelFactory(code="B2B_PORTAL"), status="confirmed")
    rows = csv_rows(staff_client.get("/api/v1/orders/export?status=confirmed&channel=ecommerce"))
    assert {r["order_number"] for r in rows} == {kept.number}
    listed = staff_client.get("/api/v1/orders?status=confirmed&channel=ecommerce").json()
    assert [o["number"] for o in listed["results"]] == [kept.number]


def test_json_export_is_json_lines_of_the_csv_columns(staff_client, web):
    order = make_order(channel=web, lines=[(None, 1), (None, 2)], email="=x@example.com")
    response = staff_client.get("/api/v1/orders/export?format=json")
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith('.jsonl"')
    lines = [json.loads(line) for line in body(response).decode().splitlines()]
    assert len(lines) == 2
    assert list(lines[0]) == ORDERS.headers
    assert {line["order_number"] for line in lines} == {order.number}
    assert lines[0]["email"] == "=x@example.com"  # no spreadsheet runs JSON


def test_xlsx_export_is_a_workbook_with_formulas_neutralised(staff_client, web):
    make_order(channel=web, lines=[(None, 1)], email="@sum@example.com")
    response = staff_client.get("/api/v1/orders/export?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)),
                                  read_only=True)
    header, row = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(header) == ORDERS.headers
    assert row[header.index("email")] == "'@sum@example.com"


def test_xlsx_beyond_a_worksheet_is_refused(staff_client, web, monkeypatch):
    from bridges.exports import formats

    make_order(channel=web, lines=[(None, 1), (None, 1)])
    monkeypatch.setattr(formats, "XLSX_MAX_ROWS", 1)
    response = staff_client.get("/api/v1/orders/export?format=xlsx")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_rows"


@pytest.mark.parametrize("query, code", [
    ("format=pdf", "unsupported_format"),
    ("format=", None),  # empty: the default, csv
    ("status=nope", "validation_error"),
    ("placed_at_after=yesterday", "validation_error"),
])
def test_a_bad_format_or_filter_is_a_problem(staff_client, web, query, code):
    response = staff_client.get(f"/api/v1/orders/export?{query}")
    if code is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


@pytest.mark.parametrize("path", ["orders", "products", "customers", "shipments"])
def test_exports_are_for_staff_with_the_view_permission(db, path):
    anonymous = APIClient().get(f"/api/v1/{path}/export")
    assert anonymous.status_code == 401
    bare = APIClient()
    bare.force_authenticate(factories.UserFactory(is_staff=True))
    assert bare.get(f"/api/v1/{path}/export").status_code == 403
    shopper = APIClient()
    shopper.force_authenticate(factories.UserFactory(is_staff=False))
    assert shopper.get(f"/api/v1/{path}/export").status_code == 403


# --- products: the import's columns, a round trip ----------------------------------------------

def test_a_product_export_imports_back_unchanged(staff_client, reference_data, eager,
                                                 django_capture_on_commit_callbacks):
    own = factories.SupplierFactory(code="acme")
    factories.ProductFactory(sku="RT-1", name="Round, \"trip\"", list_price=Decimal("12.50"),
                             supplier=own, weight_grams=250, description="two\nlines")
    factories.ProductFactory(sku="RT-2", name="Mug", is_active=False, track_inventory=False)
    factories.ProductFactory(sku="OTHER-1", name="Not exported")
    for fmt, name in (("csv", "p.csv"), ("json", "p.jsonl")):
        response = staff_client.get(f"/api/v1/products/export?format={fmt}&search=RT-")
        data = body(response)
        if fmt == "csv":
            assert data.decode().splitlines()[0].split(",") == \
                ProductResource().get_export_headers() == PRODUCTS.headers
        with django_capture_on_commit_callbacks(execute=True):
            job = staff_client.post("/api/v1/imports", {
                "file": SimpleUploadedFile(name, data), "kind": "products"},
                format="multipart")
        assert job.status_code == 202, job.content
        job = staff_client.get(f"/api/v1/imports/{job.json()['id']}").json()
        assert job["status"] == "done", job
        assert job["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}


# --- customers and shipments ------------------------------------------------------------------

def test_customer_export_has_the_import_columns_and_filters(staff_client):
    company = factories.CompanyFactory(code="ACME")
    factories.CustomerFactory(email="a@example.com", company=company)
    factories.CustomerFactory(email="b@example.com")
    rows = csv_rows(staff_client.get("/api/v1/customers/export?company=ACME"))
    assert [(r["email"], r["company"]) for r in rows] == [("a@example.com", "ACME")]
    assert list(rows[0]) == ["email", "first_name", "last_name", "phone", "company",
                             "is_active", "accepts_marketing"]


def test_shipment_export_lists_tracking_with_the_order(staff_client, web):
    order = make_order(channel=web)
    Shipment.objects.create(order=order, carrier="DHL", tracking_number="JD0001",
                            status="shipped")
    Shipment.objects.create(order=order, carrier="UPS", tracking_number="1Z999")
    rows = csv_rows(staff_client.get("/api/v1/shipments/export?status=shipped"))
    assert [(r["order_number"], r["carrier"], r["tracking_number"]) for r in rows] == \
        [(order.number, "DHL", "JD0001")]


# --- the admin ---------------------------------------------------------------------------------

@pytest.mark.parametrize("changelist, query", [
    ("orders/order", "status__exact=confirmed"),
    ("catalog/product", "is_active__exact=1"),
    ("customers/customer", "is_active__exact=1"),
    ("customers/company", "is_active__exact=1"),
])
def test_admin_export_button_keeps_the_list_filters(admin_client_logged, changelist, query):
    """django-import-export's Export button (in unfold's look) carries the changelist's
    query string, so the admin export is of the filtered list."""
    response = admin_client_logged.get(f"/admin/{changelist}/?{query}")
    assert response.status_code == 200
    assert f"/admin/{changelist}/export/?{query}".encode() in response.content


@pytest.mark.parametrize("url", [
    "/api/v1/orders/export?status=confirmed&channel=ECOMMERCE&exported=false",
    "/api/v1/orders/export?format=json&placed_at_after=2025-03-01T00:00:00Z"
    "&placed_at_before=2025-03-31T23:59:59Z",
    "/api/v1/products/export?format=xlsx&active=true",
    "/api/v1/customers/export?company=ACME",
    "/api/v1/shipments/export?status=shipped",
])
def test_the_documented_queries_answer(staff_client, web, url):
    """The curl lines of docs/exports.md."""
    response = staff_client.get(url)
    assert response.status_code == 200, getattr(response, "content", b"")[:300]


def test_the_schema_documents_formats_and_the_list_filters(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/orders/export"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"format", "status", "channel", "placed_at_after", "exported"} <= names
    assert set(operation["responses"]["200"]["content"]) == {
        "text/csv", "application/x-ndjson",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    products = schema["paths"]["/api/v1/products/export"]["get"]
    assert {"format", "sku", "supplier", "active", "search"} <= {
        p["name"] for p in products["parameters"]}


def test_the_scheduled_csv_and_the_api_export_are_the_same_rows(staff_client, web, tmp_path):
    """One row builder: a scheduled CSV run and the API export of the same orders agree
    byte for byte."""
    from django.test import override_settings

    from bridges.exports import services as scheduled

    make_order(channel=web, lines=[(None, 1), (None, 2)])
    make_order(channel=web, email="+sum@example.com")
    with override_settings(ORDERFLOW_EXPORT_SETTLE_SECONDS=0):
        schedule = scheduled.export_schedule_create(
            name="Same rows", cron="0 * * * *", destination="directory",
            directory=str(tmp_path))
        run = scheduled.export_run(schedule_id=schedule.pk)
    with open(run.location, "rb") as handle:
        assert handle.read() == body(staff_client.get("/api/v1/orders/export"))


def test_ten_thousand_orders_stream_in_one_statement(staff_client, web):
    """The issue's size: 10,000 orders written in bulk, exported with the rows read by one
    statement, chunk by chunk, while the body streams."""
    from orders.models import OrderLine

    product = factories.ProductFactory(sku="BULK-1")
    Order.objects.bulk_create(
        [factories.OrderFactory.build(channel=web, total=Decimal("10.00"))
         for _ in range(10_000)], batch_size=2000)
    orders = list(Order.objects.order_by("id"))  # the ids, on every database
    OrderLine.objects.bulk_create(
        [factories.OrderLineFactory.build(order=order, product=product) for order in orders],
        batch_size=2000)
    staff_client.get("/api/v1/orders/export?status=canceled")  # permissions cached
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get("/api/v1/orders/export")
        chunks = 0
        rows = -1  # the header
        for chunk in response.streaming_content:
            chunks += 1
            rows += chunk.count(b"\r\n")
    assert response.streaming and rows == 10_000
    assert chunks > 10  # sent as it is read, not built whole
    assert len(ctx.captured_queries) == 1



def test_product_text_that_looks_like_a_formula_is_neutralised(staff_client):
    factories.ProductFactory(sku="NEG-1", name="-minus name", stock_on_hand=0)
    (row,) = csv_rows(staff_client.get("/api/v1/products/export?sku=NEG-1"))
    assert (row["name"], row["stock_on_hand"]) == ("'-minus name", "0")
