"""The load generator's HTTP/1.1 client, against a real TCP server on 127.0.0.1.

Each test scripts the server's raw answers connection by connection; the server records
every request it reads (by connection) so a test can check what went over the wire.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from bench.loadgen import (
    Failure,
    HttpClient,
    ProtocolError,
    Recorder,
    RemoteDisconnected,
    Session,
)

TIMEOUT = 5.0
DEFAULT_HEADERS = {"Accept": "application/json", "Authorization": "Bearer default-key"}

# A step of a connection's script: the raw answer to one request (bytes, or a list of
# pieces sent in separate ``send`` calls with a short pause between them), or HANG_UP:
# read the request and close the connection without answering. When its steps are done,
# the server closes the connection without reading anything more.
HANG_UP = object()
UNSCRIPTED = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\n"
              b"Connection: close\r\n\r\nunscripted")


@dataclass
class Request:
    conn: int
    method: str
    path: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header_map(self) -> dict[str, str]:
        return {key.lower(): value for key, value in self.headers}


@dataclass
class ScriptedServer:
    scripts: list[list]
    listener: socket.socket = field(init=False)
    port: int = field(init=False)
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0
    done: list[threading.Event] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    def client(self, headers: dict[str, str] | None = None) -> HttpClient:
        return HttpClient("127.0.0.1", self.port,
                          DEFAULT_HEADERS if headers is None else headers, timeout=TIMEOUT)

    def requests_on(self, conn: int) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.conn == conn]

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                index = self.accepted
                self.accepted += 1
                self.done.append(threading.Event())
                self._conns.append(conn)
            script = self.scripts[index] if index < len(self.scripts) else [UNSCRIPTED]
            thread = threading.Thread(target=self._serve, args=(index, conn, script),
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, index: int, conn: socket.socket, script: list) -> None:
        conn.settimeout(TIMEOUT)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        try:
            for step in script:
                request, buffer = self._read_request(index, conn, buffer)
                with self._lock:
                    self.requests.append(request)
                if step is HANG_UP:
                    break
                pieces = [step] if isinstance(step, bytes) else step
                for number, piece in enumerate(pieces):
                    if number:
                        time.sleep(0.03)
                    conn.sendall(piece)
        except BaseException as exc:  # reported by the fixture's teardown
            self.errors.append(exc)
        finally:
            conn.close()
            self.done[index].set()

    @staticmethod
    def _read_request(index: int, conn: socket.socket, buffer: bytes):
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection {index}: EOF before a request")
            buffer += chunk
        head, buffer = buffer[:end].decode("latin-1"), buffer[end + 4:]
        request_line, *lines = head.split("\r\n")
        method, path, version = request_line.split(" ")
        headers = [(name.strip(), value.strip())
                   for name, _, value in (line.partition(":") for line in lines)]
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", 0))
        while len(buffer) < length:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection {index}: EOF inside a request body")
            buffer += chunk
        body, buffer = buffer[:length], buffer[length:]
        return Request(index, method, path, version, headers, body), buffer

    def stop(self) -> None:
        self._stop.set()
        self._accept_thread.join(TIMEOUT)
        self.listener.close()
        with self._lock:
            conns = list(self._conns)
        for thread in self._threads:
            thread.join(TIMEOUT)
        for conn in conns:
            conn.close()


@pytest.fixture
def serve():
    """``serve(conn0_steps, conn1_steps, ...)`` starts a scripted server on 127.0.0.1."""
    servers: list[ScriptedServer] = []

    def start(*scripts: list) -> ScriptedServer:
        server = ScriptedServer([list(s) for s in scripts])
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        assert not server.errors, f"the scripted server failed: {server.errors!r}"


def answer(status: str, body: bytes, *, close: bool = True, extra: str = "") -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{connection}{extra}\r\n").encode() + body


def test_content_length_answer_with_connection_close(serve):
    body = b'{"id": 7, "state": "created"}'
    server = serve([answer("201 Created", body)], [answer("200 OK", b"second")])
    client = server.client()
    sent = b'{"sku": "A-1", "quantity": 2}'

    assert client.request("POST", "/api/orders/?x=1", sent) == (201, body)

    [request] = server.requests_on(0)
    assert (request.method, request.path, request.version) == ("POST", "/api/orders/?x=1",
                                                               "HTTP/1.1")
    assert request.header_map() == {
        "host": f"127.0.0.1:{server.port}",
        "accept": "application/json",
        "authorization": "Bearer default-key",
        "content-length": str(len(sent)),
    }
    assert len(request.headers) == 4  # no header sent twice
    assert request.body == sent
    assert client.sock is None  # closed on Connection: close

    assert client.request("GET", "/api/health") == (200, b"second")
    [second] = server.requests_on(1)
    assert server.accepted == 2
    assert (second.method, second.path, second.body) == ("GET", "/api/health", b"")
    assert second.header("Content-Length") == ["0"]
    assert client.sock is None


def test_extra_headers_added_and_override_defaults(serve):
    server = serve([answer("200 OK", b"a", close=False), answer("200 OK", b"b")])
    client = server.client()

    status, _ = client.request("GET", "/x", headers={"Authorization": "Bearer override",
                                                     "X-Request-Id": "req-1"})
    assert status == 200
    assert client.request("GET", "/y") == (200, b"b")

    first, second = server.requests_on(0)
    assert first.header("Authorization") == ["Bearer override"]
    assert first.header("X-Request-Id") == ["req-1"]
    assert first.header("Accept") == ["application/json"]
    assert first.header("Host") == [f"127.0.0.1:{server.port}"]
    assert first.header("Content-Length") == ["0"]
    # The override was for that request only.
    assert second.header("Authorization") == ["Bearer default-key"]
    assert second.header("X-Request-Id") == []
    assert client.headers == DEFAULT_HEADERS


def test_keep_alive_reuses_one_connection(serve):
    server = serve([answer("200 OK", b"first", close=False),
                    answer("200 OK", b"second", close=False)])
    client = server.client()

    assert client.request("GET", "/one") == (200, b"first")
    assert client.sock is not None  # kept open
    assert client.request("POST", "/two", b"payload") == (200, b"second")

    assert server.accepted == 1
    assert [(r.conn, r.method, r.path, r.body) for r in server.requests] == [
        (0, "GET", "/one", b""), (0, "POST", "/two", b"payload")]
    client.close()


def test_content_length_frames_the_body_on_a_kept_alive_connection(serve):
    # Both answers arrive in one send after the first request: the first body ends at its
    # Content-Length and the bytes after it are the answer to the next request.
    server = serve([answer("200 OK", b"first", close=False) + answer("202 Accepted", b"2nd"),
                    b""])
    client = server.client()

    assert client.request("GET", "/one") == (200, b"first")
    assert client.request("GET", "/two") == (202, b"2nd")
    # The client answered from its buffer; wait for the server to have read request 2.
    assert server.done[0].wait(TIMEOUT)
    assert server.accepted == 1
    assert [r.path for r in server.requests_on(0)] == ["/one", "/two"]


def test_idle_keep_alive_closed_by_server_is_retried_on_fresh_connection(serve):
    # Connection 0 answers once keep-alive, then the server closes it without reading more.
    server = serve([answer("200 OK", b"first", close=False)],
                   [answer("200 OK", b"second")])
    client = server.client()

    assert client.request("GET", "/one") == (200, b"first")
    assert server.done[0].wait(TIMEOUT)  # the server has closed the idle connection
    time.sleep(0.05)  # let its FIN reach the client's socket

    assert client.request("POST", "/two", b"again") == (200, b"second")
    assert server.accepted == 2
    assert [r.path for r in server.requests_on(0)] == ["/one"]
    [retried] = server.requests_on(1)
    assert (retried.method, retried.path, retried.body) == ("POST", "/two", b"again")


def test_fresh_connection_closed_without_answer_raises_and_is_not_retried(serve):
    # A retry would reach connection 1, which answers 200: the request would not raise.
    server = serve([HANG_UP], [answer("200 OK", b"retried")])
    client = server.client()

    with pytest.raises(RemoteDisconnected) as excinfo:
        client.request("GET", "/one")
    assert isinstance(excinfo.value, ConnectionResetError)
    assert isinstance(excinfo.value, OSError)
    assert client.sock is None

    time.sleep(0.2)  # time for a (wrong) retry's connection to be accepted
    assert server.accepted == 1
    assert [r.path for r in server.requests] == ["/one"]


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_chunked_answer_in_small_pieces(serve):
    last = b"abcdefghijklmnopqrstuvwxyz"  # 0x1a bytes
    pieces = [
        CHUNKED_HEAD[:20], CHUNKED_HEAD[20:],
        b"5\r\nhel", b"lo\r\n",
        b"6\r", b"\n a\r\nb!\r\n",  # a CRLF inside the chunk data
        b"1", b"a;name=value\r\n" + last[:10], last[10:] + b"\r\n",
        b"0\r\n", b"\r\n",
    ]
    # Kept alive: the next answer on the same connection reads right only if the chunked
    # body was consumed to its very end.
    server = serve([pieces, answer("200 OK", b"next")])
    client = server.client()

    assert client.request("GET", "/stream") == (200, b"hello a\r\nb!" + last)
    assert client.request("GET", "/after") == (200, b"next")
    assert server.accepted == 1


def test_chunked_answer_with_trailer(serve):
    pieces = [CHUNKED_HEAD + b"4\r\nWiki\r\n", b"5\r\npedia\r\n",
              b"0\r\nX-Checksum: abc123\r\n", b"X-Other: 1\r\n\r\n"]
    server = serve([pieces, answer("200 OK", b"next")])
    client = server.client()

    assert client.request("GET", "/trailer") == (200, b"Wikipedia")
    assert client.request("GET", "/after") == (200, b"next")
    assert server.accepted == 1


def test_body_without_length_reads_to_eof(serve):
    server = serve([[b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ",
                     b"part two, ", b"part three"]],
                   [answer("200 OK", b"fresh")])
    client = server.client()

    assert client.request("GET", "/eof") == (200, b"part one, part two, part three")
    assert client.sock is None
    assert client.request("GET", "/again") == (200, b"fresh")


def test_content_length_body_split_across_sends(serve):
    body = b'{"items": [1, 2, 3], "total": "12.50"}'
    raw = answer("200 OK", body)
    cut = raw.index(b"\r\n\r\n")
    pieces = [raw[:10], raw[10:cut + 1], raw[cut + 1:cut + 4], raw[cut + 4:cut + 9],
              raw[cut + 9:cut + 20], raw[cut + 20:]]
    assert b"".join(pieces) == raw
    server = serve([pieces])

    assert server.client().request("GET", "/split") == (200, body)


def test_large_content_length_body(serve):
    body = bytes(range(256)) * 1200  # 307,200 bytes: several reads
    server = serve([[answer("200 OK", body)[:1000], answer("200 OK", body)[1000:]]])

    status, data = server.client().request("GET", "/large")
    assert status == 200
    assert len(data) == len(body)
    assert data == body


def test_garbage_answer_raises_protocol_error(serve):
    server = serve([b"hello\r\n\r\n"])
    client = server.client()

    with pytest.raises(ProtocolError) as excinfo:
        client.request("GET", "/garbage")
    assert isinstance(excinfo.value, OSError)
    assert "hello" in str(excinfo.value)
    assert client.sock is None
    assert server.accepted == 1  # not retried


def test_session_call_records_protocol_error(serve):
    server = serve([b"hello\r\n\r\n"])
    recorder = Recorder()
    session = Session(server.client(), recorder, deadline=time.perf_counter() + 60)

    assert session.call("garbage", "GET", "/garbage") is None

    assert recorder.errors == {"garbage": 1}
    assert "garbage" not in recorder.latencies
    failure = recorder.first_failure
    assert failure is not None
    assert (failure.label, failure.status) == ("garbage", None)
    assert failure.body.startswith("ProtocolError: ")
    assert "'hello'" in failure.body


def test_session_call_records_unexpected_status(serve):
    not_found = b'{"detail": "Not found."}'
    server = serve([answer("201 Created", b'{"id": 3}', close=False),
                    answer("404 Not Found", not_found)])
    recorder = Recorder()
    session = Session(server.client(), recorder, deadline=time.perf_counter() + 60)

    assert session.call("create", "POST", "/items/", {"name": "x"}, expect=201,
                        parse=True) == {"id": 3}
    assert session.call("fetch", "GET", "/items/9/") is None

    created, fetched = server.requests
    assert created.body == b'{"name": "x"}'
    assert fetched.path == "/items/9/"
    assert len(recorder.latencies["create"]) == 1
    assert "fetch" not in recorder.latencies
    assert recorder.errors == {"fetch": 1}
    assert recorder.first_failure == Failure("fetch", 404, not_found.decode())
