"""The transaction log: every bridge call and REST write, with a correlation id.

Logging never fails or changes the request it logs: errors here are reported to the Python
log and swallowed.

On PostgreSQL a server process hands its entries to one thread of its own, which writes
what has gathered every ``ORDERFLOW_TRANSACTION_LOG_BATCH_SECONDS`` (0.25 s) — or as soon
as ``ORDERFLOW_TRANSACTION_LOG_BATCH_ROWS`` are waiting — as one ``COPY``: a request no
longer waits for its own INSERT, and the statement, round trip and commit of each entry are
shared by the batch. An entry reaches the table within that delay, and whatever is waiting
is written when the process exits normally (a gunicorn worker stopped or restarted); a
process killed outright loses at most that delay's entries. ``BATCH_SECONDS = 0`` (and
SQLite, the embedded default) writes each entry at once, as the request ends.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
import time
import uuid

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from bridges.models import TransactionLog
from bridges.network import client_ip
from bridges.redaction import redact_body, redact_headers
from orderflow.db import create, relax_commit

logger = logging.getLogger("orderflow.transaction_log")

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
OBJECT_ID = re.compile(r"\b(?:cart|ord|cl|pay|cus)_[0-9a-z]{26}\b")


class TransactionLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.correlation_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        is_bridge = request.path.startswith("/bridge/")
        body = request.body if (is_bridge or request.method in WRITE_METHODS) \
            and _small(request) else b""
        response = self.get_response(request)
        response["X-Request-Id"] = request.correlation_id
        if is_bridge or (request.path.startswith("/api/") and request.method in WRITE_METHODS):
            try:
                write_entry(request, response, body, is_bridge,
                            int((time.perf_counter() - started) * 1000))
            except Exception:  # never let the log break the request
                logger.exception("could not write the transaction log entry")
        return response


def _small(request) -> bool:
    from django.conf import settings

    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) <= settings.ORDERFLOW_BRIDGE_MAX_BODY
    except ValueError:
        return False


def _problem_code(response) -> str:
    if response.get("Content-Type", "").startswith("application/problem+json"):
        match = re.search(rb'"code":\s*"([a-z0-9_]+)"', response.content[:4096])
        if match:
            return match.group(1).decode()
    return ""


def write_entry(request, response, body: bytes, is_bridge: bool, latency_ms: int) -> None:
    info = getattr(request, "orderflow_log", {})
    user = getattr(request, "user", None)
    api_key = getattr(user, "api_key", None)
    content = getattr(response, "content", b"") if not response.streaming else b""
    ids = OBJECT_ID.findall(request.path) + OBJECT_ID.findall(
        content[:8192].decode("utf-8", errors="replace"))
    if is_bridge:
        client = request.META.get("HTTP_X_CLIENT_ID") or (request.path.split("/") + [""] * 3)[2]
    elif api_key is not None:
        client = f"{api_key.prefix}…"
    else:
        client = getattr(user, "username", "") or ""
    entry = {
        "created_at": timezone.now(), "direction": TransactionLog.Direction.INBOUND.value,
        "kind": (TransactionLog.Kind.BRIDGE if is_bridge else TransactionLog.Kind.API).value,
        "correlation_id": request.correlation_id,
        "connection_id": getattr(info.get("connection"), "pk", None),
        "api_key_id": getattr(api_key, "pk", None),
        "client": str(client)[:120],
        "method": request.method,
        "endpoint": (info.get("action") or request.path)[:300],
        "source_ip": _valid_ip(client_ip(request)),
        "status_code": response.status_code,
        "code": _problem_code(response),
        "latency_ms": latency_ms,
        "object_ids": " ".join(dict.fromkeys(ids))[:300],
        "request_headers": redact_headers(request.META),
        "request_body": redact_body(body),
        "response_body": redact_body(content),
    }
    from django.conf import settings

    if settings.ORDERFLOW_TRANSACTION_LOG_BATCH_SECONDS > 0 \
            and connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        batcher.add(entry)
    else:
        # A record of the request, written after it: see create(durable=False).
        create([TransactionLog(**entry)], durable=False)


# The columns a batch fills, in the model's field order (every concrete field but the id).
_COLUMNS = tuple(f.attname for f in TransactionLog._meta.concrete_fields if not f.primary_key)
_COPY_SQL = 'COPY "{}" ({}) FROM STDIN'.format(
    TransactionLog._meta.db_table,
    ", ".join(f'"{TransactionLog._meta.get_field(name).column}"' for name in _COLUMNS))


def _copy_value(name, value):
    if name == "request_headers":
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return value.replace("\x00", "")  # PostgreSQL text holds no NUL: one would fail all
    return value


class Batcher:
    """This process's entries waiting to be written, and the thread that writes them."""

    def __init__(self):
        self._after_fork()

    def _after_fork(self) -> None:
        """A fresh state: also in a forked child, which gets neither the parent's thread nor
        its entries, and must not inherit a lock held by that thread."""
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._waiting = threading.Event()  # some entry is waiting
        self._full = threading.Event()     # a whole batch is waiting
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, entry: dict) -> None:
        from django.conf import settings

        with self._lock:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="orderflow-txlog",
                                                daemon=True)
                self._thread.start()
            self._entries.append(entry)
            waiting = len(self._entries)
        self._waiting.set()
        if waiting >= settings.ORDERFLOW_TRANSACTION_LOG_BATCH_ROWS:
            self._full.set()

    def _run(self) -> None:
        from django.conf import settings

        while not self._stopping:
            self._waiting.wait()
            self._full.wait(settings.ORDERFLOW_TRANSACTION_LOG_BATCH_SECONDS)
            self.flush()
        connections[DEFAULT_DB_ALIAS].close()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is waiting and end the writer thread, closing its connection (a later
        entry starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping = True
        if thread is not None and thread.is_alive():
            self._waiting.set()
            self._full.set()
            thread.join(timeout)
        self.flush()

    def flush(self) -> int:
        """Write every waiting entry now (from any thread, on that thread's connection);
        how many were written."""
        with self._lock:
            entries, self._entries = self._entries, []
            self._waiting.clear()
            self._full.clear()
        if not entries:
            return 0
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            _write(connection, entries)
            return len(entries)
        except Exception:
            logger.exception("could not write %d transaction log entries together; "
                             "writing them one by one", len(entries))
        written = 0
        for entry in entries:  # one bad entry must not take the batch with it
            try:
                _write(connection, [entry])
                written += 1
            except Exception:
                logger.exception("could not write the transaction log entry %s",
                                 entry.get("correlation_id"))
        return written


def _write(connection, entries: list[dict]) -> None:
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            relax_commit()  # a record of requests already answered
            with cursor.copy(_COPY_SQL) as copy:
                for entry in entries:
                    copy.write_row([_copy_value(name, entry[name]) for name in _COLUMNS])
    except Exception:
        if connection.connection is not None and connection.connection.closed:
            connection.close()  # broken (a database restart): the next write reconnects
        raise
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close_if_unusable_or_obsolete()


batcher = Batcher()
atexit.register(batcher.stop)
os.register_at_fork(after_in_child=batcher._after_fork)


def _valid_ip(value):
    import ipaddress

    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
