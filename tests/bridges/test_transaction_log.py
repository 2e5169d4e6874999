"""The transaction log's write: one row per request, after its answer, never in its way."""

import pytest
from django.db import connection, transaction

from bridges.models import TransactionLog
from orderflow.transactions import relaxed_commit

pytestmark = pytest.mark.django_db


def test_a_failed_log_write_does_not_change_the_answer(bridge, monkeypatch, caplog):
    def refuse(**entry):
        raise RuntimeError("the log table is gone")

    monkeypatch.setattr(TransactionLog.objects, "create", refuse)
    response = bridge.call("cart.create", {})
    assert response.status_code == 200, response.content
    assert response["X-Request-Id"]
    assert "could not write the transaction log entry" in caplog.text


def test_each_request_writes_its_own_entry_with_its_correlation_id(bridge):
    ids = [bridge.call("cart.create", {}, HTTP_X_REQUEST_ID=f"req-{n}")["X-Request-Id"]
           for n in range(3)]
    assert ids == ["req-0", "req-1", "req-2"]
    assert sorted(TransactionLog.objects.values_list("correlation_id", flat=True)) == ids


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_relaxed_commit_relaxes_its_own_transaction_only():
    assert _synchronous_commit() == "on"
    with relaxed_commit():
        assert connection.in_atomic_block
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == "on"
    with transaction.atomic():
        assert _synchronous_commit() == "on"
