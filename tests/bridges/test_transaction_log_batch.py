"""The batched transaction log of server processes (bridges/logging.py): entries reach the
table from the process's writer thread, together, within the delay; a full batch goes at
once; one bad entry does not lose the others. Against the real PostgreSQL."""

import logging
import time

import pytest
from django.db import connection

from bridges.logging import batcher
from bridges.models import TransactionLog
from tests.storefront import build_storefront

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the batched writer is PostgreSQL's (CI always runs on it)"),
]


def wait_for_entries(count, *, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = TransactionLog.objects.filter(kind="api").count()
        if found >= count:
            return found
        time.sleep(0.02)
    return TransactionLog.objects.filter(kind="api").count()


@pytest.fixture
def batched(settings):
    batcher.flush()  # nothing of another test's
    settings.ORDERFLOW_TRANSACTION_LOG_BATCH_SECONDS = 0.5
    settings.ORDERFLOW_TRANSACTION_LOG_BATCH_ROWS = 100
    yield settings
    batcher.stop()  # its connection closed: the test database can be dropped


def test_entries_arrive_together_within_the_delay_and_say_what_happened(batched):
    shop = build_storefront()
    client = shop.client(shop.secret)
    started = time.monotonic()
    ids = [client.post("/api/v1/carts", {}, format="json").json()["id"] for _ in range(5)]
    refused = client.post(f"/api/v1/carts/{ids[0]}/lines", {"sku": "NOPE", "quantity": 1},
                          format="json")
    assert refused.status_code == 400

    assert wait_for_entries(6) == 6
    assert time.monotonic() - started < 5
    entries = list(TransactionLog.objects.filter(kind="api").order_by("id"))
    assert [e.status_code for e in entries] == [201] * 5 + [400]
    assert [e.object_ids for e in entries[:5]] == ids
    assert entries[0].request_headers["Authorization"] == "[redacted]"
    assert entries[0].method == "POST" and entries[0].endpoint == "/api/v1/carts"
    assert entries[-1].code == refused.json()["code"]
    with connection.cursor() as cursor:  # rows of one transaction share its xmin
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM bridges_transactionlog")
        (transactions,) = cursor.fetchone()
    assert transactions < 6


def test_a_full_batch_is_written_without_waiting_for_the_delay(batched):
    batched.ORDERFLOW_TRANSACTION_LOG_BATCH_SECONDS = 600
    batched.ORDERFLOW_TRANSACTION_LOG_BATCH_ROWS = 3
    shop = build_storefront()
    client = shop.client(shop.secret)
    for _ in range(3):
        assert client.post("/api/v1/carts", {}, format="json").status_code == 201
    assert wait_for_entries(3) == 3


def test_one_bad_entry_does_not_lose_the_rest_of_its_batch(batched, caplog):
    batched.ORDERFLOW_TRANSACTION_LOG_BATCH_SECONDS = 600
    good = {name: "" for name in ("client", "method", "code", "object_ids", "request_body",
                                  "response_body")}
    good.update(created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                direction="in", kind="api", connection_id=None, api_key_id=None,
                endpoint="/api/v1/carts", source_ip="127.0.0.1", status_code=201,
                latency_ms=1, request_headers={})
    for n in range(4):
        batcher.add({**good, "correlation_id": f"good{n}"})
    batcher.add({**good, "correlation_id": "bad", "source_ip": "not an address"})
    batcher.add({**good, "correlation_id": "good4", "response_body": "nul \x00 stripped"})

    with caplog.at_level(logging.ERROR, logger="orderflow.transaction_log"):
        assert batcher.flush() == 5
    assert sorted(TransactionLog.objects.values_list("correlation_id", flat=True)) == [
        f"good{n}" for n in range(5)]
    assert TransactionLog.objects.get(correlation_id="good4").response_body == "nul  stripped"
    assert "could not write the transaction log entry bad" in caplog.text
