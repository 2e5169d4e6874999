"""Historical orders and shipment tracking as import jobs: an order's rows (and a parcel's)
are imported together whatever the chunk size, a bad line refuses its whole order in "skip
bad rows" mode, and the same file twice changes nothing the second time."""

from pathlib import Path

import pytest
from django.test import override_settings

from fulfillment.models import Shipment
from orders.models import Order
from tests import factories
from tests.imports.test_import_api import run
from tests.storefront import build_storefront

pytestmark = pytest.mark.django_db

ORDERS = (Path(__file__).parents[1] / "orders" / "fixtures" / "orders_good.csv").read_text()


@pytest.fixture
def shop(db):
    return build_storefront()


@override_settings(ORDERFLOW_IMPORT_CHUNK_ROWS=1)
def test_an_orders_lines_stay_together_across_chunks_and_a_second_run_changes_nothing(
        shop, staff_client, eager, django_capture_on_commit_callbacks):
    job = run(staff_client, django_capture_on_commit_callbacks, ORDERS, kind="orders")
    assert job["status"] == "done", job
    assert job["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    phone = Order.objects.get(external_reference="PHONE-1001")
    assert sorted(phone.lines.values_list("sku", flat=True)) == ["COF-250", "RICE-5KG"]
    assert Order.objects.count() == 2

    again = run(staff_client, django_capture_on_commit_callbacks, ORDERS, kind="orders")
    assert again["status"] == "done"
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "failed": 0}
    assert Order.objects.count() == 2
    assert phone.lines.count() == 2


def test_a_bad_line_refuses_its_whole_order_when_skipping_bad_rows(
        shop, staff_client, eager, django_capture_on_commit_callbacks):
    bad = ORDERS.replace("RICE-5KG", "NOPE-1")
    job = run(staff_client, django_capture_on_commit_callbacks, bad, kind="orders",
              mode="skip_bad_rows")
    assert job["status"] == "done"
    assert job["counts"]["created"] == 1  # MKT-77's one row
    assert job["counts"]["failed"] == 2  # both rows of PHONE-1001: no order with one line
    assert not Order.objects.filter(external_reference="PHONE-1001").exists()
    assert Order.objects.filter(external_reference="MKT-77").exists()
    errors = staff_client.get(f"/api/v1/imports/{job['id']}/errors").json()["results"]
    messages = {e["row_number"]: e["message"] for e in errors}
    assert "NOPE-1" in messages[2]
    assert messages[1] == "not imported: row 2 of the same order or parcel was refused"


def test_orders_file_without_a_reference_column_fails_fast(
        shop, staff_client, eager, django_capture_on_commit_callbacks):
    job = run(staff_client, django_capture_on_commit_callbacks,
              "channel,email\nECOMMERCE,a@example.com\n", kind="orders")
    assert job["status"] == "failed"
    assert job["error"]["missing_columns"] == ["external_reference", "sku"]


def test_tracking_import_ships_each_parcel_once(
        shop, staff_client, eager, django_capture_on_commit_callbacks):
    run(staff_client, django_capture_on_commit_callbacks, ORDERS, kind="orders")
    number = Order.objects.get(external_reference="PHONE-1001").number
    tracking = ("order_number,line_sku,quantity,carrier,tracking_number\n"
                f"{number},COF-250,2,dhl,JD100\n{number},RICE-5KG,1,dhl,JD100\n")
    job = run(staff_client, django_capture_on_commit_callbacks, tracking, kind="tracking")
    assert job["status"] == "done", job
    assert job["counts"]["created"] == 2
    shipment = Shipment.objects.get(tracking_number="JD100")
    assert shipment.status == "shipped"
    assert shipment.lines.count() == 2

    again = run(staff_client, django_capture_on_commit_callbacks, tracking, kind="tracking")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}
    assert Shipment.objects.filter(tracking_number="JD100").count() == 1


ADDRESSES = (
    "customer,company,label,full_name,line1,city,country,is_default_shipping\n"
    "Ana@Example.com,,Home,Ana Brown,1 Duke Street,Kingston,jm,1\n"
    ",ACME,Warehouse,Receiving,9 Spanish Town Road,Kingston,JM,0\n"
)


def test_addresses_import_by_owner_and_label_and_a_second_run_changes_nothing(
        db, staff_client, eager, django_capture_on_commit_callbacks):
    customer = factories.CustomerFactory(email="ana@example.com")
    company = factories.CompanyFactory(code="ACME")
    job = run(staff_client, django_capture_on_commit_callbacks, ADDRESSES, kind="addresses")
    assert job["status"] == "done", job
    assert job["counts"]["created"] == 2
    home = customer.addresses.get(label="Home")
    assert (home.line1, home.country, home.is_default_shipping) == ("1 Duke Street", "JM", True)
    assert company.addresses.get(label="Warehouse").full_name == "Receiving"

    moved = ADDRESSES.replace("1 Duke Street", "2 King Street")
    again = run(staff_client, django_capture_on_commit_callbacks, moved, kind="addresses")
    assert again["counts"] == {"created": 0, "updated": 1, "unchanged": 1, "failed": 0}
    assert customer.addresses.get().line1 == "2 King Street"


def test_an_address_without_an_owner_is_refused(
        db, staff_client, eager, django_capture_on_commit_callbacks):
    job = run(staff_client, django_capture_on_commit_callbacks,
              "customer,company,label,full_name,line1,city,country\n,,Home,X,1 St,Kingston,JM\n",
              kind="addresses")
    assert job["status"] == "failed"
    assert job["counts"]["failed"] == 1
    errors = staff_client.get(f"/api/v1/imports/{job['id']}/errors").json()["results"]
    assert errors[0]["message"] == ("An address belongs to a customer or a company: give one "
                                    "of them.")
