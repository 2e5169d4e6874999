"""Outbound webhooks: endpoints, fan-out of the outbox, claiming, sending, retries, replay.

The moving parts, each one short transaction:

1. ``outbox_dispatch`` turns committed outbox events into one ``WebhookDelivery`` per matching
   endpoint, numbering them with the endpoint's increasing ``sequence``. One dispatcher at a
   time (a PostgreSQL advisory lock), so sequence order is outbox order.
2. ``deliveries_claim_round`` leases a fair round of due deliveries across endpoints
   (``FOR UPDATE SKIP LOCKED``; healthy endpoints first, a failing one a single probe; strict
   endpoints only their oldest open delivery and what follows it) and counts the attempt
   *before* anything is sent, so no attempt number is ever sent twice.
3. The worker POSTs outside any transaction, then ``deliveries_record`` writes the attempts,
   the new statuses and the transaction log in bulk, per endpoint.
4. ``webhooks_sweep`` (beat, every 30 s) fans out what is left, takes back leases of workers
   that died, and re-enqueues whatever is due, so a lost task or broker outage loses nothing.
5. An endpoint failing for ``ORDERFLOW_WEBHOOK_DISABLE_AFTER`` (or answering 410) is switched
   off by ``webhook_endpoint_disable``; ``webhook_endpoint_enable`` switches it back on.

Claiming (``claiming.py``), sending (``sending.py``) and endpoint validation
(``validation.py``) are modules of their own; the names imported ``as`` themselves below are
what the admin, the API and the tests reach through this module.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from bridges.access.keys import secret_rotate
from bridges.constants import AttemptOutcome, DeliveryStatus
from bridges.models import TransactionLog, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from bridges.webhooks.claiming import Claimed as Claimed
from bridges.webhooks.claiming import claim_round
from bridges.webhooks.claiming import deliveries_claim as deliveries_claim
from bridges.webhooks.claiming import deliveries_claim_round as deliveries_claim_round
from bridges.webhooks.outbound import retry_after_seconds, retry_delay
from bridges.webhooks.sending import (
    RETRYABLE_CLIENT_ERRORS as RETRYABLE_CLIENT_ERRORS,
)
from bridges.webhooks.sending import (
    UNREACHABLE,
    Sent,
    deliveries_send,
    judge,
)
from bridges.webhooks.sending import endpoint_signing_secrets as endpoint_signing_secrets
from bridges.webhooks.sending import webhook_body as webhook_body
from bridges.webhooks.sending import webhook_headers as webhook_headers
from bridges.webhooks.signing import webhook_secret_new
from bridges.webhooks.validation import (
    ENDPOINT_FIELDS,
    endpoint_values,
    validate_endpoint,
)
from bridges.webhooks.validation import EVENT_PATTERN as EVENT_PATTERN
from bridges.webhooks.validation import webhook_endpoint_validate as webhook_endpoint_validate
from orderflow import wakeup
from orderflow.errors import Conflict, ValidationFailed
from orderflow.models import OutboxEvent
from orderflow.outbox import (
    dispatch_pending,
    emit,
    wake_dispatcher,
    wake_flag_clear,
    wake_flag_hold,
)
from orderflow.timeline import Actor

logger = logging.getLogger("orderflow.webhooks")

DISPATCH_LOCK = 0x0F_0BB0  # pg_advisory_xact_lock key: one dispatcher at a time
TEST_EVENT = "webhook.test"
DISPATCH_BATCH = 500  # outbox events fanned out per transaction
SHORT_RETRY_SECONDS = 60  # retries due sooner than this are woken by a countdown task
# The delivery task (bridges.webhooks.tasks), sent by name: tasks import services, not back.
DELIVER_TASK = "bridges.tasks.deliver_webhooks_task"


# --- endpoints ---------------------------------------------------------------------------------

@transaction.atomic
def webhook_endpoint_create(*, url: str, event_types: list[str], created_by=None,
                            **options) -> WebhookEndpoint:
    unknown = set(options) - ENDPOINT_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    channels = options.pop("channels", None)
    values = endpoint_values(None, {"url": url, "event_types": event_types, **options})
    validate_endpoint(values)
    endpoint = WebhookEndpoint.objects.create(**values, secret=webhook_secret_new(),
                                              created_by=created_by)
    if channels:
        endpoint.channels.set(channels)
    return endpoint


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor: Actor | None = None,
                            **changes) -> WebhookEndpoint:
    """Change an endpoint's settings. Switching ``is_active`` goes through
    ``webhook_endpoint_disable`` / ``webhook_endpoint_enable`` (their event, their notice)."""
    unknown = set(changes) - ENDPOINT_FIELDS
    if unknown:
        raise ValidationFailed(f"Cannot change {', '.join(sorted(unknown))}.")
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    channels = changes.pop("channels", None)
    values = endpoint_values(locked, changes)
    validate_endpoint(values, check_url="url" in changes and changes["url"] != locked.url)
    switch = changes.pop("is_active", locked.is_active)
    for name in changes:
        setattr(locked, name, values[name])
    locked.save(update_fields=[*changes, "updated_at"])
    if channels is not None:
        locked.channels.set(channels)
    actor = actor or Actor.system()
    if switch and not locked.is_active:
        _enable(locked, actor)
    elif not switch and locked.is_active:
        _disable(locked, reason=f"Switched off by {actor.display}.", actor=actor,
                 automatic=False)
    return locked


# --- switching off and on ----------------------------------------------------------------------

DISABLED_EVENT = "webhook_endpoint.disabled"
ENABLED_EVENT = "webhook_endpoint.enabled"


def _endpoint_event_payload(endpoint: WebhookEndpoint, *, actor: Actor, reason: str = "",
                            automatic: bool = False) -> dict:
    return {
        "endpoint_id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "is_active": endpoint.is_active,
        "reason": reason,
        "automatic": automatic,
        "failing_since": endpoint.failing_since,
        "disabled_at": endpoint.disabled_at,
        "pending_deliveries": endpoint.deliveries.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).count(),
        "changed_by": actor.display,
    }


@transaction.atomic
def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, actor: Actor,
                             automatic: bool = False) -> WebhookEndpoint:
    """Switch an endpoint off: no new deliveries are queued for it and the waiting ones are
    not attempted (kept, sent when it is enabled again). One ``webhook_endpoint.disabled``
    event, and the admins are e-mailed. An endpoint already off is left as it is."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if locked.is_active:
        _disable(locked, reason=reason, actor=actor, automatic=automatic)
    return locked


