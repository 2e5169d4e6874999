"""Property: whatever the prices, quantities and rates, the cart's money reconciles to the cent."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carts import services
from carts.models import Cart
from orderflow.principals import Principal
from tests import factories

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.9999"), places=4)
rates = st.sampled_from([Decimal("0"), Decimal("0.15"), Decimal("0.165"), Decimal("0.0825")])
line = st.tuples(prices, st.integers(min_value=1, max_value=5000), rates)
CENT = Decimal("0.01")


@pytest.mark.django_db
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(line, min_size=1, max_size=6), shipping=prices)
def test_line_totals_tax_and_total_reconcile(shop, lines, shipping):
    staff = factories.StaffUserFactory(is_superuser=True)
    principal = Principal(user=staff)
    method = flat_shipping(shipping)
    cart = services.cart_create(channel=shop.channel)
    for index, (price, quantity, rate) in enumerate(lines):
        tax_class = factories.TaxClassFactory(code=f"rate-{rate}", rate__rate=rate)
        product = factories.ProductFactory(list_price=price, tax_class=tax_class,
                                           stock_on_hand=10_000, sku=f"P{cart.pk}-{index}")
        services.cart_add_line(principal=principal, cart_id=cart.public_id, sku=product.sku,
                               quantity=quantity)
    services.cart_set_addresses(principal=principal, cart_id=cart.public_id,
                                shipping_address={"full_name": "A", "line1": "B", "city": "C",
                                                  "country": "JM"})
    services.cart_set_shipping_method(principal=principal, cart_id=cart.public_id,
                                      code=method.code)
    services.cart_price(principal=principal, cart_id=cart.public_id)

    cart = Cart.objects.get(pk=cart.pk)
    rows = list(cart.lines.select_related("product"))
    for row in rows:
        exact = row.product.list_price * row.quantity
        assert abs(row.line_subtotal - exact) <= Decimal("0.005")
        assert abs(row.tax_amount - row.line_subtotal * row.tax_rate) <= Decimal("0.005")
        assert row.line_total == row.line_subtotal + row.tax_amount
        for amount in (row.line_subtotal, row.tax_amount, row.line_total):
            assert amount == amount.quantize(CENT)
    assert cart.subtotal == sum(r.line_subtotal for r in rows)
    assert cart.tax_total == sum(r.tax_amount for r in rows)
    assert cart.shipping_total == shipping.quantize(CENT, rounding="ROUND_HALF_UP")
    assert cart.total == cart.subtotal + cart.tax_total + cart.shipping_total
    assert sum(r.line_total for r in rows) + cart.shipping_total == cart.total


def flat_shipping(price):
    from fulfillment.models import ShippingMethod, ShippingRate

    method = ShippingMethod.objects.create(code=f"flat-{ShippingMethod.objects.count()}",
                                           name="Flat", currency="JMD")
    ShippingRate.objects.create(method=method, threshold=0, price=price)
    return method
