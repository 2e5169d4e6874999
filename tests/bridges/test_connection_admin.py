"""Bridges → Connections in the admin: create, inspect, reveal, rotate — guarded by
settings.manage."""


import pytest
from django.contrib.auth.models import Permission

from bridges.models import BridgeScope, InboundConnection
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = factories.StaffUserFactory()  # holds every app permission, settings_manage too
    assert user.has_perm("bridges.settings_manage")
    client.force_login(user)
    return client


@pytest.fixture
def channel():
    return factories.ChannelFactory(code="ECOMMERCE")


def test_create_connection_then_reveal_and_rotate(manager, channel):
    response = manager.post("/admin/bridges/inboundconnection/add/", {
        "name": "Headless shop", "is_enabled": "on", "channel": channel.pk,
        "scopes": [BridgeScope.CARTS_CREATE, BridgeScope.ORDERS_CREATE],
        "allowed_ips": "203.0.113.0/24\n2001:db8::/32", "replay_window_seconds": 60,
    }, follow=True)
    assert response.status_code == 200
    connection = InboundConnection.objects.get()
    assert connection.client_id.startswith("ofc_") and connection.secret.startswith("ofs_")
    assert connection.scopes == ["carts:create", "orders:create"]

    page = manager.get(f"/admin/bridges/inboundconnection/{connection.pk}/change/")
    html = page.content.decode()
    assert connection.client_id in html
    assert connection.secret not in html  # masked until revealed
    assert "Reveal" in html and "Rotate secret" in html

    revealed = manager.post(f"/admin/bridges/inboundconnection/{connection.pk}/reveal-secret/")
    assert connection.secret in revealed.content.decode()

    old = connection.secret
    manager.post(f"/admin/bridges/inboundconnection/{connection.pk}/rotate-secret/",
                 {"grace_hours": "2"})
    connection.refresh_from_db()
    assert connection.secret != old and connection.previous_secret == old
    assert "previous secret is accepted until" in manager.get(
        f"/admin/bridges/inboundconnection/{connection.pk}/change/").content.decode()


def test_bad_allow_list_is_a_form_error(manager, channel):
    response = manager.post("/admin/bridges/inboundconnection/add/", {
        "name": "x", "channel": channel.pk, "scopes": [], "allowed_ips": "10.0.0.300",
        "replay_window_seconds": 60})
    assert "is not an IP address or CIDR range" in response.content.decode()
    assert not InboundConnection.objects.exists()


def test_staff_without_settings_manage_cannot_see_or_reveal(client, channel):
    user = factories.StaffUserFactory()
    user.user_permissions.remove(Permission.objects.get(codename="settings_manage"))
    client.force_login(user)
    from bridges.access.services import connection_create

    connection = connection_create(name="x", channel=channel, scopes=[])
    assert client.get("/admin/bridges/inboundconnection/").status_code == 403
    response = client.post(f"/admin/bridges/inboundconnection/{connection.pk}/reveal-secret/")
    assert response.status_code == 403
    assert connection.secret not in response.content.decode()
