"""Outbound signatures: Standard Webhooks (https://www.standardwebhooks.com/), used by the
webhook deliveries and by exports uploaded to a URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

WEBHOOK_SECRET_PREFIX = "whsec_"


def webhook_secret_new() -> str:
    """``whsec_`` + base64 of 32 random bytes, the format Standard Webhooks libraries read."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    message = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def webhook_signatures(*, secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per valid secret (several during a rotation)."""
    return " ".join(webhook_signature(secret=s, msg_id=msg_id, timestamp=timestamp, body=body)
                    for s in secrets_)
