"""Real processes for the e2e tests: Celery workers on Redis against the test database, a
private redis-server that a test may stop, and a sweep loop standing in for beat.

A worker is ``celery -A orderflow worker`` (prefork, concurrency 2) in its own process group,
reading the pytest-django test database (``DATABASE_URL`` built from the test settings) and
the broker the test process publishes to (``settings.CELERY_BROKER_URL``, or a private
redis-server), so the ``transaction.on_commit`` wake-ups of the test process reach it.
Every worker is SIGKILLed with its whole group at teardown, whatever happened.

Without PostgreSQL or Redis these tests skip locally and fail in CI
(``ORDERFLOW_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
# What the worker and the test process both use: the local receiver is allowed, retries come
# after about a second, and a dead worker's lease runs out a few seconds after its timeout.
RETRY_SCHEDULE = [1, 1, 1]
LEASE_MARGIN = 3
WORKER_ENV = {
    "ORDERFLOW_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1",
    "ORDERFLOW_WEBHOOK_RETRY_SCHEDULE": ",".join(map(str, RETRY_SCHEDULE)),
    "ORDERFLOW_WEBHOOK_LEASE_MARGIN": str(LEASE_MARGIN),
}


def unavailable(reason: str):
    """A missing service: a failure in CI, a skip on a developer's machine."""
    if os.environ.get("ORDERFLOW_REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (ORDERFLOW_REQUIRE_SERVICES is set: required, not skipped)",
                    pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.2, tick=None,
               describe=None):
    """Poll ``predicate`` (calling ``tick`` before each look) until it is truthy; on time
    out, the failure message ends with ``describe()`` (what the state was)."""
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            state = f"\n{describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{state}")
        time.sleep(interval)


def redis_ping(url: str, timeout: float = 1.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def worker_database_url() -> str:
    """The pytest-django test database (settings hold its name once it is set up)."""
    db = settings.DATABASES["default"]
    auth = ""
    if db.get("USER"):
        auth = quote(db["USER"], safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        auth += "@"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def e2e_services(transactional_db):
    """PostgreSQL and a Redis broker, as the real processes need them; the test's own
    settings match the workers' (local receivers allowed, short retries and leases)."""
    if settings.DATABASES["default"]["ENGINE"] != "orderflow.postgresql":
        unavailable("the worker e2e tests need PostgreSQL (set DATABASE_URL): a worker "
                    "process cannot share the test's SQLite database")
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith(("redis://", "rediss://")):
        unavailable(f"the worker e2e tests need a Redis broker (CELERY_BROKER_URL), not "
                    f"{broker.split('://')[0]}://")
    if not redis_ping(broker):
        unavailable(f"Redis broker {broker} does not answer")
    broker_reset(broker)
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"],
                           ORDERFLOW_WEBHOOK_RETRY_SCHEDULE=RETRY_SCHEDULE,
                           ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS=LEASE_MARGIN):
        yield {"database_url": worker_database_url(), "broker_url": broker}


def broker_reset(url: str) -> None:
    """Empty the queue and the wake-up flags: tasks and flags left by other tests (which
    publish on commit with no worker running) must not reach or silence ours."""
    import redis

    from orderflow.celery import app
    from orderflow.wakeup import flags_clear_all

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        flags_clear_all(client)
    finally:
        client.close()
    with app.connection_for_write(url) as conn:
        app.control.purge(connection=conn)


def _reset_producer_pool(app) -> None:
    """Forget every broker connection (kombu's pools are global, keyed by connection):
    the next publish connects to the broker configured now."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(url: str):
    """The test process publishes to ``url``: the Django setting (read by the outbox's
    wake-up flag) and the Celery app's broker, with its connection pool started afresh.
    Celery prefers the ``CELERY_BROKER_URL`` environment variable to its configuration,
    so that is switched too."""
    from orderflow.celery import app

    before_conf = app.conf.get("broker_url")
    before_env = {name: os.environ.get(name)
                  for name in ("CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL")}
    with override_settings(CELERY_BROKER_URL=url):
        os.environ["CELERY_BROKER_URL"] = url
        os.environ.pop("CELERY_BROKER_WRITE_URL", None)
        app.conf.broker_url = url
        _reset_producer_pool(app)
        try:
            yield
        finally:
            for name, value in before_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            app.conf.broker_url = before_conf
            _reset_producer_pool(app)


class Worker:
    """``celery worker`` in its own process group, its output in a log file."""

    def __init__(self, *, broker_url: str, database_url: str, log_path: Path):
        self.log_path = log_path
        self.name = f"e2e-{uuid.uuid4().hex[:8]}@%h"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
        self.env.update(WORKER_ENV, DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url,
                        DJANGO_SETTINGS_MODULE="orderflow.settings", PYTHONUNBUFFERED="1")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Worker:
        cmd = [str(CELERY), "-A", "orderflow", "worker", "--pool", "prefork",
               "--concurrency", "2", "-Q", "celery", "-n", self.name, "--without-heartbeat",
               "--without-gossip", "--without-mingle", "-l", "info"]
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

        def ready():
            assert self.proc.poll() is None, f"the worker exited:\n{self.log_tail()}"
            return " ready." in self.log_path.read_text(errors="replace")

        try:
            wait_until(ready, timeout=timeout, what="the Celery worker to be ready",
                       interval=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None
        return self

    def kill(self) -> None:
        """SIGKILL the main process and its pool children at once."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        # Children reparented away from the group leader die with the group; wait for them.
        wait_until(lambda: not _group_alive(self.proc.pid), timeout=10,
                   what="the worker's processes to end", interval=0.05)
        self._log.close()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture
def workers(e2e_services, tmp_path):
    """``workers.start(broker_url=…)`` starts a worker (on the test broker by default); all
    of them are killed, with their groups, at teardown."""
    started: list[Worker] = []

    class Workers:
        def start(self, *, broker_url: str | None = None) -> Worker:
            worker = Worker(broker_url=broker_url or e2e_services["broker_url"],
                            database_url=e2e_services["database_url"],
                            log_path=tmp_path / f"worker-{len(started) + 1}.log")
            started.append(worker)
            return worker.start()

        @property
        def all(self) -> list[Worker]:
            return list(started)

    try:
        yield Workers()
    finally:
        for worker in started:
            worker.kill()  # a no-op for one already killed


class PrivateRedis:
    """A redis-server of this test alone on a fixed port: stop it, start it again."""

    def __init__(self, binary: str, log_path: Path):
        self.binary, self.log_path = binary, log_path
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self.proc.poll() is None and redis_ping(self.url), timeout=15,
                   what=f"redis-server on port {self.port}", interval=0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self._log.close()


@pytest.fixture
def private_redis(e2e_services, tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed: the broker-outage test starts its own")
    server = PrivateRedis(binary, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def sweeper(e2e_services):
    """Stands in for beat: ``sweeper.until(predicate)`` runs ``webhooks_sweep()`` in the test
    process every ``interval`` seconds until the predicate holds (beat would every 30 s)."""
    from bridges.webhooks import services as webhooks

    class Sweeper:
        def __init__(self):
            self.runs: list[dict] = []

        def sweep(self) -> dict:
            result = webhooks.webhooks_sweep()
            self.runs.append(result)
            return result

        def until(self, predicate, *, timeout: float, what: str, interval: float = 0.5,
                  describe=None):
            return wait_until(predicate, timeout=timeout, what=what, interval=interval,
                              tick=self.sweep, describe=describe)

        def total(self, key: str) -> int:
            return sum(run[key] for run in self.runs)

    return Sweeper()
