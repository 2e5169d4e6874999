"""Staff open the analytics dashboard from the admin index in a real browser: the KPI cards,
the five SVG charts with their number tables, and the same numbers the API returns."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.services import rebuild
from carts.models import Cart
from orders.models import Payment, PaymentTransaction
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _order(days_ago, channel, subtotal, status="confirmed", refund=None, cart=None):
    day = timezone.localdate() - timedelta(days=days_ago)
    placed = timezone.make_aware(datetime.combine(day, datetime.min.time())
                                 + timedelta(hours=1))
    order = factories.OrderFactory(
        channel=channel, status=status, currency=channel.currency, subtotal=Decimal(subtotal),
        tax_total=Decimal(subtotal) * Decimal("0.15"), total=Decimal(subtotal) * Decimal("1.15"),
        placed_at=placed, cart=cart)
    if refund:
        payment = Payment.objects.create(order=order, kind="payment_intent", amount=order.total,
                                         currency=order.currency, amount_captured=order.total,
                                         amount_refunded=Decimal(refund))
        PaymentTransaction.objects.create(payment=payment, kind="refund", amount=Decimal(refund),
                                          currency=order.currency, occurred_at=timezone.now())
    return order


def test_the_dashboard_shows_what_the_api_returns(visit, staff):
    web = factories.ChannelFactory(code="ECOMMERCE", name="Web shop", currency="JMD")
    b2b = factories.ChannelFactory(code="B2B_PORTAL", name="B2B portal", currency="USD")
    for days_ago, subtotal in [(0, "12000"), (1, "8000"), (3, "15000"), (9, "5000"),
                               (20, "7000")]:
        _order(days_ago, web, subtotal)
    _order(2, web, "9000", refund="1000.00")
    _order(4, web, "4000", status="canceled")
    _order(0, b2b, "350"), _order(5, b2b, "1200"), _order(12, b2b, "900")
    # A cart abandoned and brought back by a reminder, then checked out today.
    now = timezone.now()
    recovered = Cart.objects.create(channel=web, currency="JMD", status="converted",
                                    abandoned_at=now, recovered_at=now, recovered_step=1)
    _order(0, web, "2000", cart=recovered)
    today = timezone.localdate()
    rebuild(today - timedelta(days=60), today)

    visit.login("ops")
    page = visit.click("#analytics-link", "analytics dashboard")
    assert page.locator("svg.of-chart").count() == 5
    assert page.locator("#chart-revenue polyline.of-series").count() == 2
    assert page.locator("#chart-quotes rect.of-bar").count() == 3

    api = page.evaluate("""async () => {
        const r = await fetch('/api/v1/analytics/summary?period=7d');
        return [r.status, await r.json()]; }""")
    assert api[0] == 200
    shown = {(el.get_attribute("data-currency"), el.get_attribute("data-figure")):
             el.get_attribute("data-value")
             for el in page.locator("#kpi-7d dd[data-figure]").all()}
    for totals in api[1]["totals"]:
        for figure in ("net", "orders_placed", "refunds", "average_order_value",
                       "recovered_revenue"):
            assert shown[(totals["currency"], figure)] == str(totals["current"][figure])
    jmd = next(t for t in api[1]["totals"] if t["currency"] == "JMD")
    assert jmd["current"]["orders_placed"] == 6 and jmd["current"]["refunds"] == "1000.00"
    assert jmd["current"]["carts_recovered"] == 1
    assert jmd["current"]["recovered_revenue"] == "2300.00"  # 2000 + 15 % tax
    assert "JMD" in visit.text("#kpi-7d") and "USD" in visit.text("#kpi-7d")

    daily = page.evaluate(f"""async () => (await (await fetch(
        '/api/v1/analytics/daily?from={today}&to={today}&channel=ECOMMERCE')).json())""")
    [row] = daily["results"]
    table_today = page.locator("#chart-revenue-table tbody tr").last.inner_text()
    assert row["net"] in table_today.replace(",", "")
    carts_today = page.locator("#chart-carts-table tbody tr").last.inner_text().split()
    assert carts_today[-3:] == ["1", "1", "1"]  # created, abandoned, recovered

    page = visit.goto("/admin/analytics/?channel=B2B_PORTAL&period=7", "filtered to B2B")
    assert page.locator("#chart-revenue polyline.of-series").count() == 1
    assert "JMD" not in visit.text("#kpi-7d")
