"""The inbound connection page in a real browser: what the connection is (status, channel,
scopes in words, network rules), when it was last used and its recent requests from the
transaction log; Reveal (the unfold detail action in the page's toolbar) shows the secret,
Rotate issues a new one and says how long the previous one works."""

import pytest

from bridges.access.services import connection_create
from bridges.models import BridgeScope, TransactionLog
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_read_a_connection_reveal_and_rotate_its_secret(visit, staff):
    connection = connection_create(
        name="Kingston till", channel=factories.ChannelFactory(),
        scopes=[BridgeScope.CARTS_CREATE, BridgeScope.ORDERS_CREATE],
        allowed_ips="203.0.113.0/24")
    for status, code in ((201, ""), (401, "invalid_signature")):
        TransactionLog.objects.create(
            direction="in", kind="bridge", correlation_id=f"req-{status}",
            connection=connection, method="POST", endpoint="carts.create",
            source_ip="203.0.113.7", status_code=status, code=code, latency_ms=12)
    visit.login("ops")
    visit.goto("/admin/bridges/inboundconnection/", "connection list")
    assert "Kingston till" in visit.text("#result_list")
    page = visit.click("#result_list a:text-is('Kingston till')", "connection page")
    assert "Enabled" in visit.text("#connection-status")
    assert "convert carts to orders" in visit.text("#connection-scopes")
    assert "203.0.113.0/24" in visit.text("#connection-rules")
    assert "carts.create → 401" in visit.text("#connection-last-used")
    requests = visit.text("#connection-requests")
    assert "invalid_signature" in requests and "201" in requests
    assert connection.secret not in page.content()

    page = visit.click("a:text-is('Reveal secret')", "reveal confirmation")  # the toolbar
    assert connection.secret not in page.content()
    visit.click("#confirm", "secret revealed")
    assert visit.text("#secret") == connection.secret
    visit.click("a:text-is('Back to the connection')", "back to the connection")

    page = visit.click("#rotate", "rotate confirmation")
    page.fill("input[name=grace_hours]", "2")
    visit.click("#confirm", "rotated")
    assert "New secret issued" in visit.text("body")
    assert "previous secret is accepted until" in visit.text("#inspector")
    old = connection.secret
    connection.refresh_from_db()
    assert connection.secret != old and connection.previous_secret == old

    visit.click("#connection-requests a:text-is('req-401')", "a request in the log")
    assert "invalid_signature" in visit.text("body")
