"""Reachability checks for /healthz: the database, the broker and (when configured) Redis."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import connections

logger = logging.getLogger("orderflow.health")


def check_database() -> None:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}
    timeout = settings.ORDERFLOW_HEALTHZ_TIMEOUT_SECONDS
    if url.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out"):
            folder = Path(options[key])
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise OSError(f"broker folder {folder} is not writable")
        return
    if url.startswith(("redis://", "rediss://")):
        _ping_redis(url, timeout)
        return
    from kombu import Connection

    with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                               timeout=timeout)


def check_redis() -> None:
    _ping_redis(settings.CONFIG.redis_url, settings.ORDERFLOW_HEALTHZ_TIMEOUT_SECONDS)


def _ping_redis(url: str, timeout: float) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


CHECKS = {"database": check_database, "broker": check_broker, "redis": check_redis}


def run_checks() -> dict[str, str]:
    """``{check: "ok" | "error: <exception class>"}``; Redis only where REDIS_URL is set."""
    results = {}
    for name, check in CHECKS.items():
        if name == "redis" and not settings.CONFIG.redis_url:
            continue
        try:
            check()
        except Exception as exc:  # any failure means "not reachable": say which, not why
            # (the error's text names hosts and ports; it goes to the server's log only)
            logger.warning("healthz: %s unavailable", name, exc_info=True)
            results[name] = f"error: {exc.__class__.__name__}"
        else:
            results[name] = "ok"
    return results
