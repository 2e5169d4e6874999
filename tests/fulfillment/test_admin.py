"""The admin: "Create shipment" from the order, the shipment and RMA buttons, the tracking
import — all through the services."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from fulfillment import services
from fulfillment.models import Return, Shipment
from orderflow.timeline import Actor
from tests import factories
from tests.fulfillment.conftest import line_of, place, stock
from tests.fulfillment.shipping import ship_lines

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
ACTOR = Actor.system("ops")


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_create_shipment_page_lists_unshipped_lines_and_ships(shop, admin_client):
    order = place(shop, shop.shopper(factories.CustomerFactory()), [("COF-250", 3), ("MUG", 1)])
    coffee, mug = line_of(order, "COF-250"), line_of(order, "MUG")
    url = reverse("admin:fulfillment_shipment_create", args=[order.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="qty_{coffee.public_id}"' in html and 'value="3"' in html
    assert reverse("admin:orders_order_change", args=[order.pk]) in html  # back to the order

    done = admin_client.post(url, {f"qty_{coffee.public_id}": 2, f"qty_{mug.public_id}": 0,
                                   "carrier": "dhl", "tracking_number": "JD7",
                                   "ship_now": "on"})
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:orders_order_change", args=[order.pk])
    order.refresh_from_db()
    assert order.fulfillment_status == "partially_fulfilled"
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == "shipped" and shipment.tracking_number == "JD7"
    assert stock("COF-250") == (98, 1)

    refused = admin_client.post(url, {f"qty_{coffee.public_id}": 5, f"qty_{mug.public_id}": 0})
    assert refused.status_code == 200  # the form says at most 1 is left
    assert Shipment.objects.filter(order=order).count() == 1


def test_shipment_buttons_and_list(shop, admin_client):
    order = place(shop, shop.shopper(factories.CustomerFactory()), [("MUG", 1)])
    shipment = services.shipment_create(order=order, actor=ACTOR)
    change = admin_client.get(reverse("admin:fulfillment_shipment_change",
                                      args=[shipment.pk]))
    assert change.status_code == 200
    ship_url = reverse("admin:fulfillment_shipment_ship", args=[shipment.pk])
    assert ship_url in change.content.decode()
    assert admin_client.get(ship_url).status_code == 200  # the confirmation page
    admin_client.post(ship_url, {"carrier": "ups", "tracking_number": "1Z"})
    shipment.refresh_from_db()
    assert shipment.status == "shipped" and shipment.tracking_url.endswith("1Z")
    listing = admin_client.get(reverse("admin:fulfillment_shipment_changelist"),
                               {"status__exact": "shipped", "age": "1d"})
    assert listing.status_code == 200


def test_rma_queue_authorize_receive_refund(shop, admin_client):
    order = place(shop, shop.shopper(factories.CustomerFactory()),
                  [("MUG", 2)], {"kind": "payment_intent", "reference": "pi_9"})
    from orders.services import payment_capture
    payment_capture(order=order, payment=order.payments.get(), actor=ACTOR)
    mug = line_of(order, "MUG")
    ship_lines(order=order, quantities={mug.public_id: 2}, actor=ACTOR)
    r = services.return_request(order=order, actor=ACTOR, lines=[
        {"line_id": mug.public_id, "quantity": 1, "reason": "damaged"}])
    assert admin_client.get(reverse("admin:fulfillment_return_changelist"),
                            {"status__exact": "requested", "reason": "damaged"}).status_code == 200
    admin_client.post(reverse("admin:fulfillment_return_authorize", args=[r.pk]),
                      {"instructions": "Post it"})
    receive = reverse("admin:fulfillment_return_receive", args=[r.pk])
    assert f'name="qty_{mug.public_id}"' in admin_client.get(receive).content.decode()
    admin_client.post(receive, {f"qty_{mug.public_id}": 1,
                                f"condition_{mug.public_id}": "new",
                                f"restock_{mug.public_id}": "on"})
    assert stock("MUG") == (4, 0)
    admin_client.post(reverse("admin:fulfillment_return_refund", args=[r.pk]),
                      {"amount": "100.00", "reference": "re_9"})
    r = Return.objects.get(pk=r.pk)
    assert (r.status, r.refund_amount) == ("refunded", Decimal("100.00"))


def test_tracking_import_ships_good_files_and_reports_bad_rows(shop, admin_client):
    order = place(shop, shop.shopper(factories.CustomerFactory()), [("COF-250", 3), ("MUG", 1)])
    import tablib

    from fulfillment.resources import TrackingImportResource

    def load(name):
        text = (FIXTURES / name).read_text().replace("{order}", order.number)
        return tablib.Dataset().load(text, format="csv")

    bad = TrackingImportResource().import_data(load("tracking_bad.csv"), dry_run=False)
    assert bad.has_validation_errors()
    invalid = {row.number: row.error_dict for row in bad.invalid_rows}
    assert set(invalid) == {2, 3, 4}
    assert "no line 'NOPE'" in str(invalid[2]) and "No order" in str(invalid[3])
    assert "only 1 of 1 left" in str(invalid[4])
    assert not Shipment.objects.filter(order=order).exists()  # all or nothing

    good = TrackingImportResource().import_data(load("tracking_good.csv"), dry_run=False)
    assert not good.has_errors() and not good.has_validation_errors()
    shipments = list(Shipment.objects.filter(order=order).order_by("id"))
    assert [(s.tracking_number, s.status, s.lines.count()) for s in shipments] == [
        ("JD100", "shipped", 2), ("JD101", "shipped", 1)]
    order.refresh_from_db()
    assert order.status == "completed"
