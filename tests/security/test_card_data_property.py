"""No card number is stored, logged or sent on, whatever the route, position, separators or
encoding it arrives in (issue 25; the input gate, orderflow/inputgate.py).

The targets are enumerated, so a route or bridge action added later is covered without
anyone remembering: every write route (POST/PUT/PATCH/DELETE) under ``/api/`` from the
URLconf, and every action of the bridge's registry (``bridges.hmac.actions.ACTIONS``), sent
with a valid signature so that only the card is wrong.

A card number is a valid-Luhn 13–19 digit number of a real brand's prefix, written with any
separator style (none, spaces, double spaces, dashes, dots, slashes, NBSP, tabs, a mix;
ASCII or fullwidth digits), put in one position (a JSON value, a JSON key, a nested value,
the query string, the ``Idempotency-Key`` or ``X-Request-Id`` header, a path id, the bridge
client id) of a body encoded as UTF-8, as ``\\u``-escaped JSON, or as UTF-16 with or without
a charset. Every request is refused (400 ``card_data_forbidden``; 415 ``unsupported_charset``
for a UTF-16 body) without echoing the number. Then the digits are looked for — whatever
separates or escapes them — in the database (a ``pg_dump`` of the test database on
PostgreSQL, ``dumpdata`` on SQLite), in every log record of every logger, in the access-log
line gunicorn would write (``orderflow/accesslog.py``) and in the webhook bodies a receiver
got: zero hits.

Two passes: every target × every position once (cards from a seeded generator), then
hypothesis over the whole space (bounded examples).
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from gunicorn.config import Config as GunicornConfig
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from bridges.access.services import connection_create
from bridges.hmac.actions import ACTIONS
from bridges.models import BridgeScope, TransactionLog
from bridges.webhooks import services as webhooks
from orderflow.accesslog import AccessLogger
from orderflow.carddata import looks_like_card_number, luhn_ok
from tests import factories
from tests.bridges.conftest import Bridge
from tests.receiver import Receiver
from tests.security.test_authorization_matrix import World, api_routes, body_for, fill

# Committed rows: a pg_dump (another connection) sees only those.
in_database = pytest.mark.django_db(transaction=True)

# (prefix, lengths) per brand: Visa, Mastercard (both ranges), Amex, Discover, JCB, Diners,
# Maestro, UnionPay.
BRANDS = [
    ("4", (13, 16, 19)), ("51", (16,)), ("55", (16,)), ("2221", (16,)), ("2720", (16,)),
    ("34", (15,)), ("37", (15,)), ("6011", (16, 19)), ("65", (16, 19)), ("3528", (16, 19)),
    ("3589", (16,)), ("36", (14,)), ("30", (14,)), ("5018", (13, 16, 19)), ("62", (16, 17, 19)),
]
SEPARATORS = ["", " ", "  ", "-", ".", "/", "\u00a0", "\t", " - ", "\u00a0\u00a0", "\t-"]
STYLES = ["none", "space", "double_space", "dash", "dot", "slash", "nbsp", "tab", "mixed"]
STYLE_SEPARATOR = dict(zip(STYLES[:-1], ["", " ", "  ", "-", ".", "/", "\u00a0", "\t"],
                           strict=True))
BODY_POSITIONS = ["json_value", "json_key", "json_nested"]
REST_POSITIONS = [*BODY_POSITIONS, "query", "idempotency_key", "request_id", "path_id"]
BRIDGE_POSITIONS = [*BODY_POSITIONS, "query", "idempotency_key", "request_id", "client_id"]
ENCODINGS = ["utf-8", "escaped", "utf-16", "utf-16-no-charset", "utf-16-le-no-charset"]
WRITE_METHODS = ("post", "put", "patch", "delete")
PROBLEM = "application/problem+json"


def luhn_complete(partial: str) -> str:
    """``partial`` with the check digit that makes it pass the Luhn test."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        value = int(char)
        if index % 2 == 0:  # doubled once the check digit is appended
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return partial + str((10 - total % 10) % 10)


def card_digits(prefix: str, length: int, body: str) -> str:
    return luhn_complete((prefix + body)[: length - 1])


def written(digits: str, *, groups: list[int], separators: list[str], fullwidth: bool) -> str:
    """``digits`` cut into groups of the given sizes (the rest is one group), joined by the
    separators in turn."""
    parts, rest = [], digits
    for size in groups:
        if not rest:
            break
        parts.append(rest[:size])
        rest = rest[size:]
    if rest:
        parts.append(rest)
    text = parts[0]
    for index, part in enumerate(parts[1:]):
        text += separators[index % len(separators)] + part
    if fullwidth:
        text = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)
    return text


