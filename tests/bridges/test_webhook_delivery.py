"""The webhook delivery engine against a real HTTP receiver and the real database.

Each test drives the services a worker runs (claim → send → record) in-process, so the
retry schedule can be checked attempt by attempt; tests/e2e runs the same through a real
Celery worker on Redis.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook

from bridges.constants import AttemptOutcome, DeliveryStatus, Ordering
from bridges.models import TransactionLog, WebhookAttempt, WebhookDelivery
from bridges.webhooks import outbound
from bridges.webhooks import services as webhooks
from orderflow.errors import Conflict, ValidationFailed
from orderflow.models import Channel
from orderflow.outbox import emit
from orderflow.timeline import Actor
from tests import factories
from tests.receiver import Receiver

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("allow_local"),
]
SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]


@pytest.fixture
def allow_local():
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"],
                           ORDERFLOW_WEBHOOK_RETRY_SCHEDULE=SCHEDULE):
        yield


@pytest.fixture
def rx():
    with Receiver(hold_seconds=3) as receiver:
        yield receiver


def endpoint_for(rx, path="/hook", **options):
    options.setdefault("event_types", ["order.*"])
    return webhooks.webhook_endpoint_create(url=rx.url(path), **options)


def produce(event_type="order.created", number="OF-1001", channel=None, **data):
    with transaction.atomic():
        return emit(event_type, {"number": number, **data}, channel=channel)


def deliver(endpoint):
    """One worker pass: fan out, then send everything due for the endpoint."""
    webhooks.outbox_dispatch()
    return webhooks.endpoint_deliver_due(endpoint.pk)


def time_travel(delivery):
    """Make a waiting retry due now (instead of sleeping through the backoff)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def verify(endpoint_secret, request):
    return Webhook(endpoint_secret).verify(request.body, request.headers)


# --- the request -------------------------------------------------------------------------------

def test_a_receiver_gets_a_signed_standard_webhooks_request(rx):
    endpoint = endpoint_for(rx)
    event = produce(total="12.50")
    deliver(endpoint)

    (request,) = rx.wait_for(1)
    assert request.path == "/hook"
    body = verify(endpoint.secret, request)  # raises when the signature is wrong
    assert body == {"id": event.public_id, "type": "order.created", "sequence": 1,
                    "created_at": body["created_at"],
                    "data": {"number": "OF-1001", "total": "12.50"}}
    assert body["created_at"].endswith("Z")
    assert request.header("webhook-id") == event.public_id
    assert request.header("content-type") == "application/json"
    assert request.header("user-agent").startswith("OrderFlow-Webhooks/")
    assert request.header("x-orderflow-attempt") == "1"
    assert endpoint.secret.startswith("whsec_")


