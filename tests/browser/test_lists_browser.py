"""The lists staff work in, at 1280 px: the columns that matter are on screen (no sideways
scroll to find a status), and the date-range filter narrows the list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bridges.exports import services as exports
from bridges.models import ExportRun
from bridges.webhooks import services as webhooks
from orderflow.timeline import Actor
from orders.models import Order
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)
VIEWPORT = 1280


def right_edge(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box["x"] + box["width"]


def assert_columns_on_screen(page, columns: list[str]):
    for column in columns:
        edge = right_edge(page, f"#result_list thead th.column-{column}")
        assert edge <= VIEWPORT, f"column {column} ends at {edge:.0f}px, off screen"


def test_export_runs_and_webhook_deliveries_fit_1280(visit, staff, tmp_path):
    schedule = exports.export_schedule_create(name="ERP orders nightly", cron="0 2 * * *",
                                              destination="directory",
                                              directory=str(tmp_path), format="json")
    now = timezone.now()
    ExportRun.objects.create(schedule=schedule, status="succeeded", trigger="manual",
                             changed_until=now, row_count=120, order_count=40,
                             location=str(tmp_path / "orders-20261206T020000Z.json"))
    ExportRun.objects.create(schedule=schedule, status="failed", changed_until=now,
                             error="Permission denied: '/srv/exports/orders.json' is not "
                                   "writable by the worker", next_attempt_at=now)
    endpoint = webhooks.webhook_endpoint_create(
        url="https://erp.example.com/hooks/orderflow/incoming", event_types=["order.*"],
        description="ERP")
    webhooks.webhook_endpoint_send_test(endpoint=endpoint, actor=Actor.system("test"))

    visit.login("ops")
    page = visit.goto("/admin/bridges/exportrun/", "export runs at 1280")
    assert_columns_on_screen(page, ["started", "schedule", "status_badge", "counts",
                                    "short_error", "next_attempt"])
    page = visit.goto("/admin/bridges/webhookdelivery/", "webhook deliveries at 1280")
    assert_columns_on_screen(page, ["created", "endpoint", "event_type", "status_badge",
                                    "attempts", "last_result"])


def test_orders_list_date_range_filter(visit, staff):
    old = make_order(status="confirmed")
    recent = make_order(status="confirmed")
    Order.objects.filter(pk=old.pk).update(placed_at=timezone.now() - timedelta(days=30))
    visit.login("ops")
    page = visit.goto("/admin/orders/order/", "orders at 1280")
    assert_columns_on_screen(page, ["number", "status_badge", "buyer", "total_display",
                                    "placed_display"])
    today = timezone.localdate()
    page = visit.goto(f"/admin/orders/order/?placed_at_from={today - timedelta(days=7)}"
                      f"&placed_at_to={today}", "orders placed this week")
    listed = visit.text("#result_list")
    assert recent.number in listed and old.number not in listed
