"""seed_demo makes a back office with work in it — a few dozen orders across statuses, shipped
in part and in full, paid and overdue invoices, quotes — and a second run changes nothing."""

import pytest
from django.core.management import call_command

from fulfillment.models import Shipment
from orderflow.models import OutboxEvent
from orders.models import Invoice, Order, OrderEvent
from orders.selectors import work_queue_counts
from quotes.models import Quote, QuoteRequest

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "orders": sorted(Order.objects.values_list("number", "status", "payment_status",
                                                    "fulfillment_status", "placed_at")),
        "invoices": sorted(Invoice.objects.values_list("number", "status", "due_date")),
        "shipments": Shipment.objects.count(),
        "events": OrderEvent.objects.count(),
        "quotes": sorted(Quote.objects.values_list("number", "status")),
        "requests": QuoteRequest.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


def test_seed_demo_orders_across_statuses_and_idempotent(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))
    first = snapshot()
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))
    assert snapshot() == first

    assert Order.objects.count() >= 36
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"awaiting_approval", "confirmed", "canceled", "pending_payment"} <= statuses
    fulfilment = set(Order.objects.values_list("fulfillment_status", flat=True))
    assert {"partially_fulfilled", "fulfilled", "unfulfilled"} <= fulfilment
    assert Invoice.objects.filter(status="paid").count() >= 3
    queues = work_queue_counts()
    assert queues["invoices_overdue"] == 1
    assert queues["awaiting_approval"] >= 2 and queues["unshipped"] >= 3
    days = {o.placed_at.date() for o in Order.objects.all()}
    assert len(days) >= 15  # a month of trading, not one afternoon

    assert set(Quote.objects.values_list("status", flat=True)) >= {"draft", "sent"}
    assert QuoteRequest.objects.count() == 4 and Quote.objects.count() == 3
