"""Coalesced wake-ups: send a task only when no run of it is already on its way.

A flag in the Redis broker is set (``SET NX``) by whoever sends the wake-up and cleared by the
task before its *last* read of its work (at its start, or — the outbox dispatcher — when it
is done, followed by one more read). Work committed while the flag is set is therefore always
seen by the run that holds it, and a busy store sends one task per run instead of one per
change. When the broker is not Redis (the embedded default), every call sends its task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger("orderflow.wakeup")
FLAG_TTL = 30  # a lost task (broker crash) blocks wake-ups this long; beat sweeps anyway
_client: tuple[str, object] | None = None


def _redis():
    global _client
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    if _client is None or _client[0] != url:
        import redis

        _client = (url, redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1))
    return _client[1]


def flag_key(name: str) -> str:
    return f"orderflow:wake:{name}"


def wake(name: str, send: Callable[[], None]) -> None:
    """Call ``send`` unless a wake-up called ``name`` is already pending. Never raises: the
    work is in the database and beat's sweepers find it when the broker is back."""
    try:
        flag = _redis()
        if flag is not None and not flag.set(flag_key(name), 1, nx=True, ex=FLAG_TTL):
            return
        send()
    except Exception as exc:  # noqa: BLE001 - any broker failure
        logger.warning("could not wake %s: %s", name, exc)


def wake_clear(name: str) -> None:
    """The woken task calls this before it reads its work."""
    flag = _redis()
    if flag is not None:
        try:
            flag.delete(flag_key(name))
        except Exception as exc:  # noqa: BLE001 - then the flag expires on its own
            logger.warning("could not clear the wake-up flag %s: %s", name, exc)


def flags_clear_all(client) -> None:
    """Every wake-up flag (tests and the benchmark start from a clean broker)."""
    keys = list(client.scan_iter(match=flag_key("*"), count=1000))
    if keys:
        client.delete(*keys)
