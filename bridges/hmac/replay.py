"""The replay guard: a signature is accepted at most once within its window, across every
web process. Redis ``SET NX EX`` when REDIS_URL is configured, else a unique row in the
database. Either way the check-and-record is one atomic operation, so two simultaneous
identical requests cannot both pass. If the store cannot be reached the request is refused
(``ReplayGuardUnavailable``), never accepted unguarded."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from bridges.models import ReplayNonce

_redis_client = None


class ReplayGuardUnavailable(Exception):
    pass


def _digest(client_id: str, signature: str) -> str:
    return hashlib.sha256(f"{client_id}\n{signature}".encode()).hexdigest()


def _redis():
    global _redis_client
    import redis

    url = settings.ORDERFLOW_REPLAY_GUARD_URL
    if _redis_client is None or _redis_client[0] != url:
        _redis_client = (url, redis.Redis.from_url(url, socket_connect_timeout=1,
                                                   socket_timeout=1))
    return _redis_client[1]


def first_use(*, client_id: str, signature: str, window_seconds: int) -> bool:
    """Record the signature; True the first time it is seen within the window."""
    digest = _digest(client_id, signature)
    # Twice the window: a timestamp may be up to one window early or late.
    ttl = max(int(window_seconds) * 2, 1)
    if settings.ORDERFLOW_REPLAY_GUARD_URL:
        try:
            return bool(_redis().set(f"orderflow:replay:{digest}", 1, nx=True, ex=ttl))
        except Exception as exc:  # redis-py raises several connection error types
            raise ReplayGuardUnavailable(str(exc)) from exc
    now = timezone.now()
    table = ReplayNonce._meta.db_table
    # One statement (SQLite and PostgreSQL): insert, or take over a row whose window has
    # passed; a row comes back only then. A live row with the same digest means this
    # signature was already used. A security record: it commits durably like any write.
    sql = (
        f"INSERT INTO {table} (digest, expires_at) VALUES (%s, %s) "
        f"ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at "
        f"WHERE {table}.expires_at <= %s RETURNING digest"
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [digest, now + timedelta(seconds=ttl), now])
            return cursor.fetchone() is not None
    except DatabaseError as exc:
        raise ReplayGuardUnavailable(str(exc)) from exc
