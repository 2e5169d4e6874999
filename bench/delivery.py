"""Webhook delivery benchmark: one Celery worker against a plain HTTP client loop.

Run by ``bench/run.py --mode delivery`` (and in ``--mode all``) as ``python bench/delivery.py``
with the benchmark's environment (``DATABASE_URL`` of a migrated benchmark database); prints
one JSON object on stdout, progress on stderr. ``python bench/delivery.py --receiver`` is the
receiver process it starts.

1. **Broker.** A private ``redis-server`` on a free port (no persistence), so no other
   worker on the machine can take our tasks and nothing of anyone else is purged; without the
   ``redis-server`` binary, ``CELERY_BROKER_URL`` is used after purging its queue.
2. **Receiver.** A separate process (asyncio, HTTP/1.1 keep-alive) that answers every POST
   ``200 ok`` and records its arrival time (``time.time()`` once the whole request is read)
   with the ``webhook-id`` and ``x-orderflow-attempt`` headers.
3. **Worker.** One ``celery -A orderflow worker --pool prefork --concurrency 2`` (log level
   INFO, as in the Procfile), and one endpoint subscribed to ``order.*`` with the defaults
   (parallel ordering, 10 s timeout). The receiver's address is allow-listed.
4. **Phases** (after an untimed warm-up of both sides):

   * ``floor``: a urllib3 ``HTTPConnectionPool`` (keep-alive, as the worker's) POSTs the same
     bytes the worker sends (bodies and signed headers built by the engine's own
     ``webhook_body``/``webhook_headers``), one after another → posts/s. Measured before and
     after ``max``; the mean is the floor.
   * ``max``: N events (``--events``) inserted with ``emit_many`` in one transaction; the
     clock starts when it commits (its wake-up reaches the dispatcher through the broker as in
     production) and stops at the last arrival → deliveries/s, and its ratio to the floor
     (budget ≥ 0.25).
   * ``latency``: events produced at half the ``max`` rate for ``--seconds``, each in its
     own transaction (four paced producer threads): by default the outbox row ``emit()``
     writes, inserted with plain SQL, then the same wake-up; ``--producer orm`` through
     ``emit()``. The commit time of each is taken right after COMMIT returned (an
     ``on_commit`` callback for ``orm``) and before the wake-up is published. Delay =
     receiver arrival - commit → p50/p95/p99 (budget p99 < 1 s). Events still missing 60 s
     after the last one count as failures.

   A sweeper thread runs ``webhooks_sweep()`` every 30 s throughout, as beat does.
5. **CPU.** Per phase, cores used by the worker (main process and pool), PostgreSQL, the
   receiver, this process (producers, floor client) and the rest of the machine (``other``).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
RATIO_BUDGET = 0.25     # deliveries/s ≥ this × the plain client loop's posts/s
P99_BUDGET_MS = 1000.0  # at half the max rate, p99 of commit → receiver arrival
LATENCY_LOAD = 0.5      # the latency phase's rate as a fraction of the max rate
PRODUCERS = 4           # paced producer threads in the latency phase (each event is due at
                        # start + i / rate; a late producer catches up, see producer_late_events)
SWEEP_INTERVAL = 30.0   # seconds, as CELERY_BEAT_SCHEDULE["sweep-webhooks"]
DRAIN_TIMEOUT = 60.0    # seconds to wait for the last deliveries of a phase
TASK_LINE = re.compile(r"Task (\S+)\[[^\]]+\] succeeded in ([\d.]+)s: (.*)")


def log(message: str) -> None:
    print(f"[bench:delivery] {message}", file=sys.stderr, flush=True)


# --- the receiver process ----------------------------------------------------------------------

class _ReceiverProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server: Content-Length bodies, keep-alive, pipelining-safe."""

    records: list[tuple[float, str, str]] = []

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            method, path = lines[0].split(" ", 2)[:2]
            self.answer(method, path, headers)

    def answer(self, method: str, path: str, headers: dict[str, str]) -> None:
        if path.startswith("/_"):
            if path == "/_count":
                body = json.dumps({"count": len(self.records)}).encode()
            elif path == "/_records":
                body = json.dumps(self.records).encode()
            elif path == "/_reset":
                _ReceiverProtocol.records = []
                body = b"{}"
            else:
                body = b"{}"
        else:
            self.records.append((time.time(), headers.get("webhook-id", ""),
                                 headers.get("x-orderflow-attempt", "")))
            body = b"ok"
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                             b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        if headers.get("connection", "").lower() == "close":
            self.transport.close()


