"""Refuse anything that looks like a payment card number (PCI: we never store a PAN)."""

from __future__ import annotations

import re

# A run of at least 13 digits (the shortest card number) with any run of non-alphanumeric
# characters between them (spaces, dashes, dots, slashes, NBSP, tabs, NUL...). ``\d`` is any
# Unicode decimal digit, so fullwidth digits count too. Shorter runs (prices, quantities) are
# never candidates, so the regex skips them instead of handing each one to the Luhn check.
DIGIT_RUN = re.compile(r"\d(?:[\W_]*\d){12,}")
DIGIT_GROUP = re.compile(r"\d+")
# An ISO 8601 date, date-time or time of day is not a card number, though its digits can run
# to 16 with separators and pass the Luhn check one time in ten
# (``2026-12-06 21:50:05.123456+00:00``, a ``2026-12-01/2026-12-31`` range). A digit run
# that is nothing but such timestamps (one, or a range) is not scanned; a run with anything
# more in it is, so a card written beside a timestamp, or in groups that begin like a date,
# is still found.
_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?"
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2}){1,2}(?:\.\d{1,6})?)"
_TIMESTAMP = rf"(?:{_DATE}(?:[T ]{_TIME}{_OFFSET}?)?|{_TIME}{_OFFSET}?)"
TIMESTAMP_RUN = re.compile(rf"{_TIMESTAMP}(?:\s*(?:/|\.\.|,)\s*{_TIMESTAMP})*")
GUARDED_PREFIXES = ("/api/", "/bridge/")
CARD_REDACTED = "[redacted card data]"


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _run_holds_card(run: str) -> bool:
    """Whether some consecutive digit groups of ``run`` (a separated digit run) spell 13 to 19
    digits passing the Luhn check: a card number followed or preceded by other numbers
    ("4111 1111 1111 1111 12/29") is still found."""
    groups = DIGIT_GROUP.findall(run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_ok(digits):
                return True
    return False


def _card_runs(text: str):
    """The separated digit runs of ``text`` that hold a card number (timestamps aside)."""
    for match in DIGIT_RUN.finditer(text):
        if not TIMESTAMP_RUN.fullmatch(match.group()) and _run_holds_card(match.group()):
            yield match


def looks_like_card_number(text: str) -> bool:
    return next(_card_runs(text), None) is not None


def redact_card_numbers(text: str) -> str:
    """``text`` with every digit run that holds a card number replaced by a marker."""
    parts, last = [], 0
    for match in _card_runs(text):
        parts += [text[last:match.start()], CARD_REDACTED]
        last = match.end()
    return "".join(parts) + text[last:] if parts else text


def find_card_number(value, path: str = "") -> str | None:
    """The path of the first field holding a card-like value (keys included), else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if looks_like_card_number(str(key)):
                return redact_card_numbers(child)  # the key is named, never echoed
            found = find_card_number(item, child)
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = find_card_number(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        return path or "body" if looks_like_card_number(str(value)) else None
    return None
