"""The connection page says what the connection is and when it was last used; the list
shows last used from one subquery (no query per row)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridges.access.services import connection_create
from bridges.models import BridgeScope, TransactionLog
from tests import factories

pytestmark = pytest.mark.django_db


def log(connection, status: int, code: str = ""):
    return TransactionLog.objects.create(
        direction="in", kind="bridge", correlation_id=f"req-{status}", connection=connection,
        method="POST", endpoint="orders.create", status_code=status, code=code)


def test_the_page_and_the_list_say_when_it_was_last_used(admin_client_logged):
    channel = factories.ChannelFactory()
    used = connection_create(name="ERP", channel=channel, scopes=[BridgeScope.ORDERS_READ])
    idle = connection_create(name="Idle till", channel=channel, scopes=[], is_enabled=False)
    log(used, 201)
    entry = log(used, 409, "idempotency_conflict")

    html = admin_client_logged.get(f"/admin/bridges/inboundconnection/{used.pk}/change/"
                                   ).content.decode()
    assert "orders:read — read orders" in html
    assert "orders.create → 409" in html and "idempotency_conflict" in html
    assert f"/admin/bridges/transactionlog/{entry.pk}/change/" in html
    assert used.secret not in html

    html = admin_client_logged.get(f"/admin/bridges/inboundconnection/{idle.pk}/change/"
                                   ).content.decode()
    assert "Disabled" in html and "refuses every request" in html
    assert "never" in html and "every action is refused" in html

    with CaptureQueriesContext(connection) as two:
        admin_client_logged.get("/admin/bridges/inboundconnection/")
    for _ in range(5):
        connection_create(name="More", channel=channel, scopes=[])
    with CaptureQueriesContext(connection) as seven:
        listing = admin_client_logged.get("/admin/bridges/inboundconnection/")
    assert listing.status_code == 200 and "Idle till" in listing.content.decode()
    assert len(seven) == len(two)  # last used comes from one subquery, not one per row