def _disable(locked: WebhookEndpoint, *, reason: str, actor: Actor, automatic: bool) -> None:
    """``webhook_endpoint_disable`` on a row the caller locked (or just wrote)."""
    now = timezone.now()
    locked.is_active, locked.disabled_reason, locked.disabled_at = False, reason[:200], now
    locked.updated_at = now
    locked.save(update_fields=["is_active", "disabled_reason", "disabled_at", "updated_at"])
    emit(DISABLED_EVENT, _endpoint_event_payload(locked, actor=actor, reason=locked.disabled_reason,
                                                 automatic=automatic), aggregate=locked)
    endpoint_id, text = locked.pk, locked.disabled_reason
    transaction.on_commit(lambda: _mail_admins_disabled(endpoint_id, text))


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookEndpoint:
    """Switch a disabled endpoint back on: a new failing streak starts, the deliveries that
    waited are sent, one ``webhook_endpoint.enabled`` event. Already on: ``Conflict``."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if locked.is_active:
        raise Conflict(f"Webhook endpoint {locked.public_id} is already enabled.",
                       code="webhook_endpoint_active")
    _enable(locked, actor)
    return locked


def _enable(locked: WebhookEndpoint, actor: Actor) -> None:
    locked.is_active = True
    locked.disabled_reason, locked.disabled_at, locked.failing_since = "", None, None
    locked.updated_at = timezone.now()
    locked.save(update_fields=["is_active", "disabled_reason", "disabled_at", "failing_since",
                               "updated_at"])
    emit(ENABLED_EVENT, _endpoint_event_payload(locked, actor=actor), aggregate=locked)
    _enqueue_on_commit(locked.pk)


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor,
                                   grace: timedelta | None = None) -> WebhookEndpoint:
    """A new signing secret; during the grace period both signatures are sent."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    fields = secret_rotate(locked, new_secret=webhook_secret_new(), grace=grace)
    locked.save(update_fields=[*fields, "updated_at"])
    return locked