def test_a_tampered_body_or_another_secret_fails_verification(rx):
    endpoint = endpoint_for(rx)
    produce()
    deliver(endpoint)
    (request,) = rx.wait_for(1)
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body.replace(b"OF-1001", b"OF-9999"),
                                        request.headers)
    other = webhooks.webhook_endpoint_create(url=rx.url("/other"), event_types=["*"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other.secret).verify(request.body, request.headers)


def test_during_a_secret_rotation_both_secrets_verify(rx):
    endpoint = endpoint_for(rx)
    old_secret = endpoint.secret
    endpoint = webhooks.webhook_endpoint_rotate_secret(endpoint=endpoint,
                                                       actor=Actor.system())
    produce()
    deliver(endpoint)
    (request,) = rx.wait_for(1)
    assert len(request.header("webhook-signature").split(" ")) == 2
    verify(old_secret, request)
    verify(endpoint.secret, request)

    # After the grace period only the new secret signs.
    endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    endpoint.save(update_fields=["previous_secret_expires_at"])
    produce(number="OF-1002")
    deliver(endpoint)
    second = rx.wait_for(2)[1]
    assert len(second.header("webhook-signature").split(" ")) == 1
    verify(endpoint.secret, second)
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        verify(old_secret, second)


def test_custom_headers_are_sent_and_cannot_replace_the_signature_headers(rx):
    endpoint = endpoint_for(rx, custom_headers={"X-Tenant": "shop-7"})
    produce()
    deliver(endpoint)
    assert rx.wait_for(1)[0].header("x-tenant") == "shop-7"
    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_endpoint_update(endpoint=endpoint,
                                         custom_headers={"webhook-signature": "v1,forged"})
    assert "custom_headers" in exc.value.errors


# --- fan-out -----------------------------------------------------------------------------------

def test_fan_out_follows_subscriptions_wildcards_and_channels(rx):
    web = Channel.objects.get_or_create(code="ECOMMERCE", defaults={"name": "Web"})[0]
    b2b = Channel.objects.get_or_create(code="B2B_PORTAL", defaults={"name": "B2B"})[0]
    orders = endpoint_for(rx, "/orders", event_types=["order.*"])
    everything = endpoint_for(rx, "/all", event_types=["*"])
    exact = endpoint_for(rx, "/paid", event_types=["payment.captured"])
    b2b_only = endpoint_for(rx, "/b2b", event_types=["order.created"], channels=[b2b])

    produce("order.created", channel=web)
    produce("order.created", number="OF-2", channel=b2b)
    produce("payment.captured", channel=web)
    produce("cart.created", channel=web)
    webhooks.outbox_dispatch()

    def sequences(endpoint):
        return list(endpoint.deliveries.order_by("sequence")
                    .values_list("event_type", "sequence"))

    assert sequences(orders) == [("order.created", 1), ("order.created", 2)]
    assert sequences(everything) == [("order.created", 1), ("order.created", 2),
                                     ("payment.captured", 3), ("cart.created", 4)]
    assert sequences(exact) == [("payment.captured", 1)]
    assert sequences(b2b_only) == [("order.created", 1)]
    assert b2b_only.deliveries.get().reference == "OF-2"


def test_a_rolled_back_change_sends_nothing(rx):
    endpoint = endpoint_for(rx)
    with pytest.raises(RuntimeError), transaction.atomic():
        emit("order.created", {"number": "OF-404"})
        raise RuntimeError("the service failed after emitting")
    deliver(endpoint)
    assert not endpoint.deliveries.exists() and rx.requests == []


def test_an_inactive_endpoint_gets_no_new_deliveries(rx):
    endpoint = endpoint_for(rx, is_active=False)
    produce()
    deliver(endpoint)
    assert not endpoint.deliveries.exists()


# --- failures, retries, dead letters, replay ---------------------------------------------------

def test_500_timeout_bad_ack_then_success_follow_the_retry_schedule(rx):
    endpoint = endpoint_for(rx, timeout_seconds=1, ack_rule="json_equals",
                            ack_field="status", ack_value="accepted")
    rx.script([500, "timeout", (200, '{"status": "rejected"}'),
               (200, '{"status": "accepted"}')])
    produce()
    webhooks.outbox_dispatch()
    delivery = endpoint.deliveries.get()

    for attempt in range(1, 5):
        before = timezone.now()
        webhooks.endpoint_deliver_due(endpoint.pk)
        delivery.refresh_from_db()
        if attempt < 4:
            assert delivery.status == DeliveryStatus.PENDING
            wait = (delivery.next_attempt_at - before).total_seconds()
            base = SCHEDULE[attempt - 1]
            assert base * 0.8 - 2 <= wait <= base * 1.2 + 2, (attempt, wait)
            time_travel(delivery)

    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 4
    log = list(delivery.attempt_log.order_by("number"))
    assert [(a.number, a.status_code, a.outcome) for a in log] == [
        (1, 500, AttemptOutcome.RETRY), (2, None, AttemptOutcome.RETRY),
        (3, 200, AttemptOutcome.RETRY), (4, 200, AttemptOutcome.SUCCEEDED)]
    assert "timed out" in log[1].error
    assert log[2].response_body == '{"status": "rejected"}'
    assert "acknowledgement" in log[2].error
    assert log[0].next_attempt_at is not None and log[3].next_attempt_at is None
    # The same message every time: one webhook-id, increasing attempt numbers.
    requests = rx.wait_for(4)
    assert {r.header("webhook-id") for r in requests} == {delivery.event.public_id}
    assert [r.header("x-orderflow-attempt") for r in requests] == ["1", "2", "3", "4"]
    assert TransactionLog.objects.filter(kind="webhook", direction="out").count() == 4


def test_every_attempt_has_an_outbound_transaction_log_entry(rx):
    endpoint = endpoint_for(rx)
    rx.script([500, 200])
    event = produce(number="OF-4242")
    deliver(endpoint)
    time_travel(WebhookDelivery.objects.get())
    deliver(endpoint)
    entries = list(TransactionLog.objects.filter(kind="webhook", direction="out")
                   .order_by("id"))
    assert [(e.status_code, e.code) for e in entries] == [(500, "retry"), (200, "succeeded")]
    first = entries[0]
    assert (first.correlation_id, first.client, first.method, first.endpoint) == (
        event.public_id, endpoint.public_id, "POST", endpoint.url)
    assert first.object_ids == "OF-4242"
    assert first.request_headers == {"webhook-id": event.public_id,
                                     "webhook-signature": "[redacted]",
                                     "x-orderflow-attempt": "1"}
    assert first.request_body == "order.created #1"
    assert entries[1].request_headers["x-orderflow-attempt"] == "2"
    assert entries[1].response_body == WebhookAttempt.objects.get(number=2).response_body


def test_dead_after_max_attempts_then_replay_delivers_with_the_same_id(rx):
    endpoint = endpoint_for(rx, max_attempts=3)
    rx.script([503, 502, 500])
    produce()
    webhooks.outbox_dispatch()
    delivery = endpoint.deliveries.get()
    for _ in range(3):
        webhooks.endpoint_deliver_due(endpoint.pk)
        time_travel(delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD and delivery.dead_at is not None
    assert delivery.attempt_log.filter(outcome=AttemptOutcome.DEAD).count() == 1

    webhooks.webhook_delivery_replay(delivery=delivery, actor=Actor.system("ops"))
    with pytest.raises(Conflict):
        webhooks.webhook_delivery_replay(delivery=delivery, actor=Actor.system("ops"))
    webhooks.endpoint_deliver_due(endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    requests = rx.wait_for(4)
    assert len({r.header("webhook-id") for r in requests}) == 1
    assert requests[-1].header("x-orderflow-attempt") == "4"


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_a_client_error_goes_straight_to_dead(rx, status):
    endpoint = endpoint_for(rx)
    rx.script([status])
    produce()
    deliver(endpoint)
    delivery = endpoint.deliveries.get()
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert delivery.last_status_code == status


def test_retry_client_errors_setting_retries_a_4xx(rx):
    endpoint = endpoint_for(rx, retry_client_errors=True)
    rx.script([400])
    produce()
    deliver(endpoint)
    assert endpoint.deliveries.get().status == DeliveryStatus.PENDING


@pytest.mark.parametrize("status", [408, 409, 425, 429])
def test_retryable_client_errors_are_retried(rx, status):
    endpoint = endpoint_for(rx)
    rx.script([status])
    produce()
    deliver(endpoint)
    assert endpoint.deliveries.get().status == DeliveryStatus.PENDING


def test_retry_after_is_honoured_on_429_and_503(rx):
    endpoint = endpoint_for(rx)
    rx.script([(429, "", {"Retry-After": "120"}), (503, "", {"Retry-After": "3600"})])
    produce()
    webhooks.outbox_dispatch()
    delivery = endpoint.deliveries.get()
    before = timezone.now()
    webhooks.endpoint_deliver_due(endpoint.pk)
    delivery.refresh_from_db()
    assert 118 <= (delivery.next_attempt_at - before).total_seconds() <= 122
    time_travel(delivery)
    before = timezone.now()
    webhooks.endpoint_deliver_due(endpoint.pk)
    delivery.refresh_from_db()
    assert 3598 <= (delivery.next_attempt_at - before).total_seconds() <= 3602


def test_410_gone_kills_the_delivery_and_disables_the_endpoint(rx):
    factories.StaffUserFactory(is_superuser=True, email="ops@example.com")
    endpoint = endpoint_for(rx)
    rx.script([410])
    produce()
    produce(number="OF-1002")
    deliver(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    first, second = endpoint.deliveries.order_by("sequence")
    assert first.status == DeliveryStatus.DEAD
    assert second.status == DeliveryStatus.PENDING  # waits for the endpoint to come back
    assert len(rx.requests) == 1


def test_a_redirect_is_not_followed(rx):
    endpoint = endpoint_for(rx)
    rx.script([(302, "", {"Location": rx.url("/elsewhere")})])
    produce()
    deliver(endpoint)
    delivery = endpoint.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING and "redirect" in delivery.last_error
    assert [r.path for r in rx.requests] == ["/hook"]


@pytest.mark.parametrize("rule,value,field,body,ok", [
    ("contains", "OK", "", "all OK", True),
    ("contains", "OK", "", "nope", False),
    ("regex", r"^\s*accepted", "", "  accepted!", True),
    ("regex", r"^\s*accepted", "", "not accepted", False),
    ("json_equals", "true", "result.ok", '{"result": {"ok": true}}', True),
    ("json_equals", "true", "result.ok", '{"result": {"ok": false}}', False),
    ("json_equals", "true", "result.ok", "not json", False),
])
def test_acknowledgement_rules(rx, rule, value, field, body, ok):
    endpoint = endpoint_for(rx, ack_rule=rule, ack_value=value, ack_field=field)
    rx.script([(200, body)])
    produce()
    deliver(endpoint)
    delivery = endpoint.deliveries.get()
    assert (delivery.status == DeliveryStatus.SUCCEEDED) is ok


def test_jitter_spreads_retries_around_the_schedule():
    rng = random.Random(7)
    with override_settings(ORDERFLOW_WEBHOOK_RETRY_SCHEDULE=SCHEDULE):
        delays = [outbound.retry_delay(2, rng=rng) for _ in range(200)]
        beyond = outbound.retry_delay(12, rng=rng)
    assert all(240 <= d <= 360 for d in delays)
    assert max(delays) - min(delays) > 60  # actually jittered
    assert 36000 * 0.8 <= beyond <= 36000 * 1.2


def test_an_endpoint_failing_for_five_days_is_disabled_and_admins_are_emailed(
        rx, django_capture_on_commit_callbacks):
    factories.StaffUserFactory(is_superuser=True, email="ops@example.com")
    endpoint = endpoint_for(rx)
    rx.script([500, 500])
    produce()
    deliver(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.is_active
    endpoint.failing_since = timezone.now() - timedelta(days=5, minutes=1)
    endpoint.save(update_fields=["failing_since"])
    time_travel(endpoint.deliveries.get())
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.endpoint_deliver_due(endpoint.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "5 days" in endpoint.disabled_reason
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]
    assert endpoint.url in mail.outbox[0].body


def test_a_success_ends_the_failing_streak(rx):
    endpoint = endpoint_for(rx)
    rx.script([500])
    produce()
    deliver(endpoint)
    time_travel(endpoint.deliveries.get())
    webhooks.endpoint_deliver_due(endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


# --- ordering ----------------------------------------------------------------------------------

def test_strict_ordering_holds_later_events_until_the_first_succeeds(rx):
    endpoint = endpoint_for(rx, ordering=Ordering.STRICT)
    rx.script([500])
    for n in range(3):
        produce(number=f"OF-{n}")
    deliver(endpoint)
    assert [r.json["sequence"] for r in rx.requests] == [1]  # 2 and 3 wait behind 1
    first = endpoint.deliveries.get(sequence=1)
    assert endpoint.deliveries.filter(status=DeliveryStatus.PENDING).count() == 3
    time_travel(first)
    webhooks.endpoint_deliver_due(endpoint.pk)
    assert [r.json["sequence"] for r in rx.wait_for(4)] == [1, 1, 2, 3]


def test_parallel_ordering_lets_later_events_pass_a_failing_one(rx):
    endpoint = endpoint_for(rx)
    rx.script([500])
    for n in range(3):
        produce(number=f"OF-{n}")
    deliver(endpoint)
    assert sorted(r.json["sequence"] for r in rx.wait_for(3)) == [1, 2, 3]
    assert list(endpoint.deliveries.order_by("sequence").values_list("status", flat=True)) \
        == [DeliveryStatus.PENDING, DeliveryStatus.SUCCEEDED, DeliveryStatus.SUCCEEDED]


def test_an_unreachable_receiver_stops_the_batch_without_spending_attempts(rx):
    endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/hook",
                                                event_types=["*"])
    for n in range(3):
        produce(number=f"OF-{n}")
    webhooks.outbox_dispatch()
    endpoint_, batch = webhooks.deliveries_claim(endpoint_id=endpoint.pk)
    results = webhooks.deliveries_send(endpoint_, batch)
    assert [r.response is None for r in results] == [False, True, True]
    webhooks.deliveries_record(endpoint_, results)
    rows = list(endpoint.deliveries.order_by("sequence"))
    assert [(d.status, d.attempts) for d in rows] == [
        (DeliveryStatus.PENDING, 1), (DeliveryStatus.PENDING, 0), (DeliveryStatus.PENDING, 0)]
    assert "could not connect" in rows[0].last_error
    # The two never sent wait a short backoff instead of being claimed for another try now.
    assert webhooks.deliveries_claim(endpoint_id=endpoint.pk)[1] == []
    assert all(d.next_attempt_at > timezone.now() + timedelta(seconds=3) for d in rows[1:])


# --- workers that die, sweeping ----------------------------------------------------------------

def test_a_lease_left_by_a_dead_worker_is_taken_back_and_sent_with_a_new_attempt(rx):
    endpoint = endpoint_for(rx)
    produce()
    webhooks.outbox_dispatch()
    _, batch = webhooks.deliveries_claim(endpoint_id=endpoint.pk)  # ...and the worker dies
    assert [d.status for d in batch] == [DeliveryStatus.SENDING]
    assert webhooks.deliveries_claim(endpoint_id=endpoint.pk)[1] == []  # leased: not again
    WebhookDelivery.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    summary = webhooks.webhooks_sweep()
    assert summary["reclaimed"] == 1 and summary["endpoints_due"] == 1
    webhooks.endpoint_deliver_due(endpoint.pk)
    delivery = endpoint.deliveries.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert list(delivery.attempt_log.order_by("number").values_list("number", "outcome")) == [
        (1, AttemptOutcome.LOST), (2, AttemptOutcome.SUCCEEDED)]
    assert rx.wait_for(1)[0].header("x-orderflow-attempt") == "2"


def test_the_sweeper_dispatches_events_whose_wake_up_was_lost(rx):
    endpoint = endpoint_for(rx)
    produce()  # on_commit never ran in this test transaction: nobody woke the dispatcher
    assert webhooks.webhooks_sweep()["endpoints_due"] == 1
    webhooks.endpoint_deliver_due(endpoint.pk)
    assert len(rx.wait_for(1)) == 1


def test_a_send_test_event_reaches_only_that_endpoint(rx):
    endpoint = endpoint_for(rx)
    other = endpoint_for(rx, "/other", event_types=["*"])
    delivery = webhooks.webhook_endpoint_send_test(endpoint=endpoint, actor=Actor.system("ops"))
    webhooks.endpoint_deliver_due(endpoint.pk)
    webhooks.endpoint_deliver_due(other.pk)
    (request,) = rx.wait_for(1)
    assert request.json["type"] == "webhook.test" and request.json["sequence"] == 1
    assert delivery.event.public_id == request.header("webhook-id")
    produce()
    webhooks.outbox_dispatch()
    assert endpoint.deliveries.order_by("-sequence").first().sequence == 2


# --- address policy ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://10.0.0.5/hook", "https://192.168.1.20/hook", "https://169.254.169.254/latest",
    "https://[::1]/hook", "https://localhost/hook", "https://0.0.0.0/hook",
])
def test_private_loopback_and_link_local_receivers_are_refused(url):
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=[]), \
            pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_endpoint_create(url=url, event_types=["*"])
    assert exc.value.code == "invalid_webhook_endpoint" and "url" in exc.value.errors


def test_plain_http_needs_debug_or_the_allow_list():
    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_endpoint_create(url="http://93.184.215.14/hook", event_types=["*"])
    assert "https" in exc.value.errors["url"][0]
    assert webhooks.webhook_endpoint_create(url="https://93.184.215.14/hook",
                                            event_types=["*"]).pk


def test_an_address_refused_at_send_time_is_logged_not_sent(rx):
    endpoint = endpoint_for(rx)
    produce()
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=[], DEBUG=True):  # http is fine
        deliver(endpoint)
    delivery = endpoint.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING and "not allowed" in delivery.last_error
    assert rx.requests == []


@pytest.mark.parametrize("changes,field", [
    ({"event_types": []}, "event_types"),
    ({"event_types": ["order created"]}, "event_types"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"max_attempts": 50}, "max_attempts"),
    ({"ack_rule": "regex", "ack_value": "("}, "ack_value"),
    ({"ack_rule": "json_equals", "ack_value": "x"}, "ack_field"),
    ({"url": "ftp://93.184.215.14/x"}, "url"),
])
def test_bad_endpoint_settings_are_refused_by_field(rx, changes, field):
    endpoint = endpoint_for(rx)
    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_endpoint_update(endpoint=endpoint, **changes)
    assert field in exc.value.errors


