"""Refuse anything that looks like a payment card number (PCI: we never store a PAN)."""

from __future__ import annotations

import re

# A run of at least 13 digits (the shortest card number) with any run of non-alphanumeric
# characters between them (spaces, dashes, dots, slashes, NBSP, tabs, NUL...). ``\d`` is any
# Unicode decimal digit, so fullwidth digits count too. Shorter runs (prices, quantities) are
# never candidates, so the regex skips them instead of handing each one to the Luhn check.
DIGIT_RUN = re.compile(r"\d(?:[\W_]*\d){12,}")
DIGIT_GROUP = re.compile(r"\d+")
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


def looks_like_card_number(text: str) -> bool:
    return any(_run_holds_card(match.group()) for match in DIGIT_RUN.finditer(text))


def redact_card_numbers(text: str) -> str:
    """``text`` with every digit run that holds a card number replaced by a marker."""
    if not DIGIT_RUN.search(text):
        return text
    return DIGIT_RUN.sub(
        lambda match: CARD_REDACTED if _run_holds_card(match.group()) else match.group(), text)


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
