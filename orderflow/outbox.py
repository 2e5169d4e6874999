"""Write events to the transactional outbox."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router

from orderflow.models import OutboxEvent


class OutboxOutsideTransaction(RuntimeError):
    """``emit`` was called outside ``transaction.atomic``: the event could outlive a rollback."""


def emit(event_type: str, payload: dict, *, channel=None, aggregate=None) -> OutboxEvent:
    """Record ``event_type`` in the caller's transaction; delivery happens after commit.

    ``aggregate`` is the model instance the event is about (its public id is stored so
    deliveries can be searched by it).
    """
    alias = router.db_for_write(OutboxEvent)
    if not connections[alias].in_atomic_block:
        raise OutboxOutsideTransaction(
            f"emit({event_type!r}) must run inside the service's transaction.atomic block"
        )
    # Round-trip through the JSON encoder so Decimals/datetimes become their JSON forms now,
    # exactly as receivers will see them.
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return OutboxEvent.objects.create(
        type=event_type,
        payload=data,
        channel=channel,
        aggregate_type=aggregate._meta.label_lower if aggregate is not None else "",
        aggregate_id=getattr(aggregate, "public_id", "") if aggregate is not None else "",
    )
