"""Every abuse case is refused with its status and code, in the documented order, and logged."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client

from bridges.access.selectors import connection_cache_forget
from bridges.access.services import connection_rotate_secret, connection_update
from bridges.models import BridgeScope, TransactionLog
from carts.models import Cart
from orderflow.timeline import Actor

pytestmark = pytest.mark.django_db


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert TransactionLog.objects.filter(code=code, status_code=status).exists()


def test_a_header_sent_twice_is_400(bridge):
    path, headers = bridge.headers("cart.create", b"{}")
    headers["HTTP_X_SIGNATURE"] = headers["HTTP_X_SIGNATURE"] + ",sha256=00"
    response = bridge.client.post(path, b"{}", content_type="application/json", **headers)
    assert_problem(response, 400, "duplicate_header")


def test_unknown_client_and_mismatched_client_are_401(bridge):
    assert_problem(bridge.call("cart.create", {}, path_client_id="ofc_nobody",
                               client_id="ofc_nobody"), 401, "unknown_client")
    assert_problem(bridge.call("cart.create", {}, client_id="ofc_other"), 401, "unknown_client")


def test_disabled_connection_is_403(bridge):
    assert bridge.call("cart.create", {}).status_code == 200  # its row is now kept
    connection_update(connection=bridge.connection, is_enabled=False)
    assert_problem(bridge.call("cart.create", {}), 403, "connection_disabled")


def test_a_connection_disabled_by_another_process_is_refused_once_its_entry_expires(bridge):
    from django.test import override_settings

    from bridges.access.selectors import connection_cache_forget

    now = int(time.time())  # a distinct timestamp per call: the same signature is a replay
    assert bridge.call("cart.create", {}, timestamp=now - 1).status_code == 200
    # Another server process disables it: this one still holds the row for a few seconds...
    type(bridge.connection).objects.filter(pk=bridge.connection.pk).update(is_enabled=False)
    assert bridge.call("cart.create", {}, timestamp=now - 2).status_code == 200
    # ...and refuses it once the entry is gone (expired, or with caching switched off).
    connection_cache_forget()
    assert_problem(bridge.call("cart.create", {}, timestamp=now - 3), 403, "connection_disabled")
    with override_settings(ORDERFLOW_API_KEY_CACHE_SECONDS=0):
        type(bridge.connection).objects.filter(pk=bridge.connection.pk).update(
            is_enabled=True)
        assert bridge.call("cart.create", {}, timestamp=now - 4).status_code == 200
        type(bridge.connection).objects.filter(pk=bridge.connection.pk).update(
            is_enabled=False)
        assert_problem(bridge.call("cart.create", {}, timestamp=now - 5), 403,
                       "connection_disabled")


@pytest.mark.parametrize("allow, address, allowed", [
    ("203.0.113.0/24", "203.0.113.7", True),
    ("203.0.113.0/24", "198.51.100.1", False),
    ("198.51.100.1, 203.0.113.7", "203.0.113.7", True),
    ("2001:db8::/32", "2001:db8::1", True),
    ("2001:db8::/32", "2001:db9::1", False),
    ("203.0.113.0/24", "::ffff:203.0.113.9", True),  # IPv4-mapped IPv6 matches IPv4 ranges
    ("", "192.0.2.55", True),  # empty list: any address
])
def test_ip_allow_list(bridge, allow, address, allowed):
    connection_update(connection=bridge.connection, allowed_ips=allow)
    bridge.client = Client(REMOTE_ADDR=address)
    response = bridge.call("cart.create", {})
    if allowed:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, 403, "ip_not_allowed")


def test_forwarded_for_is_trusted_only_through_configured_hops(bridge, settings):
    connection_update(connection=bridge.connection, allowed_ips="203.0.113.0/24")
    bridge.client = Client(REMOTE_ADDR="10.0.0.2")  # the proxy
    spoofed = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    # No trusted proxies: the header is ignored, REMOTE_ADDR (the proxy) is refused.
    assert_problem(bridge.call("cart.create", {}, **spoofed), 403, "ip_not_allowed")
    settings.ORDERFLOW_TRUSTED_PROXY_HOPS = 1
    assert bridge.call("cart.create", {}, timestamp=int(time.time()) - 1,
                       **spoofed).status_code == 200
    # A client-supplied entry left of the proxy's is not trusted.
    assert_problem(bridge.call("cart.create", {}, timestamp=int(time.time()) - 2,
                               HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.9"),
                   403, "ip_not_allowed")


def test_body_over_one_mib_is_413(bridge):
    big = json.dumps({"metadata": {"blob": "x" * (1024 * 1024)}}).encode()
    assert_problem(bridge.call("cart.create", raw=big), 413, "payload_too_large")


@pytest.mark.parametrize("timestamp, code", [("", "invalid_timestamp"),
                                             ("yesterday", "invalid_timestamp"),
                                             ("-5", "invalid_timestamp")])
def test_missing_or_malformed_timestamp_is_401(bridge, timestamp, code):
    path, headers = bridge.headers("cart.create", b"{}")
    headers["HTTP_X_TIMESTAMP"] = timestamp
    response = bridge.client.post(path, b"{}", content_type="application/json", **headers)
    assert_problem(response, 401, code)


@pytest.mark.parametrize("skew, accepted", [(-61, False), (-60, True), (60, True), (61, False)])
def test_clock_skew_at_the_window_edges(bridge, monkeypatch, skew, accepted):
    now = 1_800_000_000
    monkeypatch.setattr("bridges.hmac.views.time.time", lambda: now)
    response = bridge.call("cart.create", {}, timestamp=now + skew)
    if accepted:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, 401, "timestamp_out_of_window")


def test_wrong_signature_is_401(bridge):
    assert_problem(bridge.call("cart.create", {}, secret="ofs_not_the_secret"), 401,
                   "invalid_signature")


def test_signature_for_one_action_sent_to_another_is_401(bridge):
    body = b"{}"
    _, headers = bridge.headers("cart.create", body)
    response = bridge.client.post(f"/bridge/{bridge.client_id}/shipping.estimate", body,
                                  content_type="application/json", **headers)
    assert_problem(response, 401, "invalid_signature")


def test_tampered_body_is_401(bridge):
    path, headers = bridge.headers("cart.create", b'{"email": "a@example.com"}')
    response = bridge.client.post(path, b'{"email": "b@example.com"}',
                                  content_type="application/json", **headers)
    assert_problem(response, 401, "invalid_signature")


def test_replay_is_401(bridge):
    path, headers = bridge.headers("cart.create", b"{}")
    first = bridge.client.post(path, b"{}", content_type="application/json", **headers)
    assert first.status_code == 200
    again = bridge.client.post(path, b"{}", content_type="application/json", **headers)
    assert_problem(again, 401, "replayed")
    assert Cart.objects.count() == 1


def test_database_replay_guard_when_redis_is_not_configured(bridge, settings):
    settings.ORDERFLOW_REPLAY_GUARD_URL = None
    path, headers = bridge.headers("cart.create", b"{}")
    assert bridge.client.post(path, b"{}", content_type="application/json",
                              **headers).status_code == 200
    again = bridge.client.post(path, b"{}", content_type="application/json", **headers)
    assert_problem(again, 401, "replayed")


def test_unreachable_replay_guard_refuses_with_503(bridge, settings):
    settings.ORDERFLOW_REPLAY_GUARD_URL = "redis://127.0.0.1:1/0"
    assert_problem(bridge.call("cart.create", {}), 503, "replay_guard_unavailable")
    assert not Cart.objects.exists()


@pytest.mark.parametrize("action, scope", [
    ("cart.create", BridgeScope.CARTS_CREATE), ("items.add", BridgeScope.CARTS_CREATE),
    ("cart.price", BridgeScope.CARTS_CREATE), ("shipping.select", BridgeScope.CARTS_CREATE),
    ("cart.get", BridgeScope.CARTS_READ), ("shipping.estimate", BridgeScope.CARTS_READ),
    ("convertToOrder", BridgeScope.ORDERS_CREATE), ("order.get", BridgeScope.ORDERS_READ),
])
def test_scope_matrix(bridge, action, scope):
    others = [s for s in BridgeScope.values if s != scope]
    connection_update(connection=bridge.connection, scopes=others)
    assert_problem(bridge.call(action, {}), 403, "scope_missing")
    connection_update(connection=bridge.connection, scopes=[scope])
    response = bridge.call(action, {}, timestamp=int(time.time()) - 1)
    assert response.status_code != 403, response.content  # 200 or a 400 for the empty body


def test_unknown_action_is_404(bridge):
    assert_problem(bridge.call("cart.explode", {}), 404, "unknown_action")


def test_not_json_and_invalid_bodies_are_400(bridge):
    assert_problem(bridge.call("cart.create", raw=b"not json"), 400, "malformed_request")
    response = bridge.call("items.add", {"cart_id": "cart_x", "sku": "MUG", "quantity": -1})
    assert_problem(response, 400, "validation_error")
    assert "quantity" in response.json()["errors"]


def test_rotation_keeps_the_old_secret_for_the_grace_period(bridge):
    old = bridge.connection.secret
    rotated = connection_rotate_secret(connection=bridge.connection,
                                       grace=timedelta(hours=1), actor=Actor.system())
    assert rotated.secret != old
    assert bridge.call("cart.create", {}, secret=old).status_code == 200
    assert bridge.call("cart.create", {}, secret=rotated.secret,
                       timestamp=int(time.time()) - 1).status_code == 200
    # The grace period ends (moved back in the row, as another process would see it):
    type(rotated).objects.filter(pk=rotated.pk).update(
        previous_secret_expires_at=rotated.previous_secret_expires_at - timedelta(hours=2))
    connection_cache_forget()  # this process read the row before: as once its entry expires
    assert_problem(bridge.call("cart.create", {}, secret=old, timestamp=int(time.time()) - 2),
                   401, "invalid_signature")


def test_log_never_holds_a_secret_or_signature(bridge):
    bridge.ok("cart.create", {"metadata": {"api_key": "of_live_sec_zzz", "note": "hi"}})
    bridge.call("cart.create", {}, secret="ofs_wrong")
    for entry in TransactionLog.objects.all():
        stored = json.dumps([entry.request_headers, entry.request_body, entry.response_body])
        assert bridge.connection.secret not in stored
        assert "sha256=" not in stored
        assert "of_live_sec_zzz" not in stored
        assert entry.request_headers["X-Signature"] == "[redacted]"
        assert entry.correlation_id
