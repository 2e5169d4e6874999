"""Coalesced wake-ups: send a task only when no run of it is already on its way.

A flag in the Redis broker is set (``SET NX``) by whoever sends the wake-up and cleared by the
task before its *last* read of its work (at its start, or — the outbox dispatcher, a chain of
short tasks that holds the flag with its token between links — when it is done, followed by
one more read). Work committed while the flag is set is therefore always
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


def wake_hold(name: str, token: str) -> bool:
    """A task that runs as a chain of short tasks (the outbox dispatcher) keeps its wake-up
    set between links, so commits meanwhile send no tasks: the flag takes the chain's
    ``token`` and a fresh expiry. False when another chain's token is in it (a stalled chain
    whose flag expired has been replaced): this chain then ends and leaves the work to it.
    Without Redis, or when Redis fails, True (the work is in the database)."""
    flag = _redis()
    if flag is None:
        return True
    key = flag_key(name)
    try:
        value = flag.get(key)
        if value is not None and value.decode() not in ("1", token):
            return False
        flag.set(key, token, ex=FLAG_TTL)
    except Exception as exc:  # noqa: BLE001 - any broker failure: go on, beat sweeps anyway
        logger.warning("could not hold the wake-up flag %s: %s", name, exc)
    return True


def is_pending(name: str) -> bool:
    """Whether a wake-up called ``name`` is set (work committed and not yet taken for sure).
    Without Redis, or when it fails, False: this is only a hint."""
    flag = _redis()
    if flag is None:
        return False
    try:
        return bool(flag.exists(flag_key(name)))
    except Exception:  # noqa: BLE001 - a hint only
        return False


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
