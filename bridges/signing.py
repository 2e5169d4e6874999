"""Signatures: the inbound bridge's (shared by the server and the reference client in
bridges/client.py) and the outbound webhooks' (Standard Webhooks).

    message   = timestamp + "\\n" + client_id + "\\n" + METHOD + "\\n" + path + "\\n"
                + sha256_hex(raw_body)
    signature = "sha256=" + hex(HMAC-SHA256(secret, message))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SIGNATURE_PREFIX = "sha256="


def canonical_message(*, timestamp: str, client_id: str, method: str, path: str,
                      body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([str(timestamp), client_id, method.upper(), path, body_hash]).encode()


def sign(*, secret: str, timestamp: str, client_id: str, method: str, path: str,
         body: bytes) -> str:
    message = canonical_message(timestamp=timestamp, client_id=client_id, method=method,
                                path=path, body=body)
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, received: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(expected.encode(), received.encode())


# --- outbound: Standard Webhooks (https://www.standardwebhooks.com/) ---------------------------

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
