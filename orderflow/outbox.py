"""Write events to the transactional outbox."""

from __future__ import annotations

import json

from celery import current_app
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.utils import timezone

from orderflow import wakeup
from orderflow.models import DirtyDay, OutboxEvent


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


WAKE = "outbox"  # see orderflow.wakeup: one wake-up per dispatcher run, not per transaction
WAKE_FLAG = wakeup.flag_key(WAKE)


def wake_flag_hold(token: str) -> bool:
    """Called by each link of the dispatcher's chain (see ``wakeup.wake_hold``)."""
    return wakeup.wake_hold(WAKE, token)


def dispatch_pending() -> bool:
    """Whether the dispatcher's wake-up is set: events may be waiting to be fanned out."""
    return wakeup.is_pending(WAKE)


def wake_flag_clear() -> None:
    """Called by the dispatcher before its last look at the outbox."""
    wakeup.wake_clear(WAKE)


def wake_dispatcher() -> None:
    """Wake the dispatcher unless it is already on its way. The task is sent by the name in
    ``settings.ORDERFLOW_OUTBOX_DISPATCH_TASK`` (project wiring): the kernel names no app."""
    wakeup.wake(WAKE, lambda: current_app.send_task(settings.ORDERFLOW_OUTBOX_DISPATCH_TASK,
                                                    retry=False))


_dispatch_after_commit = wake_dispatcher


def _notify_once(alias: str) -> None:
    # One wake-up per transaction, however many events it wrote.
    pending = connections[alias].run_on_commit
    if not any(callback is _dispatch_after_commit for _, callback, _ in pending):
        transaction.on_commit(_dispatch_after_commit, using=alias)


# Analytics: aggregate model label ("orders.order") → a function of the aggregate returning the
# datetimes whose local days (settings.TIME_ZONE) hold figures the event may move. Registered
# by the analytics app at ready(); an aggregate type with no marker marks nothing.
_DAY_MARKERS: dict = {}


def register_day_marker(label: str, marker) -> None:
    """Make every outbox event about a ``label`` aggregate mark the days ``marker(aggregate)``
    names dirty (for its channel), in the event's transaction."""
    _DAY_MARKERS[label] = marker


def _mark_days(events) -> None:
    keys = set()
    for channel, aggregate in events:
        if channel is None or aggregate is None:
            continue
        marker = _DAY_MARKERS.get(aggregate._meta.label_lower)
        if marker is None:
            continue
        channel_id = getattr(channel, "pk", channel)
        for moment in marker(aggregate):
            if moment is not None:
                keys.add((timezone.localtime(moment).date(), channel_id))
    if keys:
        DirtyDay.objects.bulk_create(
            [DirtyDay(day=day, channel_id=channel_id) for day, channel_id in sorted(keys)],
            ignore_conflicts=True)


def emit(event_type: str, payload: dict, *, channel=None, aggregate=None) -> OutboxEvent:
    """Record ``event_type`` in the caller's transaction; delivery happens after commit.

    ``aggregate`` is the model instance the event is about (its public id is stored so
    deliveries can be searched by it).
    """
    _require_transaction(f"emit({event_type!r})")
    event = _row(event_type, payload, channel, aggregate)
    event.save(force_insert=True)
    _mark_days([(channel, aggregate)])
    _notify_once(router.db_for_write(OutboxEvent))
    return event


def emit_many(events: list[tuple[str, dict, object, object]]) -> list[OutboxEvent]:
    """Several ``(event_type, payload, channel, aggregate)`` in one INSERT, in order."""
    _require_transaction("emit_many")
    rows = OutboxEvent.objects.bulk_create([_row(*event) for event in events])
    _mark_days({(channel, aggregate) for _, _, channel, aggregate in events})
    _notify_once(router.db_for_write(OutboxEvent))
    return rows
