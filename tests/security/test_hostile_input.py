"""No 5xx from hostile input (issue 25): each refusal is problem+json with a stable code,
and a refused request is still in the transaction log."""

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from bridges.access.services import connection_create
from bridges.models import BridgeScope, TransactionLog
from carts.models import Cart
from orderflow.views import csrf_failure
from tests.bridges.conftest import Bridge

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert json.loads(response.content)["code"] == code


@pytest.fixture
def api(shop):
    return shop.client(shop.secret)


@pytest.fixture
def bridge(shop):
    connection = connection_create(name="Headless shop", channel=shop.channel,
                                   scopes=list(BridgeScope.values))
    return Bridge(connection=connection, client=Client(REMOTE_ADDR="203.0.113.7"))


def post_raw(client, path, body: bytes, **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def nested(depth: int) -> bytes:
    return ('{"metadata": ' + '{"a": ' * (depth - 1) + "1" + "}" * depth).encode()


@pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b"[" * 100_000 + b"]" * 100_000,
                                  nested(33)])
def test_deep_json_is_400_on_rest_and_bridge(api, bridge, body):
    assert_problem(post_raw(api, "/api/v1/carts", body), 400, "malformed_request")
    assert_problem(bridge.call("cart.create", raw=body), 400, "malformed_request")
    assert not Cart.objects.exists()


def test_json_at_the_depth_limit_is_read(api):
    response = post_raw(api, "/api/v1/carts", nested(31))
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb", "\\u0000", "x\\u0000y"])
def test_a_lone_surrogate_or_nul_in_a_string_or_key_is_400_and_logged(api, bridge, text):
    for body in [f'{{"metadata": {{"n": "{text}"}}}}', f'{{"metadata": {{"{text}": 1}}}}']:
        assert_problem(post_raw(api, "/api/v1/carts", body.encode()), 400, "malformed_request")
        assert_problem(bridge.call("cart.create", raw=body.encode()), 400, "malformed_request")
    assert not Cart.objects.exists()
    # Refused requests are in the transaction log (PostgreSQL stores neither character).
    assert TransactionLog.objects.filter(code="malformed_request").count() == 4


@pytest.mark.parametrize("path", ["/api/v1/carts/cart_%00x/lines",
                                  "/api/v1/carts/%ED%A0%80/price"])
def test_a_nul_or_broken_utf8_in_a_path_id_is_never_5xx(api, path):
    response = api.post(path, {"sku": "MUG", "quantity": 1}, format="json")
    assert response.status_code in (400, 404), response.content
    assert response["Content-Type"] == PROBLEM


def test_an_email_over_254_characters_is_a_validation_error(api, bridge):
    email = "a" * 250 + "@example.com"
    assert_problem(api.post("/api/v1/carts", {"email": email}, format="json"),
                   400, "validation_error")
    assert not Cart.objects.exists()


@pytest.mark.parametrize("timestamp", ["²", "１７００００００００", "١٧٠٠٠٠٠٠٠٠"])
def test_a_timestamp_of_unicode_digits_is_401(bridge, timestamp):
    path, headers = bridge.headers("cart.create", b"{}")
    headers["HTTP_X_TIMESTAMP"] = timestamp
    response = bridge.client.post(path, b"{}", content_type="application/json", **headers)
    assert_problem(response, 401, "invalid_timestamp")


def test_post_to_an_unknown_api_route_with_basic_auth_is_404_problem_json():
    get_user_model().objects.create_user("staff", password="pw-staff-1", is_staff=True)
    basic = base64.b64encode(b"staff:pw-staff-1").decode()
    client = Client(enforce_csrf_checks=True)
    for path in ["/api/v1/nothing-here", "/api/nothing", "/bridge/"]:
        response = client.post(path, b"{}", content_type="application/json",
                                HTTP_AUTHORIZATION=f"Basic {basic}")
        assert_problem(response, 404, "not_found")


def test_a_csrf_failure_under_the_api_is_problem_json():
    request = RequestFactory().post("/api/v1/carts")
    assert_problem(csrf_failure(request, reason="no token"), 403, "csrf_failed")
    page = csrf_failure(RequestFactory().post("/admin/login/"), reason="no token")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_a_bad_host_under_the_api_is_400_problem_json(api):
    response = api.get("/api/v1/products", HTTP_HOST="evil.example")
    assert_problem(response, 400, "malformed_request")


def test_a_20_mb_body_is_413_problem_json(api):
    body = json.dumps({"metadata": {"f": "x" * (20 * 1024 * 1024)}}).encode()
    assert_problem(post_raw(api, "/api/v1/carts", body), 413, "payload_too_large")
