"""Claiming: which due deliveries a worker sends next, leased (``FOR UPDATE SKIP LOCKED``)
with their attempt counted *before* anything is sent, so no attempt number is sent twice.

``deliveries_claim`` takes one endpoint's due deliveries; the delivery loop takes fair rounds
across all endpoints (``deliveries_claim_round``, below).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.utils import timezone

from bridges.constants import DeliveryStatus, Ordering
from bridges.models import WebhookDelivery, WebhookEndpoint


def batch_size(endpoint: WebhookEndpoint) -> int:
    # Sending stops after ORDERFLOW_WEBHOOK_BATCH_SECONDS (the rest is handed back unsent), so
    # a big batch only spreads the fixed cost of a claim and a record over more deliveries.
    return settings.ORDERFLOW_WEBHOOK_BATCH


def _lease_seconds(endpoint: WebhookEndpoint) -> int:
    # The send loop starts no POST after the batch budget, and a started one ends within the
    # endpoint's timeout: past that (plus the margin) the worker is gone.
    return (settings.ORDERFLOW_WEBHOOK_BATCH_SECONDS + endpoint.timeout_seconds
            + settings.ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS)


@transaction.atomic
def deliveries_claim(*, endpoint_id: int) -> tuple[WebhookEndpoint | None, list[WebhookDelivery]]:
    """Lease the due deliveries of one endpoint and count their attempt."""
    return claim(endpoint_id=endpoint_id)


def claim(*, endpoint_id: int) -> tuple[WebhookEndpoint | None, list[WebhookDelivery]]:
    """``deliveries_claim`` inside the caller's transaction."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None:  # disabled or deleted
        return None, []
    now = timezone.now()
    batch = _due_rows(endpoint, limit=batch_size(endpoint), now=now)
    _lease(batch, now=now, seconds=_lease_seconds(endpoint))
    return endpoint, batch


def _due_rows(endpoint: WebhookEndpoint, *, limit: int, now) -> list[WebhookDelivery]:
    """Up to ``limit`` of the endpoint's due deliveries this worker may send, locked."""
    if endpoint.ordering == Ordering.STRICT:
        # One claimer at a time per strict endpoint; the oldest open delivery goes first and
        # nothing overtakes it while it is being sent or waiting for a retry.
        if not WebhookEndpoint.objects.select_for_update(skip_locked=True).filter(
                pk=endpoint.pk).exists():
            return []  # another worker is claiming for it right now
        open_ = list(WebhookDelivery.objects.select_related("event")
                     .filter(endpoint=endpoint,
                             status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
                     .order_by("sequence")[:limit])
        batch = []
        for delivery in open_:
            if delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at > now:
                break
            batch.append(delivery)
        return batch
    # Parallel: workers claim disjoint rows side by side.
    return list(WebhookDelivery.objects.select_related("event")
                .select_for_update(skip_locked=True, of=("self",))
                .filter(endpoint=endpoint, status=DeliveryStatus.PENDING,
                        next_attempt_at__lte=now)
                .order_by("sequence")[:limit])


def _lease(batch: list[WebhookDelivery], *, now, seconds: int) -> None:
    """Mark ``batch`` as being sent until the lease ends and count its attempt (one UPDATE)."""
    if not batch:
        return
    lease = now + timedelta(seconds=seconds)
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch]).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1,
        series_attempts=F("series_attempts") + 1, lease_expires_at=lease, last_attempt_at=now,
    )
    for delivery in batch:
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.series_attempts += 1
        delivery.lease_expires_at = lease
        delivery.last_attempt_at = now


# --- fair rounds across endpoints --------------------------------------------------------------
#
# A worker does not work through one endpoint's backlog: each round takes a share of every
# endpoint with something due, so a backlog (thousands of deliveries to endpoints that fail)
# never stands between another endpoint and its next delivery. Healthy endpoints come first and
# split the batch between them; an endpoint whose last attempt failed (``failing_since`` set)
# gets ``FAILING_SHARE`` delivery per round, a probe: while it fails it costs each round one
# attempt (at most its timeout), and once a probe succeeds its streak ends and it is healthy
# again. Deliveries left out of a round keep their schedule and stay due for the next one.

FAILING_SHARE = 1


@dataclass
class Claimed:
    """One endpoint's part of a round."""

    endpoint: WebhookEndpoint
    batch: list[WebhookDelivery]


def _round_endpoints(now, *, limit: int) -> list[WebhookEndpoint]:
    """Active endpoints with a delivery due: healthy ones first, then those whose oldest due
    delivery has waited longest. One query (a correlated look-up in the due index each)."""
    oldest_due = (WebhookDelivery.objects
                  .filter(endpoint=OuterRef("pk"), status=DeliveryStatus.PENDING,
                          next_attempt_at__lte=now)
                  .order_by("next_attempt_at").values("next_attempt_at")[:1])
    return list(WebhookEndpoint.objects.filter(is_active=True)
                .annotate(oldest_due=Subquery(oldest_due),
                          failing=ExpressionWrapper(Q(failing_since__isnull=False),
                                                    output_field=BooleanField()))
                .filter(oldest_due__isnull=False)
                .order_by("failing", "oldest_due", "pk")[:limit])


@transaction.atomic
def deliveries_claim_round(*, limit: int | None = None) -> list[Claimed]:
    """Lease one fair round of due deliveries across all endpoints (see above), in the order
    they are to be sent: healthy endpoints first. Queries: one for the endpoints, one per
    endpoint (two for a strict one), one lease UPDATE — never more for a bigger backlog."""
    return claim_round(limit=limit)


def claim_round(*, limit: int | None = None) -> list[Claimed]:
    """``deliveries_claim_round`` inside the caller's transaction."""
    now = timezone.now()
    limit = limit or settings.ORDERFLOW_WEBHOOK_BATCH
    endpoints = _round_endpoints(now, limit=limit)
    failing = sum(1 for e in endpoints if e.failing)
    healthy = len(endpoints) - failing
    share = max(1, (limit - failing * FAILING_SHARE) // healthy) if healthy else 0
    claimed = []
    for endpoint in endpoints:
        batch = _due_rows(endpoint, limit=FAILING_SHARE if endpoint.failing else share, now=now)
        if batch:
            claimed.append(Claimed(endpoint, batch))
    if claimed:
        # One lease for the round, long enough for its slowest endpoint.
        _lease([d for c in claimed for d in c.batch], now=now,
               seconds=max(_lease_seconds(c.endpoint) for c in claimed))
    return claimed
