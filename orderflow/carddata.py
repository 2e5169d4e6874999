"""Refuse anything that looks like a payment card number (PCI: we never store a PAN)."""

from __future__ import annotations

import json
import re

from django.conf import settings

from orderflow.api.errors import problem_json_response

# A run of at least 13 digits (the shortest card number), single spaces or dashes allowed
# between them. Shorter runs (prices, quantities, dates) are never candidates, so the regex
# skips them instead of handing each one to the Luhn check.
DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
GUARDED_PREFIXES = ("/api/", "/bridge/")


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


def looks_like_card_number(text: str) -> bool:
    for match in DIGIT_RUN.finditer(text):
        digits = match.group().replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return True
    return False


def find_card_number(value, path: str = "") -> str | None:
    """The path of the first field holding a card-like value (keys included), else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if looks_like_card_number(str(key)):
                return child
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


def card_data_problem(field: str):
    return problem_json_response(
        status_code=400,
        code="card_data_forbidden",
        title="Card data is not accepted",
        detail=(
            f"The field '{field}' holds what looks like a payment card number. OrderFlow never "
            "accepts card data: send your payment provider's reference instead."
        ),
        field=field,
    )


class CardDataGuardMiddleware:
    """Checks the query string and body of every API/bridge request before any view runs,
    so a card number is never stored, logged or echoed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(GUARDED_PREFIXES):
            field = self.inspect(request)
            if field:
                return card_data_problem(field)
        return self.get_response(request)

    def inspect(self, request) -> str | None:
        for key, values in request.GET.lists():
            for value in values:
                if looks_like_card_number(key) or looks_like_card_number(value):
                    return f"query.{key}"
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        try:
            if int(request.META.get("CONTENT_LENGTH") or 0) > settings.ORDERFLOW_BRIDGE_MAX_BODY:
                return None  # refused as too large by the endpoint, never read whole
        except ValueError:
            pass
        body = request.body
        if not body:
            return None
        text = body.decode("utf-8", errors="replace")
        if (request.content_type or "").endswith("json"):
            try:
                return find_card_number(json.loads(text))
            except ValueError:
                pass  # the parser will answer malformed_request; still scan the raw text
        return "body" if looks_like_card_number(text) else None
