"""Webhooks in the admin: endpoints through the service, secret reveal and rotation, test
events, dead letters and replay, the delivery log and the dashboard — all behind
webhooks.manage."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from bridges.constants import DeliveryStatus
from bridges.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from bridges.webhooks import services as webhooks
from orderflow.outbox import emit
from tests import factories
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/hook"
ENDPOINTS = "/admin/bridges/webhookendpoint/"
DELIVERIES = "/admin/bridges/webhookdelivery/"
ATTEMPTS = "/admin/bridges/webhookattempt/"


def staff_without(*codenames):
    user = factories.StaffUserFactory()  # every app permission, webhooks_manage included
    user.user_permissions.remove(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def manager(client):
    user = factories.StaffUserFactory()
    assert user.has_perm("bridges.webhooks_manage") and user.has_perm("bridges.settings_manage")
    client.force_login(user)
    return client


@pytest.fixture
def channel():
    return factories.ChannelFactory(code="ECOMMERCE")


@pytest.fixture
def endpoint():
    return webhooks.webhook_endpoint_create(url=PUBLIC_URL, event_types=["order.*"],
                                            description="ERP")


@pytest.fixture
def rx():
    with override_settings(ORDERFLOW_WEBHOOK_ALLOW_PRIVATE=["127.0.0.1"]), \
            Receiver(hold_seconds=1) as receiver:
        yield receiver


def deliver_events(endpoint, *numbers, send=True):
    """Emit one order event per number, fan out, and (with ``send``) run a worker pass for
    the endpoint."""
    for number in numbers:
        with transaction.atomic():
            emit("order.created", {"number": number, "total": "12.50"})
    webhooks.outbox_dispatch()
    if send:
        webhooks.endpoint_deliver_due(endpoint.pk)
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("sequence"))


@pytest.fixture
def dead_letters(rx):
    """An endpoint whose receiver answers 500 with one attempt allowed: every delivery dies
    after one logged attempt."""
    rx.default = 500
    endpoint = webhooks.webhook_endpoint_create(url=rx.url("/hook"), event_types=["order.*"],
                                                max_attempts=1, description="Warehouse")
    deliveries = deliver_events(endpoint, "OF-000123", "OF-000124")
    assert [d.status for d in deliveries] == [DeliveryStatus.DEAD] * 2
    return endpoint, deliveries


def form_data(**overrides):
    data = {
        "url": PUBLIC_URL, "description": "ERP", "is_active": "on",
        "event_types": ["order.created", "payment.captured"], "event_patterns": "invoice.*",
        "timeout_seconds": "10", "max_attempts": "8", "ordering": "parallel",
        "ack_rule": "", "ack_field": "", "ack_value": "", "custom_headers": '{"X-Tenant": "a"}',
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- access ------------------------------------------------------------------------------------

def test_every_webhook_page_renders_for_a_webhooks_manager(manager, dead_letters):
    endpoint, (delivery, _) = dead_letters
    attempt = WebhookAttempt.objects.filter(delivery=delivery).get()
    for url in (ENDPOINTS, f"{ENDPOINTS}add/", f"{ENDPOINTS}{endpoint.pk}/change/",
                DELIVERIES, f"{DELIVERIES}{delivery.pk}/change/",
                ATTEMPTS, f"{ATTEMPTS}{attempt.pk}/change/", "/admin/"):
        response = manager.get(url)
        assert response.status_code == 200, url

    listing = manager.get(ENDPOINTS).content.decode()
    assert endpoint.url in listing and "Warehouse" in listing
    assert endpoint.secret not in listing
    # the dead count links to that endpoint's dead letters
    assert f"endpoint__id__exact={endpoint.pk}&amp;status__exact=dead" in listing


def test_pages_and_buttons_are_refused_without_webhooks_manage(client, dead_letters):
    endpoint, (delivery, _) = dead_letters
    client.force_login(staff_without("webhooks_manage"))
    for url in (ENDPOINTS, f"{ENDPOINTS}add/", f"{ENDPOINTS}{endpoint.pk}/change/",
                DELIVERIES, f"{DELIVERIES}{delivery.pk}/change/", ATTEMPTS):
        assert client.get(url).status_code == 403, url
    for url in (f"{ENDPOINTS}{endpoint.pk}/send-test/", f"{ENDPOINTS}{endpoint.pk}/rotate-secret/",
                f"{ENDPOINTS}{endpoint.pk}/reveal-secret/", f"{DELIVERIES}{delivery.pk}/replay/"):
        response = client.post(url, {"grace_hours": "1"})
        assert response.status_code == 403, url
        assert endpoint.secret not in response.content.decode()
    response = client.post(DELIVERIES, {"action": "replay_selected",
                                        "_selected_action": [delivery.pk]})
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert not WebhookDelivery.objects.filter(event_type="webhook.test").exists()

    index = client.get("/admin/").content.decode()
    assert "webhook-health" not in index and "Webhook endpoints" not in index


def test_anonymous_visitors_are_sent_to_the_login_page(client, endpoint):
    response = client.get(ENDPOINTS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- endpoints ---------------------------------------------------------------------------------

def test_creating_an_endpoint_through_the_form_uses_the_service(manager, channel):
    response = manager.post(f"{ENDPOINTS}add/", form_data(channels=[channel.pk]), follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")  # only the service generates one
    assert endpoint.created_by is not None
    assert endpoint.event_types == ["order.created", "payment.captured", "invoice.*"]
    assert list(endpoint.channels.all()) == [channel]
    assert endpoint.custom_headers == {"X-Tenant": "a"}
    assert "whsec_" in response.content.decode()  # the message says where the secret is

    page = manager.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page  # masked until revealed
    assert "whsec_••••" in page and 'id="reveal"' in page
    assert 'value="invoice.*"' not in page and "invoice.*</textarea>" in page

    revealed = manager.post(f"{ENDPOINTS}{endpoint.pk}/reveal-secret/")
    assert revealed.status_code == 200 and endpoint.secret in revealed.content.decode()


def test_reveal_needs_settings_manage(client, endpoint):
    client.force_login(staff_without("settings_manage"))
    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert 'id="reveal"' not in page and endpoint.secret not in page
    response = client.post(f"{ENDPOINTS}{endpoint.pk}/reveal-secret/")
    assert response.status_code == 403
    assert endpoint.secret not in response.content.decode()
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/reveal-secret/").status_code == 403


@pytest.mark.parametrize(("field", "value", "message"), [
    ("url", "not a url", "Enter a valid URL."),
    ("url", "https://93.184.215.14:99999/x", "Not a valid URL."),
    ("url", "http://93.184.215.14/x", "The URL must use https."),
    ("url", "https://10.0.0.5/x", "a private, loopback or link-local address"),
    ("url", "https://user:pw@93.184.215.14/x", "Credentials in the URL are not allowed"),
    ("event_patterns", "order created", "Not an event type or wildcard"),
    ("timeout_seconds", "90", "Between 1 and 30 seconds."),
    ("custom_headers", '{"webhook-id": "x"}', "cannot be set"),
    ("custom_headers", "[1, 2]", "An object of at most 20 header names"),
])
def test_the_form_shows_the_services_refusals(manager, field, value, message):
    response = manager.post(f"{ENDPOINTS}add/", form_data(**{field: value}))
    assert response.status_code == 200  # the form again, not a redirect
    form = response.context["adminform"].form
    assert any(message in error for error in form.errors[field]), form.errors
    assert not WebhookEndpoint.objects.exists()


def test_acknowledgement_rule_and_empty_subscription_errors(manager):
    response = manager.post(f"{ENDPOINTS}add/", form_data(
        ack_rule="regex", ack_value="([", event_types=[], event_patterns=""))
    errors = response.context["adminform"].form.errors
    assert "Not a regular expression" in errors["ack_value"][0]
    assert "Subscribe to at least one event type" in errors["event_types"][0]
    assert not WebhookEndpoint.objects.exists()


def test_switching_a_disabled_endpoint_back_on_clears_its_failing_streak(manager, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="The receiver answered 410 Gone.",
        failing_since="2024-01-01T00:00:00Z")
    page = manager.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert "410 Gone" in page and 'id="enable"' in page

    response = manager.post(f"{ENDPOINTS}{endpoint.pk}/change/", form_data(
        event_types=[], event_patterns="order.*", description="ERP v2"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.description == "ERP v2"
    assert endpoint.disabled_reason == "" and endpoint.failing_since is None
    assert endpoint.event_types == ["order.*"]


def test_the_enable_button(manager, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="Every delivery failed for 5 days.")
    response = manager.post(f"{ENDPOINTS}{endpoint.pk}/enable/", follow=True)
    assert "Endpoint enabled" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_rotate_secret_keeps_the_previous_one_for_the_grace_period(manager, endpoint):
    old = endpoint.secret
    response = manager.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {"grace_hours": "2"},
                            follow=True)
    assert "New signing secret issued" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    assert endpoint.previous_secret == old
    assert "previous secret also signs" in response.content.decode()

    refused = manager.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {"grace_hours": "-1"},
                           follow=True)
    assert "Grace period" in refused.content.decode()
    # A GET (the button is a link) only shows the confirmation page: nothing rotates.
    before = WebhookEndpoint.objects.get(pk=endpoint.pk).secret
    confirm = manager.get(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/")
    assert confirm.status_code == 200 and 'id="confirm-form"' in confirm.content.decode()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == before


def test_send_test_event_creates_a_delivery_and_links_to_it(manager, endpoint):
    response = manager.post(f"{ENDPOINTS}{endpoint.pk}/send-test/", follow=True)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test" and delivery.status == DeliveryStatus.PENDING
    html = response.content.decode()
    assert "Test event queued" in html
    assert f"{DELIVERIES}{delivery.pk}/change/" in html


def test_a_test_event_reaches_a_real_receiver(manager, rx):
    endpoint = webhooks.webhook_endpoint_create(url=rx.url("/hook"), event_types=["*"])
    manager.post(f"{ENDPOINTS}{endpoint.pk}/send-test/")
    webhooks.endpoint_deliver_due(endpoint.pk)
    (request,) = rx.wait_for(1)
    assert request.json["type"] == "webhook.test"
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


# --- deliveries, dead letters, replay ----------------------------------------------------------

def test_delivery_page_shows_the_exact_payload_and_the_attempts(manager, dead_letters):
    _, (delivery, _) = dead_letters
    page = manager.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()
    body = webhooks.webhook_body(WebhookDelivery.objects.select_related("event")
                                 .get(pk=delivery.pk)).decode()
    from django.utils.html import escape

    assert escape(body) in page
    assert "HTTP 500" in page  # the attempt's error, from the inline
    assert 'id="replay"' in page
    assert 'name="_save"' not in page  # read-only


def test_replay_selected_moves_dead_deliveries_back_to_pending(manager, dead_letters):
    endpoint, (first, second) = dead_letters
    WebhookDelivery.objects.filter(pk=second.pk).update(status=DeliveryStatus.PENDING)
    response = manager.post(DELIVERIES, {"action": "replay_selected",
                                         "_selected_action": [first.pk, second.pk]},
                            follow=True)
    html = response.content.decode()
    assert "Replayed 1 delivery;" in html and "1 skipped" in html
    first.refresh_from_db()
    assert first.status == DeliveryStatus.PENDING and first.series_attempts == 0
    assert first.next_attempt_at is not None and first.dead_at is None


def test_replay_button_on_a_dead_delivery(manager, dead_letters):
    _, (delivery, _) = dead_letters
    response = manager.post(f"{DELIVERIES}{delivery.pk}/replay/", follow=True)
    assert "Replayed" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    # pending now: no button, and a second replay is refused with the service's message
    assert 'id="replay"' not in response.content.decode()
    again = manager.post(f"{DELIVERIES}{delivery.pk}/replay/", follow=True)
    assert "is already pending" in again.content.decode()


def test_deliveries_cannot_be_added_changed_or_deleted(manager, dead_letters):
    _, (delivery, _) = dead_letters
    assert manager.get(f"{DELIVERIES}add/").status_code == 403
    assert manager.post(f"{DELIVERIES}{delivery.pk}/delete/").status_code == 403
    manager.post(f"{DELIVERIES}{delivery.pk}/change/", {"status": "succeeded"})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD


def test_dead_letters_link_and_filter(manager, dead_letters, endpoint):
    deliver_events(endpoint, "OF-000200", send=False)  # pending
    listing = manager.get(DELIVERIES).content.decode()
    assert 'id="dead-letters"' in listing and "Dead letters (2)" in listing
    dead = manager.get(DELIVERIES, {"status__exact": "dead"})
    assert {d.pk for d in dead.context["cl"].result_list} == \
        {d.pk for d in dead_letters[1]}


def test_delivery_search_by_event_id_and_order_number(manager, dead_letters):
    _, (first, second) = dead_letters
    by_number = manager.get(DELIVERIES, {"q": "OF-000124"})
    assert [d.pk for d in by_number.context["cl"].result_list] == [second.pk]
    event_id = WebhookDelivery.objects.select_related("event").get(pk=first.pk).event.public_id
    by_event = manager.get(DELIVERIES, {"q": event_id})
    assert [d.pk for d in by_event.context["cl"].result_list] == [first.pk]


# --- the delivery log --------------------------------------------------------------------------

def test_the_delivery_log_is_searchable_by_order_number_event_and_endpoint(manager,
                                                                           dead_letters):
    endpoint, (first, second) = dead_letters
    response = manager.get(ATTEMPTS, {"q": "OF-000123"})
    rows = list(response.context["cl"].result_list)
    assert [a.delivery_id for a in rows] == [first.pk]
    html = response.content.decode()
    assert "OF-000123" in html and "OF-000124" not in html
    assert "500" in html and endpoint.url in html

    event_id = WebhookDelivery.objects.select_related("event").get(pk=second.pk).event.public_id
    assert [a.delivery_id for a in manager.get(ATTEMPTS, {"q": event_id})
            .context["cl"].result_list] == [second.pk]
    assert len(manager.get(ATTEMPTS, {"q": "127.0.0.1"}).context["cl"].result_list) == 2
    assert len(manager.get(ATTEMPTS, {"outcome__exact": "dead"})
               .context["cl"].result_list) == 2


def test_the_delivery_log_costs_the_same_queries_for_more_rows(manager, rx):
    rx.default = 500
    endpoint = webhooks.webhook_endpoint_create(url=rx.url("/hook"), event_types=["order.*"],
                                                max_attempts=1)
    deliver_events(endpoint, "OF-1")
    manager.get(ATTEMPTS)  # warm the session and permission caches

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert manager.get(ATTEMPTS).status_code == 200
        return len(captured)

    few = queries()
    deliver_events(endpoint, *[f"OF-{n}" for n in range(2, 8)])
    assert WebhookAttempt.objects.count() == 7
    assert queries() == few


# --- dashboard ---------------------------------------------------------------------------------

def test_dashboard_shows_dead_deliveries_and_unhealthy_endpoints(manager, dead_letters,
                                                                 endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    page = manager.get("/admin/").content.decode()
    assert 'id="webhook-health"' in page
    assert 'id="webhook-dead-count">2<' in page
    assert 'id="webhook-disabled-count">1<' in page
    assert f"{DELIVERIES}?status__exact=dead" in page
    assert "Webhook endpoints" in page  # Django's own app list is still there

    disabled = manager.get(ENDPOINTS, {"health": "disabled"})
    assert [e.pk for e in disabled.context["cl"].result_list] == [endpoint.pk]
