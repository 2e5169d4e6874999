"""Order edits: staged with a preview (lines, totals, stock, money), applied in one
transaction or discarded; shipped quantities are a floor; the API is staff-only."""

from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.services import stock_reserve
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders import services
from orders.events import order_payload
from orders.models import Order, OrderEdit, OrderEvent, OrderLine, Payment, SupplierOrder
from tests import factories
from tests.fulfillment.shipping import ship_lines
from tests.orders.conftest import timeline, user_client

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")


def place(shop, lines, kind="cod"):
    """A real order through checkout: tax 15 % on coffee and mugs, none on rice, standard
    shipping 1,200 below a 20,000 subtotal."""
    client = shop.client(shop.secret)
    cart_id = shop.ready_cart(client, list(lines))
    payment = {"kind": kind, **({"reference": "pi_1"} if kind == "payment_intent" else {})}
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": payment,
                                                "email": "buyer@example.com"}, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(public_id=response.json()["id"])


def captured(shop, lines):
    """A payment-reference order captured in full (so confirmed and paid)."""
    order = place(shop, lines, kind="payment_intent")
    payment = order.payments.get()
    services.payment_capture(order=order, payment=payment, actor=ACTOR)
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "paid")
    return order


def line_of(order, sku) -> OrderLine:
    return OrderLine.objects.get(order=order, sku=sku)


def held(sku) -> int:
    return Product.objects.get(sku=sku).stock_reserved


def stage(client, order, body):
    return client.post(f"/api/v1/orders/{order.public_id}/edits", body, format="json")


def apply(client, order, edit_id):
    return client.post(f"/api/v1/orders/{order.public_id}/edits/{edit_id}/apply",
                       format="json")


# --- staging ---------------------------------------------------------------------------------

def test_staging_previews_lines_totals_stock_and_amount_to_collect(shop, staff_client):
    order = place(shop, [("COF-250", 2), ("RICE-5KG", 1)])
    assert order.total == Decimal("8935.00")  # 4,900 + 735 tax + 2,100 + 1,200 shipping
    coffee = line_of(order, "COF-250")

    response = stage(staff_client, order, {
        "update_lines": [{"id": coffee.public_id, "quantity": 4}],
        "add_lines": [{"sku": "MUG", "quantity": 1}],
        "note": "Customer called",
    })

    assert response.status_code == 201, response.content
    edit = response.json()
    assert edit["status"] == "staged" and edit["id"].startswith("oed_")
    preview = edit["preview"]
    lines = {line["sku"]: line for line in preview["lines"]}
    assert (lines["COF-250"]["change"], lines["COF-250"]["quantity_before"],
            lines["COF-250"]["quantity"], lines["COF-250"]["line_total"]) == (
        "changed", 2, 4, "11270.00")
    assert lines["RICE-5KG"]["change"] == "unchanged"
    assert (lines["MUG"]["change"], lines["MUG"]["id"], lines["MUG"]["unit_price"],
            lines["MUG"]["tax_amount"], lines["MUG"]["line_total"]) == (
        "added", None, "1499.99", "225.00", "1724.99")
    assert preview["totals"]["after"] == {"subtotal": "13399.99", "tax_total": "1695.00",
                                          "shipping_total": "1200.00", "total": "16294.99"}
    assert preview["stock"] == [{"sku": "COF-250", "reserve": 2}, {"sku": "MUG", "reserve": 1}]
    assert preview["balance"] == {
        "currency": "JMD", "paid": "0.00", "total_before": "8935.00",
        "total_after": "16294.99", "difference": "7359.99", "to_collect": "16294.99",
        "to_refund": "0.00", "amount_due": "7359.99"}
    assert preview["problems"] == []
    # Staging changes nothing on the order.
    order.refresh_from_db()
    assert order.total == Decimal("8935.00") and held("COF-250") == 2 and held("MUG") == 0
    assert timeline(order)[-1] == "order_edit_staged"


