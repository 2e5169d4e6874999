"""The input gate (orderflow/inputgate.py): every bypass of the card-data rule found in
issue 25, each refused before anything is stored, logged or echoed."""

import json
import logging
import re
import unicodedata
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client
from gunicorn.config import Config as GunicornConfig

from bridges.access.services import connection_create
from bridges.models import BridgeScope, IdempotencyKey, TransactionLog
from carts.models import Cart
from orderflow.accesslog import AccessLogger
from orderflow.carddata import looks_like_card_number
from tests.bridges.conftest import Bridge

pytestmark = pytest.mark.django_db

CARD = "4111111111111111"
PROBLEM = "application/problem+json"


def stored_text() -> str:
    """Every row of every table, as text."""
    out = StringIO()
    call_command("dumpdata", stdout=out, exclude=["contenttypes", "auth.permission"])
    return out.getvalue()


def holds_card(text: str) -> bool:
    """The card's digits in ``text`` whatever separates or encodes them."""
    folded = unicodedata.normalize("NFKC", text)
    return CARD in re.sub(r"[\W_]", "", folded)


def assert_refused(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code
    assert not holds_card(response.content.decode())
    assert not holds_card(str(response.headers))


@pytest.fixture
def bridge(shop):
    connection = connection_create(name="Headless shop", channel=shop.channel,
                                   scopes=list(BridgeScope.values))
    return Bridge(connection=connection, client=Client(REMOTE_ADDR="203.0.113.7"))


@pytest.fixture
def api(shop):
    return shop.client(shop.secret)


def post_raw(client, path, body: bytes, content_type="application/json", **headers):
    return client.generic("POST", path, body, content_type=content_type, **headers)


# --- charsets ---------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
def test_a_json_body_in_utf16_or_32_is_415_and_nothing_is_stored(api, encoding, caplog):
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"metadata": {"note": CARD}}).encode(encoding)
    response = post_raw(api, "/api/v1/carts", body,
                        content_type=f"application/json; charset={encoding}")
    assert_refused(response, 415, "unsupported_charset")
    # Without a charset parameter the body is read as UTF-8: still refused, never guessed.
    assert_refused(post_raw(api, "/api/v1/carts", body), 415, "unsupported_charset")
    assert not Cart.objects.exists()
    assert not holds_card(stored_text()) and not holds_card(caplog.text)


@pytest.mark.parametrize("content_type", ["application/json; charset=latin-1",
                                          "application/json; charset=windows-1252"])
def test_a_charset_other_than_utf8_is_415(api, content_type):
    response = post_raw(api, "/api/v1/carts", b'{"metadata": {}}', content_type=content_type)
    assert_refused(response, 415, "unsupported_charset")


def test_invalid_utf8_is_415(api):
    assert_refused(post_raw(api, "/api/v1/carts", b'{"metadata": {"a": "\xff"}}'),
                   415, "unsupported_charset")


def test_utf8_declared_or_not_is_accepted(api):
    for content_type in ["application/json", "application/json; charset=UTF-8",
                         "application/json;charset=utf8"]:
        response = post_raw(api, "/api/v1/carts", '{"metadata": {"n": "café"}}'.encode(),
                            content_type=content_type)
        assert response.status_code == 201, response.content


def test_the_bridge_refuses_utf16_without_any_header(bridge):
    body = json.dumps({"metadata": {"note": CARD}}).encode("utf-16")
    assert_refused(bridge.call("cart.create", raw=body), 415, "unsupported_charset")
    assert not Cart.objects.exists()
    assert not holds_card(stored_text())


# --- the body limit ---------------------------------------------------------------------

@pytest.mark.parametrize("size", [1024 * 1024 + 1, 2 * 1024 * 1024, 20 * 1024 * 1024])
def test_a_body_over_the_limit_is_413_problem_json_on_rest(api, size):
    filler = "x" * size
    response = post_raw(api, "/api/v1/carts", json.dumps({"metadata": {"f": filler}}).encode())
    assert_refused(response, 413, "payload_too_large")
    assert response.json()["limit"] == 1024 * 1024


def test_rest_and_bridge_share_the_limit_and_django_agrees(settings, bridge):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.ORDERFLOW_MAX_BODY_BYTES
    assert settings.ORDERFLOW_BRIDGE_MAX_BODY == settings.ORDERFLOW_MAX_BODY_BYTES
    big = json.dumps({"metadata": {"f": "x" * (1024 * 1024)}}).encode()
    assert_refused(bridge.call("cart.create", raw=big), 413, "payload_too_large")


def test_a_card_just_under_the_limit_is_found(api):
    filler = "x" * (1024 * 1024 - 200)
    body = json.dumps({"metadata": {"f": filler, "n": CARD}}).encode()
    assert 1024 * 1024 - 200 < len(body) <= 1024 * 1024
    assert_refused(post_raw(api, "/api/v1/carts", body), 400, "card_data_forbidden")


