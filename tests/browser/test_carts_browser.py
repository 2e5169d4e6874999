"""Staff look at a shopper's cart in a real browser: the read-only story with its lines,
totals, addresses and the defaults it took, and no Save button."""

from decimal import Decimal

import pytest
from django.utils import timezone

from carts.models import Cart, CartLine
from fulfillment.models import ShippingMethod
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cart_reads_as_a_story(visit, staff):
    address = {"full_name": "Ann Buyer", "company_name": "Acme Hardware",
               "line1": "1 King Street", "city": "Kingston", "country": "JM"}
    method = ShippingMethod.objects.create(code="island", name="Island courier", currency="JMD")
    buyer = factories.CustomerFactory(company=factories.CompanyFactory(name="Acme Hardware"))
    cart = Cart.objects.create(
        channel=factories.ChannelFactory(), customer=buyer, email=buyer.email, currency="JMD",
        shipping_method=method, shipping_address=address, billing_address=address,
        subtotal=Decimal("12000"), tax_total=Decimal("1800"), shipping_total=Decimal("500"),
        total=Decimal("14300"), version=1, priced_version=1, priced_at=timezone.now(),
        defaults={"shipping_method": {"value": "island", "source": "channel",
                                      "detail": "shipping method defaulted to island "
                                                "(Island courier) from channel ECOMMERCE"}})
    CartLine.objects.create(cart=cart, product=factories.ProductFactory(sku="CART-SKU"),
                            quantity=4, unit_price=Decimal("3000"),
                            line_subtotal=Decimal("12000"), tax_rate=Decimal("0.15"),
                            tax_amount=Decimal("1800"), line_total=Decimal("13800"))

    visit.login("ops")
    visit.goto("/admin/carts/cart/", "cart list")
    page = visit.click(f"#result_list a:text-is('{cart.public_id}')", "cart page")
    assert "Active" in visit.text("#cart-status")
    assert visit.text("#cart-total").strip() == "JMD 14,300.00"
    assert "JMD 13,800.00" in visit.text("#cart-lines")
    assert "1 King Street" in visit.text("#cart-shipping-address")
    assert "from channel ECOMMERCE" in visit.text("#cart-defaults")
    assert "the totals are current" in visit.text("#cart-totals")
    assert not page.is_visible("input[name=_save], button[name=_save]")