def test_staging_a_reduction_of_a_fully_captured_order_previews_a_refund(shop, staff_client):
    order = captured(shop, [("COF-250", 4), ("RICE-5KG", 1)])
    assert order.total == Decimal("14570.00")
    response = stage(staff_client, order, {
        "update_lines": [{"id": line_of(order, "COF-250").public_id, "quantity": 1}],
        "remove_lines": [line_of(order, "RICE-5KG").public_id],
    })
    assert response.status_code == 201, response.content
    preview = response.json()["preview"]
    assert preview["totals"]["after"]["total"] == "4017.50"  # 2,450 + 367.50 + 1,200
    assert preview["stock"] == [{"sku": "COF-250", "release": 3},
                                {"sku": "RICE-5KG", "release": 1}]
    assert preview["balance"]["paid"] == "14570.00"
    assert preview["balance"]["to_refund"] == "10552.50"
    assert preview["balance"]["to_collect"] == "0.00"
    assert preview["balance"]["amount_due"] == "0.00"


def test_staging_an_increase_of_a_fully_captured_order_previews_what_to_collect(shop,
                                                                                  staff_client):
    order = captured(shop, [("COF-250", 1)])
    assert order.total == Decimal("4017.50")
    response = stage(staff_client, order, {
        "update_lines": [{"id": line_of(order, "COF-250").public_id, "quantity": 3}]})
    balance = response.json()["preview"]["balance"]
    assert (balance["total_after"], balance["paid"], balance["to_collect"],
            balance["amount_due"], balance["to_refund"]) == (
        "9652.50", "4017.50", "5635.00", "5635.00", "0.00")


def test_staging_in_order_units_and_changing_shipping_method(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1)])
    response = stage(staff_client, order, {
        "add_lines": [{"sku": "COF-250", "order_uom": "CS12", "order_quantity": 1}],
        "shipping_method": "express",
    })
    assert response.status_code == 201, response.content
    preview = response.json()["preview"]
    coffee = next(line for line in preview["lines"] if line["sku"] == "COF-250")
    assert (coffee["quantity"], coffee["order_uom"], coffee["order_quantity"]) == (12, "CS12", 1)
    assert preview["totals"]["after"]["shipping_total"] == "2500.00"
    assert preview["shipping_method"] == {"old": "Standard", "new": "Express"}


def test_short_stock_is_shown_as_a_problem_when_staging(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1)])
    response = stage(staff_client, order, {"add_lines": [{"sku": "MUG", "quantity": 6}]})
    assert response.status_code == 201
    assert response.json()["preview"]["problems"] == [
        {"code": "insufficient_stock", "sku": "MUG", "requested": 6, "available": 5}]


