"""Write events to the transactional outbox."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction

from orderflow.models import OutboxEvent


class OutboxOutsideTransaction(RuntimeError):
    """``emit`` was called outside ``transaction.atomic``: the event could outlive a rollback."""


def _row(event_type: str, payload: dict, channel, aggregate) -> OutboxEvent:
    # Round-trip through the JSON encoder so Decimals/datetimes become their JSON forms now,
    # exactly as receivers will see them.
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return OutboxEvent(
        type=event_type,
        payload=data,
        channel=channel,
        aggregate_type=aggregate._meta.label_lower if aggregate is not None else "",
        aggregate_id=getattr(aggregate, "public_id", "") if aggregate is not None else "",
    )


def _require_transaction(what: str) -> None:
    alias = router.db_for_write(OutboxEvent)
    if not connections[alias].in_atomic_block:
        raise OutboxOutsideTransaction(
            f"{what} must run inside the service's transaction.atomic block"
        )


logger = logging.getLogger("orderflow.outbox")
DISPATCH_TASK = "bridges.tasks.dispatch_outbox_task"
# Set while a wake-up is on its way to the dispatcher; the dispatcher clears it *before* it
# reads the outbox, so an event committed while the flag is set is always seen by that run.
# Busy stores thereby send one wake-up per dispatcher run instead of one per transaction.
WAKE_FLAG = "orderflow:outbox:wake-pending"
WAKE_FLAG_TTL = 30  # a lost wake-up (broker crash) blocks others this long; beat sweeps anyway
_flag_client: tuple[str, object] | None = None


def _wake_flag():
    """A Redis client on the broker, or None when the broker is not Redis (then every
    transaction sends its own wake-up)."""
    global _flag_client
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    if _flag_client is None or _flag_client[0] != url:
        import redis

        _flag_client = (url, redis.Redis.from_url(url, socket_connect_timeout=1,
                                                  socket_timeout=1))
    return _flag_client[1]


def wake_flag_clear() -> None:
    """Called by the dispatcher before it reads the outbox."""
    flag = _wake_flag()
    if flag is not None:
        try:
            flag.delete(WAKE_FLAG)
        except Exception as exc:  # noqa: BLE001 - then the flag expires on its own
            logger.warning("could not clear the outbox wake-up flag: %s", exc)


def _dispatch_after_commit() -> None:
    """Wake the dispatcher. Sent by name so the kernel does not import the bridges app; a
    broker outage is only logged, because the beat sweeper picks the events up later."""
    from orderflow.celery import app

    try:
        flag = _wake_flag()
        if flag is not None and not flag.set(WAKE_FLAG, 1, nx=True, ex=WAKE_FLAG_TTL):
            return  # a dispatcher run that will see this transaction's events is pending
        app.send_task(DISPATCH_TASK, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweeper recovers
        logger.warning("could not wake the outbox dispatcher: %s", exc)


def _notify_once(alias: str) -> None:
    # One wake-up per transaction, however many events it wrote.
    pending = connections[alias].run_on_commit
    if not any(callback is _dispatch_after_commit for _, callback, _ in pending):
        transaction.on_commit(_dispatch_after_commit, using=alias)


def emit(event_type: str, payload: dict, *, channel=None, aggregate=None) -> OutboxEvent:
    """Record ``event_type`` in the caller's transaction; delivery happens after commit.

    ``aggregate`` is the model instance the event is about (its public id is stored so
    deliveries can be searched by it).
    """
    _require_transaction(f"emit({event_type!r})")
    event = _row(event_type, payload, channel, aggregate)
    event.save(force_insert=True)
    _notify_once(router.db_for_write(OutboxEvent))
    return event


def emit_many(events: list[tuple[str, dict, object, object]]) -> list[OutboxEvent]:
    """Several ``(event_type, payload, channel, aggregate)`` in one INSERT, in order."""
    _require_transaction("emit_many")
    rows = OutboxEvent.objects.bulk_create([_row(*event) for event in events])
    _notify_once(router.db_for_write(OutboxEvent))
    return rows
