"""Webhook delivery through real Celery workers on Redis, against the test database.

The pieces are the production ones: events are written with ``emit`` (or by the checkout
service) in committed transactions, their ``on_commit`` wake-up goes through the broker to a
``celery worker`` process (prefork, concurrency 2), which dispatches and POSTs to a real HTTP
receiver in this process. Beat is played by the test: ``webhooks_sweep()`` runs here in a
polling loop (see ``sweeper`` in conftest.py), which is what ``sweep_webhooks_task`` does
every 30 s in production. Workers and the receiver share the settings of conftest.py:
local receiver allowed, retries after about 1 s, lease margin 3 s.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from bridges.constants import AttemptOutcome, DeliveryStatus, Ordering
from bridges.models import WebhookAttempt, WebhookDelivery
from bridges.webhooks import services as webhooks
from orderflow.models import OutboxEvent
from orderflow.outbox import emit
from orders.models import Order
from tests import factories
from tests.e2e.conftest import broker_reset, publishing_to, wait_until
from tests.receiver import Receiver
from tests.storefront import build_storefront

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def endpoint_for(rx: Receiver, path: str, **options):
    options.setdefault("event_types", ["order.*"])
    return webhooks.webhook_endpoint_create(url=rx.url(path), **options)


def by_path(rx: Receiver, path: str):
    return [r for r in list(rx.requests) if r.path == path]


# --- (1) a worker killed while it sends --------------------------------------------------------

def test_a_worker_killed_mid_send_loses_nothing(workers, sweeper):
    """SIGKILL the worker's process group while the receiver holds its POST; a new worker
    and the sweeper send the same event again, with the next attempt number."""
    with Receiver(hold_seconds=60) as rx:
        rx.script(["timeout"])  # the first POST is held: the worker is mid-send
        endpoint = endpoint_for(rx, "/hook", timeout_seconds=4)
        first = workers.start()
        with transaction.atomic():
            event = emit("order.created", {"number": "OF-900001", "total": "10.00"})

        rx.wait_for(1, timeout=30)
        first.kill()
        delivery = WebhookDelivery.objects.get(endpoint=endpoint, event=event)
        assert delivery.status == DeliveryStatus.SENDING and delivery.attempts == 1

        workers.start()
        sweeper.until(
            lambda: WebhookDelivery.objects.filter(pk=delivery.pk,
                                                   status=DeliveryStatus.SUCCEEDED).exists(),
            timeout=45, what="the delivery to succeed after the worker died")

        requests = rx.requests
        assert len(requests) == 2, [r.headers for r in requests]
        assert [r.header("webhook-id") for r in requests] == [event.public_id] * 2
        assert [r.header("x-orderflow-attempt") for r in requests] == ["1", "2"]
        assert {r.header("x-orderflow-delivery-id") for r in requests} == {delivery.public_id}
        assert [r.json["sequence"] for r in requests] == [1, 1]
        for request in requests:  # both signed with the endpoint's secret
            Webhook(endpoint.secret).verify(request.body, request.headers)

        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.delivered_at is not None
        log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
                   .values_list("number", "outcome", "status_code"))
        assert log == [(1, AttemptOutcome.LOST, None), (2, AttemptOutcome.SUCCEEDED, 200)]
        assert sweeper.total("reclaimed") == 1


# --- (2) the broker is down while orders are placed --------------------------------------------

def place_order(shop, client) -> str:
    cart_id = shop.ready_cart(client, [("COF-250", 1), ("RICE-5KG", 1)])
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}},
                           format="json")
    assert response.status_code == 201, response.content
    return response.json()["number"]


def delivery_state(rx: Receiver, *workers_) -> str:
    """What is stuck where, for a failure message."""
    statuses = Counter(WebhookDelivery.objects.values_list("status", flat=True))
    undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True).count()
    logs = "\n".join(w.log_tail(2500) for w in workers_)
    return (f"undispatched events {undispatched}, deliveries {dict(statuses)}, "
            f"receiver {len(rx.requests)} requests\n{logs}")


def all_delivered(rx: Receiver) -> bool:
    """Every outbox event fanned out, every delivery succeeded, the receiver saw each id."""
    if OutboxEvent.objects.filter(dispatched_at__isnull=True).exists():
        return False
    if WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists():
        return False
    expected = set(OutboxEvent.objects.values_list("public_id", flat=True))
    return expected <= {r.header("webhook-id") for r in list(rx.requests)}


def test_orders_placed_while_the_broker_is_down_are_delivered_when_it_is_back(
        workers, sweeper, private_redis, caplog):
    with publishing_to(private_redis.url), Receiver() as rx:
        broker_reset(private_redis.url)
        endpoint = endpoint_for(rx, "/all", event_types=["*"])
        shop = build_storefront()
        worker = workers.start(broker_url=private_redis.url)
        client = shop.shopper(factories.CustomerFactory())

        # All up: an order's events reach the receiver through the worker alone.
        place_order(shop, client)
        wait_until(lambda: all_delivered(rx), timeout=30, what="the first order's events",
                   describe=lambda: delivery_state(rx, worker))
        time.sleep(0.5)  # let the worker finish any wake-up still in flight
        before = len(rx.requests)

        private_redis.kill()
        with caplog.at_level(logging.WARNING, logger="orderflow.outbox"):
            numbers = [place_order(shop, client) for _ in range(3)]
        # Each checkout committed although its wake-up could not be published.
        assert Order.objects.filter(number__in=numbers).count() == 3
        assert any("could not wake outbox" in r.getMessage()
                   for r in caplog.records)
        outage_events = set(OutboxEvent.objects.filter(
            aggregate_id__in=Order.objects.filter(number__in=numbers)
            .values_list("public_id", flat=True)).values_list("public_id", flat=True))
        assert outage_events, "checkout wrote no outbox events"
        time.sleep(1)
        assert len(rx.requests) == before  # nothing can move while the broker is down

        private_redis.start()  # same port, empty: every queued wake-up is gone
        sweeper.until(lambda: all_delivered(rx), timeout=60,
                      what="every event to be delivered after the broker came back",
                      describe=lambda: delivery_state(rx, *workers.all))
        assert worker.proc.poll() is None, "the worker should have reconnected, not died"

        seen = [r.header("webhook-id") for r in rx.requests]
        assert outage_events <= set(seen)
        # At least once, and here exactly once: nothing failed at the receiver.
        assert len(seen) == len(set(seen))
        sequences = sorted(r.json["sequence"] for r in rx.requests)
        assert sequences == list(range(1, endpoint.deliveries.count() + 1))


# --- (3) volume and ordering -------------------------------------------------------------------

def emit_load(count: int, *, per_transaction: int, event_type: str = "load.tick") -> list[str]:
    """``count`` events in committed transactions of ``per_transaction`` each; their ids."""
    ids = []
    for start in range(0, count, per_transaction):
        with transaction.atomic():
            for n in range(start, min(start + per_transaction, count)):
                ids.append(emit(event_type, {"n": n}).public_id)
    return ids


def test_a_thousand_events_reach_three_endpoints_once_each_with_every_sequence(
        workers, sweeper):
    with Receiver() as rx:
        paths = ["/erp", "/wms", "/crm"]
        endpoints = {path: endpoint_for(rx, path, event_types=["load.*"]) for path in paths}
        workers.start()
        ids = emit_load(1000, per_transaction=4)
        sweeper.until(lambda: len(rx.requests) >= 3000, timeout=90, interval=2.0,
                      what="3,000 deliveries")
        time.sleep(0.5)  # anything extra (a duplicate) would arrive now

        for path in paths:
            received = by_path(rx, path)
            sequences = [r.json["sequence"] for r in received]
            assert sorted(sequences) == list(range(1, 1001)), path
            assert Counter(r.header("webhook-id") for r in received) == Counter(ids), path
            pairs = [(r.header("webhook-id"), r.header("x-orderflow-attempt")) for r in received]
            assert len(pairs) == len(set(pairs)), f"{path}: an attempt was sent twice"
            assert {r.header("x-orderflow-attempt") for r in received} == {"1"}
            by_id = {r.header("webhook-id"): r.json["sequence"] for r in received}
            # Sequence follows the outbox order for each endpoint.
            assert [by_id[i] for i in ids] == list(range(1, 1001)), path
            assert Webhook(endpoints[path].secret).verify(received[0].body, received[0].headers)
        assert len(rx.requests) == 3000
        assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED,
                                              attempts=1).count() == 3000


def test_a_strict_endpoint_receives_events_in_order_through_failures(workers, sweeper):
    total = 200
    failing = {5, 6, 60, 61, 62, 140}  # arrival positions answered 500 (a few in a row)
    with Receiver() as rx:
        rx.script([500 if i in failing else 200 for i in range(total + len(failing))])
        endpoint = endpoint_for(rx, "/strict", event_types=["load.*"],
                                ordering=Ordering.STRICT)
        workers.start()
        ids = emit_load(total, per_transaction=5)
        sweeper.until(
            lambda: not endpoint.deliveries.exclude(status=DeliveryStatus.SUCCEEDED).exists()
            and endpoint.deliveries.count() == total,
            timeout=60, what="the strict endpoint's deliveries")

        arrivals = [(r.json["sequence"], 500 if i in failing else 200)
                    for i, r in enumerate(rx.requests)]
        assert len(arrivals) == total + len(failing)
        sequences = [seq for seq, _ in arrivals]
        # Never ahead of a failed event: a retry repeats the sequence, nothing overtakes it.
        assert sequences == sorted(sequences)
        assert [seq for seq, status in arrivals if status == 200] == list(range(1, total + 1))
        for i, (seq, status) in enumerate(arrivals):
            if status == 500:
                assert arrivals[i + 1][0] == seq  # the next request retried the same event
        received_ids = [r.header("webhook-id")
                        for r, (_, status) in zip(rx.requests, arrivals, strict=True)
                        if status == 200]
        assert received_ids == ids
        retried = Counter(seq for seq, status in arrivals if status == 500)
        for delivery in endpoint.deliveries.all():
            assert delivery.attempts == 1 + retried.get(delivery.sequence, 0)


# --- (4) fairness: a backlog of failing endpoints does not hold back a healthy one -------------

def test_a_healthy_endpoint_is_not_held_back_by_failing_endpoints_backlogs(workers, sweeper):
    """Ten endpoints answering 500 with 300 due deliveries each, being worked through by a
    worker; a new event for a healthy endpoint overtakes that backlog: it arrives after a few
    rounds of probes (one POST per failing endpoint per round), not after the backlog."""
    from datetime import timedelta

    from django.utils import timezone

    from bridges.models import WebhookEndpoint

    failing_count, backlog = 10, 300
    with Receiver(default=500) as down, Receiver() as rx:
        event = OutboxEvent.objects.create(type="order.created", payload={"number": "OF-1"},
                                           dispatched_at=timezone.now())
        failing = []
        for n in range(failing_count):
            endpoint = endpoint_for(down, f"/down/{n}")
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                failing_since=timezone.now() - timedelta(hours=1), last_sequence=backlog)
            WebhookDelivery.objects.bulk_create([
                WebhookDelivery(endpoint=endpoint, event=event, event_type=event.type,
                                sequence=s, next_attempt_at=timezone.now())
                for s in range(1, backlog + 1)])
            failing.append(endpoint.pk)
        healthy = endpoint_for(rx, "/healthy", event_types=["invoice.*"])
        workers.start()
        sweeper.until(lambda: len(down.requests) >= 30, timeout=30,
                      what="the workers to be busy with the failing backlog")

        before = len(down.requests)
        with transaction.atomic():
            news = emit("invoice.issued", {"number": "INV-000001"})
        arrived = sweeper.until(lambda: rx.requests, timeout=30, interval=0.5,
                                what="the healthy endpoint's delivery")[0]
        untried = WebhookDelivery.objects.filter(endpoint_id__in=failing, attempts=0).count()

        assert arrived.header("webhook-id") == news.public_id
        meanwhile = [r for r in list(down.requests)[before:] if r.at <= arrived.at]
        # A few rounds of one probe per failing endpoint (per worker process), far less than
        # one endpoint's batch of 100 as a worker took before rounds were fair.
        assert len(meanwhile) < 100, len(meanwhile)
        assert untried > failing_count * backlog // 2  # most of the backlog still waits
        delivery = WebhookDelivery.objects.get(endpoint=healthy)
        assert delivery.attempts == 1
