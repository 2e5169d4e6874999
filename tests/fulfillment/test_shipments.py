"""Shipments: partial and multi-parcel shipping rolls up into the order exactly once, with
the stock, the timeline, the invoice and the e-mail telling the same story."""

import pytest
from django.core import mail

from fulfillment import services
from fulfillment.models import Shipment
from fulfillment.services.notifications import shipment_email_send
from orderflow.errors import Conflict, InvalidTransition
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from orders import services as order_services
from orders.models import OrderEvent
from tests import factories
from tests.fulfillment.conftest import line_of, place, stock
from tests.orders.conftest import make_order, timeline

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("ops@example.com")


def test_two_partial_shipments_complete_the_order_with_the_last_unit(shop):
    order = place(shop, shop.shopper(factories.CustomerFactory()),
                  [("COF-250", 4), ("RICE-5KG", 2)])
    coffee, rice = line_of(order, "COF-250"), line_of(order, "RICE-5KG")
    assert stock("COF-250") == (100, 4)

    first = services.shipment_create(order=order, actor=ACTOR, carrier="DHL",
                                     tracking_number="JD0001",
                                     lines={coffee.public_id: 3, rice.public_id: 1})
    assert first.status == "pending" and first.number.startswith("SH-")
    assert first.tracking_url.endswith("tracking-id=JD0001")
    assert stock("COF-250") == (100, 4)  # a pending parcel moves no stock
    services.shipment_ship(shipment=first, actor=ACTOR)
    order.refresh_from_db()
    assert (order.status, order.fulfillment_status) == ("confirmed", "partially_fulfilled")
    assert stock("COF-250") == (97, 1)

    # No lines: everything still unshipped.
    second = services.shipment_create(order=order, actor=ACTOR)
    assert {(line.order_line.sku, line.quantity) for line in second.lines.all()} == {
        ("COF-250", 1), ("RICE-5KG", 1)}
    order.refresh_from_db()
    assert order.status == "confirmed"  # created is not shipped
    services.shipment_ship(shipment=second, actor=ACTOR, carrier="fedex",
                           tracking_number="7788")
    order.refresh_from_db()
    assert (order.status, order.fulfillment_status) == ("completed", "fulfilled")
    assert stock("COF-250") == (96, 0) and stock("RICE-5KG") == (48, 0)
    assert order.invoices.get().status == "issued"  # COD: invoiced when fully shipped
    second.refresh_from_db()
    assert second.tracking_url == "https://www.fedex.com/fedextrack/?trknbr=7788"
    types = timeline(order)
    assert types.count("shipment_created") == 2 and types.count("shipment_shipped") == 2
    assert types[-3:] == ["order_lines_shipped", "invoice_issued", "order_completed"]
    shipped = (OrderEvent.objects.filter(order=order, type="order_lines_shipped")
               .order_by("id").last())
    assert shipped.parameters["shipment"] == second.number
    assert list(OutboxEvent.objects.filter(aggregate_id=second.public_id)
                .values_list("type", flat=True)) == ["shipment.created", "shipment.shipped"]

    services.shipment_deliver(shipment=second, actor=ACTOR)
    second.refresh_from_db()
    assert second.status == "delivered" and second.delivered_at is not None


def test_over_shipment_names_the_line_and_what_is_left():
    order = make_order(lines=[(None, 5)])
    line = order.lines.get()
    services.shipment_create(order=order, actor=ACTOR, lines={line.public_id: 3})
    with pytest.raises(Conflict) as refused:
        services.shipment_create(order=order, actor=ACTOR, lines={line.public_id: 3})
    error = refused.value
    assert error.code == "over_shipment" and error.status == 409
    assert error.extra == {"line_id": line.public_id, "sku": line.sku, "requested": 3,
                           "ordered": 5, "left": 2}
    assert line.sku in error.detail and "only 2 of 5 left" in error.detail
    assert Shipment.objects.filter(order=order).count() == 1


