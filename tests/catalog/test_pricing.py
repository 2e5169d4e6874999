"""One service resolves the unit price: contract tiers for the company, else list price."""

from decimal import Decimal

import pytest

from catalog.selectors import CONTRACT, LIST, unit_price_resolve, unit_prices_resolve
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return factories.ProductFactory(list_price=Decimal("2450.00"))


@pytest.fixture
def contract_company(product):
    price_list = factories.PriceListFactory(code="b2b")
    for min_quantity, price in [(1, "2200.00"), (12, "2050.00"), (48, "1900.00")]:
        factories.PriceListEntryFactory(price_list=price_list, product=product,
                                        min_quantity=min_quantity, unit_price=Decimal(price))
    return factories.CompanyFactory(price_list=price_list)


def test_no_company_pays_list_price(product):
    price = unit_price_resolve(product=product, quantity=100)
    assert (price.amount, price.source, price.price_list) == (Decimal("2450.00"), LIST, None)


def test_company_without_price_list_pays_list_price(product):
    price = unit_price_resolve(product=product, company=factories.CompanyFactory(), quantity=5)
    assert price.source == LIST and price.amount == Decimal("2450.00")


@pytest.mark.parametrize(
    "quantity, expected, tier",
    [(1, "2200.00", 1), (11, "2200.00", 1), (12, "2050.00", 12), (47, "2050.00", 12),
     (48, "1900.00", 48), (500, "1900.00", 48)],
)
def test_contract_tiers_by_quantity(product, contract_company, quantity, expected, tier):
    price = unit_price_resolve(product=product, company=contract_company, quantity=quantity)
    assert price.source == CONTRACT
    assert price.amount == Decimal(expected)
    assert price.min_quantity == tier
    assert price.price_list == "b2b"


def test_tier_starting_above_quantity_falls_back_to_list_price(product):
    price_list = factories.PriceListFactory()
    factories.PriceListEntryFactory(price_list=price_list, product=product, min_quantity=10,
                                    unit_price=Decimal("2000.00"))
    company = factories.CompanyFactory(price_list=price_list)
    assert unit_price_resolve(product=product, company=company, quantity=9).source == LIST
    assert unit_price_resolve(product=product, company=company, quantity=10).amount == Decimal(
        "2000.00")


def test_inactive_price_list_is_ignored(product, contract_company):
    contract_company.price_list.is_active = False
    contract_company.price_list.save()
    assert unit_price_resolve(product=product, company=contract_company).source == LIST


def test_product_missing_from_price_list_pays_list_price(contract_company):
    other = factories.ProductFactory(list_price=Decimal("99.99"))
    price = unit_price_resolve(product=other, company=contract_company, quantity=50)
    assert (price.amount, price.source) == (Decimal("99.99"), LIST)


def test_many_products_resolve_in_one_query(django_assert_num_queries, contract_company,
                                            product):
    others = factories.ProductFactory.create_batch(9)
    items = [(product, 12)] + [(p, 3) for p in others]
    with django_assert_num_queries(1):
        prices = unit_prices_resolve(items=items, company=contract_company)
    assert prices[(product.pk, 12)].amount == Decimal("2050.00")
    assert all(prices[(p.pk, 3)].source == LIST for p in others)