@transaction.atomic
def webhook_endpoint_send_test(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    """A ``webhook.test`` event for this endpoint only, delivered like any other."""
    _dispatch_lock()
    event = OutboxEvent.objects.create(
        type=TEST_EVENT, dispatched_at=timezone.now(),
        payload={"endpoint_id": endpoint.public_id,
                 "message": "A test event sent from OrderFlow.",
                 "requested_by": actor.display},
    )
    sequence = _allocate_sequences({endpoint.pk: 1})[endpoint.pk]
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, event_type=TEST_EVENT, sequence=sequence,
        next_attempt_at=timezone.now(),
    )
    _enqueue_on_commit(endpoint.pk)
    return delivery


# --- fan-out -----------------------------------------------------------------------------------

def _dispatch_lock(*, wait: bool = True) -> bool:
    """Serialise everything that hands out sequence numbers (the dispatcher, test events).
    With ``wait=False``, False when another transaction holds it."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DISPATCH_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [DISPATCH_LOCK])
        return cursor.fetchone()[0]


class DispatcherBusy(Exception):
    """Another dispatcher holds the lock (it takes what was committed before it looks)."""


def _allocate_sequences(counts: dict[int, int]) -> dict[int, int]:
    """Reserve ``n`` sequence numbers per endpoint; returns the first of each block."""
    first = {}
    for endpoint_id, n in counts.items():
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(
            last_sequence=F("last_sequence") + n)
        last = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list(
            "last_sequence", flat=True).get()
        first[endpoint_id] = last - n + 1
    return first


def _reference(event: OutboxEvent) -> str:
    """What staff search the delivery log by: the order number, and the invoice's or supplier
    order's own number when the event is about one ("OF-000123 INV-000045")."""
    data = event.payload if isinstance(event.payload, dict) else {}
    numbers = [data[key] for key in ("order_number", "number")
               if isinstance(data.get(key), str) and data[key]]
    return " ".join(dict.fromkeys(numbers))[:64] or event.aggregate_id


class _Raced(Exception):
    """Another dispatcher took some of the events first (SQLite has no advisory lock)."""


def outbox_dispatch(*, limit: int = DISPATCH_BATCH, wait: bool = True) -> int:
    """Fan out up to ``limit`` undispatched events, oldest first; returns how many events were
    taken (0: nothing left). Endpoints that got deliveries are woken after commit."""
    try:
        with transaction.atomic():
            return _fan_out(limit=limit, wait=wait)
    except _Raced:
        return 0


def _fan_out(*, limit: int, wait: bool) -> int:
    """``outbox_dispatch`` inside the caller's transaction (the advisory lock is held until
    it ends). Raises ``DispatcherBusy`` before writing anything, ``_Raced`` after (roll back)."""
    if not _dispatch_lock(wait=wait):
        raise DispatcherBusy
    events = list(OutboxEvent.objects.filter(dispatched_at__isnull=True)
                  .order_by("id")[:limit])
    if not events:
        return 0
    now = timezone.now()
    claimed = OutboxEvent.objects.filter(
        pk__in=[e.pk for e in events], dispatched_at__isnull=True,
    ).update(dispatched_at=now)
    if claimed != len(events):
        raise _Raced
    endpoints = [
        (endpoint, {c.pk for c in endpoint.channels.all()})
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        .prefetch_related("channels")
    ]
    matches: list[tuple[OutboxEvent, WebhookEndpoint]] = [
        (event, endpoint)
        for event in events
        for endpoint, channel_ids in endpoints
        if (not channel_ids or event.channel_id in channel_ids)
        and endpoint.subscribes_to(event.type)
    ]
    counts: dict[int, int] = {}
    for _, endpoint in matches:
        counts[endpoint.pk] = counts.get(endpoint.pk, 0) + 1
    next_sequence = _allocate_sequences(counts)
    rows = []
    for event, endpoint in matches:
        rows.append(WebhookDelivery(
            endpoint=endpoint, event=event, event_type=event.type,
            reference=_reference(event), sequence=next_sequence[endpoint.pk],
            next_attempt_at=now,
        ))
        next_sequence[endpoint.pk] += 1
    WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
    for endpoint_id in counts:
        _enqueue_on_commit(endpoint_id)
    return len(events)