# --- cost --------------------------------------------------------------------------------------

@pytest.mark.parametrize("events", [1, 15])
def test_a_batch_costs_the_same_statements_for_1_or_15_deliveries(
        rx, events, django_assert_num_queries):
    endpoint = endpoint_for(rx, timeout_seconds=5)  # batches of up to 20 (120 s / 5 s … cap)
    for n in range(events):
        produce(number=f"OF-{n}")
    webhooks.outbox_dispatch()
    # Savepoint pairs stand in for BEGIN/COMMIT inside the test's transaction.
    with django_assert_num_queries(5):  # endpoint lock, deliveries + events, lease
        _, batch = webhooks.deliveries_claim(endpoint_id=endpoint.pk)
    results = webhooks.deliveries_send(endpoint, batch)
    with django_assert_num_queries(5):  # statuses, attempts, log (+ savepoint pair)
        webhooks.deliveries_record(endpoint, results)
    assert WebhookAttempt.objects.count() == events
    assert json.loads(rx.wait_for(events)[-1].body)["sequence"] == events


# --- wake-ups and housekeeping -----------------------------------------------------------------

def test_a_transaction_wakes_the_dispatcher_once_after_commit(
        django_capture_on_commit_callbacks):
    from orderflow.outbox import _dispatch_after_commit, emit_many

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        emit("order.created", {"number": "OF-1"})
        emit_many([("order.confirmed", {"number": "OF-1"}, None, None),
                   ("invoice.issued", {"number": "INV-1"}, None, None)])
    assert callbacks == [_dispatch_after_commit]


