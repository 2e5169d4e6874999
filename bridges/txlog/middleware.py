"""The transaction log: every bridge call and REST write, with a correlation id.

Each entry is one INSERT after the response is built, in a transaction whose commit does not
wait for the disk (``orderflow.transactions.relaxed_commit``): it records a request already
answered. Logging never fails or changes the request it logs: errors here are reported to
the Python log and swallowed.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid

from django.conf import settings
from django.utils import timezone

from bridges.access.network import client_ip
from bridges.models import TransactionLog
from bridges.txlog.redaction import clean_text, redact_body, redact_headers
from orderflow.carddata import looks_like_card_number
from orderflow.transactions import relaxed_commit

logger = logging.getLogger("orderflow.transaction_log")

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
OBJECT_ID = re.compile(r"\b(?:cart|ord|cl|pay|cus)_[0-9a-z]{26}\b")


class TransactionLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.correlation_id = incoming if REQUEST_ID.match(incoming) \
            and not looks_like_card_number(incoming) else uuid.uuid4().hex
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
        "client": clean_text(str(client))[:120],
        "method": request.method,
        "endpoint": clean_text(info.get("action") or request.path)[:300],
        "source_ip": _valid_ip(client_ip(request)),
        "status_code": response.status_code,
        "code": _problem_code(response),
        "latency_ms": latency_ms,
        "object_ids": " ".join(dict.fromkeys(ids))[:300],
        "request_headers": redact_headers(request.META),
        "request_body": redact_body(body),
        "response_body": redact_body(content),
    }
    with relaxed_commit():
        TransactionLog.objects.create(**entry)


def _valid_ip(value):
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