# --- keys, headers, paths, query strings --------------------------------------------------

def test_a_card_as_a_json_key_is_refused_and_not_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    response = api.post("/api/v1/carts", {"metadata": {CARD: "x"}}, format="json")
    assert_refused(response, 400, "card_data_forbidden")
    entry = TransactionLog.objects.get()
    assert not holds_card(entry.request_body) and not holds_card(entry.response_body)
    assert not holds_card(stored_text()) and not holds_card(caplog.text)


def test_transaction_log_redaction_covers_keys():
    from bridges.txlog.redaction import redact_body
    assert not holds_card(redact_body(json.dumps({"a": {f"{CARD}": 1}}).encode()))


@pytest.mark.parametrize("header", ["HTTP_IDEMPOTENCY_KEY", "HTTP_X_REQUEST_ID"])
@pytest.mark.parametrize("value", [CARD, "4111-1111-1111-1111", "4111.1111.1111.1111"])
def test_a_card_in_a_stored_header_is_refused(api, header, value, caplog):
    caplog.set_level(logging.DEBUG)
    response = api.post("/api/v1/carts", {}, format="json", **{header: value})
    assert_refused(response, 400, "card_data_forbidden")
    assert not Cart.objects.exists() and not IdempotencyKey.objects.exists()
    assert not holds_card(stored_text()) and not holds_card(caplog.text)


def test_a_card_as_a_path_id_is_refused_and_not_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    for path in [f"/api/v1/carts/{CARD}/lines", f"/api/v1/orders/cart_{CARD}",
                 "/api/v1/carts/4111%201111%201111%201111/price"]:
        response = api.post(path, {"sku": "MUG", "quantity": 1}, format="json")
        assert_refused(response, 400, "card_data_forbidden")
    assert TransactionLog.objects.count() == 3
    assert not holds_card(stored_text()) and not holds_card(caplog.text)


def test_a_card_as_bridge_client_id_is_refused_and_not_logged(bridge, caplog):
    caplog.set_level(logging.DEBUG)
    response = bridge.call("cart.create", {}, client_id=CARD, path_client_id=CARD)
    assert_refused(response, 400, "card_data_forbidden")
    response = bridge.call("cart.create", {}, client_id=f"cl {CARD}")
    assert_refused(response, 400, "card_data_forbidden")
    assert TransactionLog.objects.count() == 2
    assert not holds_card(stored_text()) and not holds_card(caplog.text)


def test_a_card_in_the_query_string_is_refused_in_any_form(api, caplog):
    caplog.set_level(logging.DEBUG)
    for query in [f"search={CARD}", f"{CARD}=1", "q=4111%C2%A01111%C2%A01111%C2%A01111",
                  "q=4111+1111+1111+1111"]:
        response = api.get(f"/api/v1/products?{query}")
        assert_refused(response, 400, "card_data_forbidden")
    assert not holds_card(caplog.text)


def test_the_access_log_has_no_query_string_and_no_card_in_the_path():
    logger = AccessLogger(GunicornConfig())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/api/v1/orders/{CARD}?search={CARD}",
               "PATH_INFO": f"/api/v1/orders/{CARD}", "QUERY_STRING": f"search={CARD}",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": f"https://x.test/p?c={CARD}"}
    response = SimpleNamespace(status="400 Bad Request", sent=10, headers=[])
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ,
                         timedelta(milliseconds=3))
    line = logger.cfg.access_log_format  # gunicorn's default format
    assert "search" not in line % atoms
    assert not holds_card(line % atoms)
    assert atoms["r"] == "GET /api/v1/orders/[redacted card data] HTTP/1.1"


# --- separators -----------------------------------------------------------------------------

@pytest.mark.parametrize("written", [
    "4111  1111  1111  1111", "4111.1111.1111.1111", "4111/1111/1111/1111",
    "4111\u00a01111\u00a01111\u00a01111", "4111\t1111\t1111\t1111", "4111 - 1111 - 1111 - 1111",
    "4111_1111_1111_1111", "４１１１１１１１１１１１１１１１", "4111 1111 1111 1111 12/29",
    "exp 12/29 4111 1111 1111 1111",
])
def test_any_separator_run_between_digit_groups_is_refused(api, written):
    assert looks_like_card_number(written)
    response = api.post("/api/v1/carts", {"metadata": {"note": written}}, format="json")
    assert_refused(response, 400, "card_data_forbidden")
    assert not Cart.objects.exists()


@pytest.mark.parametrize("text", ["876-555-0100", "2026-11-23", "Apt 4, 12 Hope Road",
                                  "qty 12 x 1499.99", "pi_3NabcDEF12345"])
def test_ordinary_numbers_still_pass(text):
    assert not looks_like_card_number(text)