@pytest.mark.parametrize(("body", "code"), [
    ({"add_lines": [{"sku": "NOPE", "quantity": 1}]}, "unknown_sku"),
    ({"add_lines": [{"sku": "COF-250", "order_uom": "PALLET", "order_quantity": 1}]},
     "unknown_unit"),
    ({"add_lines": [{"sku": "RICE-5KG", "quantity": 1}]}, "invalid_edit"),
    ({"update_lines": [{"id": "ol_nope", "quantity": 1}]}, "invalid_edit"),
    ({"remove_lines": ["__rice__"]}, "order_needs_lines"),
    ({"shipping_method": "teleport"}, "shipping_method_unavailable"),
    ({}, "validation_error"),
])
def test_invalid_edits_are_refused_and_nothing_is_staged(shop, staff_client, body, code):
    order = place(shop, [("RICE-5KG", 1)])
    if body.get("remove_lines") == ["__rice__"]:
        body = {"remove_lines": [line_of(order, "RICE-5KG").public_id]}
    response = stage(staff_client, order, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert OrderEdit.objects.count() == 0


@pytest.mark.parametrize("status", ["pending_payment", "awaiting_approval", "canceled",
                                    "completed", "declined"])
def test_only_confirmed_orders_can_be_edited(shop, staff_client, status):
    order = place(shop, [("RICE-5KG", 1)])
    Order.objects.filter(pk=order.pk).update(status=status)
    response = stage(staff_client, order, {"add_lines": [{"sku": "MUG", "quantity": 1}]})
    assert response.status_code == 409
    assert response.json()["code"] == "order_not_editable"


# --- applying --------------------------------------------------------------------------------

def test_apply_adjusts_reservations_lines_totals_and_records_amount_due(shop, staff_client):
    order = place(shop, [("COF-250", 2), ("RICE-5KG", 1)])
    coffee, rice = line_of(order, "COF-250"), line_of(order, "RICE-5KG")
    edit = stage(staff_client, order, {
        "update_lines": [{"id": coffee.public_id, "quantity": 4}],
        "add_lines": [{"sku": "MUG", "quantity": 1}],
        "remove_lines": [rice.public_id],
    }).json()
    assert (held("COF-250"), held("RICE-5KG"), held("MUG")) == (2, 1, 0)

    response = apply(staff_client, order, edit["id"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert (held("COF-250"), held("RICE-5KG"), held("MUG")) == (4, 0, 1)
    assert {(line["sku"], line["quantity"]) for line in body["lines"]} == {
        ("COF-250", 4), ("MUG", 1)}
    assert body["total"] == edit["preview"]["totals"]["after"]["total"] == "14194.99"
    assert body["subtotal"] == "11299.99" and body["tax_total"] == "1695.00"
    assert list(OrderLine.objects.filter(order=order).order_by("id")
                .values_list("quantity_reserved", flat=True)) == [4, 1]
    payment = Payment.objects.get(order=order)
    assert payment.amount_due == Decimal("14194.99") - Decimal("8935.00")
    assert payment.refund_owed == 0
    assert OrderEdit.objects.get(public_id=edit["id"]).status == "applied"
    # The rice supplier order lost its only line; coffee's follows the new quantity.
    rice_so = SupplierOrder.objects.get(order=order, supplier=rice.product.supplier)
    assert rice_so.status == "canceled"
    coffee_so = SupplierOrder.objects.get(order=order, supplier=coffee.product.supplier)
    assert list(coffee_so.lines.values_list("quantity", flat=True)) == [4]
    assert SupplierOrder.objects.filter(order=order).count() == 3  # the mug's is new


def test_apply_on_a_captured_order_records_the_refund_owed_and_a_refund_settles_it(
        shop, staff_client):
    order = captured(shop, [("COF-250", 4), ("RICE-5KG", 1)])
    edit = stage(staff_client, order, {
        "update_lines": [{"id": line_of(order, "COF-250").public_id, "quantity": 1}],
        "remove_lines": [line_of(order, "RICE-5KG").public_id],
    }).json()
    assert apply(staff_client, order, edit["id"]).status_code == 200
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    assert order.total == Decimal("4017.50")
    assert (payment.refund_owed, payment.amount_due) == (Decimal("10552.50"), 0)
    assert order.payment_status == "paid"
    assert (held("COF-250"), held("RICE-5KG")) == (1, 0)

    services.payment_refund(order=order, payment=payment, actor=ACTOR)  # default: what's owed
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.amount_refunded == Decimal("10552.50") and payment.refund_owed == 0
    assert payment.amount_net == order.total


def test_apply_on_a_captured_order_that_grew_is_partially_paid_until_the_rest_is_captured(
        shop, staff_client):
    order = captured(shop, [("COF-250", 1)])
    edit = stage(staff_client, order, {
        "update_lines": [{"id": line_of(order, "COF-250").public_id, "quantity": 3}]}).json()
    body = apply(staff_client, order, edit["id"]).json()
    assert body["payment_status"] == "partially_paid"
    assert body["payments"][0]["amount_due"] == "5635.00"
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    services.payment_capture(order=order, payment=payment, actor=ACTOR)  # default: balance
    payment.refresh_from_db()
    order.refresh_from_db()
    assert order.payment_status == "paid" and payment.amount_due == 0
    assert payment.amount_captured == Decimal("9652.50")


def test_shipped_quantities_are_a_floor(shop, staff_client):
    order = place(shop, [("COF-250", 4), ("RICE-5KG", 1)])
    coffee = line_of(order, "COF-250")
    ship_lines(order=order, quantities={coffee.public_id: 3}, actor=ACTOR)

    below = stage(staff_client, order, {"update_lines": [{"id": coffee.public_id,
                                                          "quantity": 2}]})
    assert below.status_code == 409
    assert below.json()["code"] == "quantity_below_shipped"
    assert below.json()["quantity_shipped"] == 3
    removed = stage(staff_client, order, {"remove_lines": [coffee.public_id]})
    assert removed.status_code == 409 and removed.json()["code"] == "quantity_below_shipped"

    # Down to exactly what shipped is fine: nothing of that line stays reserved.
    edit = stage(staff_client, order, {"update_lines": [{"id": coffee.public_id,
                                                         "quantity": 3}]}).json()
    assert edit["preview"]["stock"] == [{"sku": "COF-250", "release": 1}]
    assert apply(staff_client, order, edit["id"]).status_code == 200
    coffee.refresh_from_db()
    assert (coffee.quantity, coffee.quantity_shipped, coffee.quantity_reserved) == (3, 3, 0)
    assert held("COF-250") == 0


def test_editing_away_the_last_unshipped_units_completes_the_order(shop, staff_client):
    order = place(shop, [("COF-250", 4), ("RICE-5KG", 1)])
    coffee, rice = line_of(order, "COF-250"), line_of(order, "RICE-5KG")
    ship_lines(order=order, quantities={coffee.public_id: 4}, actor=ACTOR)
    edit = stage(staff_client, order, {"remove_lines": [rice.public_id]}).json()
    assert apply(staff_client, order, edit["id"]).status_code == 200
    order.refresh_from_db()
    assert (order.fulfillment_status, order.status) == ("fulfilled", "completed")
    assert order.invoices.count() == 1  # COD: invoiced when fully shipped


def test_insufficient_stock_on_apply_changes_nothing(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1), ("COF-250", 2)])
    edit = stage(staff_client, order, {
        "add_lines": [{"sku": "MUG", "quantity": 3}],
        "update_lines": [{"id": line_of(order, "COF-250").public_id, "quantity": 1}],
    }).json()
    stock_reserve(items=[(Product.objects.get(sku="MUG"), 4)])  # someone else's checkout
    before = (order_payload(Order.objects.get(pk=order.pk)), held("COF-250"),
              OrderEvent.objects.count(), OutboxEvent.objects.count())

    response = apply(staff_client, order, edit["id"])

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["sku"] == "MUG"
    assert (order_payload(Order.objects.get(pk=order.pk)), held("COF-250"),
            OrderEvent.objects.count(), OutboxEvent.objects.count()) == before
    assert held("MUG") == 4
    assert OrderEdit.objects.get(public_id=edit["id"]).status == "staged"


def test_an_order_that_moved_since_staging_is_refused_as_stale(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1)], kind="payment_intent")
    Order.objects.filter(pk=order.pk).update(status="confirmed")
    edit = stage(staff_client, order, {"add_lines": [{"sku": "MUG", "quantity": 1}]}).json()
    services.payment_capture(order=order, payment=order.payments.get(), actor=ACTOR,
                             amount=Decimal("100.00"))
    response = apply(staff_client, order, edit["id"])
    assert response.status_code == 409 and response.json()["code"] == "edit_stale"
    assert held("MUG") == 0


