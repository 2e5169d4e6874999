"""A real HTTP receiver for webhook and export tests: records every request, answers from a
script.

    with Receiver() as rx:
        rx.script([500, "timeout", (200, '{"ok": false}'), 200])   # then 200 forever
        ... rx.url("/hook") ...
        rx.wait_for(4)
        rx.requests[0].json["type"]

A script item is a status code, ``(status, body)``, ``(status, body, headers)``, or
``"timeout"`` (the answer is held for ``hold_seconds``, longer than the sender's timeout).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Receiver:
    def __init__(self, *, hold_seconds: float = 5.0, default=200):
        self.requests: list[Received] = []
        self.hold_seconds = hold_seconds
        self.default = default
        self._script: list = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._arrived:
                    receiver.requests.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver._script.pop(0) if receiver._script else receiver.default
                    receiver._arrived.notify_all()
                if answer == "timeout":
                    time.sleep(receiver.hold_seconds)
                    answer = 200
                status, text, headers = answer, "", {}
                if isinstance(answer, tuple):
                    status, text, *rest = answer
                    headers = rest[0] if rest else {}
                payload = text.encode() if isinstance(text, str) else text
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (its timeout): exactly what a test may want

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, answers: list) -> None:
        with self._lock:
            self._script = list(answers)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.requests)} requests, expected {count}")
                self._arrived.wait(left)
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
