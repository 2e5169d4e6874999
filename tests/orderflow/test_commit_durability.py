"""Which commits wait for the disk. Orders and every other business write do; cart edits
(``carts.services.cart_edit``, unless ORDERFLOW_DURABLE_CART_EDITS) and transaction-log rows,
both through ``orderflow.transactions.relaxed_commit``, do not; the bridge's replay-guard rows
do.

Measured as PostgreSQL counts it: ``pg_stat_wal.wal_sync``, the WAL flushes of the whole
server. Nothing else writes during these tests except the WAL writer, which flushes at
most every 200 ms, so the bounds below leave a wide margin either way."""

import uuid

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from bridges.hmac.replay import first_use
from bridges.models import TransactionLog
from orderflow.transactions import relaxed_commit
from tests.storefront import ADDRESS, build_storefront

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="synchronous_commit is PostgreSQL's (CI always runs on it)"),
]

N = 20


def _scalar(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def wal_syncs() -> int:
    # A backend hands its WAL counters to the shared statistics when it goes idle, at most
    # once a second unless told to do it at the next chance.
    _scalar("SELECT pg_stat_force_next_flush()")
    return _scalar("SELECT wal_sync FROM pg_stat_wal")


def synchronous_commit() -> str:
    return _scalar("SHOW synchronous_commit")


def log_row(n):
    return TransactionLog.objects.create(
        created_at=timezone.now(), kind=TransactionLog.Kind.API, correlation_id=f"c{n}",
        endpoint="/api/v1/x", status_code=201)


def relaxed_log_row(n):
    with relaxed_commit():
        log_row(n)


def flushes(work) -> int:
    before = wal_syncs()
    work()
    return wal_syncs() - before


def test_a_log_row_is_stored_without_waiting_for_the_disk_and_nothing_else_is_relaxed():
    relaxed = flushes(lambda: [relaxed_log_row(n) for n in range(N)])
    durable = flushes(lambda: [log_row(n) for n in range(N, 2 * N)])

    assert durable >= N
    assert relaxed < N // 2
    assert TransactionLog.objects.filter(correlation_id__startswith="c").count() == 2 * N
    assert synchronous_commit() == "on"  # the transaction's own setting ended with it


def test_a_bridge_signature_is_recorded_durably(settings):
    """The replay guard's row is a security record: it waits for the disk like any write."""
    settings.ORDERFLOW_REPLAY_GUARD_URL = None  # the database guard (Redis keeps no disk)
    client_id = f"cl-{uuid.uuid4().hex}"

    def record(prefix):
        return [first_use(client_id=client_id, signature=f"{prefix}{n}", window_seconds=300)
                for n in range(N)]

    recorded = []
    durable = flushes(lambda: recorded.extend(record("a")))
    assert recorded == [True] * N
    assert durable >= N
    assert record("a") == [False] * N  # each seen, at once, by the next request


def test_a_relaxed_commit_lasts_until_the_end_of_its_transaction_only():
    assert synchronous_commit() == "on"
    with relaxed_commit():
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"
    with transaction.atomic():
        assert synchronous_commit() == "on"


def _edits_and_checkout(shop, client):
    cart_id = client.post("/api/v1/carts", {"shipping_address": ADDRESS,
                                            "shipping_method": "standard"},
                          format="json").json()["id"]

    def edits():
        for _ in range(N // 2):
            response = client.post(f"/api/v1/carts/{cart_id}/lines",
                                   {"sku": "COF-250", "quantity": 1}, format="json")
            assert response.status_code == 201, response.content
            response = client.post(f"/api/v1/carts/{cart_id}/price", format="json")
            assert response.status_code == 200, response.content

    def checkout():
        response = client.post("/api/v1/checkout", {
            "cart_id": cart_id, "payment": {"kind": "cod"}, "email": "a@example.com",
        }, format="json")
        assert response.status_code == 201, response.content
        placed.append(response.json())

    placed = []
    return placed, edits, checkout


def test_cart_edits_do_not_wait_for_the_disk_and_checkout_does():
    shop = build_storefront()
    client = shop.client(shop.secret)
    placed, edits, checkout = _edits_and_checkout(shop, client)

    edited = flushes(edits)
    checked_out = flushes(checkout)

    assert edited < N // 2  # N requests, each an edit and its log row
    assert checked_out >= 1
    assert synchronous_commit() == "on"
    # What the relaxed commits wrote is there, and the order rests on it.
    (order,) = placed
    assert [line["quantity"] for line in order["lines"]] == [N // 2]


def test_durable_cart_edits_wait_for_the_disk_when_configured():
    shop = build_storefront()
    client = shop.client(shop.secret)
    _, edits, _ = _edits_and_checkout(shop, client)

    with override_settings(ORDERFLOW_DURABLE_CART_EDITS=True):
        edited = flushes(edits)

    assert edited >= N
