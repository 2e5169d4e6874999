"""The shipment and return API: staff ship, the shopper sees tracking in their order and
returns what shipped; another shopper's shipments and returns are 404."""

import pytest

from tests import factories
from tests.fulfillment.conftest import line_of, place, stock

pytestmark = pytest.mark.django_db


def test_staff_ship_in_two_parcels_and_the_shopper_sees_tracking(shop, staff_client):
    shopper = shop.shopper(factories.CustomerFactory())
    order = place(shop, shopper, [("COF-250", 2), ("MUG", 1)])
    coffee = line_of(order, "COF-250")
    url = f"/api/v1/orders/{order.public_id}/shipments"

    over = staff_client.post(url, {"lines": [{"line_id": coffee.public_id, "quantity": 3}]},
                             format="json")
    assert over.status_code == 409 and over["content-type"] == "application/problem+json"
    assert over.json()["code"] == "over_shipment" and over.json()["left"] == 2

    first = staff_client.post(url, {"lines": [{"line_id": coffee.public_id, "quantity": 2}],
                                    "carrier": "ups", "tracking_number": "1Z9"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="ship-1")
    assert first.status_code == 201, first.content
    again = staff_client.post(url, {"lines": [{"line_id": coffee.public_id, "quantity": 2}],
                                    "carrier": "ups", "tracking_number": "1Z9"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="ship-1")
    assert again.json()["id"] == first.json()["id"]  # a retry creates nothing new
    shipment = first.json()
    assert shipment["status"] == "pending" and shipment["order_id"] == order.public_id
    shipped = staff_client.post(f"/api/v1/shipments/{shipment['id']}/ship", {}, format="json")
    assert shipped.status_code == 200 and shipped.json()["shipped_at"]

    detail = shopper.get(f"/api/v1/orders/{order.public_id}").json()
    assert detail["fulfillment_status"] == "partially_fulfilled"
    (seen,) = detail["shipments"]
    assert seen["tracking_url"] == "https://www.ups.com/track?tracknum=1Z9"
    assert seen["lines"] == [{"line_id": coffee.public_id, "sku": "COF-250",
                              "name": coffee.name, "quantity": 2}]
    assert shopper.get(f"/api/v1/shipments/{shipment['id']}").status_code == 200

    rest = staff_client.post(url, {}, format="json").json()  # everything unshipped
    staff_client.post(f"/api/v1/shipments/{rest['id']}/ship", {"carrier": "dhl",
                      "tracking_number": "JD1"}, format="json")
    assert shopper.get(f"/api/v1/orders/{order.public_id}").json()["status"] == "completed"
    assert stock("MUG") == (4, 0)
    delivered = staff_client.post(f"/api/v1/shipments/{rest['id']}/deliver")
    assert delivered.json()["status"] == "delivered"
    canceled = staff_client.post(f"/api/v1/shipments/{rest['id']}/cancel", {}, format="json")
    assert canceled.status_code == 409 and canceled.json()["code"] == "invalid_transition"


def test_a_shopper_returns_what_shipped_and_staff_authorize_receive_refund(shop, staff_client):
    shopper = shop.shopper(factories.CustomerFactory())
    order = place(shop, shopper, [("MUG", 2)])
    mug = line_of(order, "MUG")
    shipment = staff_client.post(f"/api/v1/orders/{order.public_id}/shipments", {},
                                 format="json").json()
    staff_client.post(f"/api/v1/shipments/{shipment['id']}/ship")
    asked = shopper.post(f"/api/v1/orders/{order.public_id}/returns", {
        "lines": [{"line_id": mug.public_id, "quantity": 1, "reason": "damaged"}],
        "comment": "Chipped"}, format="json")
    assert asked.status_code == 201, asked.content
    ret = asked.json()
    assert ret["status"] == "requested" and ret["rma_number"] is None
    too_many = shopper.post(f"/api/v1/orders/{order.public_id}/returns", {
        "lines": [{"line_id": mug.public_id, "quantity": 2, "reason": "damaged"}]},
        format="json")
    assert too_many.status_code == 409 and too_many.json()["code"] == "over_return"
    # Only staff act on a return.
    assert shopper.post(f"/api/v1/returns/{ret['id']}/authorize").status_code == 403
    base = f"/api/v1/returns/{ret['id']}"
    assert staff_client.post(f"{base}/authorize", {"instructions": "Post it"},
                             format="json").json()["rma_number"].startswith("RMA-")
    received = staff_client.post(f"{base}/receive", {"lines": [
        {"line_id": mug.public_id, "quantity": 1, "condition": "new", "restock": True}]},
        format="json")
    assert received.status_code == 200 and received.json()["lines"][0]["restock"] is True
    refunded = staff_client.post(f"{base}/refund", {}, format="json")
    assert refunded.status_code == 200, refunded.content
    assert refunded.json()["refund_method"] == "invoice_credit"  # COD, nothing collected yet
    listed = shopper.get("/api/v1/returns").json()
    assert [r["id"] for r in listed["results"]] == [ret["id"]]
    timeline = shopper.get(base).json()["timeline"]
    assert [t["type"] for t in timeline] == ["return_requested", "return_authorized",
                                             "return_received", "return_refunded"]


def test_another_shoppers_shipments_and_returns_are_404(shop, staff_client):
    owner = shop.shopper(factories.CustomerFactory())
    other = shop.shopper(factories.CustomerFactory())
    order = place(shop, owner, [("MUG", 1)])
    shipment = staff_client.post(f"/api/v1/orders/{order.public_id}/shipments", {},
                                 format="json").json()
    staff_client.post(f"/api/v1/shipments/{shipment['id']}/ship")
    ret = owner.post(f"/api/v1/orders/{order.public_id}/returns", {"lines": [
        {"line_id": line_of(order, "MUG").public_id, "quantity": 1, "reason": "other"}]},
        format="json").json()
    assert other.get(f"/api/v1/shipments/{shipment['id']}").status_code == 404
    assert other.get(f"/api/v1/returns/{ret['id']}").status_code == 404
    assert other.get("/api/v1/returns").json()["results"] == []
    asked = other.post(f"/api/v1/orders/{order.public_id}/returns", {"lines": [
        {"line_id": line_of(order, "MUG").public_id, "quantity": 1, "reason": "other"}]},
        format="json")
    assert asked.status_code == 404
    # A shopper cannot create shipments at all.
    assert owner.post(f"/api/v1/orders/{order.public_id}/shipments", {},
                      format="json").status_code in (401, 403)


def test_a_supplier_ships_only_its_own_lines(shop, staff_client):
    from rest_framework.test import APIClient

    from catalog.models import Product
    supplier = factories.SupplierFactory(is_external=True)
    Product.objects.filter(sku="RICE-5KG").update(supplier=supplier)
    Product.objects.filter(sku="MUG").update(supplier=factories.SupplierFactory(
        is_external=False))
    order = place(shop, shop.shopper(factories.CustomerFactory()), [("RICE-5KG", 1), ("MUG", 1)])
    login = factories.SupplierUserFactory(supplier=supplier)
    client = APIClient()
    client.force_authenticate(login.user)
    made = client.post(f"/api/v1/orders/{order.public_id}/shipments",
                       {"carrier": "knutsford", "tracking_number": "K1"}, format="json")
    assert made.status_code == 201, made.content
    assert [line["sku"] for line in made.json()["lines"]] == ["RICE-5KG"]
    assert made.json()["supplier_order_id"] is not None
    assert client.post(f"/api/v1/shipments/{made.json()['id']}/ship").status_code == 200
    mine = staff_client.post(f"/api/v1/orders/{order.public_id}/shipments", {},
                             format="json").json()
    assert client.get(f"/api/v1/shipments/{mine['id']}").status_code == 404
    order.refresh_from_db()
    assert order.fulfillment_status == "partially_fulfilled"