def outbox_dispatch_all(*, max_batches: int = 100, wait: bool = True) -> int:
    """Dispatch until the outbox is empty (or ``max_batches`` were taken); events taken.
    With ``wait=False`` raises ``DispatcherBusy`` instead of waiting for another dispatcher
    (a worker process should deliver meanwhile, not sit on a lock)."""
    total = 0
    for _ in range(max_batches):
        taken = outbox_dispatch(wait=wait)
        if not taken:
            break
        total += taken
    return total


def outbox_dispatch_step(*, token: str, schedule_next) -> int:
    """One link of the woken dispatcher's chain; events taken.

    A chain of short tasks rather than one long task, so the dispatcher never holds a worker
    process while it waits: a link fans out one batch of what is committed and, when it took
    something (or another dispatcher holds the lock), calls ``schedule_next(token, gather)``:
    the next link looks again after ``ORDERFLOW_WEBHOOK_GATHER_SECONDS`` (a countdown task;
    at once after a full batch), and the wake-up flag stays set, so the commits meanwhile
    send no tasks and are fanned out together. A link that finds nothing clears the flag and
    looks once more: an event whose commit found the flag set committed before it was
    cleared, so this last look sees it; any later commit sets the flag again and starts a new
    chain. (Delivery rounds also fan out while the flag is set: see endpoint_deliver_due.)
    """
    if not wake_flag_hold(token):
        return 0  # another chain holds the wake-up and sees what was committed
    try:
        taken = outbox_dispatch(wait=False)
    except DispatcherBusy:
        taken = None  # someone else is fanning out right now: look again shortly
    if taken is None or taken:
        # A full batch means more is waiting: the next link at once, else after the gather.
        schedule_next(token, gather=taken != DISPATCH_BATCH)
        return taken or 0
    wake_flag_clear()
    try:
        return outbox_dispatch_all(max_batches=20, wait=False)
    except DispatcherBusy:
        wake_dispatcher()  # the holder may be past its look: a new chain looks after it
        return 0


# --- recording ---------------------------------------------------------------------------------

@transaction.atomic
def deliveries_record(endpoint: WebhookEndpoint, results: list[Sent]) -> dict[str, int]:
    """Write what happened to a claimed batch: attempts, statuses, the log, the endpoint."""
    return _record(endpoint, results)


