"""Unit conversion, and stock rules the database itself enforces."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from catalog.models import Product, ProductEvent
from catalog.selectors import quantity_to_base
from catalog.services import product_adjust_stock
from orderflow.errors import ValidationFailed
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def coffee():
    product = factories.ProductFactory(sku="COF-250", base_uom="EA", stock_on_hand=10)
    factories.ProductUnitFactory(product=product, uom="CS12", factor=12)
    return product


@pytest.mark.parametrize("uom, quantity, expected",
                         [(None, 3, 3), ("EA", 3, 3), ("ea", 2, 2), ("CS12", 2, 24),
                          ("cs12", 1, 12)])
def test_quantity_to_base(coffee, uom, quantity, expected):
    assert quantity_to_base(product=coffee, uom=uom, quantity=quantity) == expected


def test_unknown_unit_is_refused_with_the_units_it_is_sold_in(coffee):
    with pytest.raises(ValidationFailed) as excinfo:
        quantity_to_base(product=coffee, uom="PALLET", quantity=1)
    assert excinfo.value.code == "unknown_unit"
    assert "EA, CS12" in excinfo.value.detail


def test_unit_factor_must_be_at_least_two(coffee):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ProductUnitFactory(product=coffee, uom="SINGLE", factor=1)


@pytest.mark.parametrize(
    "update",
    [
        {"stock_on_hand": -1},
        {"stock_reserved": -1},
        {"stock_reserved": F("stock_on_hand") + 1},
        {"list_price": Decimal("-0.01")},
    ],
    ids=["negative-on-hand", "negative-reserved", "reserved-above-on-hand", "negative-price"],
)
def test_database_rejects_impossible_stock(coffee, update):
    # queryset.update bypasses every Python check: only the database constraint stands.
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=coffee.pk).update(**update)
    coffee.refresh_from_db()
    assert (coffee.stock_on_hand, coffee.stock_reserved) == (10, 0)


def test_adjust_stock_writes_timeline_and_outbox(coffee, staff_user):
    product_adjust_stock(product=coffee, delta=5, reason="Delivery 1234",
                         actor=Actor.staff(staff_user))
    coffee.refresh_from_db()
    assert coffee.stock_on_hand == 15
    event = ProductEvent.objects.get(product=coffee)
    assert event.type == "stock_adjusted"
    assert event.actor_user == staff_user
    assert event.parameters == {"stock_on_hand": {"old": 10, "new": 15}, "delta": 5}
    outbox = OutboxEvent.objects.get(type="product.stock_changed")
    assert outbox.payload["stock_on_hand"] == 15
    assert outbox.aggregate_id == coffee.public_id


def test_adjust_stock_cannot_go_below_reserved(coffee):
    Product.objects.filter(pk=coffee.pk).update(stock_reserved=8)
    with pytest.raises(ValidationFailed) as excinfo:
        product_adjust_stock(product=coffee, delta=-3, reason="Damaged", actor=Actor.system())
    assert excinfo.value.code == "stock_below_reserved"
    coffee.refresh_from_db()
    assert coffee.stock_on_hand == 10
    assert not ProductEvent.objects.exists()
    assert not OutboxEvent.objects.exists()
