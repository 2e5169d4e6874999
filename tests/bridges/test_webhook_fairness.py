"""Fair delivery and automatic disabling of webhook endpoints.

Fairness: a worker sends in rounds across every endpoint with something due, so ten failing
endpoints holding hundreds of due deliveries each cannot stand between a healthy endpoint and
its new delivery. The claim and the worker's loop are driven in-process; the network is a
recording stand-in for ``outbound.post`` (which receiver answers what is all these tests need),
so what is asserted is the order of the POSTs, never how long anything took.

Auto-disable: an endpoint whose every attempt has failed for ``ORDERFLOW_WEBHOOK_DISABLE_AFTER``
is switched off in the transaction that recorded the failure, with one
``webhook_endpoint.disabled`` event and a notice in the admin; staff switch it back on.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from bridges.constants import DeliveryStatus, Ordering
from bridges.models import WebhookDelivery, WebhookEndpoint
from bridges.webhooks import outbound
from bridges.webhooks import services as webhooks
from orderflow import config
from orderflow.errors import Conflict
from orderflow.models import OutboxEvent
from orderflow.outbox import emit
from orderflow.timeline import Actor
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_local")]

FAILING = 10
BACKLOG = 200  # due deliveries each failing endpoint holds
ENDPOINTS = "/admin/bridges/webhookendpoint/"
STAFF = Actor.system("ops@example.com")


@pytest.fixture
def allow_local():
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]):
        yield


class Network:
    """``outbound.post`` for these tests: URLs with ``/down`` answer 500, the rest 200; every
    POST is recorded in order with its ``webhook-id``."""

    def __init__(self):
        self.posts: list[tuple[str, str]] = []

    def __call__(self, url, *, body, headers, timeout):
        self.posts.append((url, headers["webhook-id"]))
        return outbound.Response(status=500 if "/down" in url else 200)


@pytest.fixture
def network(monkeypatch):
    fake = Network()
    monkeypatch.setattr(outbound, "post", fake)
    return fake


def failing_endpoints(count=FAILING, backlog=BACKLOG, *, failing_for=timedelta(hours=2)):
    """``count`` endpoints that have been failing for ``failing_for``, each with ``backlog``
    due deliveries (written in bulk: what a long outage leaves behind)."""
    event = OutboxEvent.objects.create(type="order.created", payload={"number": "OF-1"},
                                       dispatched_at=timezone.now())
    due = timezone.now() - timedelta(minutes=1)
    endpoints = []
    for n in range(count):
        endpoint = webhooks.webhook_endpoint_create(url=f"http://127.0.0.1:9/down/{n}",
                                                    event_types=["order.*"])
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - failing_for, last_sequence=backlog)
        WebhookDelivery.objects.bulk_create([
            WebhookDelivery(endpoint=endpoint, event=event, event_type=event.type,
                            sequence=s, next_attempt_at=due)
            for s in range(1, backlog + 1)])
        endpoints.append(endpoint)
    return endpoints


def healthy_endpoint_with_a_new_delivery():
    endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/healthy",
                                                event_types=["invoice.*"])
    with transaction.atomic():
        event = emit("invoice.issued", {"number": "INV-000001"})
    webhooks.outbox_dispatch()
    return endpoint, endpoint.deliveries.get(event=event)


# --- fairness ----------------------------------------------------------------------------------

def test_a_healthy_endpoints_new_delivery_is_in_the_first_round_despite_a_big_backlog(
        django_assert_num_queries):
    failing = failing_endpoints()
    healthy, delivery = healthy_endpoint_with_a_new_delivery()
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() \
        == FAILING * BACKLOG + 1

    # Savepoint pair, the endpoints with something due, one look per endpoint, one lease.
    with django_assert_num_queries(2 + 1 + (FAILING + 1) + 1):
        claimed = webhooks.deliveries_claim_round()

    assert claimed[0].endpoint.pk == healthy.pk  # sent first
    assert [d.pk for d in claimed[0].batch] == [delivery.pk]
    # Each failing endpoint: one probe (its oldest), the rest of the backlog waits.
    assert sorted(c.endpoint.pk for c in claimed[1:]) == sorted(e.pk for e in failing)
    assert all([d.sequence for d in c.batch] == [1] for c in claimed[1:])
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING).count() == FAILING + 1
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, attempts=0).count() \
        == FAILING * (BACKLOG - 1)


def test_the_claim_costs_the_same_queries_for_a_bigger_backlog(django_assert_max_num_queries):
    failing_endpoints(count=3, backlog=500)
    healthy_endpoint_with_a_new_delivery()
    with django_assert_max_num_queries(2 + 1 + 4 + 1):
        claimed = webhooks.deliveries_claim_round()
    assert sum(len(c.batch) for c in claimed) == 4


def test_the_worker_loop_sends_the_healthy_delivery_first_over_the_backlog(network):
    failing = failing_endpoints()
    healthy, delivery = healthy_endpoint_with_a_new_delivery()

    totals = webhooks.endpoint_deliver_due(healthy.pk, rounds=3)

    assert network.posts[0] == (healthy.url, delivery.event.public_id)
    assert len(network.posts) == 1 + 3 * FAILING  # the healthy one, then a probe each round
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert totals["succeeded"] == 1 and totals["retry"] == 3 * FAILING
    for endpoint in failing:  # three attempts, in sequence order; the others untouched
        tried = endpoint.deliveries.filter(attempts__gt=0)
        assert sorted(tried.values_list("sequence", flat=True)) == [1, 2, 3]
        assert endpoint.deliveries.filter(attempts=0, status=DeliveryStatus.PENDING).count() \
            == BACKLOG - 3


def test_a_healthy_endpoint_gets_its_new_delivery_out_while_another_drains_a_backlog(network):
    """Two healthy endpoints split the round: a big backlog does not push a newcomer back."""
    (busy,) = failing_endpoints(count=1, backlog=300)
    WebhookEndpoint.objects.filter(pk=busy.pk).update(failing_since=None,
                                                      url="http://127.0.0.1:9/busy")
    healthy, delivery = healthy_endpoint_with_a_new_delivery()

    claimed = webhooks.deliveries_claim_round()

    by_endpoint = {c.endpoint.pk: c.batch for c in claimed}
    assert [d.pk for d in by_endpoint[healthy.pk]] == [delivery.pk]
    assert len(by_endpoint[busy.pk]) == settings.ORDERFLOW_WEBHOOK_BATCH // 2


def test_a_probe_that_succeeds_gives_the_endpoint_its_full_share_again(network):
    (endpoint,) = failing_endpoints(count=1, backlog=30)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/back")
    claimed = webhooks.deliveries_claim_round()
    assert [len(c.batch) for c in claimed] == [1]  # failing: a probe
    webhooks.deliveries_record(claimed[0].endpoint, webhooks.deliveries_send(
        claimed[0].endpoint, claimed[0].batch))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert [len(c.batch) for c in webhooks.deliveries_claim_round()] == [29]


def test_a_strict_endpoint_in_a_round_keeps_its_order_and_its_single_claimer(network):
    (strict,) = failing_endpoints(count=1, backlog=5)
    WebhookEndpoint.objects.filter(pk=strict.pk).update(
        ordering=Ordering.STRICT, failing_since=None, url="http://127.0.0.1:9/strict")
    claimed = webhooks.deliveries_claim_round()
    assert [d.sequence for d in claimed[0].batch] == [1, 2, 3, 4, 5]
    assert webhooks.deliveries_claim_round() == []  # all leased: nothing for a second worker


def test_a_disabled_endpoints_deliveries_are_kept_and_not_attempted(network):
    (endpoint,) = failing_endpoints(count=1, backlog=3)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, reason="maintenance", actor=STAFF)
    assert webhooks.deliveries_claim_round() == []
    webhooks.endpoint_deliver_due(endpoint.pk)
    assert network.posts == []
    assert endpoint.deliveries.filter(status=DeliveryStatus.PENDING, attempts=0).count() == 3

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/up")
    webhooks.webhook_endpoint_enable(endpoint=endpoint, actor=STAFF)
    webhooks.endpoint_deliver_due(endpoint.pk)
    assert endpoint.deliveries.filter(status=DeliveryStatus.SUCCEEDED).count() == 3


# --- automatic disabling -----------------------------------------------------------------------

def disabled_events():
    return list(OutboxEvent.objects.filter(type="webhook_endpoint.disabled"))


def failing_once_more(endpoint, *, failing_for):
    """The endpoint has failed for ``failing_for``; one more round fails again."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - failing_for)
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now())
    webhooks.endpoint_deliver_due(endpoint.pk, rounds=1)
    endpoint.refresh_from_db()
    return endpoint