def test_apply_writes_one_timeline_entry_with_the_diff_and_emits_order_updated(shop,
                                                                              staff_client):
    order = place(shop, [("COF-250", 2), ("RICE-5KG", 1)])
    coffee = line_of(order, "COF-250")
    new_address = {"full_name": "Sasha Shopper", "line1": "10 King Street",
                   "city": "Kingston", "country": "JM"}
    edit = stage(staff_client, order, {
        "update_lines": [{"id": coffee.public_id, "quantity": 3}],
        "shipping_address": new_address}).json()
    events_before = OrderEvent.objects.filter(order=order).count()

    apply(staff_client, order, edit["id"])

    new_events = list(OrderEvent.objects.filter(order=order).order_by("id")[events_before:])
    assert [e.type for e in new_events] == ["order_updated"]
    diff = new_events[0].parameters["diff"]
    assert diff["lines"] == [{"id": coffee.public_id, "sku": "COF-250", "change": "changed",
                              "quantity": {"old": 2, "new": 3}}]
    assert diff["total"] == {"old": "8935.00", "new": "11752.50"}
    assert diff["shipping_address"]["new"] == new_address
    assert diff["shipping_address"]["old"]["line1"] == "4 Hope Road"
    assert new_events[0].parameters["edit_id"] == edit["id"]
    assert new_events[0].actor_source == "api"

    event = OutboxEvent.objects.get(type="order.updated", aggregate_id=order.public_id)
    order.refresh_from_db()
    assert event.payload["id"] == order.public_id
    assert event.payload["total"] == "11752.50"
    assert event.payload["shipping_address"] == new_address
    assert [(line["sku"], line["quantity"]) for line in event.payload["lines"]] == [
        ("COF-250", 3), ("RICE-5KG", 1)]
    assert event.payload["payments"][0]["amount_due"] == "2817.50"
    assert set(event.payload) == set(order_payload(order))


