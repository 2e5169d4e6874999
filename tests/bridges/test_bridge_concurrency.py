"""Two identical signed requests at the same moment: exactly one is accepted, whichever web
process or thread gets it (the guard is Redis in CI, the database otherwise)."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection, connections
from django.test import Client

from bridges.access.services import connection_create
from bridges.models import BridgeScope
from carts.models import Cart
from tests.storefront import build_storefront

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="concurrent requests need PostgreSQL (CI always runs on it)"),
]


@pytest.mark.parametrize("guard", ["configured", "database"])
def test_concurrent_replays_let_exactly_one_through(settings, guard):
    if guard == "database":
        settings.ORDERFLOW_REPLAY_GUARD_URL = None
    shop = build_storefront()
    conn = connection_create(name="race", channel=shop.channel, scopes=list(BridgeScope.values))
    from tests.bridges.conftest import Bridge

    bridge = Bridge(connection=conn, client=Client())
    path, headers = bridge.headers("cart.create", b"{}")
    barrier = Barrier(8)

    def send(_):
        try:
            barrier.wait()
            return Client().post(path, b"{}", content_type="application/json",
                                 **headers).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(send, range(8)))
    assert statuses == [200] + [401] * 7
    assert Cart.objects.count() == 1
