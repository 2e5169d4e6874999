"""`make run` on the embedded default: web, worker and beat start, the admin logs in over
HTTP, and one Ctrl-C stops everything."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def get(opener, url, data=None):
    try:
        with opener.open(url, data=data, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None, ""


@pytest.fixture
def running(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "MAKEFLAGS", "MFLAGS",
                        "MAKELEVEL"}}
    env.update(ORDERFLOW_VAR_DIR=str(tmp_path / "var"), ORDERFLOW_PORT=str(port),
               WEB_CONCURRENCY="1", WORKER_CONCURRENCY="1", PYTHONUNBUFFERED="1")
    log_path = tmp_path / "make-run.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield {"proc": proc, "port": port, "var": tmp_path / "var", "log": log_path}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_make_run_serves_admin_and_stops_on_ctrl_c(running):
    proc, port, log = running["proc"], running["port"], running["log"]
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def healthy():
        assert proc.poll() is None, log.read_text()[-3000:]
        status, body = get(opener, f"{base}/healthz")
        return status == 200 and json.loads(body)

    health = wait_for(healthy, 240, "/healthz")
    assert health["checks"] == {"database": "ok", "broker": "ok"}

    output = wait_for(lambda: (text := log.read_text()) and "ready." in text
                      and "beat: Starting" in text and text, 60, "worker and beat")
    assert "Admin      http://127.0.0.1:" in output
    assert "Staff login      admin / " in output
    # The embedded default: SQLite and the filesystem broker under the chosen var/ folder.
    assert (running["var"] / "orderflow.sqlite3").exists()
    assert (running["var"] / "broker" / "queue").is_dir()

    creds = json.loads((running["var"] / "demo-credentials.json").read_text())["staff"]
    status, page = get(opener, f"{base}/admin/login/")
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": creds["username"],
                                   "password": creds["password"], "next": "/admin/"}).encode()
    status, page = get(opener, f"{base}/admin/login/?next=/admin/", data=form)
    assert status == 200
    assert "Log out" in page or "logout" in page
    status, page = get(opener, f"{base}/admin/catalog/product/?q=COF-BM-250")
    assert status == 200 and "Blue Mountain coffee" in page
    status, _ = get(opener, f"{base}/static/admin/css/base.css")
    assert status == 200  # static files are served by the app (whitenoise)

    # A storefront checks out on the embedded default too (SQLite: the hand-written SQL of
    # the hot paths has its fallbacks there).
    key = json.loads((running["var"] / "demo-credentials.json").read_text()
                     )["storefront"]["ecommerce_secret"]
    api = urllib.request.build_opener()

    def call(path, body=None):
        request = urllib.request.Request(
            f"{base}/api/v1/{path}", data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            method="POST" if body is not None else "GET")
        status, text = get(api, request)
        assert status in (200, 201), (path, status, text[:500])
        return json.loads(text)

    cart = call("carts", {"shipping_method": "standard", "shipping_address": {
        "full_name": "E2E", "line1": "1 Main St", "city": "Kingston", "country": "JM"}})
    call(f"carts/{cart['id']}/lines", {"sku": "COF-BM-250", "quantity": 2})
    priced = call(f"carts/{cart['id']}/price", {})
    assert priced["problems"] == [] and priced["total"] not in (None, "0.00")
    order = call("checkout", {"cart_id": cart["id"], "payment": {"kind": "cod"},
                              "email": "e2e@example.com"})
    assert order["status"] == "confirmed" and order["total"] == priced["total"]

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    proc.wait(timeout=60)
    wait_for(lambda: get(opener, f"{base}/healthz")[0] is None, 20, "the port to close")
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "processes still running after Ctrl-C"
