"""What the transaction log may keep: no secrets, tokens, signatures or card data."""

from __future__ import annotations

import json
import re

from orderflow.carddata import CARD_REDACTED, looks_like_card_number, redact_card_numbers

MAX_BODY = 4096
REDACTED = "[redacted]"
# A key whose name holds one of these (in any case) has its value redacted.
SECRET_WORDS = ("secret", "token", "password", "signature", "authorization", "apikey",
                "api_key")
SECRET_KEY_NAMES = re.compile("|".join(map(re.escape, SECRET_WORDS)), re.IGNORECASE)
KEPT_HEADERS = {
    "CONTENT_TYPE": "Content-Type",
    "CONTENT_LENGTH": "Content-Length",
    "HTTP_USER_AGENT": "User-Agent",
    "HTTP_X_CLIENT_ID": "X-Client-Id",
    "HTTP_X_TIMESTAMP": "X-Timestamp",
    "HTTP_X_REQUEST_ID": "X-Request-Id",
    "HTTP_IDEMPOTENCY_KEY": "Idempotency-Key",
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
}
SECRET_HEADERS = {
    "HTTP_AUTHORIZATION": "Authorization",
    "HTTP_X_SIGNATURE": "X-Signature",
    "HTTP_X_STOREFRONT_SHOPPER_TOKEN": "X-Storefront-Shopper-Token",
    "HTTP_COOKIE": "Cookie",
}


def clean_text(text: str) -> str:
    """``text`` as a column can store it: card numbers redacted, a NUL or an unpaired
    surrogate written as its escape (a refused request is still logged)."""
    text = redact_card_numbers(text).replace("\x00", "\\u0000")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def redact_headers(meta: dict) -> dict:
    headers = {name: clean_text(str(meta[key]))[:200]
               for key, name in KEPT_HEADERS.items() if key in meta}
    headers.update({name: REDACTED for key, name in SECRET_HEADERS.items() if key in meta})
    return headers


def _walk(value):
    if isinstance(value, dict):
        return {redact_card_numbers(str(k)): REDACTED if SECRET_KEY_NAMES.search(str(k))
                else _walk(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v) for v in value]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            and looks_like_card_number(str(value)):
        return CARD_REDACTED
    return value


def _mentions_secret(text: str) -> bool:
    """``SECRET_KEY_NAMES.search(text)``; for ASCII text, lower-casing and looking for each
    word is exactly that search, several times faster on a whole body."""
    if text.isascii():
        lowered = text.lower()
        return any(word in lowered for word in SECRET_WORDS)
    return SECRET_KEY_NAMES.search(text) is not None


def redact_body(raw: bytes | str | None) -> str:
    if not raw:
        return ""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if "\\" not in text and not _mentions_secret(text) and not looks_like_card_number(text):
        # Nothing to redact (every key and value is in the text as it is, none escaped —
        # a JSON escape such as ``\t`` between digit groups hides a card from the scan of
        # the raw text): kept as sent, without parsing and re-encoding every logged body.
        cleaned = text
    else:
        try:
            cleaned = json.dumps(_walk(json.loads(text)), ensure_ascii=False)
        except (ValueError, RecursionError):
            cleaned = CARD_REDACTED if looks_like_card_number(text) else text
    cleaned = clean_text(cleaned)
    if len(cleaned) > MAX_BODY:
        cleaned = cleaned[:MAX_BODY] + "…[truncated]"
    return cleaned
