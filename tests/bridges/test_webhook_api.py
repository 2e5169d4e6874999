"""/api/v1/webhook-endpoints and /api/v1/webhook-deliveries: staff with webhooks.manage only,
public ids in URLs, the secret shown once, problem+json with the services' codes, no 500 for
any input."""

from __future__ import annotations

import base64
import itertools
from contextlib import contextmanager

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient

from bridges.constants import DeliveryStatus
from bridges.models import IdempotencyKey, TransactionLog, WebhookDelivery, WebhookEndpoint
from bridges.webhooks import services as webhooks
from orderflow.models import OutboxEvent
from orderflow.outbox import emit
from orderflow.wsgi import application
from tests import factories
from tests.storefront import build_storefront

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints"
DELIVERIES = "/api/v1/webhook-deliveries"
PUBLIC_URL = "https://93.184.215.14/hook"
PASSWORD = "correct-horse-battery"
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff_without(*codenames):
    user = factories.StaffUserFactory()  # every app permission, webhooks_manage included
    user.user_permissions.remove(*Permission.objects.filter(codename__in=codenames))
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def basic(username, password=PASSWORD) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def api():
    return client_for(factories.StaffUserFactory())


@pytest.fixture
def channel():
    return factories.ChannelFactory(code="ECOMMERCE")


@pytest.fixture
def endpoint():
    return webhooks.webhook_endpoint_create(url=PUBLIC_URL, event_types=["order.*"],
                                            description="ERP")


def order_events(*numbers, channel=None):
    """Order events fanned out to the subscribed endpoints (not sent)."""
    for number in numbers:
        with transaction.atomic():
            emit("order.created", {"number": number}, channel=channel)
    webhooks.outbox_dispatch()


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


# --- who may call it ---------------------------------------------------------------------------

def test_anonymous_is_401(client, endpoint):
    assert_problem(client.get(ENDPOINTS), 401, "not_authenticated")
    assert_problem(client.post(ENDPOINTS, {"url": PUBLIC_URL, "event_types": ["*"]},
                               content_type="application/json"), 401, "not_authenticated")
    assert_problem(client.post(f"{ENDPOINTS}/{endpoint.public_id}/rotate-secret"), 401,
                   "not_authenticated")


def test_staff_without_webhooks_manage_is_403(endpoint):
    api = client_for(staff_without("webhooks_manage"))
    body = assert_problem(api.get(ENDPOINTS), 403, "permission_denied")
    assert "webhooks.manage" in body["detail"]
    assert_problem(api.get(f"{ENDPOINTS}/{endpoint.public_id}"), 403, "permission_denied")
    assert_problem(api.post(f"{ENDPOINTS}/{endpoint.public_id}/rotate-secret"), 403,
                   "permission_denied")
    assert_problem(api.post(ENDPOINTS, {"url": PUBLIC_URL, "event_types": ["*"]},
                            format="json"), 403, "permission_denied")
    assert WebhookEndpoint.objects.count() == 1


def test_a_non_staff_user_holding_the_permission_is_403():
    user = factories.UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="webhooks_manage"))
    assert_problem(client_for(user).get(ENDPOINTS), 403, "permission_denied")


def test_storefront_keys_and_shopper_tokens_cannot_use_it(endpoint):
    shop = build_storefront()
    token = shop.token_for(factories.CustomerFactory())
    for client in (shop.client(shop.secret), shop.client(shop.publishable),
                   shop.client(shop.secret, token)):
        assert_problem(client.get(ENDPOINTS), 403, "permission_denied")
        assert_problem(client.post(f"{ENDPOINTS}/{endpoint.public_id}/test"), 403,
                       "permission_denied")
    assert not WebhookDelivery.objects.exists()


@override_settings(PASSWORD_HASHERS=FAST_HASHER)
def test_staff_with_the_permission_over_basic_auth_and_superusers(endpoint):
    staff = factories.StaffUserFactory()
    superuser = factories.UserFactory(is_staff=True, is_superuser=True)
    for user in (staff, superuser):
        response = APIClient().get(ENDPOINTS, **basic(user.username))
        assert response.status_code == 200, response.content
        assert [e["id"] for e in response.json()["results"]] == [endpoint.public_id]
    assert_problem(APIClient().get(ENDPOINTS, **basic(staff.username, "wrong")), 401,
                   "authentication_failed")


