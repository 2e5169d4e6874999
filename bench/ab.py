"""Interleaved A/B of two code trees: the checkout flow's flows/s of the old code and the new.

``python bench/ab.py --old PATH --new PATH [--slices 10] [--seconds 5] [--clients 8]``
(see docs/benchmark.md, "Interleaved A/B of two code trees").

Method
------
1. **Databases.** Each side gets its own disposable PostgreSQL database on the same server
   (``orderflow_ab_a`` for the old tree, ``orderflow_ab_b`` for the new: the two versions'
   schemas may differ), migrated and loaded with the demo store by **its own** code
   (``manage.py migrate``, ``seed_demo --json``, demo stock raised to 10⁸), as
   ``bench/run.py`` prepares its database.
2. **Code.** Every process of a side (management commands, the query count, gunicorn) runs
   with ``cwd`` = its tree and ``PYTHONPATH`` = its tree, so its own packages shadow the
   editable install of the venv; each side checks where ``orderflow`` and ``orders`` are
   imported from and the run stops if that is not its tree (``imports_from`` in the JSON).
3. **Queries.** Each tree's own ``bench/queries.py`` counts the queries per request of one
   checkout flow in process (skipped, with the reason in the JSON, when it fails).
4. **Servers.** One gunicorn per side (``bench.settings`` of its tree, 2 sync workers,
   its own port on 127.0.0.1, the tree's own ``gunicorn.conf.py`` if it has one, as
   ``make bench`` does); both are warmed up with untimed flows.
5. **Slices.** Slice *i* loads one side, then the other, for ``--seconds`` each, with the
   checkout flow of the **new** tree's ``bench/flow.py`` through its ``bench/loadgen.py``
   (the same load for both sides); only one side is loaded at a time and the order is
   swapped every other slice (old, new / new, old / …) so a linear drift of the machine
   cancels out. Slice *i*'s two rates are pair *i*.
6. **Report.** One JSON line on stdout (progress on stderr): see :func:`summarize` and
   docs/benchmark.md. Both databases are dropped at the end unless ``--keep-db``.

Everything is bounded: each command has a timeout, each phase stops at its deadline, and a
watchdog (``--timeout``, by default generous for the slices asked for) ends the run.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HOST = "127.0.0.1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WORKERS = 2
SETTINGS = "bench.settings"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DB_PREFIX = "orderflow_ab"
THRESHOLD = 0.85              # new flows/s ≥ this × old flows/s
ERROR_REPORT_THRESHOLD = 0.01  # above this failure rate in a slice, warn with the first body
BUSY_MACHINE_CORES = 0.25     # "other" CPU above this during a slice: another program ran
COMMAND_TIMEOUT = 600.0       # seconds, any one management command
START_TIMEOUT = 90.0          # seconds, gunicorn until /healthz answers 200
SETUP_ALLOWANCE = 900.0       # seconds the watchdog allows beyond the slices themselves


def log(message: str) -> None:
    print(f"[ab] {message}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    """The comparison could not run: exit non-zero."""


class Timeout(Exception):
    """The watchdog fired."""


# -- the summary (pure: tested in tests/bench/test_ab.py) ------------------------------------

def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def summarize(old: list[float], new: list[float], *, first: list[str] | None = None,
              threshold: float = THRESHOLD) -> dict:
    """Pair slice *i* of the old side with slice *i* of the new (flows/s each).

    ``first`` names the side loaded first in each slice. The overall ratio is the new side's
    mean over the old side's mean; ``ratio_median_of_pairs`` is the median of the pairs'
    ratios (less moved by one disturbed slice); ``new_ahead`` counts the pairs where the new
    side was faster.
    """
    if len(old) != len(new):
        raise ValueError(f"{len(old)} old slices but {len(new)} new ones")
    pairs = []
    for index, (old_rate, new_rate) in enumerate(zip(old, new, strict=True)):
        pair = {"slice": index + 1, "old": old_rate, "new": new_rate,
                "ratio": _ratio(new_rate, old_rate)}
        if first is not None:
            pair["first"] = first[index]
        pairs.append(pair)
    ratios = [pair["ratio"] for pair in pairs if pair["ratio"] is not None]

    def side(values: list[float]) -> dict:
        return {"flows_per_s": list(values),
                "mean": round(statistics.fmean(values), 2) if values else None,
                "median": round(statistics.median(values), 2) if values else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None}

    old_side, new_side = side(old), side(new)
    overall = _ratio(new_side["mean"], old_side["mean"])
    return {
        "old": old_side,
        "new": new_side,
        "pairs": pairs,
        "ratio": overall,
        "ratio_of_medians": _ratio(new_side["median"], old_side["median"]),
        "ratio_median_of_pairs": round(statistics.median(ratios), 4) if ratios else None,
        "ratio_range": [min(ratios), max(ratios)] if ratios else None,
        "new_ahead": sum(1 for r in ratios if r > 1),
        "pair_count": len(pairs),
        "threshold": threshold,
        "meets_threshold": overall is not None and overall >= threshold,
    }


def slice_order(index: int) -> tuple[str, str]:
    """Which side is loaded first in slice ``index`` (0-based): old, new / new, old / …"""
    return ("old", "new") if index % 2 == 0 else ("new", "old")


# -- configuration --------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/ab.py", description=__doc__.split("\n\n")[0],
        epilog=f"Databases: {DB_PREFIX}_a (old) and {DB_PREFIX}_b (new) on --pg-server, "
               "dropped and recreated, dropped at the end unless --keep-db.")
    parser.add_argument("--old", required=True, type=Path, help="the old code tree (side A)")
    parser.add_argument("--new", required=True, type=Path,
                        help="the new code tree (side B); its bench/flow.py and "
                             "bench/loadgen.py drive both sides")
    parser.add_argument("--slices", type=int, default=10, help="pairs of phases (10)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="length of each side's phase in a slice (5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="untimed flow seconds per side before the slices (3)")
    parser.add_argument("--old-python", default=sys.executable,
                        help="interpreter of the old side (default: this one)")
    parser.add_argument("--new-python", default=sys.executable,
                        help="interpreter of the new side (default: this one)")
    parser.add_argument("--pg-server", default=None,
                        help="PostgreSQL server URL (loopback only); default DATABASE_URL's "
                             f"server when that is PostgreSQL, else {DEFAULT_SERVER}")
    parser.add_argument("--db-prefix", default=DB_PREFIX,
                        help=f"databases <prefix>_a and <prefix>_b ({DB_PREFIX})")
    parser.add_argument("--keep-db", action="store_true",
                        help="leave both databases in place after the run")
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop the whole run after this many seconds (default: the "
                             f"slices' time × 2 + {SETUP_ALLOWANCE:g})")
    args = parser.parse_args(argv)
    if args.slices < 1 or args.seconds <= 0 or args.clients < 1 or args.warmup < 0:
        parser.error("--slices, --seconds and --clients must be positive")
    for name in ("old", "new"):
        tree = getattr(args, name).resolve()
        if not (tree / "manage.py").is_file() or not (tree / "bench" / "settings.py").is_file():
            parser.error(f"--{name} {tree}: no manage.py and bench/settings.py there")
        setattr(args, name, tree)
    if args.timeout is None:
        args.timeout = 2 * args.slices * args.seconds * 2 + SETUP_ALLOWANCE
    return args


def server_url(explicit: str | None, env: dict[str, str]) -> str:
    url = explicit
    if not url:
        url = DEFAULT_SERVER
        if env.get("DATABASE_URL") and urlsplit(env["DATABASE_URL"]).scheme in {
                "postgres", "postgresql", "pgsql"}:
            url = env["DATABASE_URL"]
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise HarnessError(f"not a PostgreSQL URL: {url!r}")
    if (parts.hostname or "") not in LOOPBACK:
        raise HarnessError(f"the database server must be on a loopback address, got "
                           f"{parts.hostname!r}")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def recreate_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True,
                             connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise HarnessError(f"could not recreate the database {name}: {exc}") from exc


def drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(url, "postgres"), autocommit=True,
                         connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def git_description(tree: Path) -> str:
    """``rev-parse --short HEAD``, plus ``+dirty`` when the tree has uncommitted changes
    (tracked or untracked files)."""
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=30, check=True)
        status = subprocess.run(["git", "-C", str(tree), "status", "--porcelain"],
                                capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({type(exc).__name__})"
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


# -- one side ------------------------------------------------------------------------------

class Side:
    """One code tree: its database, environment, commands and gunicorn."""

    def __init__(self, name: str, tree: Path, python: str, db_url: str, db_name: str,
                 tmp: Path):
        self.name, self.tree, self.python = name, tree, python
        self.db_url, self.db_name = db_url, db_name
        self.tmp = tmp / name
        (self.tmp / "var").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHONPATH", "PYTHONHOME"}}
        env.update(DATABASE_URL=db_url, ORDERFLOW_VAR_DIR=str(self.tmp / "var"),
                   DEBUG="false", DJANGO_SETTINGS_MODULE=SETTINGS, PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(tree))
        env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
        self.env = env
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.secret: str | None = None
        self.imports_from: dict[str, str] = {}
        self.queries: dict | None = None
        self.queries_error: str | None = None
        self.git = git_description(tree)

    def log(self, message: str) -> None:
        log(f"{self.name}: {message}")

    def run(self, args: list[str], *, stdin: str | None = None,
            timeout: float = COMMAND_TIMEOUT) -> str:
        try:
            result = subprocess.run([self.python, *args], cwd=self.tree, env=self.env,
                                    input=stdin, capture_output=True, text=True,
                                    timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{self.name}: {' '.join(args[:3])} … took over "
                               f"{timeout:g} s") from exc
        if result.returncode != 0:
            raise HarnessError(f"{self.name}: {' '.join(args[:3])} … failed "
                               f"({result.returncode}):\n{result.stdout[-3000:]}\n"
                               f"{result.stderr[-3000:]}")
        return result.stdout

    def check_imports(self) -> None:
        """The side's code is its tree's: not the venv's editable install of another."""
        out = self.run(["-c", "import json, orderflow, orders, bench; print(json.dumps("
                        "{m.__name__: m.__file__ for m in (orderflow, orders, bench)}))"],
                       timeout=60)
        self.imports_from = json.loads(out.strip().splitlines()[-1])
        for module, path in self.imports_from.items():
            if not Path(path).resolve().is_relative_to(self.tree):
                raise HarnessError(f"{self.name}: {module} is imported from {path}, not from "
                                   f"{self.tree}")
        self.log(f"imports its code from {self.tree}")

    def prepare(self, server: str) -> None:
        self.log(f"database {self.db_name}: recreating, migrating, loading the demo store")
        recreate_database(server, self.db_name)
        self.run(["manage.py", "migrate", "--noinput", "-v0"])
        out = self.run(["manage.py", "seed_demo", "--json"])
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise HarnessError(f"{self.name}: seed_demo --json printed no JSON:\n{out[-2000:]}")
        try:
            self.secret = json.loads(lines[-1])["storefront"]["ecommerce_secret"]
        except (KeyError, TypeError, ValueError) as exc:
            raise HarnessError(f"{self.name}: no storefront.ecommerce_secret in seed_demo's "
                               f"JSON: {lines[-1][:500]}") from exc
        self.run(["manage.py", "shell", "-c",
                  "from catalog.models import Product; "
                  "Product.objects.update(stock_on_hand=10**8)"])

    def count_queries(self) -> None:
        """The tree's own bench/queries.py; on failure the reason is kept, not raised."""
        self.log("counting queries per request (its bench/queries.py, in process)")
        try:
            out = self.run(["bench/queries.py"], stdin=self.secret + "\n", timeout=300)
            self.queries = json.loads(out.strip().splitlines()[-1])
        except (HarnessError, ValueError, IndexError) as exc:
            self.queries_error = str(exc)[-1500:]
            self.log(f"query count skipped: {self.queries_error[:300]}")

    def start(self) -> None:
        cmd = [self.python, "-m", "gunicorn", "orderflow.wsgi:application",
               "--workers", str(WORKERS), "--bind", f"{HOST}:{self.port}",
               "--graceful-timeout", "5", "--timeout", "120"]
        self.log(f"starting gunicorn ({WORKERS} workers) on {HOST}:{self.port}")
        self._log = open(self.tmp / "gunicorn.log", "w")
        self.proc = subprocess.Popen(cmd, cwd=self.tree, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"{self.name}: gunicorn exited ({self.proc.returncode}):\n"
                                   f"{self.log_tail()}")
            last = self._healthz()
            if last and last[0] == 200:
                return
            time.sleep(0.3)
        raise HarnessError(f"{self.name}: /healthz did not answer 200 within "
                           f"{START_TIMEOUT:g} s (last: {last}):\n{self.log_tail()}")

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
            return (self.tmp / "gunicorn.log").read_text()[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.log("stopping gunicorn")
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        finally:
            if self._log:
                self._log.close()


def process_times() -> dict[int, tuple[str, int, float]]:
    """``pid: (comm, ppid, CPU seconds)`` of every process (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return found


def busiest_others(before: dict, after: dict, elapsed: float, exclude: set[int],
                   top: int = 3) -> list[dict]:
    """The processes outside the measured groups that took the most CPU between two
    :func:`process_times` snapshots: who the ``other`` cores were."""
    used = []
    for pid, (comm, ppid, seconds) in after.items():
        if pid in exclude or ppid in exclude or comm == "postgres":
            continue
        delta = seconds - before.get(pid, (comm, ppid, 0.0))[2]
        if delta > 0:
            used.append((delta, pid, comm))
    used.sort(reverse=True)
    return [{"pid": pid, "comm": comm, "cores": round(delta / elapsed, 2)}
            for delta, pid, comm in used[:top] if elapsed and delta / elapsed >= 0.01]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# -- the load --------------------------------------------------------------------------------

def load_bench_modules(tree: Path):
    """``bench.flow``, ``bench.loadgen`` and ``bench.cpu`` of ``tree`` (imported with the
    tree first on the path: flow.py imports the tree's request signing)."""
    sys.path.insert(0, str(tree))
    modules = [importlib.import_module(f"bench.{name}") for name in ("flow", "loadgen", "cpu")]
    for module in modules:
        if not Path(module.__file__).resolve().is_relative_to(tree):
            raise HarnessError(f"{module.__name__} came from {module.__file__}, not {tree}")
    return modules


class Load:
    """The checkout flow (the new tree's bench/flow.py) through its bench/loadgen.py."""

    def __init__(self, args, flow, loadgen, cpu):
        self.args, self.flow, self.loadgen, self.cpu = args, flow, loadgen, cpu
        self.warnings: list[str] = []

    def worker(self, index: int, session) -> None:
        flow = self.flow
        while not session.expired():
            step = flow.create_step()
            cart = session.call(step.label, step.method, step.path, step.body,
                                expect=step.expect, parse=True)
            if not cart:
                continue
            for step in flow.flow_steps(cart["id"]):
                if session.expired() or not session.call(step.label, step.method, step.path,
                                                         step.body, expect=step.expect):
                    break
            else:
                session.recorder.counters["flows"] += 1

    def run(self, side: Side, name: str, seconds: float, *, timed: bool = True):
        headers = {"Authorization": f"Bearer {side.secret}",
                   "Content-Type": "application/json", "Accept": "application/json"}
        probe = self.cpu.CpuMeter(side.proc.pid) if timed else None
        before = process_times() if timed else {}
        result = self.loadgen.run_phase(name, host=HOST, port=side.port, headers=headers,
                                        clients=self.args.clients, seconds=seconds,
                                        worker=self.worker, cpu_probe=probe)
        if timed:
            result.others = busiest_others(before, process_times(), result.elapsed,
                                           {side.proc.pid, os.getpid()})
        rate = result.error_rate()
        if rate > ERROR_REPORT_THRESHOLD:
            failure = result.recorder.first_failure
            message = (f"{name}: {rate:.1%} of requests failed ({dict(result.recorder.errors)})")
            self.warnings.append(message)
            log(message)
            if failure:
                log(f"first failure: {failure.label} HTTP {failure.status}:\n{failure.body}")
        if timed and result.cpu.get("other_cores", 0.0) > BUSY_MACHINE_CORES:
            message = (f"{name}: {result.cpu['other_cores']} cores busy with other work "
                       f"(busiest: {getattr(result, 'others', [])}): this slice is "
                       "pessimistic")
            self.warnings.append(message)
            log(message)
        return result


def slice_record(result) -> dict:
    flows = result.recorder.counters["flows"]
    elapsed = result.elapsed
    cpu = result.cpu
    per_flow = {key.removesuffix("_cores"): round(cpu[key] * elapsed * 1000 / flows, 2)
                for key in ("server_cores", "postgres_cores", "loadgen_cores", "other_cores")
                if key in cpu} if flows else {}
    return {"flows_per_s": round(flows / elapsed, 2) if elapsed else 0.0, "flows": flows,
            "requests": result.total_ok(), "errors": result.total_errors(),
            "elapsed_s": round(elapsed, 2), "cpu_cores": cpu, "cpu_ms_per_flow": per_flow,
            "busiest_others": getattr(result, "others", [])}


def side_cpu(records: list[dict]) -> dict:
    """CPU milliseconds per flow over all slices of a side (time-weighted)."""
    flows = sum(r["flows"] for r in records)
    if not flows:
        return {}
    out = {}
    for key in ("server", "postgres", "loadgen", "other"):
        total = sum(r["cpu_cores"].get(f"{key}_cores", 0.0) * r["elapsed_s"] for r in records)
        out[key] = round(total * 1000 / flows, 2)
    return out


# -- main ------------------------------------------------------------------------------------

def interrupt(signum, frame):
    raise KeyboardInterrupt


def watchdog(signum, frame):
    raise Timeout


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(max(1, int(args.timeout)))
    tmp = Path(tempfile.mkdtemp(prefix="orderflow-ab-"))
    sides: dict[str, Side] = {}
    server = None
    report = None
    try:
        server = server_url(args.pg_server, dict(os.environ))
        flow, loadgen, cpu = load_bench_modules(args.new)
        for name, suffix, python in (("old", "a", args.old_python),
                                     ("new", "b", args.new_python)):
            tree = getattr(args, name)
            db_name = f"{args.db_prefix}_{suffix}"
            sides[name] = Side(name, tree, python, with_database(server, db_name), db_name, tmp)
            log(f"{name}: {tree} at {sides[name].git}, database {db_name}")
        for side in sides.values():
            side.check_imports()
            side.prepare(server)
            side.count_queries()
        for side in sides.values():
            side.start()
        load = Load(args, flow, loadgen, cpu)
        for side in sides.values():
            if args.warmup:
                side.log(f"warming up ({args.warmup:g} s of untimed flows)")
                warm = load.run(side, f"warmup-{side.name}", args.warmup, timed=False)
                if not warm.recorder.counters["flows"]:
                    failure = warm.recorder.first_failure
                    raise HarnessError(f"{side.name}: no flow completed in the warm-up"
                                       + (f"; first failure: {failure.label} HTTP "
                                          f"{failure.status}: {failure.body[:2000]}"
                                          if failure else ""))
        records: dict[str, list[dict]] = {"old": [], "new": []}
        first: list[str] = []
        for index in range(args.slices):
            order = slice_order(index)
            first.append(order[0])
            for name in order:
                result = load.run(sides[name], f"slice-{index + 1}-{name}", args.seconds)
                record = slice_record(result)
                records[name].append(record)
                log(f"slice {index + 1}/{args.slices} {name}: {record['flows_per_s']} "
                    f"flows/s ({record['errors']} errors; cpu {result.cpu})")
            old_rate = records["old"][-1]["flows_per_s"]
            new_rate = records["new"][-1]["flows_per_s"]
            log(f"pair {index + 1}: new/old = {_ratio(new_rate, old_rate)}")
        summary = summarize([r["flows_per_s"] for r in records["old"]],
                            [r["flows_per_s"] for r in records["new"]], first=first)
        for side in sides.values():
            side.stop()
        report = {
            **summary,
            "order": "slice i loads old then new when i is odd (1-based), new then old when "
                     "even",
            "slices": args.slices, "seconds": args.seconds, "clients": args.clients,
            "warmup_s": args.warmup,
            "server": {"gunicorn_workers": WORKERS, "worker_class": "sync",
                       "settings": SETTINGS, "cpu_cores": os.cpu_count()},
            "load_from": str(args.new),
            "warnings": load.warnings,
        }
        for name, side in sides.items():
            report[name].update({
                "path": str(side.tree), "git": side.git, "python": side.python,
                "imports_from": side.imports_from, "database": side.db_name,
                "queries_per_request": side.queries,
                "queries_error": side.queries_error,
                "errors": sum(r["errors"] for r in records[name]),
                "cpu_ms_per_flow": side_cpu(records[name]),
                "slices": records[name],
            })
        skipped = [name for name, side in sides.items() if side.queries is None]
        if skipped:
            report["warnings"].append(f"query count skipped for {', '.join(skipped)} "
                                      "(see queries_error)")
        log(f"new/old = {summary['ratio']} (median of pairs {summary['ratio_median_of_pairs']},"
            f" new ahead in {summary['new_ahead']} of {summary['pair_count']}); threshold "
            f"{THRESHOLD}: {'met' if summary['meets_threshold'] else 'NOT met'}")
    except HarnessError as exc:
        log(f"error: {exc}")
        return 1
    except Timeout:
        log(f"error: the run took over --timeout {args.timeout:g} s; stopped")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        signal.alarm(0)
        for side in sides.values():
            try:
                side.stop()
            except Exception as exc:  # cleanup must go on
                log(f"{side.name}: could not stop gunicorn: {exc}")
        if server is not None and not args.keep_db:
            for side in sides.values():
                try:
                    drop_database(server, side.db_name)
                except Exception as exc:
                    log(f"could not drop {side.db_name}: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    report["kept_db"] = args.keep_db
    print(json.dumps(report, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
