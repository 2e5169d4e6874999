"""Write events to the transactional outbox."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router

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


def emit(event_type: str, payload: dict, *, channel=None, aggregate=None) -> OutboxEvent:
    """Record ``event_type`` in the caller's transaction; delivery happens after commit.

    ``aggregate`` is the model instance the event is about (its public id is stored so
    deliveries can be searched by it).
    """
    _require_transaction(f"emit({event_type!r})")
    event = _row(event_type, payload, channel, aggregate)
    event.save(force_insert=True)
    return event


def emit_many(events: list[tuple[str, dict, object, object]]) -> list[OutboxEvent]:
    """Several ``(event_type, payload, channel, aggregate)`` in one INSERT, in order."""
    _require_transaction("emit_many")
    return OutboxEvent.objects.bulk_create([_row(*event) for event in events])
