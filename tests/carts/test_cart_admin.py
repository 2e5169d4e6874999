"""The cart page is a read-only story: status badge, lines and totals with formatted money,
addresses as addresses, the shipping method, the defaults the cart took and the order it
became; nothing editable, so no Save."""

from decimal import Decimal

import pytest
from django.urls import reverse

from carts.models import Cart, CartLine
from carts.selectors import cart_defaults_taken
from fulfillment.models import ShippingMethod
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db

ADDRESS = {"full_name": "Ann Buyer", "line1": "1 King Street", "city": "Kingston",
           "country": "JM"}


@pytest.fixture
def cart():
    channel = factories.ChannelFactory()
    method = ShippingMethod.objects.create(code="island", name="Island courier",
                                           currency="JMD")
    buyer = factories.CustomerFactory(company=factories.CompanyFactory(name="Acme Hardware"))
    cart = Cart.objects.create(
        channel=channel, customer=buyer, email=buyer.email, currency="JMD",
        shipping_method=method, shipping_address=ADDRESS, billing_address=ADDRESS,
        subtotal=Decimal("12000"), tax_total=Decimal("1800"), shipping_total=Decimal("500"),
        total=Decimal("14300"),
        defaults={"shipping_method": {
            "value": "island", "source": "channel",
            "detail": "shipping method defaulted to island (Island courier) from channel "
                      "ECOMMERCE"}})
    product = factories.ProductFactory(sku="CART-SKU", name="Cement 42.5 kg")
    CartLine.objects.create(cart=cart, product=product, quantity=4,
                            unit_price=Decimal("3000"), line_subtotal=Decimal("12000"),
                            tax_rate=Decimal("0.15"), tax_amount=Decimal("1800"),
                            line_total=Decimal("13800"))
    return cart


def test_cart_page_tells_the_story_without_save(admin_client_logged, cart):
    order = make_order(status="confirmed", cart=cart)
    page = admin_client_logged.get(reverse("admin:carts_cart_change", args=[cart.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "of-badge-active" in html
    for text in ("JMD 14,300.00", "JMD 3,000.00", "JMD 13,800.00", "15 %", "CART-SKU",
                 "Cement 42.5 kg", "1 King Street", "Island courier", "Acme Hardware",
                 "shipping method defaulted to island (Island courier) from channel ECOMMERCE"):
        assert text in html, text
    assert "&quot;line1&quot;" not in html.split('id="cart-story"')[1].split("</address>")[0]
    assert reverse("admin:orders_order_change", args=[order.pk]) in html
    assert 'name="_save"' not in html and 'name="_continue"' not in html


def test_a_cart_without_defaults_or_lines_says_so(admin_client_logged):
    cart = Cart.objects.create(channel=factories.ChannelFactory(), currency="JMD")
    html = admin_client_logged.get(
        reverse("admin:carts_cart_change", args=[cart.pk])).content.decode()
    assert "The cart is empty." in html and "None: the buyer chose everything." in html
    assert "guest" in html


def test_cart_list_shows_status_and_formatted_total(admin_client_logged, cart):
    html = admin_client_logged.get(reverse("admin:carts_cart_changelist")).content.decode()
    assert "of-badge-active" in html and "JMD 14,300.00" in html


def test_defaults_taken_in_words():
    cart = Cart(defaults={
        "billing_address": {"value": None, "source": "shipping_address",
                            "detail": "billing address defaulted to the shipping address"},
        "payment": {"value": "terms", "source": "company_terms"}})
    assert cart_defaults_taken(cart=cart) == [
        ("Billing address", "billing address defaulted to the shipping address"),
        ("Payment", "terms · company_terms")]