def _record(endpoint: WebhookEndpoint, results: list[Sent], *,
            retries: list[float] | None = None) -> dict[str, int]:
    """``deliveries_record`` inside the caller's transaction. A retry due soon wakes a task
    after commit; with ``retries``, its ``time.monotonic()`` moment is appended there instead
    (the delivery loop wakes one task for all it recorded)."""
    now = timezone.now()
    counts = {o: 0 for o in AttemptOutcome.values}
    attempts, changed = [], []
    released = []
    any_success = any_failure = False
    disable_reason = ""
    for sent in results:
        delivery, response = sent.delivery, sent.response
        if response is None:
            released.append(delivery.pk)
            continue
        outcome, error, disable = judge(endpoint, response)
        next_at = None
        if outcome == AttemptOutcome.RETRY:
            if delivery.series_attempts >= endpoint.max_attempts:
                outcome, error = AttemptOutcome.DEAD, f"{error} (attempt {delivery.attempts}, " \
                                                      f"max attempts reached)"
            else:
                wait = retry_after_seconds(response, now)
                if wait is None:
                    wait = retry_delay(delivery.series_attempts)
                next_at = now + timedelta(seconds=min(wait, 86400))
        if disable:
            disable_reason = (f"The receiver answered 410 Gone on "
                              f"{now:%Y-%m-%d %H:%M} UTC.")
        counts[outcome] += 1
        any_success |= outcome == AttemptOutcome.SUCCEEDED
        any_failure |= outcome != AttemptOutcome.SUCCEEDED
        delivery.last_status_code = response.status
        delivery.last_error = (error or "")[:500]
        delivery.lease_expires_at = None
        if outcome == AttemptOutcome.SUCCEEDED:
            delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
        elif outcome == AttemptOutcome.DEAD:
            delivery.status, delivery.dead_at = DeliveryStatus.DEAD, now
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, next_at
        changed.append(delivery)
        attempts.append(WebhookAttempt(
            delivery=delivery, number=delivery.attempts, started_at=sent.started_at,
            url=endpoint.url, status_code=response.status, latency_ms=response.latency_ms,
            outcome=outcome, error=delivery.last_error, response_headers=response.headers,
            response_body=response.body, next_attempt_at=next_at,
        ))
    unreachable = False
    if released:  # never sent: give the attempt back
        unreachable = any(r.response is not None and r.response.error_kind in UNREACHABLE
                          for r in results)
        WebhookDelivery.objects.filter(pk__in=released, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, attempts=F("attempts") - 1,
            series_attempts=F("series_attempts") - 1, lease_expires_at=None,
            # An unreachable receiver: the others wait one short backoff (their attempts
            # untouched) instead of each being claimed at once for another timeout.
            **({"next_attempt_at": now + timedelta(seconds=retry_delay(1))}
               if unreachable else {}))
    if changed:
        # One UPDATE per distinct outcome (a batch that all succeeded: one statement), far
        # cheaper than bulk_update's CASE per row and field.
        groups: dict[tuple, list[int]] = {}
        for d in changed:
            key = (d.status, d.last_status_code, d.last_error, d.next_attempt_at,
                   d.delivered_at, d.dead_at)
            groups.setdefault(key, []).append(d.pk)
        for (status, code, error, next_at, delivered, dead), pks in groups.items():
            WebhookDelivery.objects.filter(pk__in=pks).update(
                status=status, last_status_code=code, last_error=error, next_attempt_at=next_at,
                delivered_at=delivered, dead_at=dead, lease_expires_at=None)
        _log_attempts(endpoint, WebhookAttempt.objects.bulk_create(attempts), now)
    _endpoint_health(endpoint, now, any_success=any_success, any_failure=any_failure,
                     disable_reason=disable_reason)
    waits = [(d.next_attempt_at - now).total_seconds() for d in changed
             if d.status == DeliveryStatus.PENDING and d.next_attempt_at is not None]
    if released and unreachable:
        waits.append(retry_delay(1))
    if waits and min(waits) <= SHORT_RETRY_SECONDS and endpoint.is_active:
        # A retry due before the next sweep gets its own task, held by the broker; longer
        # waits live only in next_attempt_at (a Redis countdown past the visibility timeout
        # would be delivered twice).
        countdown = max(0.0, min(waits))
        if retries is not None:
            retries.append(time.monotonic() + countdown)
        else:
            transaction.on_commit(lambda: enqueue_delivery(endpoint.pk, countdown=countdown))
    return counts


