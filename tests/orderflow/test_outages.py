"""Outages answer 503: a real gunicorn (gunicorn.conf.py, the access log of ``make run``)
whose DATABASE_URL points at a PostgreSQL port nothing listens on. The shared services are
never touched."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CARD = "4111111111111111"


def fetch(url, *, method="GET", body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def server_without_database(tmp_path_factory):
    dead = free_port()  # bound and released: nothing listens there
    port = free_port()
    var = tmp_path_factory.mktemp("outage-var")
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    env.update(DATABASE_URL=f"postgres://orderflow@127.0.0.1:{dead}/orderflow",
               ORDERFLOW_VAR_DIR=str(var), DEBUG="0")
    log = var / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "orderflow.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            fetch(f"{base}/readyz")
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                os.killpg(process.pid, signal.SIGKILL)
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
    yield base, log, dead
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def assert_unavailable(status, headers, body):
    assert status == 503, body
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "service_unavailable"
    assert int(headers["Retry-After"]) > 0


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/v1/products", None),
    ("POST", "/api/v1/carts", b"{}"),
    ("GET", "/api/v1/orders", None),
    ("POST", "/bridge/cl_x/cart.create", b"{}"),
])
def test_every_api_call_is_503_with_retry_after(server_without_database, method, path, body):
    base, _, _ = server_without_database
    basic = base64.b64encode(b"staff:password").decode()
    headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/json",
               "X-Client-Id": "cl_x", "X-Timestamp": str(int(time.time())),
               "X-Signature": "v1=00"}
    assert_unavailable(*fetch(base + path, method=method, body=body, headers=headers))


def test_healthz_names_the_database_without_its_error_text(server_without_database):
    base, _, dead = server_without_database
    status, _, body = fetch(f"{base}/healthz")
    assert status == 503
    data = json.loads(body)
    assert data["failing"] == ["database"]
    assert data["checks"]["database"].startswith("error:")
    assert str(dead) not in body and "127.0.0.1" not in body and "connection" not in body


def test_readyz_is_503_with_retry_after_and_names_what_is_down(server_without_database):
    base, _, dead = server_without_database
    status, headers, body = fetch(f"{base}/readyz")
    assert status == 503 and int(headers["Retry-After"]) > 0
    assert json.loads(body) == {"status": "unavailable", "failing": ["database"]}


def test_the_access_log_has_no_query_string_and_no_card_path(server_without_database):
    base, log, _ = server_without_database
    status, _, _ = fetch(f"{base}/api/v1/orders/{CARD}?search=private-words")
    assert status == 400
    fetch(f"{base}/api/v1/products?search={CARD}")
    time.sleep(0.5)
    text = log.read_text()
    assert "/api/v1/orders/[redacted card data]" in text
    assert CARD not in text and "private-words" not in text
