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
