"""The benchmark's database and server: which PostgreSQL database the run uses (always a
disposable one), its creation and removal, pgbench's database and runs, the application's
preparation (migrate, demo store, stock) and in-process query counts, and the gunicorn process.

Used by ``bench/run.py`` (see its docstring for the method); also the harness's ``log`` and
``HarnessError``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.cpu import CpuMeter

ROOT = Path(__file__).resolve().parents[1]

HOST = "127.0.0.1"
WORKERS = 2
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "orderflow_bench"
PGBENCH_SUFFIX = "_pgbench"  # pgbench's database: the benchmark database's name + this
PG_SCHEMES = {"postgres", "postgresql", "pgsql"}
PGBENCH_REAP_WAIT = 0.5       # seconds after pgbench before its CPU is read (see run_pgbench)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    """The benchmark could not run (setup, server start, …): exit non-zero."""


# -- the benchmark database ---------------------------------------------------------------------

def database_url(env: dict[str, str]) -> str:
    """The URL of the (disposable) benchmark database.

    Never the developer's own database: DATABASE_URL only chooses the server.
    """
    if env.get("BENCH_DATABASE_URL"):
        url = env["BENCH_DATABASE_URL"]
    else:
        server = DEFAULT_SERVER
        if env.get("DATABASE_URL") and urlsplit(env["DATABASE_URL"]).scheme in PG_SCHEMES:
            server = env["DATABASE_URL"]
        parts = urlsplit(server)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{DB_NAME}", parts.query, ""))
    parts = urlsplit(url)
    if parts.scheme not in PG_SCHEMES or not parts.path.strip("/"):
        raise HarnessError(f"the benchmark needs a PostgreSQL database URL, got {url!r}")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.strip("/")


# -- PostgreSQL -------------------------------------------------------------------------------

def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    try:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise HarnessError(f"could not recreate the database {name}: {exc}") from exc


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(database_name(url))))


def libpq_args(url: str) -> tuple[list[str], dict[str, str]]:
    """Command-line connection options and environment for pgbench."""
    parts = urlsplit(url)
    args = ["-h", parts.hostname or HOST, "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", parts.username]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return args, env


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    if candidates:
        return str(candidates[-1])
    raise HarnessError("pgbench not found (install postgresql-client / postgresql-contrib)")


def init_pgbench(url: str) -> None:
    log(f"pgbench: initialising {database_name(url)} (scale 10)")
    recreate_database(url)
    conn_args, env = libpq_args(url)
    run([pgbench_binary(), "-i", "-s", "10", "-q", *conn_args, database_name(url)], env=env)


def run_pgbench(url: str, seconds: int) -> dict:
    """One timed pgbench run on the database :func:`init_pgbench` prepared."""
    conn_args, env = libpq_args(url)
    log(f"pgbench: tpcb-like, 4 clients, 2 threads, {seconds} s")
    meter = CpuMeter()
    before, started = meter.snapshot(), time.perf_counter()
    out = run([pgbench_binary(), "-c", "4", "-j", "2", "-T", str(seconds), "-b", "tpcb-like",
               *conn_args, database_name(url)], env=env)
    elapsed = time.perf_counter() - started
    # pgbench's backends end as it exits; their CPU is counted once the postmaster has
    # reaped them (cpu.py), which may be just after pgbench returns.
    time.sleep(PGBENCH_REAP_WAIT)
    cpu = meter.report(before, elapsed)
    log(f"pgbench: cpu {cpu}")
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise HarnessError(f"could not read the tps from pgbench's output:\n{out}")
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": float(match.group(1)),
            "latency_avg_ms": float(latency.group(1)) if latency else None,
            "cpu_cores": cpu}


# -- the application ----------------------------------------------------------------------------

def run(cmd: list[str], *, env: dict[str, str], stdin: str | None = None) -> str:
    """Run a command to completion; its stdout, or HarnessError with its output."""
    result = subprocess.run(cmd, cwd=ROOT, env=env, input=stdin, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise HarnessError(f"{' '.join(cmd[:4])} … failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def app_env(db_url: str, var_dir: Path, settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    env.update(DATABASE_URL=db_url, ORDERFLOW_VAR_DIR=str(var_dir), DEBUG="false",
               DJANGO_SETTINGS_MODULE=settings, PYTHONUNBUFFERED="1")
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    return env


def prepare_application(env: dict[str, str]) -> dict:
    """Migrate, seed the demo store, raise its stock; the demo credentials."""
    manage = [sys.executable, "manage.py"]
    log("migrating")
    run([*manage, "migrate", "--noinput", "-v0"], env=env)
    log("loading the demo store")
    out = run([*manage, "seed_demo", "--json"], env=env)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise HarnessError(f"seed_demo --json printed no JSON:\n{out[-2000:]}")
    creds = json.loads(lines[-1])
    run([*manage, "shell", "-c",
         "from catalog.models import Product; Product.objects.update(stock_on_hand=10**8)"],
        env=env)
    try:
        creds["storefront"]["ecommerce_secret"]
    except (KeyError, TypeError) as exc:
        raise HarnessError(f"no storefront.ecommerce_secret in seed_demo's JSON: {creds}") \
            from exc
    return creds


def count_queries(env: dict[str, str], secret: str) -> dict[str, int] | None:
    log("counting queries per request (one flow, in process)")
    try:
        out = run([sys.executable, "bench/queries.py"], env=env, stdin=secret + "\n")
        return json.loads(out.strip().splitlines()[-1])
    except (HarnessError, ValueError, IndexError) as exc:
        log(f"query count skipped: {exc}")
        return None


def count_bridge_queries(env: dict[str, str], secret: str, bridge: dict) -> dict | None:
    log("counting queries per request of the bridge comparison (in process)")
    try:
        out = run([sys.executable, "bench/queries.py", "--bridge"], env=env,
                  stdin=f"{secret}\n{json.dumps(bridge)}\n")
        return json.loads(out.strip().splitlines()[-1])
    except (HarnessError, ValueError, IndexError) as exc:
        log(f"bridge query count skipped: {exc}")
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group; ``stop`` ends the whole group."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "orderflow.wsgi:application",
               "--workers", str(WORKERS), "--bind", f"{HOST}:{self.port}",
               "--graceful-timeout", "5", "--timeout", "120"]
        log(f"starting gunicorn ({WORKERS} workers) on {HOST}:{self.port}")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            last = self._healthz()
            if last and last[0] == 200:
                return
            time.sleep(0.3)
        raise HarnessError(f"/healthz did not answer 200 within {timeout:.0f} s "
                           f"(last: {last}):\n{self.log_tail()}")

    def _healthz(self):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")[:500]
        except OSError:
            return None
        finally:
            conn.close()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        log("stopping gunicorn")
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        finally:
            self._log.close()
