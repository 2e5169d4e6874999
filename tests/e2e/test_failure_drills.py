"""Failure drills with real processes (issue 25): what a shopper and a receiver notice when a
process dies or a service goes away, and that nothing is lost once it is back.

1. The Celery worker is SIGKILLed while it POSTs an order's webhook → a restarted worker
   delivers it (attempt 2, same ``webhook-id``).
2. Redis (the broker) is stopped → checkout through the web process still answers 201 and
   commits the order with its outbox events (docs/webhooks.md: "none lost when a worker or
   the broker goes away"); once Redis is back, every event is delivered.
3. PostgreSQL is stopped → every API call answers 503 problem+json ``service_unavailable``
   with ``Retry-After`` and writes nothing; after a restart the same calls succeed.
4. A receiver that never answers → its deliveries time out (the endpoint's
   ``timeout_seconds``) and are retried later, while another endpoint's deliveries go through
   meanwhile: the worker is not stuck.

Web is gunicorn (``orderflow.wsgi``, the ``gunicorn.conf.py`` of ``make run``), workers are
``celery worker`` (tests/e2e/conftest.py). The drills that stop a service start their own:
a ``redis-server`` and a PostgreSQL cluster (``initdb`` into a temporary directory, as the
``postgres`` user when run as root), on ports 7200–7299 when free. The shared services are
never touched. They need PostgreSQL and Redis like every e2e test: skipped on a developer's
SQLite run, required in CI (``ORDERFLOW_REQUIRE_SERVICES``).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection, transaction

from bridges.access.services import connection_create
from bridges.constants import AttemptOutcome, DeliveryStatus
from bridges.hmac.signing import sign
from bridges.models import BridgeScope, WebhookAttempt, WebhookDelivery
from bridges.webhooks import services as webhooks
from carts.models import Cart
from orderflow.models import OutboxEvent
from orderflow.outbox import emit
from orders.models import Order
from tests.e2e.conftest import (
    ROOT,
    WORKER_ENV,
    PrivateRedis,
    broker_reset,
    free_port,
    publishing_to,
    unavailable,
    wait_until,
)
from tests.receiver import Receiver
from tests.storefront import ADDRESS, build_storefront

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PROBLEM = "application/problem+json"


def private_port() -> int:
    """A free port in 7200–7299 (the drills' range), else any free port."""
    candidates = list(range(7200, 7300))
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


# --- the web process ---------------------------------------------------------------------------

class Web:
    """gunicorn serving OrderFlow on its own port, its output in a log file."""

    def __init__(self, *, database_url: str, broker_url: str, log_path: Path, var_dir: Path,
                 redis_url: str | None = None):
        self.port = private_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "MAKEFLAGS",
                                 "MFLAGS", "MAKELEVEL"}}
        self.env.update(WORKER_ENV, DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url,
                        ORDERFLOW_VAR_DIR=str(var_dir), DEBUG="0", PYTHONUNBUFFERED="1",
                        DJANGO_SETTINGS_MODULE="orderflow.settings")
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.proc: subprocess.Popen | None = None

    def start(self) -> Web:
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "orderflow.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "1", "--access-logfile", "-"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)

        def answers():
            assert self.proc.poll() is None, f"gunicorn exited:\n{self.log_tail()}"
            try:
                urllib.request.urlopen(f"{self.base}/readyz", timeout=5).close()
            except urllib.error.HTTPError:
                return True  # 503 is an answer
            except OSError:
                return False
            return True

        wait_until(answers, timeout=60, what="gunicorn to answer", interval=0.2,
                   describe=self.log_tail)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self._log.close()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def call(self, method: str, path: str, body=None, *, key: str | None = None,
             headers: dict | None = None):
        """(status, headers, parsed JSON or text)."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = body if isinstance(body, bytes) else \
            json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, head, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, head, raw = error.code, dict(error.headers), error.read()
        try:
            return status, head, json.loads(raw)
        except ValueError:
            return status, head, raw.decode(errors="replace")

    def bridge(self, connection_, action: str, payload: dict):
        """A signed bridge call, as the reference client sends it."""
        body = json.dumps(payload).encode()
        path = f"/bridge/{connection_.client_id}/{action}"
        timestamp = str(int(time.time()))
        signature = sign(secret=connection_.secret, timestamp=timestamp,
                         client_id=connection_.client_id, method="POST", path=path, body=body)
        return self.call("POST", path, body, headers={
            "X-Client-Id": connection_.client_id, "X-Timestamp": timestamp,
            "X-Signature": signature})

    def ok(self, method: str, path: str, body=None, *, key: str, status: int = 200):
        got, _, data = self.call(method, path, body, key=key)
        assert got == status, f"{method} {path} → {got} {data}\n{self.log_tail(1500)}"
        return data

    def checkout(self, key: str) -> str:
        """A guest order through the storefront API, as a storefront places it; its number."""
        cart = self.ok("POST", "/api/v1/carts", {}, key=key, status=201)["id"]
        self.ok("POST", f"/api/v1/carts/{cart}/lines", {"sku": "COF-250", "quantity": 1},
                key=key, status=201)
        self.ok("PUT", f"/api/v1/carts/{cart}/addresses", {"shipping_address": ADDRESS},
                key=key)
        self.ok("POST", f"/api/v1/carts/{cart}/shipping-method", {"code": "standard"}, key=key)
        self.ok("POST", f"/api/v1/carts/{cart}/price", {}, key=key)
        order = self.ok("POST", "/api/v1/checkout",
                        {"cart_id": cart, "email": "drill@example.com",
                         "payment": {"kind": "cod"}}, key=key, status=201)
        return order["number"]


@pytest.fixture
def webs(tmp_path):
    started: list[Web] = []

    def start(*, database_url: str, broker_url: str, redis_url: str | None = None) -> Web:
        n = len(started) + 1
        web = Web(database_url=database_url, broker_url=broker_url, redis_url=redis_url,
                  log_path=tmp_path / f"web-{n}.log", var_dir=tmp_path / f"var-{n}")
        started.append(web)
        return web.start()

    try:
        yield start
    finally:
        for web in started:
            web.kill()


# --- a private PostgreSQL ----------------------------------------------------------------------

def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A PostgreSQL cluster of this test alone: ``initdb`` into a temporary directory, run as
    the ``postgres`` user when the test runs as root (``initdb`` refuses root)."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root = bindir, root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = private_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/orderflow"

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run(self._as_owner(*command), capture_output=True, text=True,
                                timeout=120, **kwargs)
        assert result.returncode == 0, f"{command[0]}: {result.stderr or result.stdout}"
        return result

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
        self.start()
        self.psql("postgres", "-c", "CREATE DATABASE orderflow")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop at once, as a crash would (no shutdown checkpoint)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                  "stop")

    def running(self) -> bool:
        status = subprocess.run(self._as_owner(str(self.bindir / "pg_ctl"), "-D",
                                               str(self.data), "status"),
                                capture_output=True, timeout=30)
        return status.returncode == 0

    def psql(self, database: str, *args: str, **kwargs) -> str:
        result = subprocess.run(
            [str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", *args],
            capture_output=True, text=True, timeout=120, **kwargs)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def copy_test_database(self) -> None:
        """Schema and committed rows of the pytest-django test database, into ``orderflow``."""
        db = connection.settings_dict
        dump = subprocess.run(
            [str(self.bindir / "pg_dump"), "--no-owner", "--no-privileges", "-h",
             db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U",
             db.get("USER") or "postgres", db["NAME"]],
            capture_output=True, timeout=120,
            env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""})
        assert dump.returncode == 0, dump.stderr.decode(errors="replace")
        self.psql("orderflow", input=dump.stdout.decode())

    def destroy(self) -> None:
        if self.data.exists() and self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres(e2e_services):
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL's server binaries (initdb) are not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root without a postgres user to run initdb as")
        if shutil.which("runuser") is None:
            unavailable("running as root without runuser to run initdb as postgres")
    root = Path(tempfile.mkdtemp(prefix="orderflow-drill-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PrivatePostgres(bindir, root)
    try:
        server.init()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def drill_redis(e2e_services, tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed: the Redis drill starts its own")
    server = PrivateRedis(binary, tmp_path / "redis.log")
    server.port = private_port()
    server.url = f"redis://127.0.0.1:{server.port}/0"
    server.start()
    try:
        yield server
    finally:
        server.kill()


def endpoint_for(rx: Receiver, path: str, **options):
    options.setdefault("event_types", ["order.*"])
    return webhooks.webhook_endpoint_create(url=rx.url(path), **options)


def assert_unavailable(status, headers, body, what: str) -> None:
    assert status == 503, f"{what}: {status} {body}"
    assert headers["Content-Type"] == PROBLEM, what
    assert body["code"] == "service_unavailable", what
    assert int(headers["Retry-After"]) > 0, what


# --- 1. the worker is killed mid-delivery ------------------------------------------------------

def test_a_worker_killed_mid_delivery_delivers_after_restart(workers, webs, sweeper,
                                                              e2e_services):
    shop = build_storefront()
    web = webs(database_url=e2e_services["database_url"],
               broker_url=e2e_services["broker_url"])
    with Receiver(hold_seconds=60) as rx:
        rx.script(["timeout"])  # the first POST is held: the worker is mid-delivery
        endpoint = endpoint_for(rx, "/orders", event_types=["order.created"],
                                timeout_seconds=4)
        first = workers.start()
        number = web.checkout(shop.secret)
        rx.wait_for(1, timeout=30)
        first.kill()
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == DeliveryStatus.SENDING

        workers.start()
        sweeper.until(lambda: WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SUCCEEDED).exists(),
            timeout=45, what="the order's webhook to be delivered after the restart")

        requests = rx.requests
        assert [r.json["data"]["number"] for r in requests] == [number, number]
        assert len({r.header("webhook-id") for r in requests}) == 1
        assert [r.header("x-orderflow-attempt") for r in requests] == ["1", "2"]
        outcomes = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
                        .values_list("outcome", flat=True))
        assert outcomes == [AttemptOutcome.LOST, AttemptOutcome.SUCCEEDED]


# --- 2. Redis is stopped -------------------------------------------------------------------------

def all_delivered(rx: Receiver) -> bool:
    if OutboxEvent.objects.filter(dispatched_at__isnull=True).exists():
        return False
    if WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists():
        return False
    return len(rx.requests) == WebhookDelivery.objects.count()


def worker_idle(worker) -> bool:
    """Every task the worker received has ended (its log says so)."""
    log = worker.log_path.read_text(errors="replace")
    ended = sum(log.count(word) for word in ("] succeeded in", "] retry:", "] raised"))
    if log.count("] received") != ended:
        return False
    time.sleep(0.3)  # and nothing new arrived meanwhile
    return worker.log_path.read_text(errors="replace") == log


def delivery_state(rx: Receiver, worker) -> str:
    statuses = list(WebhookDelivery.objects.values_list("status", "attempts", "next_attempt_at"))
    undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True).count()
    return (f"undispatched events {undispatched}, deliveries {statuses}, receiver "
            f"{len(rx.requests)} requests\n{worker.log_tail(3000)}")


def test_with_redis_stopped_checkout_commits_and_every_event_is_delivered_after(
        workers, webs, sweeper, drill_redis, e2e_services):
    with publishing_to(drill_redis.url), Receiver() as rx:
        broker_reset(drill_redis.url)
        endpoint_for(rx, "/orders", event_types=["order.created"])
        shop = build_storefront()
        worker = workers.start(broker_url=drill_redis.url)
        web = webs(database_url=e2e_services["database_url"], broker_url=drill_redis.url)
        # A web process that also keeps its cache and throttle counts there (REDIS_URL).
        cached = webs(database_url=e2e_services["database_url"], broker_url=drill_redis.url,
                      redis_url=drill_redis.url)
        cached.ok("POST", "/api/v1/carts", {}, key=shop.secret, status=201)
        bridge = connection_create(name="Headless shop", channel=shop.channel,
                                   scopes=list(BridgeScope.values))
        assert cached.bridge(bridge, "cart.create", {})[0] == 200
        web.checkout(shop.secret)
        wait_until(lambda: all_delivered(rx) and len(rx.requests) == 1, timeout=30,
                   what="the first order's webhook")
        # Stop Redis while the worker is idle: if it holds an unacknowledged task then, kombu
        # fails restoring it and the worker process exits ("Unrecoverable error: … 'hostname'")
        # — nothing is lost (acks_late, the sweeper), but a supervisor has to restart it
        # (README, "Scaling out"). This drill is about the web process and the outbox.
        wait_until(lambda: worker_idle(worker), timeout=10, what="the worker to be idle")

        drill_redis.kill()
        during = [web.checkout(shop.secret) for _ in range(2)]  # 201 each
        assert Order.objects.filter(number__in=during).count() == 2
        assert "could not wake" in web.log_tail(20000)
        # Where REDIS_URL is that Redis too, the API cannot count requests: 503, no change.
        carts = Cart.objects.count()
        assert_unavailable(*cached.call("POST", "/api/v1/carts", {}, key=shop.secret),
                           "a cart with REDIS_URL stopped")
        status, _, body = cached.bridge(bridge, "cart.create", {})
        assert (status, body["code"]) == (503, "replay_guard_unavailable"), body
        assert Cart.objects.count() == carts
        time.sleep(1)
        assert len(rx.requests) == 1  # nothing moves while the broker is down

        drill_redis.start()  # same port, empty: the wake-ups sent meanwhile are gone
        sweeper.until(lambda: all_delivered(rx), timeout=60,
                      what="the orders placed during the outage to be delivered",
                      describe=lambda: delivery_state(rx, worker))
        assert worker.proc.poll() is None, "the worker should reconnect, not die"
        received = [r.json["data"]["number"] for r in rx.requests]
        assert set(during) <= set(received) and len(received) == 3


# --- 3. PostgreSQL is stopped --------------------------------------------------------------------

def test_with_postgres_stopped_the_api_answers_503_then_recovers(private_postgres, webs,
                                                                 e2e_services):
    shop = build_storefront()  # committed, then copied into the private cluster
    private_postgres.copy_test_database()
    web = webs(database_url=private_postgres.url, broker_url=e2e_services["broker_url"])
    cart = web.ok("POST", "/api/v1/carts", {}, key=shop.secret, status=201)["id"]

    private_postgres.stop()
    for method, path, body in [("GET", "/api/v1/products", None),
                               ("POST", "/api/v1/carts", {}),
                               ("POST", f"/api/v1/carts/{cart}/lines",
                                {"sku": "COF-250", "quantity": 1}),
                               ("GET", f"/api/v1/carts/{cart}", None)]:
        assert_unavailable(*web.call(method, path, body, key=shop.secret),
                           f"{method} {path} with PostgreSQL stopped")
    status, headers, body = web.call("GET", "/readyz")
    assert status == 503 and body["failing"] == ["database"]

    private_postgres.start()

    def recovered():
        # A connection broken by the restart fails one request, as a 503 (README,
        # DB_CONN_HEALTH_CHECKS); then the process reconnects.
        status, headers, body = web.call("POST", f"/api/v1/carts/{cart}/lines",
                                         {"sku": "COF-250", "quantity": 1}, key=shop.secret)
        if status == 503:
            assert_unavailable(status, headers, body, "while reconnecting")
            return False
        assert status == 201, body
        return body

    wait_until(recovered, timeout=30, what="the API to answer again after the restart")
    assert web.call("GET", "/readyz")[0] == 200
    # Nothing of the refused calls was written: the one cart, with the one line added after.
    assert private_postgres.psql("orderflow", "-c", "SELECT count(*) FROM carts_cart") == "1"
    assert private_postgres.psql("orderflow", "-c", "SELECT count(*) FROM carts_cartline") \
        == "1"


# --- 4. a receiver that never answers ------------------------------------------------------------

def test_a_slow_receiver_times_out_and_does_not_hold_up_other_endpoints(workers):
    with Receiver(hold_seconds=40, default="timeout") as slow, Receiver() as fast:
        stuck = webhooks.webhook_endpoint_create(url=slow.url("/slow"), event_types=["drill.*"],
                                                 timeout_seconds=2)
        healthy = webhooks.webhook_endpoint_create(url=fast.url("/fast"),
                                                   event_types=["drill.*"])
        workers.start()
        ids = []
        for n in range(10):
            with transaction.atomic():
                ids.append(emit("drill.tick", {"n": n}).public_id)

        # The healthy endpoint gets every event while the slow one holds its first request.
        wait_until(lambda: len(fast.requests) == 10, timeout=30,
                   what="the healthy endpoint's ten deliveries")
        assert sorted(r.header("webhook-id") for r in fast.requests) == sorted(ids)
        # Each sent delivery is recorded once the worker's round ends (a round waits for its
        # slowest request, here at most the slow endpoint's 2 s timeout).
        wait_until(lambda: healthy.deliveries.filter(
            status=DeliveryStatus.SUCCEEDED).count() == 10, timeout=15,
            what="the healthy endpoint's ten deliveries recorded as succeeded")
        # The held request is given up after the endpoint's timeout (2 s), long before the
        # receiver would answer (40 s): a failed attempt, to be retried (the rest of its batch
        # is handed back untried).
        attempt = wait_until(
            lambda: WebhookAttempt.objects.filter(delivery__endpoint=stuck,
                                                  outcome=AttemptOutcome.RETRY).first(),
            timeout=20, what="the slow endpoint's attempt to time out")
        assert "timed out" in attempt.error and attempt.next_attempt_at is not None
        assert not stuck.deliveries.filter(status=DeliveryStatus.SUCCEEDED).exists()
        assert len(slow.requests) >= 1

        # And the worker goes on: a new event reaches the healthy endpoint at once.
        with transaction.atomic():
            emit("drill.tick", {"n": 10})
        wait_until(lambda: len(fast.requests) == 11, timeout=20,
                   what="a later event to reach the healthy endpoint")
        assert all(w.proc.poll() is None for w in workers.all)