def test_pruning_keeps_dead_and_recent_deliveries(rx):
    endpoint = endpoint_for(rx)
    rx.script([200, 400])
    produce(number="OF-old")
    produce(number="OF-dead")
    produce(number="OF-new")
    deliver(endpoint)
    statuses = dict(endpoint.deliveries.values_list("reference", "status"))
    assert statuses == {"OF-old": "succeeded", "OF-dead": "dead", "OF-new": "succeeded"}
    long_ago = timezone.now() - timedelta(days=31)
    endpoint.deliveries.exclude(reference="OF-new").update(created_at=long_ago)
    from orderflow.models import OutboxEvent

    OutboxEvent.objects.update(created_at=long_ago)
    assert webhooks.webhook_log_prune() == {"deliveries": 1, "attempts": 1, "events": 1}
    assert set(endpoint.deliveries.values_list("reference", flat=True)) == {"OF-dead", "OF-new"}
    assert OutboxEvent.objects.count() == 2  # still referenced by the kept deliveries


def test_an_endpoint_whose_address_is_no_longer_allowed_can_still_be_switched_off(rx):
    endpoint = endpoint_for(rx)
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=[]):
        off = webhooks.webhook_endpoint_update(endpoint=endpoint, is_active=False)
        assert not off.is_active
        with pytest.raises(ValidationFailed):  # a changed URL is checked, though
            webhooks.webhook_endpoint_update(endpoint=off, url=rx.url("/moved"))


