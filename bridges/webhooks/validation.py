"""What a webhook endpoint may be set to: the checks ``webhook_endpoint_create``/``update``
run (and forms run before saving, through ``webhook_endpoint_validate``)."""

from __future__ import annotations

import re

from bridges.constants import AckRule, Ordering
from bridges.models import WebhookEndpoint
from bridges.webhooks import outbound
from orderflow.errors import ValidationFailed

RESERVED_HEADERS = re.compile(
    r"^(webhook-.*|x-orderflow-.*|content-type|content-length|host|user-agent|"
    r"transfer-encoding|connection)$", re.IGNORECASE)
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
EVENT_PATTERN = re.compile(r"^(\*|[a-z_]+\.\*|[a-z_]+(\.[a-z_]+)+)$")

ENDPOINT_FIELDS = {
    "url", "description", "event_types", "channels", "is_active", "timeout_seconds",
    "max_attempts", "ordering", "retry_client_errors", "ack_rule", "ack_field", "ack_value",
    "custom_headers",
}


def validate_endpoint(values: dict, *, check_url: bool = True) -> None:
    errors: dict[str, list[str]] = {}
    if check_url:  # an unchanged URL is not looked up again: switching off must always work
        try:
            outbound.check_url(values["url"])
        except outbound.AddressRefused as exc:
            errors["url"] = [str(exc)]
    event_types = values["event_types"]
    if not isinstance(event_types, list) or not event_types:
        errors["event_types"] = ["Subscribe to at least one event type (or \"*\")."]
    else:
        bad = [t for t in event_types if not isinstance(t, str) or not EVENT_PATTERN.match(t)]
        if bad:
            errors["event_types"] = [f"Not an event type or wildcard: {bad[0]!r}."]
    if not 1 <= int(values["timeout_seconds"]) <= 30:
        errors["timeout_seconds"] = ["Between 1 and 30 seconds."]
    if not 1 <= int(values["max_attempts"]) <= 20:
        errors["max_attempts"] = ["Between 1 and 20."]
    if values["ordering"] not in Ordering.values:
        errors["ordering"] = [f"One of {', '.join(Ordering.values)}."]
    rule, field, expected = values["ack_rule"], values["ack_field"], values["ack_value"]
    if rule not in AckRule.values:
        errors["ack_rule"] = ["Unknown acknowledgement rule."]
    elif rule == AckRule.REGEX:
        try:
            re.compile(expected)
        except re.error as exc:
            errors["ack_value"] = [f"Not a regular expression: {exc}."]
    elif rule == AckRule.JSON_EQUALS and not field:
        errors["ack_field"] = ["Name the JSON field to compare."]
    elif rule == AckRule.CONTAINS and not expected:
        errors["ack_value"] = ["Give the text the body must contain."]
    if not errors.get("event_types"):
        values["event_types"] = list(dict.fromkeys(event_types))
    headers = values["custom_headers"]
    if not isinstance(headers, dict) or len(headers) > 20:
        errors["custom_headers"] = ["An object of at most 20 header names to values."]
    else:
        for name, value in headers.items():
            if not HEADER_NAME.match(str(name)) or RESERVED_HEADERS.match(str(name)):
                errors["custom_headers"] = [f"{name!r} cannot be set."]
            elif not isinstance(value, str) or "\r" in value or "\n" in value \
                    or len(value) > 1000:
                errors["custom_headers"] = [f"The value of {name!r} must be one line of text."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="invalid_webhook_endpoint", errors=errors)


def endpoint_values(endpoint: WebhookEndpoint | None, changes: dict) -> dict:
    defaults = {
        "description": "", "is_active": True, "timeout_seconds": 10, "max_attempts": 8,
        "ordering": Ordering.PARALLEL, "retry_client_errors": False, "ack_rule": AckRule.NONE,
        "ack_field": "", "ack_value": "", "custom_headers": {}, "event_types": [],
    }
    values = {}
    for name in ENDPOINT_FIELDS - {"channels"}:
        if name in changes:
            values[name] = changes[name]
        elif endpoint is not None:
            values[name] = getattr(endpoint, name)
        else:
            values[name] = defaults.get(name, "")
    return values


def webhook_endpoint_validate(*, endpoint: WebhookEndpoint | None, changes: dict) -> dict:
    """The endpoint's values after ``changes``, or ``ValidationFailed`` with field errors:
    what create/update check, for forms that want to show errors before saving."""
    values = endpoint_values(endpoint, {k: v for k, v in changes.items() if k != "channels"})
    validate_endpoint(values, check_url=endpoint is None or values["url"] != endpoint.url)
    return values
