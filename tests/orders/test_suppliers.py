"""Supplier forwarding: one supplier order per outside supplier, seen only by that supplier."""

import pytest

from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders import services
from orders.models import SupplierOrder
from tests import factories
from tests.orders.conftest import make_order, timeline, user_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_supplier_order():
    acme, beta, coco = (factories.SupplierFactory(code=c) for c in ("acme", "beta", "coco"))
    own = factories.SupplierFactory(code="own-warehouse", is_external=False)
    products = {
        "acme-1": factories.ProductFactory(supplier=acme), "acme-2":
        factories.ProductFactory(supplier=acme), "beta": factories.ProductFactory(supplier=beta),
        "coco": factories.ProductFactory(supplier=coco),
        "own": factories.ProductFactory(supplier=own),
        "none": factories.ProductFactory(supplier=None),
    }
    order = make_order(status="pending_payment", kind="payment_intent",
                       lines=[(products[k], q) for k, q in
                              [("acme-1", 2), ("beta", 1), ("acme-2", 4), ("coco", 3),
                               ("own", 1), ("none", 1)]])
    return order, {"acme": acme, "beta": beta, "coco": coco}, products


def test_confirmation_forwards_lines_grouped_per_outside_supplier(three_supplier_order):
    order, suppliers, products = three_supplier_order
    assert not SupplierOrder.objects.exists()
    services.order_confirm(order=order, actor=Actor.system())

    forwarded = {so.supplier.code: so for so in SupplierOrder.objects.filter(order=order)}
    assert set(forwarded) == {"acme", "beta", "coco"}
    assert sorted(so.number for so in forwarded.values()) == [
        f"{order.number.replace('OF-', 'SO-')}-{i}" for i in (1, 2, 3)]
    assert [(line.sku, line.quantity) for line in forwarded["acme"].lines.order_by("id")] == [
        (products["acme-1"].sku, 2), (products["acme-2"].sku, 4)]
    assert [(line.sku, line.quantity) for line in forwarded["coco"].lines.all()] == [
        (products["coco"].sku, 3)]
    assert all(so.status == "open" for so in forwarded.values())
    created = OutboxEvent.objects.filter(type="supplier_order.created")
    assert {e.payload["supplier"] for e in created} == {"acme", "beta", "coco"}
    assert all(e.payload["order_number"] == order.number for e in created)
    event = order.events.get(type="order_confirmed")
    assert len(event.parameters["supplier_orders"]) == 3


def test_each_supplier_sees_and_acknowledges_only_its_own(three_supplier_order):
    order, suppliers, _ = three_supplier_order
    services.order_confirm(order=order, actor=Actor.system())
    acme_login = factories.SupplierUserFactory(supplier=suppliers["acme"]).user
    beta_login = factories.SupplierUserFactory(supplier=suppliers["beta"]).user
    acme_so = SupplierOrder.objects.get(supplier=suppliers["acme"])
    beta_so = SupplierOrder.objects.get(supplier=suppliers["beta"])

    listed = user_client(acme_login).get("/api/v1/supplier-orders").json()["results"]
    assert [so["id"] for so in listed] == [acme_so.public_id]
    assert len(listed[0]["lines"]) == 2 and listed[0]["order_number"] == order.number
    assert user_client(acme_login).get(
        f"/api/v1/supplier-orders/{beta_so.public_id}").status_code == 404
    assert user_client(acme_login).post(
        f"/api/v1/supplier-orders/{beta_so.public_id}/acknowledge").status_code == 404
    # A supplier login never reads the buyer's order itself.
    assert user_client(acme_login).get(f"/api/v1/orders/{order.public_id}").status_code == 404

    response = user_client(acme_login).post(
        f"/api/v1/supplier-orders/{acme_so.public_id}/acknowledge")
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    again = user_client(acme_login).post(
        f"/api/v1/supplier-orders/{acme_so.public_id}/acknowledge")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert timeline(order)[-1] == "supplier_order_acknowledged"
    assert user_client(beta_login).get("/api/v1/supplier-orders").json()["results"][0][
        "status"] == "open"
    assert user_client(factories.UserFactory()).get("/api/v1/supplier-orders").status_code \
        == 403


def test_cancel_cancels_the_supplier_orders(three_supplier_order):
    order, _, _ = three_supplier_order
    services.order_confirm(order=order, actor=Actor.system())
    services.order_cancel(order=order, actor=Actor.system())
    assert set(SupplierOrder.objects.values_list("status", flat=True)) == {"canceled"}
    assert OutboxEvent.objects.filter(type="supplier_order.canceled").count() == 3


def test_checkout_of_a_cod_order_forwards_at_once(shop):
    client = shop.shopper(factories.CustomerFactory())
    cart_id = shop.ready_cart(client, [("COF-250", 1), ("RICE-5KG", 1), ("MUG", 1)])
    order = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}},
                        format="json").json()
    assert SupplierOrder.objects.filter(order__public_id=order["id"]).count() == 3
