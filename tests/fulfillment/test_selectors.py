"""shipping_method_get (fixed SQL) finds what the ORM query it replaces finds."""

import pytest
from django.db.models import Q

from fulfillment.models import ShippingMethod
from fulfillment.selectors import shipping_method_get
from tests import factories

pytestmark = pytest.mark.django_db


def orm(code, channel):
    return (ShippingMethod.objects.filter(code=code, is_active=True)
            .filter(Q(channels=channel) | Q(channels__isnull=True)).distinct().first())


def test_shipping_method_get_matches_the_orm():
    shop, b2b, other = (factories.ChannelFactory(code=c)
                        for c in ("ECOMMERCE", "B2B_PORTAL", "MARKETPLACE"))
    everywhere = ShippingMethod.objects.create(code="std", name="Standard", currency="JMD")
    listed = ShippingMethod.objects.create(code="b2b", name="Freight", currency="JMD")
    listed.channels.set([b2b, other])
    ShippingMethod.objects.create(code="old", name="Old", currency="JMD", is_active=False)
    for code in ("std", "b2b", "old", "nope"):
        for channel in (shop, b2b, other):
            found = shipping_method_get(code=code, channel=channel)
            expected = orm(code, channel)
            assert (found and found.pk) == (expected and expected.pk), (code, channel.code)
    assert shipping_method_get(code="std", channel=shop).pk == everywhere.pk
    assert shipping_method_get(code="b2b", channel=shop) is None
    assert shipping_method_get(code="b2b", channel=b2b).name == "Freight"


def test_shipping_method_list_matches_the_orm_with_rates_highest_first(
        django_assert_num_queries):
    from decimal import Decimal

    from fulfillment.models import ShippingRate
    from fulfillment.selectors import RATES_PREFETCH, shipping_method_list

    shop, b2b = factories.ChannelFactory(code="ECOMMERCE"), factories.ChannelFactory(code="B2B")
    ShippingMethod.objects.create(code="a-late", name="Late", currency="JMD",
                                         sort_order=9)
    early = ShippingMethod.objects.create(code="z-early", name="Early", currency="JMD",
                                          sort_order=1)
    only_b2b = ShippingMethod.objects.create(code="b2b", name="Freight", currency="JMD")
    only_b2b.channels.set([b2b])
    ShippingMethod.objects.create(code="local", name="Local", currency="JMD",
                                  countries="US")
    for threshold in (0, 5000, 1000):
        ShippingRate.objects.create(method=early, threshold=threshold, price=Decimal("1"))
    for channel in (shop, b2b):
        with django_assert_num_queries(2):
            found = shipping_method_list(channel=channel, country="JM")
            rates = {m.code: [r.threshold for r in m.rates.all()] for m in found}
        orm = [m for m in ShippingMethod.objects.filter(is_active=True)
               .filter(Q(channels=channel) | Q(channels__isnull=True)).distinct()
               .prefetch_related(RATES_PREFETCH) if m.ships_to("JM")]
        assert [m.code for m in found] == [m.code for m in orm]
        assert rates == {m.code: [r.threshold for r in m.rates.all()] for m in orm}
    assert [m.code for m in shipping_method_list(channel=shop, country="JM")] == [
        "z-early", "a-late"]
    assert rates["z-early"] == [5000, 1000, 0] and rates["b2b"] == []
