"""``Idempotency-Key``: the same key and body within 24 h replays the first answer.

The stored answer is written in the same transaction as the work, so it exists exactly when
the work committed. A second request arriving while the first still runs gets 409 at once
(a transaction-scoped advisory lock on PostgreSQL), the same key with another body 422.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from bridges.models import IdempotencyKey
from orderflow.errors import Conflict, DomainError, ValidationFailed

HEADER = "HTTP_IDEMPOTENCY_KEY"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 255


def key_from_request(request) -> str | None:
    raw = request.META.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # the quoted form of the draft standard
        key = key[1:-1]
    if not key or len(key) > MAX_LENGTH or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key must be 1–255 printable characters.",
            code="invalid_idempotency_key",
        )
    return key


def fingerprint(request, data=None) -> str:
    payload = request.data if data is None else data
    try:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = request.body.decode("utf-8", errors="replace")
    text = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _try_lock(scope: str, key: str) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers; the unique constraint does the rest
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        return cursor.fetchone()[0]


def run_idempotent(request, principal, work, *, data=None) -> Response:
    """Run ``work()`` (which returns a Response) at most once per principal and key.

    ``data`` is the parsed body when the caller parsed it itself (the bridge)."""
    key = key_from_request(request)
    if key is None:
        return work()
    request_hash = fingerprint(request, data)
    with transaction.atomic():
        if not _try_lock(principal.scope, key):
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry later.",
                code="idempotency_request_in_progress",
            )
        since = timezone.now() - settings.ORDERFLOW_IDEMPOTENCY_TTL
        stored = (IdempotencyKey.objects.filter(principal=principal.scope, key=key,
                                                created_at__gte=since).first())
        if stored is not None:
            if stored.request_hash != request_hash:
                raise DomainError(
                    "This Idempotency-Key was already used with a different request.",
                    code="idempotency_key_reused", status=422,
                )
            return Response(stored.response_body, status=stored.response_status,
                            headers={REPLAY_HEADER: "true"})
        response = work()
        if 200 <= response.status_code < 300:
            IdempotencyKey.objects.update_or_create(
                principal=principal.scope, key=key,
                defaults={"request_hash": request_hash, "response_status": response.status_code,
                          "response_body": json.loads(json.dumps(response.data,
                                                                 cls=JSONEncoder)),
                          "created_at": timezone.now()},
            )
        return response
