"""Rollups against a direct computation, and the dirty-day bookkeeping."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import AMOUNTS, COUNTS, DailyRollup
from analytics.services import rebuild, recompute_dirty
from carts.models import Cart
from fulfillment.models import Return
from orderflow.models import DirtyDay
from orderflow.timeline import Actor
from orders.constants import TransactionKind
from orders.models import Order, OrderLine, Payment, PaymentTransaction
from orders.services import order_cancel, payment_capture, payment_refund
from tests import factories
from tests.orders.conftest import make_order

ZONE = "Pacific/Auckland"  # UTC+13 in December: most UTC evenings are the next local day
START = datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC"))

order_spec = st.fixed_dictionaries({
    "minutes": st.integers(0, 4 * 24 * 60 - 1),  # four UTC days, so five local days
    "channel": st.integers(0, 1),
    "company": st.integers(0, 2),  # 0: B2C
    "status": st.sampled_from(["confirmed", "completed", "canceled", "declined",
                               "pending_payment"]),
    "subtotal": st.integers(0, 100_000),  # minor units
    "tax": st.integers(0, 10_000),
    "shipping": st.integers(0, 5_000),
    "units": st.lists(st.integers(1, 9), min_size=1, max_size=3),
    "refund_percent": st.sampled_from([0, 0, 25, 100]),
    "return_after_hours": st.none() | st.integers(1, 60),
    # The cart the order was checked out from, created this long before: none, a cart that
    # converted directly, or one that was abandoned and came back (recovered revenue).
    "cart": st.none() | st.fixed_dictionaries({
        "minutes_before": st.integers(0, 3 * 24 * 60),
        "recovered": st.booleans(),
    }),
})

# Carts that did not convert, as the recovery feature leaves them.
cart_spec = st.fixed_dictionaries({
    "minutes": st.integers(0, 4 * 24 * 60 - 1),
    "channel": st.integers(0, 1),
    "company": st.integers(0, 2),
    "fate": st.sampled_from(["active", "abandoned", "recovered", "expired",
                             "abandoned_expired"]),
})
CART_FATES = {  # fate: (status, abandoned, recovered)
    "active": ("active", False, False),
    "abandoned": ("abandoned", True, False),
    "recovered": ("active", True, True),
    "expired": ("expired", False, False),
    "abandoned_expired": ("expired", True, False),
}


def _money(minor: int) -> Decimal:
    return Decimal(minor) / 100


def _cart(channel, customer, created, status, abandoned, recovered) -> Cart:
    cart = Cart.objects.create(
        channel=channel, customer=customer, currency=channel.currency, status=status,
        abandoned_at=created + timedelta(hours=1) if abandoned else None,
        recovered_at=created + timedelta(hours=2) if recovered else None)
    Cart.objects.filter(pk=cart.pk).update(created_at=created)
    return cart


def _load(specs, channels, companies, cart_specs=()):
    """Insert orders (and their lines, payments, refunds, returns, carts) and carts as rows."""
    customers = [None, *[factories.CustomerFactory(company=company) for company in companies[1:]]]
    for s in cart_specs:
        status, abandoned, recovered = CART_FATES[s["fate"]]
        _cart(channels[s["channel"]], customers[s["company"]],
              START + timedelta(minutes=s["minutes"]), status, abandoned, recovered)
    carts = [
        _cart(channels[s["channel"]], customers[s["company"]],
              START + timedelta(minutes=s["minutes"] - s["cart"]["minutes_before"]),
              "converted", s["cart"]["recovered"], s["cart"]["recovered"])
        if s["cart"] else None for s in specs]
    orders = Order.objects.bulk_create([
        Order(channel=channels[s["channel"]], company=companies[s["company"]], cart=cart,
              status=s["status"], currency=channels[s["channel"]].currency,
              subtotal=_money(s["subtotal"]), tax_total=_money(s["tax"]),
              shipping_total=_money(s["shipping"]),
              total=_money(s["subtotal"] + s["tax"] + s["shipping"]),
              placed_at=START + timedelta(minutes=s["minutes"]),
              confirmed_at=(START + timedelta(minutes=s["minutes"] + 5)
                            if s["status"] in ("confirmed", "completed", "canceled") else None))
        for s, cart in zip(specs, carts, strict=True)])
    product = factories.ProductFactory()
    OrderLine.objects.bulk_create([
        OrderLine(order=order, product=product, sku=product.sku, name=product.name,
                  quantity=units, unit_price=0, line_subtotal=0, tax_rate=0, tax_amount=0,
                  line_total=0)
        for order, s in zip(orders, specs, strict=True) for units in s["units"]])
    for order, s in zip(orders, specs, strict=True):
        refund = order.total * s["refund_percent"] / 100
        payment = Payment.objects.create(
            order=order, kind="payment_intent", amount=order.total, currency=order.currency,
            amount_captured=order.total, amount_refunded=refund.quantize(Decimal("0.01")))
        if payment.amount_refunded > 0:
            PaymentTransaction.objects.create(
                payment=payment, kind=TransactionKind.REFUND, amount=payment.amount_refunded,
                currency=order.currency, occurred_at=order.placed_at + timedelta(days=20))
        if s["return_after_hours"] is not None:
            opened = order.placed_at + timedelta(hours=s["return_after_hours"])
            ret = Return.objects.create(order=order, currency=order.currency, status="refunded",
                                        refund_amount=payment.amount_refunded,
                                        refunded_at=opened + timedelta(hours=30))
            Return.objects.filter(pk=ret.pk).update(created_at=opened)
    return orders


def _expected(specs, channels, companies, zone, cart_specs=()):
    tz = ZoneInfo(zone)
    rows = defaultdict(lambda: defaultdict(Decimal))

    def row(moment, s):
        channel = channels[s["channel"]]
        company = companies[s["company"]]
        return rows[(moment.astimezone(tz).date(), channel.pk,
                     company.pk if company else None, channel.currency)]

    for s in specs:
        placed = START + timedelta(minutes=s["minutes"])
        r = row(placed, s)
        r["orders_placed"] += 1
        r["orders_confirmed"] += s["status"] in ("confirmed", "completed", "canceled")
        r["orders_canceled"] += s["status"] == "canceled"
        r["orders_completed"] += s["status"] == "completed"
        total = _money(s["subtotal"] + s["tax"] + s["shipping"])
        refund = (total * s["refund_percent"] / 100).quantize(Decimal("0.01"))
        if s["status"] not in ("canceled", "declined"):
            r["orders_counted"] += 1
            r["gross_sales"] += _money(s["subtotal"])
            r["tax"] += _money(s["tax"])
            r["shipping"] += _money(s["shipping"])
            r["units"] += sum(s["units"])
            r["refunds"] += refund
            r["net"] += total - refund
            if s["cart"] and s["cart"]["recovered"]:
                r["recovered_revenue"] += total
        if s["cart"]:
            c = row(placed - timedelta(minutes=s["cart"]["minutes_before"]), s)
            c["carts_created"] += 1
            c["carts_abandoned"] += s["cart"]["recovered"]
            c["carts_recovered"] += s["cart"]["recovered"]
        if s["return_after_hours"] is not None:
            opened = placed + timedelta(hours=s["return_after_hours"])
            row(opened, s)["returns_opened"] += 1
            row(opened + timedelta(hours=30), s)["returns_refunded"] += refund
    for s in cart_specs:
        _, abandoned, recovered = CART_FATES[s["fate"]]
        c = row(START + timedelta(minutes=s["minutes"]), s)
        c["carts_created"] += 1
        c["carts_abandoned"] += abandoned
        c["carts_recovered"] += recovered
    return {key: {name: value for name, value in figures.items()}
            for key, figures in rows.items()}


def _actual():
    return {(r.day, r.channel_id, r.company_id, r.currency):
            {name: getattr(r, name) for name in COUNTS + AMOUNTS if getattr(r, name)}
            for r in DailyRollup.objects.all()}


@pytest.mark.django_db
@given(specs=st.lists(order_spec, max_size=25), cart_specs=st.lists(cart_spec, max_size=10))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_rollup_matches_a_direct_computation(specs, cart_specs):
    with override_settings(TIME_ZONE=ZONE), transaction.atomic():
        channels = [factories.ChannelFactory(code="ECOMMERCE", currency="JMD"),
                    factories.ChannelFactory(code="B2B_PORTAL", currency="USD")]
        companies = [None, factories.CompanyFactory(), factories.CompanyFactory()]
        _load(specs, channels, companies, cart_specs)
        rebuild(date(2026, 11, 26), date(2026, 12, 8))
        expected = {key: {n: v for n, v in figures.items() if v}
                    for key, figures in _expected(specs, channels, companies, ZONE,
                                                  cart_specs).items()}
        assert _actual() == {key: figures for key, figures in expected.items() if figures} \
            | {key: {} for key, figures in expected.items() if not figures}
        transaction.set_rollback(True)


@pytest.mark.django_db
@override_settings(TIME_ZONE=ZONE)
def test_local_day_boundary():
    """An order placed at 10:30 UTC on Dec 1 is Dec 1 23:30 in Auckland; at 11:30 UTC it is
    Dec 2."""
    channel = factories.ChannelFactory()
    for hour in (10, 11):
        factories.OrderFactory(channel=channel, subtotal=Decimal("10"), total=Decimal("10"),
                               placed_at=datetime(2026, 12, 1, hour, 30, tzinfo=ZoneInfo("UTC")))
    rebuild(date(2026, 12, 1), date(2026, 12, 2))
    assert list(DailyRollup.objects.values_list("day", "orders_placed")) == [
        (date(2026, 12, 1), 1), (date(2026, 12, 2), 1)]


@pytest.mark.django_db
def test_a_change_marks_its_day_dirty_and_only_dirty_days_are_recomputed(standard_tax):
    staff = factories.StaffUserFactory()
    actor = Actor.staff(staff)
    old = make_order(placed_at=datetime(2026, 11, 2, 15, tzinfo=ZoneInfo("UTC")))
    other = make_order(placed_at=datetime(2026, 11, 5, 15, tzinfo=ZoneInfo("UTC")))
    rebuild(date(2026, 11, 1), date(2026, 11, 30))
    before = {r.day: r.computed_at for r in DailyRollup.objects.all()}
    assert set(before) == {date(2026, 11, 2), date(2026, 11, 5)}
    DirtyDay.objects.all().delete()

    payment = old.payments.get()
    payment_capture(order=old, payment=payment, actor=actor)
    payment_refund(order=old, payment=payment, actor=actor,
                   amount=Decimal("1.00"))  # a late, partial refund
    assert list(DirtyDay.objects.values_list("day", "channel_id")) == [
        (date(2026, 11, 2), old.channel_id)]

    done = recompute_dirty()
    assert [(r.days, r.channels) for r in done] == [([date(2026, 11, 2)], [old.channel_id])]
    assert not DirtyDay.objects.exists()
    rows = {r.day: r for r in DailyRollup.objects.all()}
    assert rows[date(2026, 11, 2)].refunds == Decimal("1.00")
    assert rows[date(2026, 11, 2)].net == old.total - Decimal("1.00")
    assert rows[date(2026, 11, 5)].computed_at == before[date(2026, 11, 5)]  # untouched

    order_cancel(order=other, actor=actor)
    assert list(DirtyDay.objects.values_list("day", flat=True)) == [date(2026, 11, 5)]
    recompute_dirty()
    row = DailyRollup.objects.get(day=date(2026, 11, 5))
    assert (row.orders_canceled, row.orders_counted, row.gross_sales) == (1, 0, Decimal("0"))


@pytest.mark.django_db
def test_a_rolled_back_change_marks_nothing(standard_tax):
    order = make_order()
    DirtyDay.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        order_cancel(order=order, actor=Actor.system())
        raise RuntimeError("rolled back")
    assert not DirtyDay.objects.exists()


@pytest.mark.django_db
def test_the_rebuild_command_shows_progress_and_refuses_a_reversed_range():
    channel = factories.ChannelFactory()
    factories.OrderFactory(channel=channel, subtotal=Decimal("5"), total=Decimal("5"),
                           placed_at=datetime(2026, 3, 3, 12, tzinfo=ZoneInfo("UTC")))
    out = StringIO()
    call_command("analytics_rebuild", "--from", "2026-01-01", "--to", "2026-03-31", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[##.") and lines[0].endswith("1/11 2026-01-01..2026-03-31 orders")
    assert lines[-2].endswith("11/11 2026-01-01..2026-03-31 written")
    assert "1 rollup rows" in lines[-1]
    assert DailyRollup.objects.get().day == date(2026, 3, 3)
    with pytest.raises(CommandError, match="after"):
        call_command("analytics_rebuild", "--from", "2026-03-31", "--to", "2026-01-01")
