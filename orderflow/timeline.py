"""Who did something, and the one way timeline rows are written."""

from __future__ import annotations

from dataclasses import dataclass

from orderflow.models import ActorSource, TimelineEvent


@dataclass(frozen=True)
class Actor:
    """The principal behind a change: a staff user, an API key, a bridge connection, or the
    system (beat tasks, imports)."""

    source: str = ActorSource.SYSTEM
    user: object | None = None
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(source=ActorSource.SYSTEM, label=label)

    @classmethod
    def staff(cls, user, *, source: str = ActorSource.ADMIN) -> Actor:
        return cls(source=source, user=user, label=user.get_username())

    @property
    def display(self) -> str:
        return self.label or str(self.source)


def record(event_model: type[TimelineEvent], *, actor: Actor, type: str, message: str = "",
           parameters: dict | None = None, **subject) -> TimelineEvent:
    """Write one timeline row for ``subject`` (e.g. ``order=order``).

    Call it from an app's ``events.py`` factory, inside the service's transaction.
    """
    return event_model.objects.create(
        type=type,
        actor_source=actor.source,
        actor_user=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.display[:200],
        message=message,
        parameters=parameters or {},
        **subject,
    )


def changes(instance, new_values: dict) -> dict:
    """``{field: {"old": ..., "new": ...}}`` for the fields whose value differs."""
    diff = {}
    for name, new in new_values.items():
        old = getattr(instance, name)
        if old != new:
            diff[name] = {"old": _jsonable(old), "new": _jsonable(new)}
    return diff


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "public_id"):
        return value.public_id
    return str(value)
