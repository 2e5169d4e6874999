"""The order back office: the page shows everything, buttons go through the services."""

import pytest
from django.urls import reverse

from catalog.models import Product
from orders.models import Order, OrderEvent
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db


def action_url(order, action):
    return reverse("admin:orders_order_action", args=[order.pk, action])


def test_order_page_shows_lines_payments_timeline_and_the_allowed_buttons(admin_client_logged):
    product = factories.ProductFactory(sku="ADMIN-SKU")
    order = make_order(status="confirmed", lines=[(product, 2)])
    OrderEvent.objects.create(order=order, type="order_placed", message="Placed via test")
    page = admin_client_logged.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ADMIN-SKU" in html and "Placed via test" in html
    assert action_url(order, "cancel") in html and action_url(order, "capture") in html
    assert action_url(order, "confirm") not in html  # not allowed from confirmed
    assert 'name="status"' not in html  # read-only

    listing = admin_client_logged.get(reverse("admin:orders_order_changelist")
                                      + "?q=ADMIN-SKU").content.decode()
    assert order.number in listing and "of-badge-confirmed" in listing


def test_cancel_button_changes_the_status_through_the_service(admin_client_logged):
    product = factories.ProductFactory(stock_on_hand=10)
    order = make_order(status="confirmed", lines=[(product, 3)])
    response = admin_client_logged.post(action_url(order, "cancel"),
                                        {"cancel_reason": "customer", "comment": "Phoned in"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "canceled" and order.cancel_reason == "customer"
    assert Product.objects.get(pk=product.pk).stock_reserved == 0
    event = OrderEvent.objects.get(order=order, type="order_canceled")
    assert event.actor_source == "admin" and "Phoned in" in event.message


def test_a_refused_button_shows_the_service_error_and_changes_nothing(admin_client_logged):
    order = make_order(status="completed")
    response = admin_client_logged.post(action_url(order, "cancel"),
                                        {"cancel_reason": "staff"}, follow=True)
    assert "cannot go from &#x27;completed&#x27; to &#x27;canceled&#x27;" in \
        response.content.decode()
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_capture_and_approve_buttons(admin_client_logged):
    order = make_order(status="pending_payment", kind="payment_intent")
    payment = order.payments.get()
    response = admin_client_logged.post(action_url(order, "capture"),
                                        {"payment": payment.pk, "reference": "ch_admin"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "paid")

    waiting = make_order(status="awaiting_approval", approval_levels=[1])
    admin_client_logged.post(action_url(waiting, "approve"), {"comment": "ok"})
    assert Order.objects.get(pk=waiting.pk).status == "confirmed"


def test_bulk_actions_report_each_refusal(admin_client_logged):
    pending = make_order(status="pending_payment", kind="payment_intent")
    done = make_order(status="completed")
    response = admin_client_logged.post(
        reverse("admin:orders_order_changelist"),
        {"action": "confirm_selected", "_selected_action": [pending.pk, done.pk]}, follow=True)
    html = response.content.decode()
    assert "1 order(s) confirmed" in html and "1 order(s) refused" in html
    assert Order.objects.get(pk=pending.pk).status == "confirmed"

    admin_client_logged.post(reverse("admin:orders_order_changelist"),
                             {"action": "mark_exported_selected",
                              "_selected_action": [pending.pk, done.pk]})
    assert Order.objects.filter(exported_at__isnull=False).count() == 2


def test_export_one_row_per_line_and_nested_json(admin_client_logged):
    order = make_order(lines=[(None, 1), (None, 2)])
    response = admin_client_logged.post(
        reverse("admin:orders_order_changelist"),
        {"action": "export_json_selected", "_selected_action": [order.pk]})
    data = response.json()
    assert [o["number"] for o in data] == [order.number] and len(data[0]["lines"]) == 2

    from orders.resources import OrderResource

    dataset = OrderResource().export(queryset=Order.objects.filter(pk=order.pk))
    assert len(dataset) == 2
    assert dataset.dict[0]["order_number"] == order.number
    assert [row["quantity"] for row in dataset.dict] == ["1", "2"]


def test_invoice_page_links_a_printable_invoice_with_formatted_money(admin_client_logged):
    from orderflow.timeline import Actor
    from orders import services

    order = make_order(status="confirmed")
    invoice = services.invoice_issue(order=order, actor=Actor.system("test"))
    page = admin_client_logged.get(reverse("admin:orders_invoice_change", args=[invoice.pk]))
    printable = reverse("admin:orders_invoice_print", args=[invoice.pk])
    button = reverse("admin:orders_invoice_print_invoice", args=[invoice.pk])  # unfold action
    assert page.status_code == 200 and button in page.content.decode()
    assert admin_client_logged.get(button)["Location"] == printable
    assert 'name="_save"' not in page.content.decode()  # nothing to edit, nothing to save
    document = admin_client_logged.get(printable).content.decode()
    assert invoice.number in document and "@media print" in document
    assert f"JMD {order.total:,.2f}" in document


def test_order_list_filters_by_placed_day_range_including_the_last_day(admin_client_logged):
    from datetime import timedelta

    from django.utils import timezone

    old, today_order = make_order(status="confirmed"), make_order(status="confirmed")
    Order.objects.filter(pk=old.pk).update(placed_at=timezone.now() - timedelta(days=30))
    today = timezone.localdate()
    url = reverse("admin:orders_order_changelist")

    def listed(**params):
        html = admin_client_logged.get(url, params).content.decode()
        return {o.number for o in (old, today_order) if o.number in html}

    assert listed(placed_at_from=today, placed_at_to=today) == {today_order.number}
    assert listed(placed_at_to=today - timedelta(days=1)) == {old.number}
    assert listed(placed_at_from="not a date") == set()
    assert listed() == {old.number, today_order.number}
