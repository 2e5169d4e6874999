"""The transaction log keeps bodies as sent unless something in them must be redacted."""

import json

from hypothesis import given
from hypothesis import strategies as st

from bridges.txlog.redaction import SECRET_KEY_NAMES, _mentions_secret, redact_body


def test_a_body_with_nothing_to_hide_is_kept_as_sent():
    body = '{"sku":"COF-BM-250", "quantity": 2, "total": "6669.50", "at": "2026-12-01"}'
    assert redact_body(body.encode()) == body


def test_secret_keys_and_card_numbers_are_redacted():
    kept = json.loads(redact_body(b'{"secret": "whsec_abc", "note": "4111 1111 1111 1111"}'))
    assert kept == {"secret": "[redacted]", "note": "[redacted card data]"}


def test_escaped_keys_and_digits_are_redacted_too():
    # JSON escapes hide a key or a card number from a look at the raw text.
    raw = b'{"s\\u0065cret": "whsec_abc", "n": "\\u0034111111111111111"}'
    assert json.loads(redact_body(raw)) == {"secret": "[redacted]",
                                            "n": "[redacted card data]"}


def test_long_bodies_are_truncated():
    assert redact_body(b'{"a": "' + b"x" * 5000 + b'"}').endswith("…[truncated]")


@given(st.lists(st.one_of(st.sampled_from(["Secret", "TOKEN", "api_Key", "ApiKey", "sig",
                                           "ſecret", "\u212apikey", "passw0rd", "Authorization"]),
                          st.text(max_size=12)), max_size=6))
def test_the_quick_secret_word_check_agrees_with_the_key_pattern(parts):
    text = "".join(parts)
    assert _mentions_secret(text) is (SECRET_KEY_NAMES.search(text) is not None)
