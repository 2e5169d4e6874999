"""The load generator: N client threads, each with its own HTTP connection, time-bounded.

Every measurement of the benchmark (the bare-view floor, the checkout flow and the isolated
endpoint phases) goes through :func:`run_phase`, so they are comparable: same threads, same
HTTP client, same latency clock (connect + send + full response read).

gunicorn's sync workers answer every request with ``Connection: close``; the client then
closes its socket and opens a new one on the next request by itself. A request that
fails on a *reused* connection before any answer (a server that closed an idle keep-alive
connection) is retried once on a fresh one; any other failure counts as an error.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


class RemoteDisconnected(ConnectionResetError):
    """The server closed the connection before the first byte of an answer."""


class ProtocolError(OSError):
    """An answer that is not HTTP/1.x as this client reads it."""


class HttpClient:
    """One connection to the server, reopened transparently when the server closes it.

    A minimal HTTP/1.1 client: the request is one ``sendall`` of bytes built from a header
    block prepared once, and the answer is read by its ``Content-Length`` (or chunked, or to
    the end of the connection). It does only what the benchmark needs, at a fraction of
    ``http.client``'s cost (which parses every answer's headers with ``email.parser``):
    the load generator shares the machine with the server, and every CPU second it spends
    is one the server under test does not get (docs/benchmark.md).
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float = 60.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = headers
        self._fixed = self._header_lines({"Host": f"{host}:{port}", **headers})
        self.sock: socket.socket | None = None
        self._pending = b""

    @staticmethod
    def _header_lines(headers: dict[str, str]) -> bytes:
        return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """``headers`` are sent in addition to (or instead of) the client's own."""
        if headers:
            fixed = self._header_lines({"Host": f"{self.host}:{self.port}",
                                        **self.headers, **headers})
        else:
            fixed = self._fixed
        body = body or b""
        message = b"".join((f"{method} {path} HTTP/1.1\r\n".encode("latin-1"), fixed,
                            b"Content-Length: %d\r\n\r\n" % len(body), body))
        for attempt in (1, 2):
            reused = self.sock is not None
            try:
                if self.sock is None:
                    self.sock = socket.create_connection((self.host, self.port), self.timeout)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock.sendall(message)
                status, data, will_close = self._read_response()
                if will_close:
                    self.close()
                return status, data
            except (ConnectionResetError, BrokenPipeError):  # RemoteDisconnected included
                self.close()
                if attempt == 2 or not reused:
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def _recv(self) -> bytes:
        return self.sock.recv(65536)

    def _read_response(self) -> tuple[int, bytes, bool]:
        buffer = self._pending
        self._pending = b""
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = self._recv()
            if not chunk:
                if not buffer:
                    raise RemoteDisconnected("the server closed the connection without an answer")
                raise ProtocolError(f"connection closed inside the headers: {buffer[:200]!r}")
            buffer += chunk
        head, rest = buffer[:end].decode("latin-1"), buffer[end + 4:]
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:200]!r}")
        status = int(parts[1])
        fields = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        will_close = (fields.get("connection", "").lower() == "close"
                      or parts[0] == "HTTP/1.0" and fields.get("connection", "").lower()
                      != "keep-alive")
        if "chunked" in fields.get("transfer-encoding", "").lower():
            data, rest = self._read_chunked(rest)
        elif "content-length" in fields:
            length = int(fields["content-length"])
            while len(rest) < length:
                chunk = self._recv()
                if not chunk:
                    raise ProtocolError(f"connection closed after {len(rest)} of {length} bytes")
                rest += chunk
            data, rest = rest[:length], rest[length:]
        else:  # the body runs to the end of the connection
            pieces = [rest]
            while chunk := self._recv():
                pieces.append(chunk)
            data, rest, will_close = b"".join(pieces), b"", True
        self._pending = rest
        return status, data, will_close

    def _read_chunked(self, rest: bytes) -> tuple[bytes, bytes]:
        pieces = []
        while True:
            line, rest = self._line(rest)
            size = int(line.split(b";", 1)[0], 16)
            if size == 0:
                while True:  # trailer fields, up to the empty line
                    line, rest = self._line(rest)
                    if not line:
                        return b"".join(pieces), rest
            while len(rest) < size + 2:
                rest += self._need()
            pieces.append(rest[:size])
            rest = rest[size + 2:]

    def _line(self, rest: bytes) -> tuple[bytes, bytes]:
        while (end := rest.find(b"\r\n")) < 0:
            rest += self._need()
        return rest[:end], rest[end + 2:]

    def _need(self) -> bytes:
        chunk = self._recv()
        if not chunk:
            raise ProtocolError("connection closed inside a chunked body")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._pending = b""


@dataclass
class Failure:
    label: str
    status: int | None
    body: str