def _log_attempts(endpoint: WebhookEndpoint, attempts: list[WebhookAttempt], now) -> None:
    """An outbound transaction-log entry per attempt, next to the inbound API and bridge
    traffic. On PostgreSQL one INSERT … SELECT from the attempts just written (building the
    rows in Python cost as much as the rest of recording a batch)."""
    if not attempts:
        return
    if connection.vendor == "postgresql":
        log, attempt = TransactionLog._meta.db_table, WebhookAttempt._meta.db_table
        delivery, event = WebhookDelivery._meta.db_table, OutboxEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {log} (created_at, direction, kind, correlation_id, client,
                        method, endpoint, status_code, code, latency_ms, object_ids,
                        request_headers, request_body, response_body)
                    SELECT %s, %s, %s, e.public_id, %s, 'POST', %s, COALESCE(a.status_code, 0),
                        a.outcome, a.latency_ms,
                        LEFT(CONCAT_WS(' ', NULLIF(d.reference, ''), NULLIF(e.aggregate_id, '')),
                             300),
                        JSONB_BUILD_OBJECT('webhook-id', e.public_id,
                                           'webhook-signature', '[redacted]',
                                           'x-orderflow-attempt', a.number::text),
                        e.type || ' #' || d.sequence, a.response_body
                    FROM {attempt} a JOIN {delivery} d ON d.id = a.delivery_id
                        JOIN {event} e ON e.id = d.event_id
                    WHERE a.id = ANY(%s) ORDER BY a.id""",
                [now, TransactionLog.Direction.OUTBOUND, TransactionLog.Kind.WEBHOOK,
                 endpoint.public_id, endpoint.url[:300], [a.pk for a in attempts]])
        return
    TransactionLog.objects.bulk_create([
        TransactionLog(
            direction=TransactionLog.Direction.OUTBOUND, kind=TransactionLog.Kind.WEBHOOK,
            correlation_id=a.delivery.event.public_id, client=endpoint.public_id,
            method="POST", endpoint=endpoint.url[:300], status_code=a.status_code or 0,
            code=a.outcome, latency_ms=a.latency_ms,
            object_ids=" ".join(filter(None, [a.delivery.reference,
                                              a.delivery.event.aggregate_id]))[:300],
            request_headers={"webhook-id": a.delivery.event.public_id,
                             "webhook-signature": "[redacted]",
                             "x-orderflow-attempt": str(a.number)},
            request_body=f"{a.delivery.event_type} #{a.delivery.sequence}",
            response_body=a.response_body,
        )
        for a in attempts
    ])


def _endpoint_health(endpoint, now, *, any_success, any_failure, disable_reason) -> None:
    """Track the failing streak: a success ends it, the first failure after one starts it.
    The endpoint is disabled (``_disable``: its event and e-mail, in this transaction) after a
    410, or when every attempt has failed for ``ORDERFLOW_WEBHOOK_DISABLE_AFTER``."""
    fields = {}
    if any_success and endpoint.failing_since is not None:
        fields["failing_since"] = None
    elif any_failure and not any_success and endpoint.failing_since is None:
        fields["failing_since"] = now
    failing_since = fields.get("failing_since", endpoint.failing_since)
    if not disable_reason and failing_since is not None and any_failure and not any_success \
            and now - failing_since >= settings.ORDERFLOW_WEBHOOK_DISABLE_AFTER:
        disable_reason = (f"Every delivery failed for {_hours(now - failing_since)} "
                          f"(since {failing_since:%Y-%m-%d %H:%M} UTC).")
    if fields:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields, updated_at=now)
        for name, value in fields.items():
            setattr(endpoint, name, value)
    if disable_reason:
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if locked.is_active:
            _disable(locked, reason=disable_reason, actor=Actor.system("webhooks"),
                     automatic=True)
        endpoint.is_active, endpoint.disabled_reason = False, locked.disabled_reason
        endpoint.disabled_at = locked.disabled_at


def _hours(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    if hours >= 48 and hours % 24 == 0:
        return f"{hours // 24} days"
    return f"{hours} hours" if hours != 1 else "1 hour"


def _mail_admins_disabled(endpoint_id: int, reason: str) -> None:
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    User = get_user_model()
    recipients = sorted({
        u.email for u in User.objects.filter(is_active=True, is_staff=True).exclude(email="")
        .filter(Q(is_superuser=True) | Q(user_permissions__codename="webhooks_manage")
                | Q(groups__permissions__codename="webhooks_manage"))
    })
    if not recipients:
        logger.warning("webhook endpoint %s disabled and no admin has an e-mail address",
                       endpoint.url)
        return
    pending = endpoint.deliveries.filter(status=DeliveryStatus.PENDING).count()
    send_mail(
        subject=f"[OrderFlow] Webhook endpoint disabled: {endpoint}",
        message=(f"The webhook endpoint {endpoint.url} ({endpoint.public_id}) was disabled.\n\n"
                 f"Why: {reason}\n"
                 f"Deliveries waiting: {pending}. They are sent when the endpoint is switched "
                 f"back on; dead deliveries can be replayed from the admin.\n"),
        from_email=None, recipient_list=recipients, fail_silently=True,
    )


# --- replay, sweeping, pruning -----------------------------------------------------------------

@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a dead (or delivered) delivery again, same ``webhook-id``, fresh attempt budget."""
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if locked.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise Conflict(f"Delivery {locked.public_id} is already {locked.status}.",
                       code="delivery_in_progress")
    locked.status = DeliveryStatus.PENDING
    locked.series_attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.dead_at = None
    locked.last_error = f"replayed by {actor.display}"[:500]
    locked.save(update_fields=["status", "series_attempts", "next_attempt_at", "dead_at",
                               "last_error"])
    _enqueue_on_commit(locked.endpoint_id)
    return locked


