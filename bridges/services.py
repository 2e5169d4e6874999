"""Credentials: API keys and the housekeeping of idempotency keys."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bridges.keys import display_prefix, generate_key, hash_key
from bridges.models import ApiKey, IdempotencyKey
from orderflow.errors import Conflict
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
def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is not None:
        raise Conflict(f"{locked} is already revoked.", code="already_revoked")
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at", "updated_at"])
    return locked


def idempotency_keys_prune() -> int:
    cutoff = timezone.now() - settings.ORDERFLOW_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
