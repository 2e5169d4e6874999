"""Staff work orders in a real browser: log in, the index's work queue, find an order, read
its timeline, cancel it with a reason, capture a payment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Invoice, Order
from orders.selectors import work_queue_counts
from tests import factories
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_log_in_and_the_work_queue_counts_match_the_data(visit, staff):
    make_order(status="awaiting_approval", approval_levels=[1])
    make_order(status="awaiting_approval", approval_levels=[1])
    late = make_order(status="confirmed")
    Order.objects.filter(pk=late.pk).update(confirmed_at=timezone.now() - timedelta(days=5))
    make_order(status="confirmed", payment_status="authorized")
    overdue = make_order(status="confirmed")
    invoice = Invoice.objects.create(order=overdue, amount=overdue.total,
                           currency=overdue.currency, status="issued",
                           issued_at=timezone.now() - timedelta(days=40),
                           due_date=(timezone.now() - timedelta(days=10)).date())

    page = visit.login("ops")
    assert "/admin/" in page.url
    counts = work_queue_counts()
    assert counts["awaiting_approval"] == 2 and counts["unshipped"] == 1
    for key in ("awaiting_approval", "unshipped", "pending_capture", "invoices_overdue"):
        shown = page.get_attribute(f"#queue-{key} .of-count", "data-count")
        assert int(shown) == counts[key], key
    assert page.is_visible("#group-sell") and page.is_visible("#group-integrations")

    page = visit.click("#queue-awaiting_approval", "orders awaiting approval")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    visit.goto("/admin/", "index again")
    page = visit.click("#queue-invoices_overdue", "overdue invoices")
    invoice.refresh_from_db()
    assert invoice.number in visit.text("#result_list")
    assert visit.page.locator("#result_list tbody tr").count() == 1


def test_find_an_order_read_its_timeline_and_cancel_it_with_a_reason(visit, staff):
    product = factories.ProductFactory(sku="BROWSER-SKU", stock_on_hand=20)
    order = make_order(status="confirmed", lines=[(product, 3)])
    from orders.models import OrderEvent

    OrderEvent.objects.create(order=order, type="order_placed", actor_label="storefront",
                              message="Placed by the storefront",
                              parameters={"channel": "ECOMMERCE"})
    visit.login("ops")
    visit.goto("/admin/orders/order/", "order list")
    page = visit.page
    page.fill("#searchbar, input[name=q]", order.number)
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    visit.shot("search by number")
    page = visit.click(f"#result_list a:text-is('{order.number}')", "order page")
    assert order.number in visit.text("#order-number")
    assert "Placed by the storefront" in visit.text("#order-timeline")
    assert "JMD" in visit.text("#order-total")
    assert not page.is_visible("input[name=_save]")  # nothing editable, no Save

    page = visit.click("#action-cancel", "cancel form")
    page.select_option("select[name=cancel_reason]", "customer")
    page.fill("textarea[name=comment]", "Customer phoned to cancel")
    page = visit.click("input[type=submit], button[type=submit]#confirm", "after cancel")
    assert "canceled" in visit.text("#order-status").lower()
    assert "Customer phoned to cancel" in visit.text("#order-timeline")
    assert Order.objects.get(pk=order.pk).status == "canceled"
    assert not page.is_visible("#action-cancel")


def test_capture_a_payment(visit, staff):
    order = make_order(status="pending_payment", kind="payment_intent")
    visit.login("ops")
    page = visit.goto(f"/admin/orders/order/{order.pk}/change/", "pending order")
    assert not page.is_visible("#action-refund")  # nothing paid, nothing to refund
    page = visit.click("#action-capture", "capture form")
    page.fill("input[name=reference]", "ch_browser_1")
    page = visit.click("#confirm", "after capture")
    assert "Paid" in visit.text("#order-story")
    assert "ch_browser_1" in visit.text("#order-payments")
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("confirmed", "paid")
    assert page.is_visible("#action-refund")


def test_ship_an_order_in_two_parcels_from_the_order_page(visit, staff):
    """Staff create a shipment from the order page: the first parcel leaves part of a line,
    the order is partially fulfilled; the second ships the rest and the order completes."""
    order = make_order(status="confirmed", lines=((None, 3),))
    line = order.lines.get()
    visit.login("ops")
    visit.goto(f"/admin/orders/order/{order.pk}/change/", "confirmed order")
    assert "No shipment yet." in visit.text("#order-shipments")
    page = visit.click("#action-ship", "create shipment form")
    page.fill(f"input[name=qty_{line.public_id}]", "1")
    page.fill("input[name=carrier]", "dhl")
    page.fill("input[name=tracking_number]", "JD0001")
    visit.click("#confirm", "after the first parcel")
    order.refresh_from_db()
    assert order.fulfillment_status == "partially_fulfilled"
    assert "JD0001" in visit.text("#order-shipments")

    page = visit.click("#action-ship", "second shipment form")
    assert page.input_value(f"input[name=qty_{line.public_id}]") == "2"  # what is left
    visit.click("#confirm", "after the second parcel")
    order.refresh_from_db()
    assert (order.fulfillment_status, order.status) == ("fulfilled", "completed")
    assert not visit.page.is_visible("#action-ship")