def test_discard_marks_the_edit_and_changes_nothing_else(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1)])
    edit = stage(staff_client, order, {"add_lines": [{"sku": "MUG", "quantity": 1}]}).json()
    url = f"/api/v1/orders/{order.public_id}/edits/{edit['id']}"

    response = staff_client.post(f"{url}/discard", format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "discarded" and response.json()["discarded_at"]
    assert timeline(order)[-2:] == ["order_edit_staged", "order_edit_discarded"]
    assert held("MUG") == 0 and not OutboxEvent.objects.filter(type="order.updated").exists()
    again = apply(staff_client, order, edit["id"])
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert staff_client.get(url).json()["status"] == "discarded"


def test_an_applied_edit_cannot_be_applied_twice(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1)])
    edit = stage(staff_client, order, {"add_lines": [{"sku": "MUG", "quantity": 1}]}).json()
    assert apply(staff_client, order, edit["id"]).status_code == 200
    again = apply(staff_client, order, edit["id"])
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert held("MUG") == 1


# --- who may ---------------------------------------------------------------------------------

def test_non_staff_cannot_stage_or_apply(shop, staff_client):
    order = place(shop, [("RICE-5KG", 1)])
    body = {"add_lines": [{"sku": "MUG", "quantity": 1}]}
    edit = stage(staff_client, order, body).json()
    url = f"/api/v1/orders/{order.public_id}/edits"

    shopper = user_client(factories.UserFactory())
    assert shopper.post(url, body, format="json").status_code == 403
    assert shopper.post(f"{url}/{edit['id']}/apply").status_code == 403
    key = shop.client(shop.secret)
    assert key.post(url, body, format="json").status_code in (401, 403)
    viewer = factories.UserFactory(is_staff=True)
    assert user_client(viewer).post(url, body, format="json").status_code == 403
    assert staff_client.post("/api/v1/orders/ord_nope/edits", body,
                             format="json").status_code == 404
    assert staff_client.post(f"{url}/oed_nope/apply").status_code == 404
    assert OrderEdit.objects.get(public_id=edit["id"]).status == "staged"


def test_services_can_be_called_directly(shop):
    order = place(shop, [("RICE-5KG", 2)])
    rice = line_of(order, "RICE-5KG")
    edit = services.order_edit_stage(order=order, actor=ACTOR,
                                     changes={"update_lines": [{"id": rice.public_id,
                                                                "quantity": 1}]})
    services.order_edit_apply(edit=edit, actor=ACTOR)
    rice.refresh_from_db()
    assert (rice.quantity, rice.quantity_reserved, held("RICE-5KG")) == (1, 1, 1)
