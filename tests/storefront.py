"""A storefront test harness: keys, a shopper token, a small catalog and shipping."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rest_framework.test import APIClient

from bridges.access.services import api_key_create
from bridges.constants import KeyKind
from fulfillment.constants import RateBasis
from fulfillment.models import ShippingMethod, ShippingRate
from tests import factories

ADDRESS = {"full_name": "Sasha Shopper", "line1": "4 Hope Road", "city": "Kingston",
           "region": "St Andrew", "country": "JM", "phone": "876-555-0100"}


@dataclass
class Storefront:
    channel: object
    secret: str
    publishable: str
    products: dict = field(default_factory=dict)

    def client(self, key: str | None = None, token: str | None = None) -> APIClient:
        client = APIClient()
        headers = {}
        if key:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        if token:
            headers["HTTP_X_STOREFRONT_SHOPPER_TOKEN"] = token
        client.credentials(**headers)
        return client

    def token_for(self, customer, key: str | None = None) -> str:
        response = self.client(key or self.secret).post(
            "/api/v1/shopper-tokens", {"customer_id": customer.public_id}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["token"]

    def shopper(self, customer) -> APIClient:
        return self.client(self.secret, self.token_for(customer))

    def ready_cart(self, client: APIClient, lines: list[tuple[str, int]],
                   shipping: str = "standard") -> str:
        """Create, fill, address, choose shipping and price a cart; returns its id."""
        cart_id = client.post("/api/v1/carts", {}, format="json").json()["id"]
        for sku, quantity in lines:
            response = client.post(f"/api/v1/carts/{cart_id}/lines",
                                   {"sku": sku, "quantity": quantity}, format="json")
            assert response.status_code == 201, response.content
        assert client.put(f"/api/v1/carts/{cart_id}/addresses", {"shipping_address": ADDRESS},
                          format="json").status_code == 200
        assert client.post(f"/api/v1/carts/{cart_id}/shipping-method", {"code": shipping},
                           format="json").status_code == 200
        response = client.post(f"/api/v1/carts/{cart_id}/price", format="json")
        assert response.status_code == 200, response.content
        return cart_id


def build_storefront(channel_code: str = "ECOMMERCE") -> Storefront:
    channel = factories.ChannelFactory(code=channel_code)
    _, secret = api_key_create(name="shop secret", kind=KeyKind.SECRET, mode="test",
                               channel=channel)
    _, publishable = api_key_create(name="shop pub", kind=KeyKind.PUBLISHABLE, mode="test",
                                    channel=channel)
    standard_tax = factories.TaxClassFactory(code="standard")
    zero_tax = factories.TaxClassFactory(code="zero", rate__rate=Decimal("0"),
                                         rate__name="GCT 0%")
    coffee = factories.ProductFactory(sku="COF-250", list_price=Decimal("2450.00"),
                                      tax_class=standard_tax, stock_on_hand=100, weight_grams=260)
    factories.ProductUnitFactory(product=coffee, uom="CS12", factor=12)
    rice = factories.ProductFactory(sku="RICE-5KG", list_price=Decimal("2100.00"),
                                    tax_class=zero_tax, stock_on_hand=50)
    mug = factories.ProductFactory(sku="MUG", list_price=Decimal("1499.99"),
                                   tax_class=standard_tax, stock_on_hand=5)
    standard = ShippingMethod.objects.create(code="standard", name="Standard",
                                             basis=RateBasis.ORDER_TOTAL, currency="JMD")
    ShippingRate.objects.create(method=standard, threshold=0, price=Decimal("1200.00"))
    ShippingRate.objects.create(method=standard, threshold=20000, price=Decimal("0.00"))
    express = ShippingMethod.objects.create(code="express", name="Express",
                                            basis=RateBasis.FLAT, currency="JMD")
    ShippingRate.objects.create(method=express, threshold=0, price=Decimal("2500.00"))
    return Storefront(channel=channel, secret=secret, publishable=publishable,
                      products={"coffee": coffee, "rice": rice, "mug": mug})