# --- endpoints ---------------------------------------------------------------------------------

def test_create_returns_the_secret_once(api, channel):
    response = api.post(ENDPOINTS, {
        "url": PUBLIC_URL, "description": "ERP", "event_types": ["order.*", "invoice.paid"],
        "channels": ["ECOMMERCE"], "timeout_seconds": 5, "max_attempts": 3,
        "ordering": "strict", "ack_rule": "json_equals", "ack_field": "result.status",
        "ack_value": "ok", "custom_headers": {"X-Tenant": "shop-1"},
        "secret": "whsec_mine", "last_sequence": 99, "disabled_reason": "sneaky",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["id"] == endpoint.public_id and body["id"].startswith("whe_")
    assert body["secret"] == endpoint.secret and endpoint.secret.startswith("whsec_")
    assert endpoint.secret != "whsec_mine"  # read-only fields are ignored
    assert endpoint.last_sequence == 0 and endpoint.disabled_reason == ""
    assert body["channels"] == ["ECOMMERCE"] and body["ordering"] == "strict"
    assert body["event_types"] == ["order.*", "invoice.paid"]
    assert body["custom_headers"] == {"X-Tenant": "shop-1"}
    assert body["pending_deliveries"] == 0 and body["is_active"] is True
    assert endpoint.created_by is not None

    # never again: not in the detail, not in the list
    detail = api.get(f"{ENDPOINTS}/{endpoint.public_id}")
    listing = api.get(ENDPOINTS)
    for later in (detail, listing):
        assert later.status_code == 200
        assert endpoint.secret not in later.content.decode()
    assert "secret" not in detail.json()
    # the transaction log keeps the answer with the secret redacted
    logged = TransactionLog.objects.get(method="POST", endpoint=ENDPOINTS)
    assert logged.status_code == 201 and endpoint.secret not in logged.response_body


def test_create_with_an_idempotency_key_does_not_store_or_replay_the_secret(api):
    payload = {"url": PUBLIC_URL, "event_types": ["*"]}
    first = api.post(ENDPOINTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    second = api.post(ENDPOINTS, payload, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert WebhookEndpoint.objects.count() == 1
    secret = WebhookEndpoint.objects.get().secret
    assert first.json()["secret"] == secret and second.json()["secret"] is None
    assert secret not in str(IdempotencyKey.objects.get().response_body)


@pytest.mark.parametrize(("payload", "field", "message"), [
    ({"url": "not a url"}, "url", "valid URL"),
    ({"url": "https://93.184.215.14:99999/x"}, "url", "valid URL"),
    ({"url": "http://93.184.215.14/x"}, "url", "must use https"),
    ({"url": "https://10.0.0.5/x"}, "url", "private, loopback or link-local"),
    ({"url": "https://[::1]/x"}, "url", "private, loopback or link-local"),
    ({"url": "https://169.254.169.254/latest"}, "url", "private, loopback or link-local"),
    ({"url": "https://" + "a" * 70 + ".example/x"}, "url", "valid URL"),
    ({"event_types": []}, "event_types", ""),
    ({"event_types": ["order created"]}, "event_types", "Not an event type"),
    ({"timeout_seconds": 10**30}, "timeout_seconds", ""),
    ({"max_attempts": 0}, "max_attempts", ""),
    ({"ordering": "random"}, "ordering", ""),
    ({"ack_rule": "regex", "ack_value": "(["}, "ack_value", "Not a regular expression"),
    ({"ack_rule": "json_equals"}, "ack_field", "Name the JSON field"),
    ({"custom_headers": {"Webhook-Id": "x"}}, "custom_headers", "cannot be set"),
    ({"custom_headers": {"X-A": "a\r\nX-B: b"}}, "custom_headers", "one line"),
    ({"custom_headers": ["x"]}, "custom_headers", ""),
    ({"channels": ["NOPE"]}, "channels", "No such channel: NOPE"),
])
def test_invalid_endpoints_are_problem_json_with_field_errors(api, payload, field, message):
    body = assert_problem(api.post(ENDPOINTS, {"url": PUBLIC_URL, "event_types": ["*"],
                                               **payload}, format="json"),
                          400, "invalid_webhook_endpoint")
    assert field in body["errors"], body
    assert message in str(body["errors"][field])
    assert not WebhookEndpoint.objects.exists()


def test_a_nul_in_a_path_id_or_string_is_refused_by_the_input_gate(api, endpoint):
    for path in (f"{ENDPOINTS}/%00", f"{ENDPOINTS}/{endpoint.public_id}%00"):
        assert_problem(api.get(path), 400, "malformed_request")
    assert_problem(api.post(ENDPOINTS, {"url": PUBLIC_URL, "event_types": ["*"],
                                        "description": "nul\x00byte"}, format="json"),
                   400, "malformed_request")


def test_a_body_that_is_not_an_object_is_a_400(api):
    assert_problem(api.post(ENDPOINTS, [1, 2], format="json"), 400, "invalid_webhook_endpoint")
    response = api.post(ENDPOINTS, "{nope", content_type="application/json")
    assert_problem(response, 400, "malformed_request")


@override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"])
def test_allow_listed_local_receivers_may_use_http(api):
    response = api.post(ENDPOINTS, {"url": "http://127.0.0.1:8099/hook", "event_types": ["*"]},
                        format="json")
    assert response.status_code == 201, response.content


def test_patch_changes_only_what_is_sent(api, endpoint, channel):
    response = api.patch(f"{ENDPOINTS}/{endpoint.public_id}", {
        "description": "ERP v2", "channels": ["ECOMMERCE"], "max_attempts": 4,
        "secret": "whsec_mine",
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["description"] == "ERP v2" and body["max_attempts"] == 4
    assert body["channels"] == ["ECOMMERCE"] and body["event_types"] == ["order.*"]
    assert "secret" not in body
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL and endpoint.secret != "whsec_mine"

    # the combined values are checked: a rule needing a field the endpoint does not have
    body = assert_problem(api.patch(f"{ENDPOINTS}/{endpoint.public_id}",
                                    {"ack_rule": "contains"}, format="json"),
                          400, "invalid_webhook_endpoint")
    assert "ack_value" in body["errors"]
    assert_problem(api.patch(f"{ENDPOINTS}/{endpoint.public_id}", {"url": "https://10.1.2.3/"},
                             format="json"), 400, "invalid_webhook_endpoint")


def test_patch_switches_a_disabled_endpoint_back_on(api, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="The receiver answered 410 Gone.",
        failing_since="2024-01-01T00:00:00Z", disabled_at="2024-01-02T00:00:00Z")
    body = api.get(f"{ENDPOINTS}/{endpoint.public_id}").json()
    assert body["is_active"] is False and "410" in body["disabled_reason"]
    assert body["disabled_at"].startswith("2024-01-02T00:00:00")
    body = api.patch(f"{ENDPOINTS}/{endpoint.public_id}", {"is_active": True},
                     format="json").json()
    assert body["is_active"] is True
    assert body["disabled_reason"] == "" and body["failing_since"] is None
    assert body["disabled_at"] is None
    (event,) = OutboxEvent.objects.filter(type="webhook_endpoint.enabled")
    assert event.aggregate_id == endpoint.public_id


def test_delete_switches_the_endpoint_off_and_keeps_its_log(api, endpoint):
    order_events("OF-000777")
    response = api.delete(f"{ENDPOINTS}/{endpoint.public_id}")
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False and response.json()["disabled_at"]
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    (event,) = OutboxEvent.objects.filter(type="webhook_endpoint.disabled")
    assert event.payload["automatic"] is False and event.payload["changed_by"]
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    assert api.get(f"{ENDPOINTS}/{endpoint.public_id}").json()["pending_deliveries"] == 1
    assert api.delete(f"{ENDPOINTS}/{endpoint.public_id}").status_code == 200  # idempotent
    listing = api.get(ENDPOINTS, {"is_active": "false"}).json()["results"]
    assert [e["id"] for e in listing] == [endpoint.public_id]
    assert api.get(ENDPOINTS, {"is_active": "true"}).json()["results"] == []
    assert_problem(api.get(ENDPOINTS, {"is_active": "maybe"}), 400, "validation_error")


def test_rotate_secret_returns_the_new_secret_once(api, endpoint):
    old = endpoint.secret
    response = api.post(f"{ENDPOINTS}/{endpoint.public_id}/rotate-secret", {"grace_hours": 2},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    endpoint.refresh_from_db()
    assert body["secret"] == endpoint.secret != old
    assert endpoint.previous_secret == old
    assert body["previous_secret_valid_until"] is not None
    assert endpoint.secret not in api.get(f"{ENDPOINTS}/{endpoint.public_id}").content.decode()
    assert not TransactionLog.objects.filter(response_body__contains=endpoint.secret).exists()

    # no body: the default grace period
    assert api.post(f"{ENDPOINTS}/{endpoint.public_id}/rotate-secret").status_code == 200
    assert_problem(api.post(f"{ENDPOINTS}/{endpoint.public_id}/rotate-secret",
                            {"grace_hours": 10**20}, format="json"), 400, "validation_error")


def test_unknown_or_malformed_ids_are_404(api, endpoint):
    other = "whe_" + "0" * 26
    for path in (f"{ENDPOINTS}/{other}", f"{ENDPOINTS}/{other}/deliveries",
                 f"{ENDPOINTS}/whd_{'0' * 26}", f"{ENDPOINTS}/{endpoint.pk}",
                 f"{DELIVERIES}/{'whd_' + '0' * 26}"):
        assert_problem(api.get(path), 404, "webhook_endpoint_not_found"
                       if path.startswith(ENDPOINTS) else "webhook_delivery_not_found")
    for path in (f"{ENDPOINTS}/{other}/rotate-secret", f"{ENDPOINTS}/{other}/test",
                 f"{DELIVERIES}/{'whd_' + '0' * 26}/replay"):
        assert api.post(path).status_code == 404
    assert api.patch(f"{ENDPOINTS}/{other}", {"description": "x"},
                     format="json").status_code == 404
    assert api.delete(f"{ENDPOINTS}/{other}").status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.is_active


# --- test events, deliveries and replay --------------------------------------------------------

def test_send_test_event_returns_the_delivery(api, endpoint):
    response = api.post(f"{ENDPOINTS}/{endpoint.public_id}/test")
    assert response.status_code == 201, response.content
    body = response.json()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert body["id"] == delivery.public_id and body["id"].startswith("whd_")
    assert body["endpoint_id"] == endpoint.public_id
    assert body["event_type"] == "webhook.test" and body["status"] == "pending"
    assert body["payload"]["type"] == "webhook.test"
    assert body["payload"]["id"] == body["event_id"]
    assert body["payload"]["data"]["endpoint_id"] == endpoint.public_id
    assert body["attempt_log"] == []

    detail = api.get(f"{DELIVERIES}/{delivery.public_id}")
    assert detail.status_code == 200 and detail.json()["sequence"] == body["sequence"]


def test_deliveries_list_filters(api, endpoint):
    order_events("OF-000101", "OF-000102", "OF-000103")
    WebhookDelivery.objects.filter(reference="OF-000102").update(status=DeliveryStatus.DEAD)
    url = f"{ENDPOINTS}/{endpoint.public_id}/deliveries"
    everything = api.get(url).json()["results"]
    assert [d["reference"] for d in everything] == ["OF-000103", "OF-000102", "OF-000101"]
    assert [d["sequence"] for d in everything] == [3, 2, 1]
    assert [d["reference"] for d in api.get(url, {"status": "dead"}).json()["results"]] == \
        ["OF-000102"]
    assert [d["reference"] for d in api.get(url, {"reference": "OF-000101"})
            .json()["results"]] == ["OF-000101"]
    event_id = everything[0]["event_id"]
    assert [d["event_id"] for d in api.get(url, {"event_id": event_id}).json()["results"]] \
        == [event_id]
    assert api.get(url, {"event_type": "order.canceled"}).json()["results"] == []
    page = api.get(url, {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(page["next"]).json()["results"]
    assert [d["reference"] for d in rest] == ["OF-000101"]
    assert_problem(api.get(url, {"status": "lost"}), 400, "validation_error")
    assert_problem(api.get(url, {"cursor": "garbage"}), 400, "validation_error")

    # another endpoint's deliveries are not listed under this one
    other = webhooks.webhook_endpoint_create(url=PUBLIC_URL + "2", event_types=["invoice.*"])
    assert api.get(f"{ENDPOINTS}/{other.public_id}/deliveries").json()["results"] == []


def test_replay_a_dead_delivery(api, endpoint):
    order_events("OF-000555")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DEAD,
                                                         series_attempts=8)
    response = api.post(f"{DELIVERIES}/{delivery.public_id}/replay")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending" and body["series_attempts"] == 0
    assert body["reference"] == "OF-000555"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING

    assert_problem(api.post(f"{DELIVERIES}/{delivery.public_id}/replay"), 409,
                   "delivery_in_progress")


def test_event_type_catalogue(api):
    types = {t["type"] for t in api.get("/api/v1/webhook-event-types").json()}
    assert {"order.created", "payment.captured", "invoice.issued"} <= types
    assert "webhook.test" not in types


# --- query counts ------------------------------------------------------------------------------

def count_queries(api, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


def test_list_queries_do_not_grow_with_the_number_of_endpoints(api, channel,
                                                               django_assert_num_queries):
    def add(n):
        for i in range(n):
            endpoint = webhooks.webhook_endpoint_create(
                url=f"{PUBLIC_URL}/{i}-{WebhookEndpoint.objects.count()}",
                event_types=["order.*"], channels=[channel])
            assert endpoint.pk

    add(2)
    order_events("OF-1", "OF-2", channel=channel)
    api.get(ENDPOINTS)  # warm the permission cache
    two = count_queries(api, ENDPOINTS)
    add(18)
    order_events("OF-3", channel=channel)
    with django_assert_num_queries(two):
        response = api.get(ENDPOINTS)
    results = response.json()["results"]
    assert len(results) == 20
    assert all(e["channels"] == ["ECOMMERCE"] for e in results)
    assert sum(e["pending_deliveries"] for e in results) == 2 * 3 + 18 * 1


def test_delivery_list_queries_do_not_grow(api, endpoint, django_assert_num_queries):
    url = f"{ENDPOINTS}/{endpoint.public_id}/deliveries"
    order_events("OF-1", "OF-2")
    api.get(url)
    two = count_queries(api, url)
    order_events(*[f"OF-{n}" for n in range(3, 21)])
    with django_assert_num_queries(two):
        assert len(api.get(url).json()["results"]) == 20


# --- schema and fuzzing ------------------------------------------------------------------------

def test_every_operation_is_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    expected = {
        "/api/v1/webhook-endpoints": {"get", "post"},
        "/api/v1/webhook-endpoints/{endpoint_id}": {"get", "patch", "delete"},
        "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret": {"post"},
        "/api/v1/webhook-endpoints/{endpoint_id}/test": {"post"},
        "/api/v1/webhook-endpoints/{endpoint_id}/deliveries": {"get"},
        "/api/v1/webhook-deliveries/{delivery_id}": {"get"},
        "/api/v1/webhook-deliveries/{delivery_id}/replay": {"post"},
        "/api/v1/webhook-event-types": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert operation["summary"], (path, method)
            assert "application/problem+json" in operation["responses"]["403"]["content"]
    created = paths["/api/v1/webhook-endpoints"]["post"]["responses"]["201"]["content"]
    ref = created["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "secret" in schema["components"]["schemas"][ref]["properties"]
    listed = schema["components"]["schemas"]["WebhookEndpoint"]
    assert "secret" not in listed["properties"]


@contextmanager
def keep_test_connection():
    """schemathesis calls the WSGI app directly; keep the test transaction's connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@override_settings(PASSWORD_HASHERS=FAST_HASHER)
@pytest.mark.usefixtures("unthrottled")
def test_fuzzing_as_a_webhooks_manager_never_breaks_the_schema(channel):
    """Generated requests, authenticated as staff who may manage webhooks, against real ids
    (half of the time) as well as random ones: never a 500, always what the schema says."""
    user = factories.StaffUserFactory()
    endpoint = webhooks.webhook_endpoint_create(url=PUBLIC_URL, event_types=["order.*"])
    order_events("OF-000900")
    WebhookDelivery.objects.update(status=DeliveryStatus.DEAD)
    real = {"endpoint_id": endpoint.public_id,
            "delivery_id": WebhookDelivery.objects.get().public_id}
    headers = basic(user.username)
    headers = {"Authorization": headers["HTTP_AUTHORIZATION"]}

    tested, calls = [], itertools.count()
    with keep_test_connection():
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
        schema = schema.include(tag="webhooks")
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(max_examples=15, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case):
                if case.path_parameters and next(calls) % 2 == 0:
                    case.path_parameters = {name: real.get(name, value)
                                            for name, value in case.path_parameters.items()}
                case.call_and_validate(
                    headers=headers,
                    excluded_checks=[schemathesis.checks.positive_data_acceptance])

            check()
            tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) == 11, tested