def receiver_main() -> None:
    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_ReceiverProtocol, HOST, 0, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve())


class ReceiverProcess:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, __file__, "--receiver"], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.port = int(self.proc.stdout.readline())

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def _get(self, path: str):
        with urllib.request.urlopen(self.url(path), timeout=30) as response:
            return json.loads(response.read())

    def count(self) -> int:
        return self._get("/_count")["count"]

    def records(self) -> list[tuple[float, str, str]]:
        return [tuple(r) for r in self._get("/_records")]

    def reset(self) -> None:
        self._get("/_reset")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- processes around the worker ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class Broker:
    """A private redis-server when the binary is there, else the configured broker."""

    def __init__(self, tmp: Path):
        self.proc = None
        binary = shutil.which("redis-server")
        if binary is None:
            self.url = os.environ.get("CELERY_BROKER_URL", "")
            if not self.url.startswith(("redis://", "rediss://")):
                raise SystemExit("the delivery benchmark needs redis-server or a Redis "
                                 "CELERY_BROKER_URL")
            self.kind = "configured"
            return
        port = free_port()
        self.url = f"redis://{HOST}:{port}/0"
        self.kind = "private redis-server"
        self._log = open(tmp / "redis.log", "w")
        self.proc = subprocess.Popen([binary, "--port", str(port), "--bind", HOST, "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 15
        while not redis_ping(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"redis-server did not start on port {port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Worker:
    """``celery worker`` (prefork, concurrency 2) in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        celery = Path(sys.executable).with_name("celery")
        cmd = [str(celery), "-A", "orderflow", "worker", "--pool", "prefork",
               "--concurrency", "2", "-Q", "celery", "-n", f"bench-{os.getpid()}@%h",
               "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"]
        self._log = open(log_path, "w")
        env = {**env, "PYTHONUNBUFFERED": "1"}  # log lines as they happen (task_stats)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while " ready." not in log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Celery worker did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def mark(self) -> int:
        return self.log_path.stat().st_size

    def task_stats(self, since: int, elapsed: float) -> dict:
        """What the worker's tasks did since ``mark()``, from its INFO log: per task name,
        how many ran, the seconds they ran (``busy_share``: of the two pool processes'
        time over ``elapsed``) and, for deliveries, how many found nothing to claim."""
        with open(self.log_path, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode(errors="replace")
        stats: dict[str, dict] = {}
        for name, seconds, result in TASK_LINE.findall(text):
            short = name.rsplit(".", 1)[-1]
            entry = stats.setdefault(short, {"tasks": 0, "seconds": 0.0})
            entry["tasks"] += 1
            entry["seconds"] += float(seconds)
            if short == "deliver_webhooks_task":
                try:
                    counts = ast.literal_eval(result.strip())
                except (ValueError, SyntaxError):
                    continue
                sent = sum(v for k, v in counts.items() if k != "more")
                entry["sent"] = entry.get("sent", 0) + sent
                entry["empty"] = entry.get("empty", 0) + (sent == 0)
        for entry in stats.values():
            entry["seconds"] = round(entry["seconds"], 2)
        busy = sum(entry["seconds"] for entry in stats.values())
        return {"tasks": stats, "busy_share": round(busy / (2 * elapsed), 2) if elapsed else None}

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._log.close()


class Cpu:
    """Cores used per phase by the worker, PostgreSQL, the receiver, us and the rest."""

    def __init__(self, worker_pid: int, receiver_pid: int):
        from bench.cpu import CpuMeter

        self.meter = CpuMeter(worker_pid)
        self.receiver_pid = receiver_pid

    def _receiver_seconds(self) -> float:
        from bench.cpu import own_seconds, read_stat

        stat = read_stat(self.receiver_pid)
        return own_seconds(stat[1]) if stat else 0.0

    def start(self):
        return self.meter.snapshot(), self._receiver_seconds(), time.perf_counter()

    def report(self, started) -> dict[str, float]:
        snapshot, receiver, t0 = started
        elapsed = time.perf_counter() - t0
        cpu = self.meter.report(snapshot, elapsed)
        if not cpu:
            return {}
        receiver_cores = round((self._receiver_seconds() - receiver) / elapsed, 2)
        return {
            "worker_cores": cpu["server_cores"],
            "postgres_cores": cpu["postgres_cores"],
            "receiver_cores": receiver_cores,
            "bench_cores": cpu["loadgen_cores"],
            "other_cores": round(max(0.0, cpu["other_cores"] - receiver_cores), 2),
            "machine_busy_pct": cpu["machine_busy_pct"],
        }


# --- the phases --------------------------------------------------------------------------------

def order_payload(n: int) -> dict:
    """An ``order.created``-sized payload (about 1.5 KB of JSON)."""
    lines = [{"line_id": f"oli_{n:08d}{i}", "sku": sku, "name": name, "quantity": q,
              "unit_price": price, "tax": tax, "total": total}
             for i, (sku, name, q, price, tax, total) in enumerate([
                 ("COF-BM-250", "Blue Mountain coffee 250 g", 2, "2450.00", "735.00", "5635.00"),
                 ("RICE-5KG", "Parboiled rice 5 kg", 1, "2100.00", "0.00", "2100.00"),
                 ("MUG-ENAMEL", "Enamel mug", 3, "1499.99", "675.00", "5174.97"),
             ])]
    return {
        "number": f"OF-{n:06d}", "status": "confirmed", "payment_status": "unpaid",
        "fulfillment_status": "unfulfilled", "channel": "ECOMMERCE", "currency": "JMD",
        "customer": {"id": f"cus_{n:08d}", "email": f"shopper{n}@example.com"},
        "shipping_address": {"full_name": "Sasha Shopper", "line1": "4 Hope Road",
                             "city": "Kingston", "region": "St Andrew", "country": "JM"},
        "lines": lines, "subtotal": "11249.97", "tax_total": "1410.00",
        "shipping_total": "1200.00", "total": "13859.97",
        "metadata": {"source": "bench", "n": n},
    }


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class DeliveryBench:
    def __init__(self, args, receiver: ReceiverProcess, worker: Worker):
        from bridges.models import WebhookEndpoint
        from bridges.webhooks import services as webhooks

        self.args, self.receiver, self.worker = args, receiver, worker
        # The benchmark database is disposable; an endpoint left from an earlier run
        # (--keep-db) would take deliveries, and its receiver is gone.
        if WebhookEndpoint.objects.filter(is_active=True).update(is_active=False):
            log("switched off the endpoints of an earlier run")
        # Events written before (seed_demo's orders in --mode all) are not ours to deliver.
        from django.utils import timezone

        from orderflow.models import OutboxEvent

        old = OutboxEvent.objects.filter(dispatched_at__isnull=True).update(
            dispatched_at=timezone.now())
        if old:
            log(f"marked {old} earlier outbox events as dispatched (not part of the benchmark)")
        self.endpoint = webhooks.webhook_endpoint_create(
            url=receiver.url("/hook"), event_types=["order.*"],
            description="delivery benchmark")
        self.cpu = Cpu(worker.proc.pid, receiver.proc.pid)
        self.sweeps: list[dict] = []
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, daemon=True)
        self._sweeper.start()

    def _sweep_loop(self) -> None:
        from django.db import connection

        from bridges.webhooks import services as webhooks

        while not self._stop.wait(SWEEP_INTERVAL):
            try:
                self.sweeps.append(webhooks.webhooks_sweep())
            except Exception as exc:  # noqa: BLE001 - the benchmark goes on; reported
                self.sweeps.append({"error": str(exc)})
        connection.close()

    def close(self) -> None:
        self._stop.set()
        self._sweeper.join(timeout=60)

    def wait_for(self, count: int, what: str) -> None:
        """Until the receiver holds ``count`` records; the last arrival must be recent."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        seen, last_change = -1, time.monotonic()
        while True:
            now = self.receiver.count()
            if now >= count:
                return
            if now != seen:
                seen, last_change = now, time.monotonic()
            if time.monotonic() > deadline and time.monotonic() - last_change > 5:
                raise TimeoutError(f"{what}: {now} of {count} deliveries arrived")
            time.sleep(0.05)

    # -- floor --
    def floor_requests(self, n: int) -> list[tuple[bytes, dict]]:
        """What the worker would send for ``n`` events: the engine's bytes and headers."""
        from django.utils import timezone

        from bridges.models import WebhookDelivery
        from bridges.webhooks import services as webhooks
        from orderflow.models import OutboxEvent, new_public_id

        now = timezone.now()
        requests = []
        for i in range(n):
            event = OutboxEvent(public_id=new_public_id("evt"), type="order.created",
                                payload=json.loads(json.dumps(order_payload(i))),
                                created_at=now)
            delivery = WebhookDelivery(public_id=new_public_id("whd"), endpoint=self.endpoint,
                                       event=event, sequence=i + 1, attempts=1)
            body = webhooks.webhook_body(delivery)
            headers = webhooks.webhook_headers(self.endpoint, delivery, body,
                                               timestamp=int(time.time()))
            requests.append((body, headers))
        return requests

    def floor(self, requests: list[tuple[bytes, dict]], name: str) -> dict:
        import urllib3

        self.receiver.reset()
        pool = urllib3.HTTPConnectionPool(HOST, self.receiver.port, maxsize=1, retries=False)
        cpu = self.cpu.start()
        started = time.perf_counter()
        for body, headers in requests:
            response = pool.urlopen("POST", "/hook", body=body, headers=headers,
                                    redirect=False, preload_content=False)
            response.read()
            response.release_conn()
            if response.status != 200:
                raise RuntimeError(f"floor: HTTP {response.status}")
        elapsed = time.perf_counter() - started
        pool.close()
        rate = len(requests) / elapsed
        log(f"{name}: {len(requests)} posts in {elapsed:.2f} s = {rate:.0f} posts/s")
        return {"posts": len(requests), "elapsed_s": round(elapsed, 3),
                "posts_per_s": round(rate, 1), "cpu_cores": self.cpu.report(cpu)}

    # -- max throughput --
    def max_throughput(self, n: int, name: str = "max") -> dict:
        from django.db import transaction

        from orderflow.outbox import emit_many

        self.receiver.reset()
        committed = {}
        mark = self.worker.mark()
        with transaction.atomic():
            transaction.on_commit(lambda: committed.setdefault("at", time.time()))
            events = emit_many([("order.created", order_payload(i), None, None)
                                for i in range(n)])
        cpu = self.cpu.start()
        self.wait_for(n, name)
        cpu_report = self.cpu.report(cpu)
        ids = {event.public_id for event in events}
        arrivals = sorted(r[0] for r in self.receiver.records() if r[1] in ids)
        t0 = committed["at"]
        total = arrivals[-1] - t0
        # The middle 80 %: the steady rate, without the dispatch hop and the tail.
        lo, hi = arrivals[len(arrivals) // 10], arrivals[len(arrivals) * 9 // 10]
        steady = (len(arrivals) * 8 // 10) / (hi - lo) if hi > lo else None
        rate = n / total
        time.sleep(0.3)  # the last task's "succeeded" line
        tasks = self.worker.task_stats(mark, total)
        log(f"{name}: {n} deliveries in {total:.2f} s = {rate:.0f}/s (steady "
            f"{steady or 0:.0f}/s; first after {1000 * (arrivals[0] - t0):.0f} ms); "
            f"cpu {cpu_report}; worker {tasks}")
        return {"events": n, "elapsed_s": round(total, 3), "deliveries_per_s": round(rate, 1),
                "steady_deliveries_per_s": round(steady, 1) if steady else None,
                "first_delivery_ms": round(1000 * (arrivals[0] - t0), 1),
                "received": len(arrivals), "cpu_cores": cpu_report, "worker": tasks}

    # -- latency --
    def latency(self, rate: float, seconds: float) -> dict:
        from django.db import connection, transaction

        from orderflow.outbox import emit

        self.receiver.reset()
        mark = self.worker.mark()
        total = max(1, int(rate * seconds))
        committed: dict[str, float] = {}
        lateness: list[float] = []
        if self.args.producer == "sql":  # the bodies beforehand, not on the producers' clock
            from django.core.serializers.json import DjangoJSONEncoder

            payloads = [json.dumps(order_payload(i), cls=DjangoJSONEncoder)
                        for i in range(total)]
        started = time.perf_counter() + 0.2
        wall0 = time.time()
        cpu = self.cpu.start()

        def paced(k: int):
            for i in range(k, total, PRODUCERS):
                due = started + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                else:
                    lateness.append(-wait)
                yield i

        def orm_producer(k: int) -> None:
            try:
                for i in paced(k):
                    stamp: list[float] = []
                    with transaction.atomic():
                        transaction.on_commit(lambda s=stamp: s.append(time.time()))
                        event = emit("order.created", order_payload(i))
                    committed[event.public_id] = stamp[0]
            finally:
                connection.close()

        def sql_producer(k: int) -> None:
            """The same outbox row as ``emit()`` writes and the same wake-up after commit, from
            a plain psycopg connection: producing an event costs ~0.15 ms of CPU instead of
            ~0.7 ms through the ORM, which would otherwise take the cores being measured."""
            import psycopg

            from orderflow.models import OutboxEvent, new_public_id
            from orderflow.outbox import wake_dispatcher

            params = {key: value for key, value in connection.get_connection_params().items()
                      if key not in {"cursor_factory", "context"}}
            sql = (f"INSERT INTO {OutboxEvent._meta.db_table} (public_id, type, payload, "
                   "aggregate_type, aggregate_id, created_at) "
                   "VALUES (%s, 'order.created', %s::jsonb, '', '', now())")
            with psycopg.connect(**params) as conn:
                for i in paced(k):
                    public_id = new_public_id("evt")
                    conn.execute(sql, [public_id, payloads[i]], prepare=True)
                    conn.commit()
                    committed[public_id] = time.time()
                    wake_dispatcher()

        producer = orm_producer if self.args.producer == "orm" else sql_producer

        threads = [threading.Thread(target=producer, args=(k,)) for k in range(PRODUCERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        produced_in = time.time() - wall0
        achieved = total / produced_in
        try:
            self.wait_for(total, "latency")
        except TimeoutError as exc:
            log(str(exc))
        cpu_report = self.cpu.report(cpu)
        time.sleep(0.3)
        tasks = self.worker.task_stats(mark, time.time() - wall0)
        arrivals: dict[str, float] = {}
        duplicates = 0
        for at, event_id, _ in self.receiver.records():
            if event_id in arrivals:
                duplicates += 1
            arrivals.setdefault(event_id, at)
        delays = [1000 * (arrivals[e] - t) for e, t in committed.items() if e in arrivals]
        missing = len(committed) - len(delays)
        # The two hops: commit → delivery row written by the dispatcher, → receiver.
        dispatched = self.dispatch_times(list(committed))
        dispatch_ms = [1000 * (dispatched[e] - t) for e, t in committed.items()
                       if e in dispatched]
        send_ms = [1000 * (arrivals[e] - dispatched[e]) for e in committed
                   if e in dispatched and e in arrivals]
        if os.environ.get("BENCH_DELIVERY_DUMP"):  # per event: commit, row written, arrival
            Path(os.environ["BENCH_DELIVERY_DUMP"]).write_text(json.dumps(
                [(t, dispatched.get(e), arrivals.get(e)) for e, t in committed.items()]))
        behind = sum(1 for x in lateness if x > 0.05)
        result = {
            "target_rate_per_s": round(rate, 1), "achieved_rate_per_s": round(achieved, 1),
            "events": total, "seconds": round(produced_in, 2), "producers": PRODUCERS,
            "producer": self.args.producer,
            "producer_late_events": behind, "undelivered": missing, "duplicates": duplicates,
            "p50_ms": _ms(percentile(delays, 50)), "p95_ms": _ms(percentile(delays, 95)),
            "p99_ms": _ms(percentile(delays, 99)), "max_ms": _ms(max(delays, default=None)),
            "dispatch_hop_ms": {"p50": _ms(percentile(dispatch_ms, 50)),
                                "p99": _ms(percentile(dispatch_ms, 99))},
            "delivery_hop_ms": {"p50": _ms(percentile(send_ms, 50)),
                                "p99": _ms(percentile(send_ms, 99))},
            "cpu_cores": cpu_report, "worker": tasks,
        }
        log(f"latency: {total} events at {achieved:.0f}/s (target {rate:.0f}/s): p50 "
            f"{result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
            f"max {result['max_ms']} ms, undelivered {missing}; dispatch hop "
            f"{result['dispatch_hop_ms']}, delivery hop {result['delivery_hop_ms']}; "
            f"cpu {cpu_report}; "
            f"worker {tasks}")
        return result


    def dispatch_times(self, event_ids: list[str]) -> dict[str, float]:
        """When the dispatcher wrote each event's delivery row (its ``created_at``)."""
        from bridges.models import WebhookDelivery

        found = {}
        for start in range(0, len(event_ids), 1000):
            rows = WebhookDelivery.objects.filter(
                endpoint=self.endpoint, event__public_id__in=event_ids[start:start + 1000],
            ).values_list("event__public_id", "created_at")
            found.update((event_id, created.timestamp()) for event_id, created in rows)
        return found


def webhooks_batch_size(endpoint) -> int:
    """Deliveries one claim takes for this endpoint (ORDERFLOW_WEBHOOK_BATCH, capped by
    ORDERFLOW_WEBHOOK_BATCH_SECONDS / timeout)."""
    from bridges.webhooks.claiming import batch_size

    return batch_size(endpoint)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_benchmark(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="orderflow-delivery-"))
    broker = receiver = worker = bench = None
    try:
        broker = Broker(tmp)
        log(f"broker: {broker.kind} {broker.url}")
        os.environ["CELERY_BROKER_URL"] = broker.url
        os.environ["ORDERFLOW_WEBHOOK_ALLOW_PRIVATE"] = HOST
        import django

        django.setup()
        from orderflow.celery import app
        from orderflow.wakeup import flags_clear_all

        if broker.kind == "configured":
            import redis

            flags_clear_all(redis.Redis.from_url(broker.url))
            app.control.purge()
        receiver = ReceiverProcess()
        log(f"receiver on port {receiver.port}; starting one worker (prefork, concurrency 2)")
        worker = Worker(dict(os.environ), tmp / "worker.log")
        bench = DeliveryBench(args, receiver, worker)

        log("warming up (untimed)")
        bench.max_throughput(min(300, args.events), name="warm-up")
        floor_requests = bench.floor_requests(args.floor_posts)
        bench.floor(floor_requests[: min(300, args.floor_posts)], "warm-up floor")

        floor_1 = bench.floor(floor_requests, "floor-1")
        maximum = bench.max_throughput(args.events)
        floor_2 = bench.floor(floor_requests, "floor-2")
        floor_rate = round((floor_1["posts_per_s"] + floor_2["posts_per_s"]) / 2, 1)
        ratio = round(maximum["deliveries_per_s"] / floor_rate, 4)
        rate = LATENCY_LOAD * maximum["deliveries_per_s"]
        log(f"latency phase: {rate:.0f} events/s for {args.seconds:g} s")
        latency = bench.latency(rate, args.seconds)
        bench.close()

        ratio_ok = ratio >= RATIO_BUDGET
        p99_ok = (latency["p99_ms"] is not None and latency["p99_ms"] < P99_BUDGET_MS
                  and latency["undelivered"] == 0)
        return {
            "floor_posts_per_s": floor_rate,
            "deliveries_per_s": maximum["deliveries_per_s"],
            "ratio": ratio,
            "latency_rate_per_s": latency["achieved_rate_per_s"],
            "p50_ms": latency["p50_ms"], "p95_ms": latency["p95_ms"],
            "p99_ms": latency["p99_ms"],
            "budgets": {"ratio_min": RATIO_BUDGET, "p99_ms_max": P99_BUDGET_MS},
            "pass": {"ratio": ratio_ok, "p99": p99_ok},
            "budget_ok": ratio_ok and p99_ok,
            "phases": {"floor": [floor_1, floor_2], "max": maximum, "latency": latency},
            "sweeps": bench.sweeps,
            "setup": {"broker": broker.kind, "worker": "prefork, concurrency 2, -l info",
                      "batch": webhooks_batch_size(bench.endpoint),
                      "endpoint": "parallel, timeout 10 s", "cpu_cores": os.cpu_count()},
        }
    finally:
        if bench is not None:
            bench.close()
        if worker is not None:
            worker.stop()
        if receiver is not None:
            receiver.stop()
        if broker is not None:
            broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="bench/delivery.py", description=__doc__.split("\n")[0])
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=3000,
                        help="events of the max-throughput phase (3000)")
    parser.add_argument("--floor-posts", type=int, default=3000,
                        help="posts of each floor phase (3000)")
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="length of the latency phase (15)")
    parser.add_argument("--producer", choices=("sql", "orm"), default="sql",
                        help="latency phase: events written with plain SQL (the same row and "
                             "wake-up as emit(), default) or through emit() in a transaction")
    return parser.parse_args(argv)


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C: run_benchmark's finally runs


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.receiver:
        receiver_main()
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_benchmark(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