def test_canceling_a_pending_shipment_frees_its_quantities_and_a_shipped_one_cannot():
    order = make_order(lines=[(None, 2)])
    line = order.lines.get()
    pending = services.shipment_create(order=order, actor=ACTOR)
    with pytest.raises(Conflict) as nothing:
        services.shipment_create(order=order, actor=ACTOR)
    assert nothing.value.code == "nothing_to_ship"
    services.shipment_cancel(shipment=pending, actor=ACTOR, reason="Box damaged")
    again = services.shipment_create(order=order, actor=ACTOR, lines={line.public_id: 2})
    services.shipment_ship(shipment=again, actor=ACTOR)
    with pytest.raises(InvalidTransition):
        services.shipment_cancel(shipment=again, actor=ACTOR)
    assert "shipment_canceled" in timeline(order)
    order.refresh_from_db()
    assert order.status == "completed"


@pytest.mark.parametrize("status", ["pending_payment", "awaiting_approval", "canceled"])
def test_only_confirmed_orders_ship(status):
    order = make_order(status=status, lines=[(None, 1)])
    with pytest.raises(Conflict) as refused:
        services.shipment_create(order=order, actor=ACTOR)
    assert refused.value.code == "order_not_shippable"


def test_a_pending_shipment_of_an_order_canceled_meanwhile_cannot_ship():
    order = make_order(lines=[(None, 1)])
    shipment = services.shipment_create(order=order, actor=ACTOR)
    order_services.order_cancel(order=order, actor=ACTOR)
    with pytest.raises(Conflict) as refused:
        services.shipment_ship(shipment=shipment, actor=ACTOR)
    assert refused.value.code == "order_not_shippable"
    shipment.refresh_from_db()
    assert shipment.status == "pending"


def test_supplier_shipment_rolls_up_into_the_buyers_order():
    supplier = factories.SupplierFactory(is_external=True)
    own = factories.ProductFactory(stock_on_hand=10, supplier__is_external=False)
    dropship = factories.ProductFactory(stock_on_hand=10, supplier=supplier)
    order = make_order(status="pending_payment", lines=[(own, 1), (dropship, 2)])
    order_services.order_confirm(order=order, actor=ACTOR)
    so = order.supplier_orders.get()
    shipment = services.shipment_create(order=order, actor=ACTOR, supplier_order=so,
                                        carrier="UPS", tracking_number="1Z999")
    assert [line.order_line.product_id for line in shipment.lines.all()] == [dropship.pk]
    services.shipment_ship(shipment=shipment, actor=ACTOR)
    order.refresh_from_db()
    assert order.fulfillment_status == "partially_fulfilled"
    event = OrderEvent.objects.get(order=order, type="shipment_created")
    assert event.parameters["supplier_order"] == so.number
    assert supplier.code in event.message


def test_the_shipping_email_goes_after_commit_with_the_tracking_link(
        shop, django_capture_on_commit_callbacks, monkeypatch):
    order = place(shop, shop.shopper(factories.CustomerFactory(email="ana@example.com")),
                  [("MUG", 1)])
    queued = []
    monkeypatch.setattr("fulfillment.services.notifications._queue",
                        lambda task, pk: queued.append((task, pk)))
    shipment = services.shipment_create(order=order, actor=ACTOR, carrier="dhl",
                                        tracking_number="JD42")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.shipment_ship(shipment=shipment, actor=ACTOR)
    assert queued == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert queued == [("fulfillment.tasks.send_shipment_email_task", shipment.pk)]

    assert shipment_email_send(shipment_id=shipment.pk) is True
    (message,) = mail.outbox
    assert message.to == ["ana@example.com"]
    assert order.number in message.subject
    assert "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD42" in message.body
    assert "1 x" in message.body and "MUG" in message.body
    html = message.alternatives[0][0]
    assert 'href="https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD42"' in html


@pytest.mark.django_db(transaction=True)
def test_the_roll_up_is_not_a_path_of_its_own():
    """Units ship through a shipment: the roll-up refuses to run on its own."""
    from orders.services.lifecycle import order_lines_ship
    order = make_order(lines=[(None, 1)])
    with pytest.raises(RuntimeError):
        order_lines_ship(order=order, quantities={order.lines.get().public_id: 1}, actor=ACTOR)