def webhook_deliveries_replay(*, deliveries, actor: Actor) -> int:
    replayed = 0
    for delivery in deliveries:
        try:
            webhook_delivery_replay(delivery=delivery, actor=actor)
            replayed += 1
        except Conflict:
            continue
    return replayed


@transaction.atomic
def deliveries_reclaim_lost() -> int:
    """Leases past their end belong to workers that died: count a lost attempt, retry now."""
    now = timezone.now()
    lost = list(WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("endpoint")
                .filter(status=DeliveryStatus.SENDING, lease_expires_at__lt=now)[:1000])
    attempts = []
    for delivery in lost:
        dead = delivery.series_attempts >= delivery.endpoint.max_attempts
        delivery.status = DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING
        delivery.dead_at = now if dead else None
        delivery.next_attempt_at = None if dead else now
        delivery.lease_expires_at = None
        delivery.last_error = "the worker stopped before recording the result"
        attempts.append(WebhookAttempt(
            delivery=delivery, number=delivery.attempts, started_at=delivery.last_attempt_at
            or now, url=delivery.endpoint.url, outcome=AttemptOutcome.DEAD if dead
            else AttemptOutcome.LOST, error=delivery.last_error,
        ))
    if lost:
        WebhookDelivery.objects.bulk_update(lost, ["status", "dead_at", "next_attempt_at",
                                                   "lease_expires_at", "last_error"])
        WebhookAttempt.objects.bulk_create(attempts, ignore_conflicts=True)
    return len(lost)


def endpoints_due() -> list[int]:
    return list(WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now(),
        endpoint__is_active=True,
    ).values_list("endpoint_id", flat=True).distinct().order_by())


def webhooks_sweep() -> dict:
    """Beat's safety net: fan out, take back dead workers' leases, re-enqueue what is due."""
    dispatched = outbox_dispatch_all()
    reclaimed = deliveries_reclaim_lost()
    due = endpoints_due()
    for endpoint_id in due:
        enqueue_delivery(endpoint_id)
    return {"events_dispatched": dispatched, "reclaimed": reclaimed, "endpoints_due": len(due)}


def webhook_log_prune() -> dict:
    """Delivered deliveries and their attempts past retention; dead ones stay for replay.
    Outbox events go when nothing references them any more."""
    cutoff = timezone.now() - settings.ORDERFLOW_WEBHOOK_LOG_RETENTION
    _, deleted = WebhookDelivery.objects.filter(
        status=DeliveryStatus.SUCCEEDED, created_at__lt=cutoff).delete()
    outbox_cutoff = timezone.now() - settings.ORDERFLOW_OUTBOX_RETENTION
    events, _ = OutboxEvent.objects.filter(
        dispatched_at__isnull=False, created_at__lt=outbox_cutoff, deliveries__isnull=True,
    ).delete()
    return {"deliveries": deleted.get("bridges.WebhookDelivery", 0),
            "attempts": deleted.get("bridges.WebhookAttempt", 0), "events": events}


# --- enqueueing --------------------------------------------------------------------------------

