"""A webhook endpoint OrderFlow disabled, in a real browser: the dashboard counts it, the
endpoint list and its page say since when and why, and the Enable button (through its
confirmation page) switches it back on with its waiting deliveries kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bridges.constants import DeliveryStatus
from bridges.models import WebhookEndpoint
from bridges.webhooks import services as webhooks
from orderflow.models import OutboxEvent
from orderflow.timeline import Actor

pytestmark = pytest.mark.django_db(transaction=True)


def test_enable_a_disabled_endpoint(visit, staff):
    endpoint = webhooks.webhook_endpoint_create(url="https://erp.example.com/hooks",
                                                event_types=["order.*"], description="ERP")
    webhooks.webhook_endpoint_send_test(endpoint=endpoint, actor=Actor.system("ops"))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=5, hours=1))
    webhooks.webhook_endpoint_disable(
        endpoint=endpoint, actor=Actor.system("webhooks"), automatic=True,
        reason="Every delivery failed for 5 days (since 2026-12-01 19:00 UTC).")
    endpoint.refresh_from_db()
    since = timezone.localtime(endpoint.disabled_at).strftime("%Y-%m-%d %H:%M")

    visit.login("ops")
    visit.goto("/admin/", "dashboard")
    assert visit.text("#webhook-disabled-count") == "1"
    visit.click("#webhook-disabled", "disabled endpoints")
    row = visit.text("#result_list")
    assert "ERP" in row and f"disabled since {since}" in row and "failed for 5 days" in row

    visit.goto(f"/admin/bridges/webhookendpoint/{endpoint.pk}/change/", "disabled endpoint")
    notice = visit.text("#disabled-notice")
    assert f"since {since}" in notice and "failed for 5 days" in notice
    assert "1 waiting delivery is kept" in visit.text("#inspector")

    visit.click("#enable", "enable confirmation")
    page = visit.click("#confirm", "after enable")
    assert "Endpoint enabled" in page.content()
    assert not page.is_visible("#disabled-notice") and not page.is_visible("#enable")
    assert visit.text("#inspector").count("active") >= 1

    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_at is None and endpoint.failing_since is None
    assert endpoint.deliveries.get().status == DeliveryStatus.PENDING  # kept, sent now
    (event,) = OutboxEvent.objects.filter(type="webhook_endpoint.enabled")
    assert event.payload["changed_by"] == "ops"