def test_failing_for_less_than_the_window_stays_enabled(network):
    (endpoint,) = failing_endpoints(count=1, backlog=2)
    endpoint = failing_once_more(endpoint, failing_for=timedelta(hours=119))
    assert endpoint.is_active and endpoint.failing_since is not None
    assert endpoint.disabled_at is None and disabled_events() == []


def test_failing_beyond_the_window_disables_once_with_an_event_an_email_and_a_notice(
        network, client, django_capture_on_commit_callbacks):
    factories.StaffUserFactory(is_superuser=True, email="ops@example.com")
    (endpoint,) = failing_endpoints(count=1, backlog=3)
    with django_capture_on_commit_callbacks(execute=True):
        endpoint = failing_once_more(endpoint, failing_for=timedelta(hours=120, minutes=1))

    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert endpoint.disabled_reason.startswith("Every delivery failed for 5 days (since ")
    (event,) = disabled_events()
    assert event.aggregate_id == endpoint.public_id
    assert event.payload["automatic"] is True and event.payload["reason"] \
        == endpoint.disabled_reason
    assert event.payload["pending_deliveries"] == 3  # kept, not attempted while it is off
    assert len(mail.outbox) == 1 and endpoint.url in mail.outbox[0].body

    # Once: nothing more is claimed for it, so nothing disables it again.
    failing_once_more(endpoint, failing_for=timedelta(days=10))
    assert len(disabled_events()) == 1 and len(network.posts) == 1
    assert webhooks.webhook_endpoint_disable(endpoint=endpoint, reason="again",
                                             actor=STAFF).disabled_reason \
        == endpoint.disabled_reason
    assert len(disabled_events()) == 1

    # The admin notice: the list's health column and the endpoint's page.
    client.force_login(factories.StaffUserFactory())
    since = timezone.localtime(endpoint.disabled_at).strftime("%Y-%m-%d %H:%M")
    listing = client.get(ENDPOINTS, {"health": "disabled"}).content.decode()
    assert f"disabled since {since}" in listing and "Every delivery failed" in listing
    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert 'id="disabled-notice"' in page and f"since {since}" in page
    assert 'id="enable"' in page and "3 waiting deliveries are kept" in page
    dashboard = client.get("/admin/").content.decode()
    assert 'id="webhook-disabled-count">1<' in dashboard