def enqueue_task(task, *args, countdown: float | None = None) -> None:
    """Send a task; a broker outage is logged, not raised: the work is in the database and
    the sweeper enqueues it again when the broker is back."""
    try:
        task.apply_async(args=list(args), countdown=countdown, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweeper recovers
        logger.warning("could not enqueue %s%s: %s", task.name, tuple(args), exc)


def endpoint_wake_name(endpoint_id: int) -> str:
    return f"webhook-endpoint:{endpoint_id}"


def enqueue_delivery(endpoint_id: int, *, countdown: float | None = None) -> None:
    """Hand an endpoint's due deliveries to a worker: at once (coalesced — no second task
    while one that has not started yet is queued, see orderflow.wakeup) or after
    ``countdown`` seconds for a retry. Sent by name (``DELIVER_TASK``): the task module
    imports this one, never the other way round."""
    if countdown:
        try:
            current_app.send_task(DELIVER_TASK, args=[endpoint_id], countdown=countdown,
                                  retry=False)
        except Exception as exc:  # noqa: BLE001 - the sweeper enqueues it later
            logger.warning("could not schedule the retry for endpoint %s: %s", endpoint_id, exc)
        return
    wakeup.wake(endpoint_wake_name(endpoint_id),
                lambda: current_app.send_task(DELIVER_TASK, args=[endpoint_id], retry=False))


def _enqueue_on_commit(endpoint_id: int) -> None:
    transaction.on_commit(lambda: enqueue_delivery(endpoint_id))


def endpoint_deliver_due(endpoint_id: int, *, budget_seconds: float | None = None,
                         rounds: int | None = None) -> dict[str, int]:
    """What a delivery task does (woken for ``endpoint_id``): fair rounds over every endpoint
    with something due (``deliveries_claim_round``), until nothing is due, ``rounds`` rounds
    were sent, or the time budget is spent (then the task re-enqueues itself, behind the tasks
    queued meanwhile — the dispatcher's among them).

    Each round is one transaction: record the round just sent, fan out the outbox events
    waiting for the dispatcher (whose next link may be queued behind this very task), and
    claim the next round; then send it outside any transaction, healthy endpoints first. If
    recording fails, the claim goes with it and the sent round is taken back when its leases
    expire (sent again: at least once).
    """
    wakeup.wake_clear(endpoint_wake_name(endpoint_id))
    totals = {o: 0 for o in AttemptOutcome.values}
    totals["more"] = 0
    started = time.monotonic()
    if budget_seconds is None:
        budget_seconds = settings.ORDERFLOW_WEBHOOK_LOOP_SECONDS
    sent: list[tuple[WebhookEndpoint, list[Sent]]] = []
    retries: list[float] = []  # when short retries recorded by this run fall due
    done = 0
    while True:
        last = rounds is not None and done >= rounds
        out_of_time = time.monotonic() - started > budget_seconds
        try:
            with transaction.atomic():
                recorded: dict[str, int] = {}
                for endpoint, results in sent:
                    _add(recorded, _record(endpoint, results, retries=retries))
                if out_of_time or last:
                    _add(totals, recorded)
                    totals["more"] = int(out_of_time)
                    _wake_for_retries(endpoint_id, retries)
                    return totals
                if dispatch_pending():
                    try:
                        _fan_out(limit=DISPATCH_BATCH, wait=False)
                    except DispatcherBusy:
                        pass  # the dispatcher is at it right now
                claimed = claim_round()
        except _Raced:
            continue  # (SQLite) another dispatcher fanned these out: the round is undone
        _add(totals, recorded)
        if not claimed:
            _wake_for_retries(endpoint_id, retries)
            return totals
        deadline = time.monotonic() + settings.ORDERFLOW_WEBHOOK_BATCH_SECONDS
        sent = [(c.endpoint, deliveries_send(c.endpoint, c.batch, deadline=deadline))
                for c in claimed]
        done += 1


def _wake_for_retries(endpoint_id: int, retries: list[float]) -> None:
    """One countdown task for the soonest short retry this run recorded (committed by now):
    a task delivers every endpoint's due deliveries, so one is enough."""
    if retries:
        enqueue_delivery(endpoint_id, countdown=max(0.001, min(retries) - time.monotonic()))


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for outcome, n in counts.items():
        totals[outcome] = totals.get(outcome, 0) + n
