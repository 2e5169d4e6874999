"""API key format and hashing, and shopper tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

KEY_PREFIX = "of"
SHOPPER_TOKEN_SALT = "orderflow.shopper-token"


def generate_key(*, mode: str, kind: str) -> str:
    """``of_test_sec_<43 url-safe chars>``: 256 random bits."""
    return f"{KEY_PREFIX}_{mode}_{kind}_{secrets.token_urlsafe(32)}"


def hash_key(raw: str) -> str:
    # The key is 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[: len("of_test_sec_") + 4]


def parse_key(raw: str) -> tuple[str, str] | None:
    """``(mode, kind)`` of a well-formed key, else None."""
    parts = raw.split("_", 3)
    if len(parts) != 4 or parts[0] != KEY_PREFIX:
        return None
    if parts[1] not in ("test", "live") or parts[2] not in ("pub", "sec") or len(parts[3]) < 20:
        return None
    return parts[1], parts[2]


def shopper_token_issue(*, api_key, customer) -> tuple[str, datetime]:
    token = signing.dumps({"c": customer.public_id, "k": api_key.public_id},
                          salt=SHOPPER_TOKEN_SALT, compress=True)
    return token, timezone.now() + settings.ORDERFLOW_SHOPPER_TOKEN_TTL


def shopper_token_read(token: str) -> dict | None:
    """The token's payload, or None when it is forged, malformed or expired."""
    try:
        return signing.loads(token, salt=SHOPPER_TOKEN_SALT,
                             max_age=settings.ORDERFLOW_SHOPPER_TOKEN_TTL)
    except signing.BadSignature:  # includes SignatureExpired
        return None


# --- secrets that rotate with a grace period (bridge connections, webhook endpoints) ----------

def secret_rotate(obj, *, new_secret: str, grace: timedelta | None = None) -> list[str]:
    """Put ``new_secret`` on ``obj`` (a row with ``secret``, ``previous_secret`` and
    ``previous_secret_expires_at``); the old one stays valid for ``grace``. Returns the fields
    to save."""
    grace = settings.ORDERFLOW_SECRET_ROTATION_GRACE if grace is None else grace
    obj.previous_secret = obj.secret
    obj.previous_secret_expires_at = timezone.now() + grace
    obj.secret = new_secret
    return ["secret", "previous_secret", "previous_secret_expires_at"]


def secrets_in_force(obj, now: datetime | None = None) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    now = now or timezone.now()
    secrets_ = [obj.secret]
    if obj.previous_secret and obj.previous_secret_expires_at \
            and obj.previous_secret_expires_at > now:
        secrets_.append(obj.previous_secret)
    return secrets_
