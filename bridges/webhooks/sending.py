"""Sending a claimed batch: the body and signed headers every receiver gets, the POSTs, and
what each answer means (``judge``). No database writes here: the services lease before and
record after."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from bridges.access.keys import secrets_in_force
from bridges.constants import AckRule, AttemptOutcome, Ordering
from bridges.models import WebhookDelivery, WebhookEndpoint
from bridges.webhooks import outbound
from bridges.webhooks.signing import webhook_signatures

RETRYABLE_CLIENT_ERRORS = {408, 409, 425, 429}
UNREACHABLE = {"dns", "connect", "timeout", "refused", "tls"}  # outbound.Response.error_kind


def endpoint_signing_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    return secrets_in_force(endpoint, now)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The payload every receiver gets: ``{id, type, created_at, sequence, data}``."""
    event = delivery.event
    return json.dumps({
        "id": event.public_id,
        "type": event.type,
        "created_at": event.created_at,
        "sequence": delivery.sequence,
        "data": event.payload,
    }, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_headers(endpoint: WebhookEndpoint, delivery: WebhookDelivery, body: bytes,
                    *, timestamp: int) -> dict[str, str]:
    msg_id = delivery.event.public_id
    return {
        **endpoint.custom_headers,
        "content-type": "application/json",
        "user-agent": outbound.USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signatures(
            secrets_=endpoint_signing_secrets(endpoint), msg_id=msg_id, timestamp=timestamp,
            body=body),
        "x-orderflow-attempt": str(delivery.attempts),
        "x-orderflow-delivery-id": delivery.public_id,
    }


@dataclass
class Sent:
    delivery: WebhookDelivery
    started_at: datetime
    response: outbound.Response | None  # None: claimed but not sent (batch stopped early)


def deliveries_send(endpoint: WebhookEndpoint, batch: list[WebhookDelivery], *,
                    deadline: float | None = None) -> list[Sent]:
    """POST each delivery in order. When the receiver is unreachable or answers 410 the rest of
    the batch is not tried now (for a strict endpoint: after any failure), and nothing new is
    started after the batch's time budget (``deadline``, a ``time.monotonic()`` value; a round
    shares one), so a slow or dead host cannot hold a worker."""
    results = []
    stop = False
    if deadline is None:
        deadline = time.monotonic() + settings.ORDERFLOW_WEBHOOK_BATCH_SECONDS
    for delivery in batch:
        if stop or time.monotonic() > deadline:
            results.append(Sent(delivery, timezone.now(), None))
            continue
        started = timezone.now()
        body = webhook_body(delivery)
        response = outbound.post(
            endpoint.url, body=body, timeout=endpoint.timeout_seconds,
            headers=webhook_headers(endpoint, delivery, body,
                                    timestamp=int(started.timestamp())),
        )
        results.append(Sent(delivery, started, response))
        outcome, _, disables = judge(endpoint, response)
        if disables or response.error_kind in UNREACHABLE \
                or (endpoint.ordering == Ordering.STRICT and outcome != AttemptOutcome.SUCCEEDED):
            stop = True
    return results


def _ack_matches(endpoint: WebhookEndpoint, body: str) -> bool:
    rule = endpoint.ack_rule
    if rule == AckRule.CONTAINS:
        return endpoint.ack_value in body
    if rule == AckRule.REGEX:
        return re.search(endpoint.ack_value, body) is not None
    if rule == AckRule.JSON_EQUALS:
        try:
            value = json.loads(body)
            for part in endpoint.ack_field.split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
        except (ValueError, KeyError, IndexError, TypeError):
            return False
        if isinstance(value, str):
            return value == endpoint.ack_value
        return json.dumps(value) == endpoint.ack_value or str(value) == endpoint.ack_value
    return True


def judge(endpoint: WebhookEndpoint, response: outbound.Response) -> tuple[str, str, bool]:
    """``(outcome, error, disable_endpoint)`` for one answer, before counting attempts."""
    status = response.status
    if status is None:
        return AttemptOutcome.RETRY, response.error, False
    if 200 <= status < 300:
        if _ack_matches(endpoint, response.body):
            return AttemptOutcome.SUCCEEDED, "", False
        return AttemptOutcome.RETRY, "2xx but the acknowledgement rule did not match", False
    if 300 <= status < 400:
        return AttemptOutcome.RETRY, f"{status}: redirects are not followed", False
    if status == 410:
        return AttemptOutcome.DEAD, "410 Gone: the endpoint was disabled", True
    if 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS \
            and not endpoint.retry_client_errors:
        return AttemptOutcome.DEAD, f"{status}: the receiver rejected the message", False
    return AttemptOutcome.RETRY, f"HTTP {status}", False
