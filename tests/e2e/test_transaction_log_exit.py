"""A gunicorn worker's batched transaction-log entries are written when it stops: a real
server (2 workers) against the test database, with a batch delay far longer than the test,
so nothing is written until the server is told to stop (SIGTERM, as by a deploy)."""

import http.client
import json
import os
import signal
import subprocess
import sys

import pytest

from bridges.constants import KeyKind
from bridges.models import TransactionLog
from bridges.services import api_key_create
from tests import factories
from tests.e2e.conftest import ROOT, free_port, wait_until

pytestmark = pytest.mark.e2e


def post(port, path, key):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=b"{}", headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    except OSError:
        return None, None
    finally:
        conn.close()


def test_a_stopped_server_writes_the_entries_it_was_still_holding(e2e_services, tmp_path):
    channel = factories.ChannelFactory(code="ECOMMERCE")
    _, secret = api_key_create(name="e2e", kind=KeyKind.SECRET, mode="test", channel=channel)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    env.update(DATABASE_URL=e2e_services["database_url"],
               CELERY_BROKER_URL=e2e_services["broker_url"],
               DJANGO_SETTINGS_MODULE="orderflow.settings", ORDERFLOW_VAR_DIR=str(tmp_path),
               ORDERFLOW_TRANSACTION_LOG_BATCH_MS="600000", PYTHONUNBUFFERED="1")
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "orderflow.wsgi:application", "--workers", "2",
             "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "20"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: post(port, "/api/v1/carts", secret)[0] == 201, timeout=60,
                   what=f"gunicorn to answer:\n{log_path.read_text()[-3000:]}")
        carts = [post(port, "/api/v1/carts", secret) for _ in range(6)]
        assert [status for status, _ in carts] == [201] * 6
        # Still held by the workers: the delay has not passed and no batch is full.
        assert TransactionLog.objects.filter(kind="api").count() == 0

        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    logged = set(TransactionLog.objects.filter(kind="api").values_list("object_ids", flat=True))
    assert {body["id"] for _, body in carts} <= logged
    assert TransactionLog.objects.filter(kind="api").count() == 7  # the first answer too