def test_the_window_is_configurable():
    assert settings.ORDERFLOW_WEBHOOK_DISABLE_AFTER == timedelta(hours=120)
    loaded = config.load({"ORDERFLOW_VAR_DIR": "/tmp/orderflow-test-config",
                          "ORDERFLOW_WEBHOOK_DISABLE_AFTER_HOURS": "24"})
    assert loaded.webhook_disable_after_hours == 24
    with pytest.raises(config.ConfigError):
        config.load({"ORDERFLOW_VAR_DIR": "/tmp/orderflow-test-config",
                     "ORDERFLOW_WEBHOOK_DISABLE_AFTER_HOURS": "0"})


@override_settings(ORDERFLOW_WEBHOOK_DISABLE_AFTER=timedelta(hours=24))
def test_a_shorter_window_disables_sooner(network):
    (endpoint,) = failing_endpoints(count=1, backlog=1)
    endpoint = failing_once_more(endpoint, failing_for=timedelta(hours=25))
    assert not endpoint.is_active and "25 hours" in endpoint.disabled_reason


def test_a_success_resets_the_failing_since_clock(network):
    (endpoint,) = failing_endpoints(count=1, backlog=2)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/recovered")
    endpoint = failing_once_more(endpoint, failing_for=timedelta(hours=119))
    assert endpoint.is_active and endpoint.failing_since is None  # the probe succeeded

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/down/again")
    WebhookDelivery.objects.filter(endpoint=endpoint).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now())
    webhooks.endpoint_deliver_due(endpoint.pk, rounds=1)
    endpoint.refresh_from_db()
    # A new streak: it starts now, days away from the window.
    assert endpoint.is_active and timezone.now() - endpoint.failing_since < timedelta(hours=1)


# --- switching back on -------------------------------------------------------------------------

def test_enable_is_a_service_with_its_event_and_refuses_an_active_endpoint(
        network, django_capture_on_commit_callbacks):
    (endpoint,) = failing_endpoints(count=1, backlog=2)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, reason="410", actor=STAFF,
                                      automatic=True)
    with django_capture_on_commit_callbacks() as callbacks:
        on = webhooks.webhook_endpoint_enable(endpoint=endpoint, actor=STAFF)
    assert on.is_active and on.disabled_reason == "" and on.disabled_at is None
    assert on.failing_since is None
    assert callbacks  # the deliveries that waited are woken after commit
    (event,) = OutboxEvent.objects.filter(type="webhook_endpoint.enabled")
    assert event.payload["changed_by"] == "ops@example.com"
    assert event.payload["pending_deliveries"] == 2
    with pytest.raises(Conflict) as exc:
        webhooks.webhook_endpoint_enable(endpoint=endpoint, actor=STAFF)
    assert exc.value.code == "webhook_endpoint_active"


def test_the_admin_enable_button_goes_through_the_service(client, network):
    (endpoint,) = failing_endpoints(count=1, backlog=1)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, reason="410 Gone", actor=STAFF)
    user = factories.StaffUserFactory(username="ops")
    client.force_login(user)
    response = client.post(f"{ENDPOINTS}{endpoint.pk}/enable/", follow=True)
    assert "Endpoint enabled" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.is_active
    (event,) = OutboxEvent.objects.filter(type="webhook_endpoint.enabled")
    assert event.payload["changed_by"] == user.get_username()


def test_staff_switching_an_endpoint_off_writes_the_event_too():
    endpoint = webhooks.webhook_endpoint_create(url="http://127.0.0.1:9/x",
                                                event_types=["order.*"])
    webhooks.webhook_endpoint_update(endpoint=endpoint, is_active=False, actor=STAFF)
    (event,) = disabled_events()
    assert event.payload["automatic"] is False
    assert event.payload["reason"] == "Switched off by ops@example.com."