def test_switching_an_endpoint_back_on_starts_a_new_streak_whatever_object_is_passed(rx):
    endpoint = endpoint_for(rx)
    webhooks.webhook_endpoint_update(endpoint=endpoint, is_active=False)
    type(endpoint).objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now(), disabled_reason="410")
    endpoint.is_active = True  # e.g. a form that already copied its values onto the object
    on = webhooks.webhook_endpoint_update(endpoint=endpoint, is_active=True)
    assert on.is_active and on.failing_since is None and on.disabled_reason == ""


@pytest.mark.parametrize("url", ["https://x:99999/a", "https://[::1/a",
                                 "https://" + "a" * 70 + ".example/"])
def test_malformed_urls_are_a_validation_error_not_a_crash(url):
    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_endpoint_create(url=url, event_types=["*"])
    assert "url" in exc.value.errors


def test_invoice_deliveries_are_found_by_order_and_invoice_number(rx):
    endpoint = endpoint_for(rx, event_types=["invoice.*"])
    with transaction.atomic():
        emit("invoice.issued", {"number": "INV-000045", "order_number": "OF-000123"})
    webhooks.outbox_dispatch()
    assert endpoint.deliveries.get().reference == "OF-000123 INV-000045"


@pytest.mark.skipif("postgresql" not in __import__("django.conf").conf.settings.DATABASES[
    "default"]["ENGINE"], reason="the dispatcher lock is a PostgreSQL advisory lock")
