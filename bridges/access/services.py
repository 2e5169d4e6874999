"""Credentials (API keys, bridge connections) and the housekeeping of the records they leave
(idempotency keys, replay nonces, transaction-log entries)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bridges.access.authentication import api_key_cache_forget
from bridges.access.keys import (
    display_prefix,
    generate_key,
    hash_key,
    secret_rotate,
    secrets_in_force,
)
from bridges.access.network import parse_allow_list
from bridges.access.selectors import connection_cache_forget
from bridges.models import (
    ApiKey,
    BridgeScope,
    IdempotencyKey,
    InboundConnection,
    ReplayNonce,
    TransactionLog,
)
from orderflow.errors import Conflict, ValidationFailed
from orderflow.timeline import Actor


@transaction.atomic
def api_key_create(*, name: str, kind: str, mode: str, channel, created_by=None
                   ) -> tuple[ApiKey, str]:
    """A new key; the raw key is returned once and never stored."""
    raw = generate_key(mode=mode, kind=kind)
    api_key = ApiKey.objects.create(
        name=name, kind=kind, mode=mode, channel=channel, prefix=display_prefix(raw),
        key_hash=hash_key(raw), created_by=created_by,
    )
    return api_key, raw


@transaction.atomic
def api_key_rename(*, api_key: ApiKey, name: str) -> ApiKey:
    """The label is the only thing about a key that changes after it is issued."""
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    locked.name = name
    locked.save(update_fields=["name", "updated_at"])
    return locked


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is not None:
        raise Conflict(f"{locked} is already revoked.", code="already_revoked")
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at", "updated_at"])
    # This process forgets it now and again after commit (a request in between may have
    # cached the old row); other processes when their entry expires
    # (ORDERFLOW_API_KEY_CACHE_SECONDS).
    api_key_cache_forget(locked.key_hash)
    transaction.on_commit(lambda: api_key_cache_forget(locked.key_hash))
    return locked


def idempotency_keys_prune() -> int:
    cutoff = timezone.now() - settings.ORDERFLOW_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- inbound bridge connections ----------------------------------------------------------------

def _new_client_id() -> str:
    return "ofc_" + secrets.token_hex(10)


def _new_secret() -> str:
    return "ofs_" + secrets.token_urlsafe(32)


def _validate_connection(*, scopes: list[str], allowed_ips: str, replay_window_seconds: int):
    unknown = sorted(set(scopes) - set(BridgeScope.values))
    if unknown:
        raise ValidationFailed(f"Unknown scopes: {', '.join(unknown)}.", code="unknown_scope",
                               errors={"scopes": [f"Unknown: {', '.join(unknown)}"]})
    try:
        parse_allow_list(allowed_ips)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="invalid_ip_allow_list",
                               errors={"allowed_ips": [str(exc)]}) from None
    if not 1 <= replay_window_seconds <= 3600:
        raise ValidationFailed("The replay window must be 1–3600 seconds.",
                               code="invalid_replay_window",
                               errors={"replay_window_seconds": ["Out of range."]})


@transaction.atomic
def connection_create(*, name: str, channel, scopes: list[str], allowed_ips: str = "",
                      replay_window_seconds: int = 60, is_enabled: bool = True,
                      created_by=None) -> InboundConnection:
    _validate_connection(scopes=scopes, allowed_ips=allowed_ips,
                         replay_window_seconds=replay_window_seconds)
    return InboundConnection.objects.create(
        name=name, channel=channel, scopes=sorted(set(scopes)), allowed_ips=allowed_ips,
        replay_window_seconds=replay_window_seconds, is_enabled=is_enabled,
        client_id=_new_client_id(), secret=_new_secret(), created_by=created_by,
    )


@transaction.atomic
def connection_update(*, connection: InboundConnection, **changes) -> InboundConnection:
    """Name, enabled flag, scopes, allow-list, window, channel; never the credentials."""
    allowed = {"name", "channel", "scopes", "allowed_ips", "replay_window_seconds",
               "is_enabled"}
    if set(changes) - allowed:
        raise ValidationFailed(f"Cannot change {', '.join(sorted(set(changes) - allowed))}.")
    locked = InboundConnection.objects.select_for_update().get(pk=connection.pk)
    merged = {f: changes.get(f, getattr(locked, f)) for f in
              ("scopes", "allowed_ips", "replay_window_seconds")}
    _validate_connection(**merged)
    for field_name, value in changes.items():
        setattr(locked, field_name, sorted(set(value)) if field_name == "scopes" else value)
    locked.save(update_fields=[*changes, "updated_at"])
    _forget_connection(locked)
    return locked


def _forget_connection(connection: InboundConnection) -> None:
    # This process at once, and again after commit (a request meanwhile may have read the old
    # row); other processes within ORDERFLOW_API_KEY_CACHE_SECONDS.
    connection_cache_forget(connection.client_id)
    transaction.on_commit(lambda: connection_cache_forget(connection.client_id))


@transaction.atomic
def connection_rotate_secret(*, connection: InboundConnection, grace: timedelta | None = None,
                             actor: Actor) -> InboundConnection:
    """A new secret; the previous one keeps working until the grace period ends."""
    locked = InboundConnection.objects.select_for_update().get(pk=connection.pk)
    fields = secret_rotate(locked, new_secret=_new_secret(), grace=grace)
    locked.save(update_fields=[*fields, "updated_at"])
    _forget_connection(locked)
    return locked


def connection_valid_secrets(connection: InboundConnection) -> list[str]:
    return secrets_in_force(connection)


def bridge_records_prune() -> dict:
    """Expired replay nonces (bridges.hmac.replay) and transaction-log entries past their
    retention."""
    now = timezone.now()
    nonces, _ = ReplayNonce.objects.filter(expires_at__lte=now).delete()
    cutoff = now - settings.ORDERFLOW_TRANSACTION_LOG_RETENTION
    logs, _ = TransactionLog.objects.filter(created_at__lt=cutoff).delete()
    return {"nonces": nonces, "log_entries": logs}
