"""The inbound bridge's signature, shared by the server and the reference client in
bridges/hmac/client.py:

    message   = timestamp + "\\n" + client_id + "\\n" + METHOD + "\\n" + path + "\\n"
                + sha256_hex(raw_body)
    signature = "sha256=" + hex(HMAC-SHA256(secret, message))
"""

from __future__ import annotations

import hashlib
import hmac

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
