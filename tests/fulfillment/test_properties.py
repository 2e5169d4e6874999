"""Property: whatever staff and buyers do — create, ship and cancel shipments, return units
with or without restocking — stock and quantities stay consistent:

- ``0 ≤ reserved ≤ on hand`` for every product;
- units are conserved: on hand = initial − shipped + restocked;
- a line never ships more than ordered, nor returns more than shipped;
- the order's fulfillment status and status follow from what shipped.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Product
from fulfillment import services
from fulfillment.constants import LIVE_SHIPMENT_STATUSES
from fulfillment.models import Shipment, ShipmentLine
from orderflow.errors import DomainError
from orderflow.timeline import Actor
from orders.models import OrderLine
from tests import factories
from tests.orders.conftest import make_order

ACTOR = Actor.system("property")
INITIAL = 20

line_index = st.integers(0, 1)
qty = st.integers(1, 5)
operation = st.one_of(
    st.tuples(st.just("create"), line_index, qty),
    st.tuples(st.just("ship"), st.integers(0, 5)),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("return"), line_index, qty, st.booleans(), st.booleans()),
)


def _check(order, products, restocked):
    lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    for line, product in zip(lines, products, strict=True):
        p = Product.objects.get(pk=product.pk)
        assert 0 <= p.stock_reserved <= p.stock_on_hand
        assert p.stock_on_hand == INITIAL - line.quantity_shipped + restocked[p.pk]
        assert 0 <= line.quantity_shipped <= line.quantity
        assert line.quantity_reserved == line.quantity - line.quantity_shipped or \
            order.status == "canceled"
        in_parcels = sum(ShipmentLine.objects.filter(
            order_line=line, shipment__status__in=LIVE_SHIPMENT_STATUSES)
            .values_list("quantity", flat=True))
        assert line.quantity_shipped <= in_parcels <= line.quantity
        returned = sum(line.return_lines.exclude(return_request__status="rejected")
                       .values_list("quantity", flat=True))
        assert returned <= line.quantity_shipped
    order.refresh_from_db()
    shipped_all = all(line.quantity_shipped == line.quantity for line in lines)
    assert (order.status == "completed") == shipped_all
    assert (order.fulfillment_status == "fulfilled") == shipped_all


@pytest.mark.django_db
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(quantities=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       operations=st.lists(operation, max_size=12))
def test_any_sequence_keeps_stock_and_quantities_consistent(quantities, operations):
    products = [factories.ProductFactory(stock_on_hand=INITIAL, supplier__is_external=False)
                for _ in quantities]
    order = make_order(lines=list(zip(products, quantities, strict=True)))
    lines = list(order.lines.order_by("id"))
    restocked = {p.pk: 0 for p in products}
    for op in operations:
        pending = list(Shipment.objects.filter(order=order, status="pending").order_by("id"))
        try:
            if op[0] == "create":
                services.shipment_create(order=order, actor=ACTOR,
                                         lines={lines[op[1]].public_id: op[2]})
            elif op[0] == "ship" and pending:
                services.shipment_ship(shipment=pending[op[1] % len(pending)], actor=ACTOR)
            elif op[0] == "cancel" and pending:
                services.shipment_cancel(shipment=pending[op[1] % len(pending)], actor=ACTOR)
            elif op[0] == "return":
                _, index, n, restock, reject = op
                r = services.return_request(order=order, actor=ACTOR, lines=[
                    {"line_id": lines[index].public_id, "quantity": n, "reason": "other"}])
                if reject:
                    services.return_reject(return_request=r, actor=ACTOR, reason="no")
                else:
                    services.return_authorize(return_request=r, actor=ACTOR)
                    services.return_receive(return_request=r, actor=ACTOR, lines={
                        lines[index].public_id: {"quantity": n, "restock": restock}})
                    if restock:
                        restocked[products[index].pk] += n
        except DomainError:
            pass  # refused with nothing written: the invariants must still hold
        _check(order, products, restocked)