def test_a_dispatcher_task_does_not_wait_for_another_running_dispatcher(rx):
    import psycopg
    from django.db import connection

    produce()
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"},
                         autocommit=False) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [webhooks.DISPATCH_LOCK])
        with pytest.raises(webhooks.DispatcherBusy):
            webhooks.outbox_dispatch_all(wait=False)
    assert webhooks.outbox_dispatch_all(wait=False) == 1  # the other one is done


def test_an_event_committed_just_before_the_dispatcher_clears_its_flag_is_still_sent(
        rx, monkeypatch):
    endpoint = endpoint_for(rx)
    produce(number="OF-1")
    links = []

    def schedule_next(token, gather):
        links.append((token, gather))

    assert webhooks.outbox_dispatch_step(token="t1", schedule_next=schedule_next) == 1
    assert links == [("t1", True)]  # it took something: the chain goes on after the gather

    def clear_flag():  # a commit lands right before the flag goes
        produce(number="OF-late")

    monkeypatch.setattr(webhooks, "wake_flag_clear", clear_flag)
    assert webhooks.outbox_dispatch_step(token="t1", schedule_next=schedule_next) == 1
    assert links == [("t1", True)]  # nothing on the first look: the chain ends after its last
    assert set(endpoint.deliveries.values_list("reference", flat=True)) == {"OF-1", "OF-late"}