@dataclass(frozen=True)
class Card:
    digits: str
    text: str

    @staticmethod
    def build(*, brand: int, length_index: int, body: str, style: str, mixed: list[str],
              groups: list[int], fullwidth: bool) -> Card:
        prefix, lengths = BRANDS[brand % len(BRANDS)]
        digits = card_digits(prefix, lengths[length_index % len(lengths)], body)
        separators = mixed if style == "mixed" else [STYLE_SEPARATOR[style]]
        return Card(digits, written(digits, groups=groups, separators=separators,
                                    fullwidth=fullwidth))


@st.composite
def cards(draw) -> Card:
    card = Card.build(
        brand=draw(st.integers(0, len(BRANDS) - 1)), length_index=draw(st.integers(0, 2)),
        body=draw(st.text("0123456789", min_size=18, max_size=18)),
        style=draw(st.sampled_from(STYLES)),
        mixed=draw(st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=5)),
        groups=draw(st.lists(st.integers(1, 6), min_size=1, max_size=6)),
        fullwidth=draw(st.booleans()))
    # At least four different digits: hypothesis likes long runs of zeros, which the search
    # below could find in unrelated numbers of a dump ("…4000.00 0 0…").
    assume(len(set(card.digits)) >= 4)
    return card


def seeded_card(rng: random.Random) -> Card:
    return Card.build(
        brand=rng.randrange(len(BRANDS)), length_index=rng.randrange(3),
        body="".join(rng.choice("0123456789") for _ in range(18)), style=rng.choice(STYLES),
        mixed=[rng.choice(SEPARATORS) for _ in range(3)],
        groups=[rng.choice([4, 4, 4, 6, 5, 3]) for _ in range(5)],
        fullwidth=rng.random() < 0.1)


@given(card=cards())
def test_the_generated_cards_are_card_numbers(card):
    assert 13 <= len(card.digits) <= 19 and luhn_ok(card.digits)
    assert looks_like_card_number(card.text)
    assert luhn_complete("411111111111111") == "4111111111111111"


# --- looking for the digits ----------------------------------------------------------------

