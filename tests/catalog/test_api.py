from decimal import Decimal

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    bm = factories.SupplierFactory(code="bluemountain")
    own = factories.SupplierFactory(code="own", is_external=False)
    coffee = factories.ProductFactory(sku="COF-BM-250", name="Blue Mountain coffee 250 g",
                                      supplier=bm, list_price=Decimal("2450.00"),
                                      stock_on_hand=40)
    factories.ProductUnitFactory(product=coffee, uom="CS12", factor=12)
    cups = factories.ProductFactory(sku="CUP-50", name="Paper cups", supplier=own,
                                    list_price=Decimal("1250.00"))
    old = factories.ProductFactory(sku="OLD-1", name="Retired mug", supplier=own, is_active=False)
    return {"coffee": coffee, "cups": cups, "old": old}


def skus(response):
    assert response.status_code == 200, response.content
    return [p["sku"] for p in response.json()["results"]]


def test_list_shows_money_as_strings_with_currency(staff_client, catalog):
    response = staff_client.get("/api/v1/products?sku=COF-BM-250")
    [product] = response.json()["results"]
    assert product["id"] == catalog["coffee"].public_id
    assert product["list_price"] == "2450.00"
    assert product["currency"] == "JMD"
    assert product["price"] == {"amount": "2450.00", "currency": "JMD", "source": "list",
                                "price_list": None, "tiers": []}
    assert product["units"] == [{"uom": "CS12", "name": "Case of 12", "factor": 12}]
    assert product["tax"] == {"tax_class": "standard", "name": "GCT 15%", "rate": "0.1500"}
    assert product["supplier"]["code"] == "bluemountain"
    assert product["stock_available"] == 40
    assert "pk" not in product and isinstance(product["id"], str)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["COF-BM-250", "CUP-50", "OLD-1"]),
        ("sku=cup-50", ["CUP-50"]),
        ("supplier=own", ["CUP-50", "OLD-1"]),
        ("active=true", ["COF-BM-250", "CUP-50"]),
        ("active=false", ["OLD-1"]),
        ("search=blue coffee", ["COF-BM-250"]),
        ("search=mug&active=false", ["OLD-1"]),
        ("ordering=-sku", ["OLD-1", "CUP-50", "COF-BM-250"]),
    ],
)
def test_filters(staff_client, catalog, query, expected):
    assert skus(staff_client.get(f"/api/v1/products?{query}")) == expected


def test_supplier_filter_by_public_id(staff_client, catalog):
    supplier = catalog["coffee"].supplier
    assert skus(staff_client.get(f"/api/v1/products?supplier={supplier.public_id}")) == [
        "COF-BM-250"]


def test_company_contract_price_and_tiers(staff_client, catalog):
    price_list = factories.PriceListFactory(code="b2b")
    for min_quantity, price in [(12, "2050.00"), (1, "2200.00")]:
        factories.PriceListEntryFactory(price_list=price_list, product=catalog["coffee"],
                                        min_quantity=min_quantity, unit_price=Decimal(price))
    company = factories.CompanyFactory(code="kingston-cafes", price_list=price_list)

    response = staff_client.get(f"/api/v1/products/{catalog['coffee'].public_id}"
                                f"?company={company.code}")
    assert response.status_code == 200
    assert response.json()["price"] == {
        "amount": "2200.00", "currency": "JMD", "source": "contract", "price_list": "b2b",
        "tiers": [{"min_quantity": 1, "unit_price": "2200.00"},
                  {"min_quantity": 12, "unit_price": "2050.00"}],
    }
    cups = staff_client.get(f"/api/v1/products/{catalog['cups'].public_id}"
                            f"?company={company.public_id}").json()
    assert cups["price"]["source"] == "list"


def test_unknown_company_is_404(staff_client, catalog):
    response = staff_client.get("/api/v1/products?company=nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("count", [5, 60])
def test_list_query_count_does_not_grow_with_page_size(staff_client, django_assert_num_queries,
                                                       count):
    price_list = factories.PriceListFactory(code="b2b")
    company = factories.CompanyFactory(price_list=price_list)
    for product in factories.ProductFactory.create_batch(count):
        factories.ProductUnitFactory(product=product)
        factories.PriceListEntryFactory(price_list=price_list, product=product)
    # company, permissions (user + group), count, products, units, tax rates, contract tiers
    with django_assert_num_queries(8):
        response = staff_client.get(f"/api/v1/products?limit=100&company={company.code}")
    assert len(response.json()["results"]) == count