@dataclass
class Recorder:
    """What one client thread saw: latencies of successful requests and the failures."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    first_failure: Failure | None = None
    counters: Counter = field(default_factory=Counter)

    def merge(self, other: Recorder) -> None:
        for label, values in other.latencies.items():
            self.latencies[label].extend(values)
        self.errors.update(other.errors)
        self.counters.update(other.counters)
        if self.first_failure is None:
            self.first_failure = other.first_failure


class Session:
    """A client thread's view of the server: ``call`` times one request and records it."""

    def __init__(self, client: HttpClient, recorder: Recorder, deadline: float):
        self.client, self.recorder, self.deadline = client, recorder, deadline

    def expired(self) -> bool:
        return time.perf_counter() >= self.deadline

    def call(self, label: str, method: str, path: str, body: dict | bytes | None = None, *,
             expect: int = 200, parse: bool = False, headers: dict[str, str] | None = None):
        """Send one request; on the expected status return the parsed JSON body (``parse``)
        or True, else record the failure and return None. A ``bytes`` body is sent as is
        (a signed request); ``headers`` are added to the client's for this request."""
        if isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        try:
            status, data = self.client.request(method, path, payload, headers)
        except OSError as exc:  # includes timeouts and refused connections
            self._fail(label, None, f"{type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - started
        if status != expect:
            self._fail(label, status, data.decode("utf-8", "replace"))
            return None
        self.recorder.latencies[label].append(elapsed)
        return json.loads(data) if parse else True

    def _fail(self, label: str, status: int | None, body: str) -> None:
        self.recorder.errors[label] += 1
        if self.recorder.first_failure is None:
            self.recorder.first_failure = Failure(label, status, body[:4000])


@dataclass
class PhaseResult:
    name: str
    clients: int
    elapsed: float
    recorder: Recorder
    cpu: dict[str, float]
    rounds: int = 1

    def count(self, label: str) -> int:
        return len(self.recorder.latencies.get(label, ()))

    def total_ok(self) -> int:
        return sum(len(v) for v in self.recorder.latencies.values())

    def total_errors(self) -> int:
        return sum(self.recorder.errors.values())

    def error_rate(self) -> float:
        attempted = self.total_ok() + self.total_errors()
        return self.total_errors() / attempted if attempted else 0.0

    def endpoint_stats(self) -> dict[str, dict]:
        labels = sorted(set(self.recorder.latencies) | set(self.recorder.errors))
        return {label: self.stats(label) for label in labels}

    def stats(self, label: str) -> dict:
        values = sorted(self.recorder.latencies.get(label, ()))
        return {
            "count": len(values),
            "errors": self.recorder.errors.get(label, 0),
            "rps": round(len(values) / self.elapsed, 2) if self.elapsed else 0.0,
            "mean_ms": ms(sum(values) / len(values)) if values else None,
            "p50_ms": ms(percentile(values, 50)),
            "p95_ms": ms(percentile(values, 95)),
            "p99_ms": ms(percentile(values, 99)),
        }


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


Worker = Callable[[int, Session], None]


def run_phase(name: str, *, host: str, port: int, headers: dict[str, str], clients: int,
              seconds: float, worker: Worker, cpu_probe=None) -> PhaseResult:
    """Run ``worker(index, session)`` in ``clients`` threads until ``seconds`` have passed.

    Each worker loops until ``session.expired()``; the threads start together (a barrier),
    and the phase's elapsed time runs from the start to the end of the last thread, so a
    request that was in flight at the deadline counts in both the numerator and the
    denominator of every rate.
    """
    recorders = [Recorder() for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    start_box: dict[str, float] = {}
    crashes: list[BaseException] = []

    def thread_main(index: int) -> None:
        client = HttpClient(host, port, headers)
        try:
            barrier.wait()
            session = Session(client, recorders[index], start_box["start"] + seconds)
            worker(index, session)
        except BaseException as exc:  # surfaced after the join: a harness bug, not a 5xx
            crashes.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=thread_main, args=(i,), name=f"{name}-{i}", daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_probe.snapshot() if cpu_probe else None
    start_box["start"] = time.perf_counter()
    barrier.wait()
    for thread in threads:
        # Workers stop by themselves at the deadline; the socket timeout bounds a stuck one.
        thread.join(timeout=seconds + 120)
        if thread.is_alive():
            raise RuntimeError(f"phase {name}: client thread {thread.name} did not stop")
    elapsed = time.perf_counter() - start_box["start"]
    cpu = cpu_probe.report(cpu_before, elapsed) if cpu_probe else {}
    if crashes:
        raise RuntimeError(f"phase {name}: a client thread crashed") from crashes[0]
    merged = Recorder()
    for recorder in recorders:
        merged.merge(recorder)
    return PhaseResult(name=name, clients=clients, elapsed=elapsed, recorder=merged, cpu=cpu)


def combine(name: str, rounds: list[PhaseResult]) -> PhaseResult:
    """One result from rounds of the same phase: requests and time add up, CPU shares are
    averaged over time."""
    if len(rounds) == 1:
        rounds[0].name = name
        return rounds[0]
    merged = Recorder()
    for result in rounds:
        merged.merge(result.recorder)
    elapsed = sum(r.elapsed for r in rounds)
    keys = set().union(*(r.cpu for r in rounds))
    cpu = {key: round(sum(r.cpu.get(key, 0.0) * r.elapsed for r in rounds) / elapsed, 2)
           for key in sorted(keys)} if elapsed else {}
    return PhaseResult(name=name, clients=rounds[0].clients, elapsed=elapsed, recorder=merged,
                       cpu=cpu, rounds=len(rounds))