ESCAPES = re.compile(r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[tnr]|%[0-9a-fA-F]{2}")


def unescape(text: str) -> str:
    """JSON, Python-repr and URL escapes decoded (a digit written ``\\u0034`` or ``%34`` is
    a digit), anything else escaped becomes a space."""
    def one(match):
        token = match.group()
        code = int(token[2:], 16) if token[:2] in ("\\u", "\\x") else \
            int(token[1:], 16) if token[0] == "%" else None
        char = chr(code) if code is not None else " "
        return char if char.isdigit() else " "

    return ESCAPES.sub(one, text)


def digits_pattern(digits: str) -> re.Pattern:
    """The digits in order with up to eight separator characters (any non-alphanumeric)
    between each two."""
    return re.compile(r"[\W_]{0,8}".join(digits))


def fold(text: str) -> str:
    """Fullwidth digits as ASCII ones, escapes decoded."""
    return unicodedata.normalize("NFKC", unescape(unicodedata.normalize("NFKC", text)))


def hits(text: str, digits: str, *, folded: bool = False) -> list[str]:
    return [m.group() for m in digits_pattern(digits).finditer(text if folded else fold(text))]


def test_the_search_finds_digits_however_they_are_written():
    digits = "4111111111111111"
    for text in ["x 4111 1111 1111 1111 y", "4111\\u00a01111\\t1111-1111",
                 "\\u0034\\u0031\\u0031\\u0031111111111111", "4111%C2%A01111%201111%2F1111",
                 "４１１１１１１１１１１１１１１１", "4111\u00a0\u00a01111\t1111 / 1111"]:
        assert hits(text, digits), text
    assert not hits("4111 1111 1111 1112", digits)
    assert not hits("4111 1111 x 1111 1111", digits)


def test_the_transaction_log_redacts_a_card_split_by_json_escapes():
    """Found by this file: a tab between digit groups is ``\\t`` in the JSON text, which
    hid the card from the transaction log's quick scan of the raw body."""
    from bridges.txlog.redaction import redact_body

    for separator in ["\t", "\n", "\r", "\b", "\f"]:
        body = json.dumps({"notes": separator.join(["3076", "0977", "521940"])})
        assert not hits(redact_body(body.encode()), "30760977521940"), separator


# --- the requests ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    kind: str  # "rest" or "bridge"
    name: str  # the route or the action
    method: str = "post"

    @property
    def positions(self) -> list[str]:
        if self.kind == "bridge":
            return BRIDGE_POSITIONS
        return REST_POSITIONS if "<" in self.name else REST_POSITIONS[:-1]

    def __str__(self):
        return f"{self.method.upper()} {self.name}" if self.kind == "rest" else \
            f"bridge {self.name}"


def write_targets() -> list[Target]:
    rest = [Target("rest", route, method) for route, method in api_routes()
            if method in WRITE_METHODS]
    return rest + [Target("bridge", action) for action in ACTIONS]


TARGETS = write_targets()
PLACEHOLDER = "@@card@@"


def with_card(body: dict, position: str, text: str) -> dict:
    body = dict(body)
    if position == "json_value":
        body["notes"] = text
    elif position == "json_key":
        body["metadata"] = {text: "x"}
    elif position == "json_nested":
        body["metadata"] = {"gift": {"lines": [{"memo": "ok"}, {"memo": text}]}}
    return body


def encode(body: dict, position: str, card: Card, encoding: str) -> tuple[bytes, str]:
    """The body bytes and the Content-Type."""
    if position not in BODY_POSITIONS:
        return json.dumps(body).encode(), "application/json"
    if encoding == "escaped":
        text = json.dumps(with_card(body, position, PLACEHOLDER))
        escaped = "".join(f"\\u{ord(char):04x}" for char in card.text)
        return text.replace(PLACEHOLDER, escaped).encode(), "application/json"
    text = json.dumps(with_card(body, position, card.text), ensure_ascii=False)
    if encoding == "utf-8":
        return text.encode(), "application/json"
    if encoding == "utf-16":
        return text.encode("utf-16"), "application/json; charset=utf-16"
    if encoding == "utf-16-no-charset":
        return text.encode("utf-16"), "application/json"
    return text.encode("utf-16-le"), "application/json"


def expected_refusal(position: str, encoding: str) -> tuple[int, str]:
    if position in BODY_POSITIONS and encoding.startswith("utf-16"):
        return 415, "unsupported_charset"
    return 400, "card_data_forbidden"


class Probe:
    """Sends a card to a target; keeps what a grep must not find it in."""

    def __init__(self, world: World, bridge: Bridge, staff: APIClient):
        self.world, self.bridge, self.staff = world, bridge, staff
        self.logger = AccessLogger(GunicornConfig())
        self.access_lines: list[str] = []
        self.cards: list[tuple[Card, str]] = []

    def send(self, target: Target, position: str, card: Card, encoding: str):
        self.cards.append((card, f"{target} {position} {encoding} {card.text!r}"))
        headers = {}
        if position == "idempotency_key":
            headers["HTTP_IDEMPOTENCY_KEY"] = card.text
        elif position == "request_id":
            headers["HTTP_X_REQUEST_ID"] = card.text
        query = ""
        if position == "query":
            query = "?" + (f"q={quote(card.text)}" if len(card.digits) % 2
                           else f"{quote(card.text)}=1")
        if target.kind == "rest":
            ids = dict(self.world.ids)
            path = fill(target.name, ids)
            if position == "path_id":
                name = re.findall(r"<(?:\w+:)?(\w+)>", target.name)[0]
                path = fill(target.name, {**ids, name: quote(card.text, safe="")})
            body, content_type = encode(body_for(target.name, ids), position, card, encoding)
            response = self.staff.generic(target.method.upper(), path + query, body,
                                          content_type=content_type, **headers)
        else:
            body, content_type = encode({"cart_id": self.world.ids["cart_id"]}, position,
                                        card, encoding)
            client_id = quote(card.text, safe="") if position == "client_id" else None
            path, signed = self.bridge.headers(target.name, body, path_client_id=client_id)
            if position == "client_id":
                signed["HTTP_X_CLIENT_ID"] = card.text
            response = self.bridge.client.generic("POST", path + query, body,
                                                  content_type=content_type,
                                                  **signed, **headers)
        self.access_lines.append(self.access_line(response))
        return response

    def access_line(self, response) -> str:
        """The line gunicorn's access log would write for this request."""
        request = response.wsgi_request
        environ = dict(request.META)
        environ.setdefault("SERVER_PROTOCOL", "HTTP/1.1")
        environ["RAW_URI"] = request.get_full_path()  # as sent: percent-encoded, with query
        answer = SimpleNamespace(status=f"{response.status_code} X", sent=len(response.content),
                                 headers=list(response.items()))
        atoms = self.logger.atoms(answer, SimpleNamespace(headers=[]), environ,
                                  timedelta(milliseconds=1))
        return self.logger.cfg.access_log_format % atoms


def assert_refused(response, position: str, encoding: str, what: str) -> None:
    status, code = expected_refusal(position, encoding)
    assert response.status_code == status, f"{what}: {response.status_code} {response.content}"
    assert response["Content-Type"] == PROBLEM, what
    assert response.json()["code"] == code, f"{what}: {response.content}"


# --- where the digits must not be ----------------------------------------------------------

def database_text() -> str:
    """Every row of the test database as text: a ``pg_dump`` on PostgreSQL (every table,
    Django's or not), ``dumpdata`` elsewhere."""
    if connection.vendor != "postgresql":
        out = StringIO()
        call_command("dumpdata", stdout=out, exclude=["contenttypes", "auth.permission"])
        return out.getvalue()
    binary = shutil.which("pg_dump")
    assert binary, "pg_dump is not installed (postgresql-client)"
    db = connection.settings_dict
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}
    command = [binary, "--data-only", "--no-owner", "-h", db.get("HOST") or "127.0.0.1",
               "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres",
               db["NAME"]]
    result = subprocess.run(command, capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode("utf-8")


class EveryRecord(logging.Handler):
    """Every record of every logger, formatted with its arguments and exception."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record) + " " + repr(getattr(record, "args", "")))


@pytest.fixture
def every_log_record():
    """A handler on the root logger and on every logger that does not propagate, at DEBUG."""
    handler = EveryRecord()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@pytest.fixture
def receiver():
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]), \
            Receiver(hold_seconds=1) as rx:
        yield rx


@pytest.fixture
def probe(shop, receiver):
    endpoint = webhooks.webhook_endpoint_create(url=receiver.url("/all"), event_types=["*"])
    world = World(shop)  # places an order: at least one event a receiver gets
    connection_ = connection_create(name="Headless shop", channel=shop.channel,
                                    scopes=list(BridgeScope.values))
    staff = APIClient()
    staff.force_login(factories.StaffUserFactory(is_superuser=True))
    probe = Probe(world, Bridge(connection=connection_,
                                client=Client(REMOTE_ADDR="203.0.113.7")), staff)
    probe.endpoint = endpoint
    return probe


def assert_nowhere(probe: Probe, receiver: Receiver, log: EveryRecord) -> None:
    webhooks.outbox_dispatch_all()
    webhooks.endpoint_deliver_due(probe.endpoint.pk)
    bodies = [request.body.decode() for request in receiver.requests]
    assert bodies, "the receiver got no webhook: the search of its bodies would prove nothing"
    places = {
        "the database": database_text(),
        "the log records": "\n".join(log.lines),
        "the access log": "\n".join(probe.access_lines),
        "the webhook bodies": "\n".join(bodies),
    }
    places = {where: fold(text) for where, text in places.items()}
    found = [f"{where}: {what} → {found[:2]}"
             for card, what in probe.cards for where, text in places.items()
             if (found := hits(text, card.digits, folded=True))]
    assert not found, "\n".join(found[:20])


@in_database
def test_every_write_target_refuses_a_card_in_every_position(probe, receiver,
                                                             every_log_record):
    """Every write route and bridge action × every position, once; nothing anywhere."""
    assert len([t for t in TARGETS if t.kind == "rest"]) >= 50
    assert {t.name for t in TARGETS if t.kind == "bridge"} == set(ACTIONS)
    rng = random.Random(25)
    refused_before = TransactionLog.objects.count()
    sent = 0
    for target in TARGETS:
        for position in target.positions:
            encoding = rng.choice(ENCODINGS)
            card = seeded_card(rng)
            response = probe.send(target, position, card, encoding)
            what = f"{target} {position} {encoding} {card.text!r}"
            assert_refused(response, position, encoding, what)
            assert not hits(response.content.decode() + str(response.headers), card.digits), what
            sent += 1
    # Refused requests are in the transaction log (redacted), one row each.
    assert TransactionLog.objects.count() - refused_before == sent
    assert_nowhere(probe, receiver, every_log_record)


@in_database
def test_hypothesis_finds_no_card_that_gets_through(probe, receiver, every_log_record):
    @settings(max_examples=50, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(target=st.sampled_from(TARGETS), card=cards(), encoding=st.sampled_from(ENCODINGS),
           data=st.data())
    def one(target, card, encoding, data):
        position = data.draw(st.sampled_from(target.positions), label="position")
        response = probe.send(target, position, card, encoding)
        what = f"{target} {position} {encoding} {card.text!r}"
        assert_refused(response, position, encoding, what)
        assert not hits(response.content.decode() + str(response.headers), card.digits), what

    one()
    assert_nowhere(probe, receiver, every_log_record)


@in_database
def test_the_search_sees_what_is_stored(probe):
    """The control: a Luhn-invalid 16-digit number is accepted, and the same search finds it
    in the database — so zero hits above means nothing was stored."""
    shop = probe.world.shop
    response = shop.client(shop.secret).post(
        "/api/v1/carts", {"metadata": {"note": "4111 1111 1111 1112"}}, format="json")
    assert response.status_code in (200, 201), response.content
    assert hits(database_text(), "4111111111111112")
