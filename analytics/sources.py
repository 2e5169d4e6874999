"""Where each figure comes from: one set-based query per source, grouped by local day ×
channel × company × currency (``values().annotate()``, a SQL ``GROUP BY``), and which days a
change marks dirty. A new source is one more function in ``SOURCES``.

Which day a figure belongs to (docs/analytics.md):
- orders, their units and their refunds: the day the order was **placed** (a refund or a
  cancellation next month re-rolls that old day); so does recovered revenue (the orders
  recovered carts became);
- carts created, abandoned and recovered: the day the cart was **created** (each cart's
  abandonment and recovery re-roll that day); quotes: the day sent / accepted / converted;
- returns: opened on the day asked for, refunded amount on the day refunded.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from carts.models import Cart
from fulfillment.models import Return
from orders.constants import OrderStatus, TransactionKind, TransactionResult
from orders.models import Order, OrderLine, PaymentTransaction
from quotes.models import Quote

# Orders that never became sales: they count as placed (and canceled), not in the money.
NOT_SALES = (OrderStatus.CANCELED, OrderStatus.DECLINED)


def _bounds(days: list[date]) -> list[tuple[datetime, datetime]]:
    """Contiguous runs of ``days`` as [start, end) instants of the local day boundaries."""
    tz = timezone.get_current_timezone()
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(datetime.combine(first, time.min, tz),
             datetime.combine(last + timedelta(days=1), time.min, tz)) for first, last in runs]


def _within(field: str, days: list[date], channel_field: str, channels) -> Q:
    q = Q()
    for start, end in _bounds(days):
        q |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    if channels is not None:
        q &= Q(**{f"{channel_field}__in": list(channels)})
    return q


def _grouped(queryset, field: str, channel: str, company: str, currency: str, days, channels,
             **figures):
    tz = timezone.get_current_timezone()
    return (queryset.filter(_within(field, days, channel, channels))
            .order_by()  # a model's default ordering would join the GROUP BY
            .values(day_=TruncDate(field, tzinfo=tz), channel_=F(channel),
                    company_=F(company), currency_=F(currency))
            .annotate(**figures))


def orders_source(days, channels):
    sales = ~Q(status__in=NOT_SALES)
    return _grouped(
        Order.objects, "placed_at", "channel_id", "company_id", "currency", days, channels,
        orders_placed=Count("id"),
        orders_confirmed=Count("id", filter=Q(confirmed_at__isnull=False)),
        orders_canceled=Count("id", filter=Q(status=OrderStatus.CANCELED)),
        orders_completed=Count("id", filter=Q(status=OrderStatus.COMPLETED)),
        orders_counted=Count("id", filter=sales),
        gross_sales=Sum("subtotal", filter=sales),
        tax=Sum("tax_total", filter=sales),
        shipping=Sum("shipping_total", filter=sales),
    )


def units_source(days, channels):
    return _grouped(
        OrderLine.objects.exclude(order__status__in=NOT_SALES), "order__placed_at",
        "order__channel_id", "order__company_id", "order__currency", days, channels,
        units=Sum("quantity"))


def refunds_source(days, channels):
    return _grouped(
        PaymentTransaction.objects.filter(kind=TransactionKind.REFUND,
                                          result=TransactionResult.SUCCEEDED)
        .exclude(payment__order__status__in=NOT_SALES),
        "payment__order__placed_at", "payment__order__channel_id",
        "payment__order__company_id", "payment__order__currency", days, channels,
        refunds=Sum("amount"))


def carts_source(days, channels):
    # ``abandoned_at`` stays once set (a recovered or expired cart was still abandoned);
    # ``recovered_at`` is set when an abandoned cart comes back (a reminder's link, the
    # shopper's own edit or checkout) and cleared if it is abandoned again.
    return _grouped(
        Cart.objects, "created_at", "channel_id", "customer__company_id", "currency", days,
        channels,
        carts_created=Count("id"),
        carts_abandoned=Count("id", filter=Q(abandoned_at__isnull=False)),
        carts_recovered=Count("id", filter=Q(recovered_at__isnull=False)))


def recovered_revenue_source(days, channels):
    return _grouped(
        Order.objects.filter(cart__recovered_at__isnull=False)
        .exclude(status__in=NOT_SALES),
        "placed_at", "channel_id", "company_id", "currency", days, channels,
        recovered_revenue=Sum("total"))


def _quote_source(field: str, figure: str):
    def source(days, channels):
        return _grouped(Quote.objects, field, "channel_id", "company_id", "currency", days,
                        channels, **{figure: Count("id")})
    source.__name__ = f"quotes_{figure}_source"
    return source


def returns_opened_source(days, channels):
    return _grouped(Return.objects, "created_at", "order__channel_id", "order__company_id",
                    "currency", days, channels, returns_opened=Count("id"))


def returns_refunded_source(days, channels):
    return _grouped(Return.objects.filter(refunded_at__isnull=False), "refunded_at",
                    "order__channel_id", "order__company_id", "currency", days, channels,
                    returns_refunded=Sum("refund_amount"))


SOURCES = [
    orders_source,
    units_source,
    refunds_source,
    carts_source,
    recovered_revenue_source,
    _quote_source("sent_at", "quotes_sent"),
    _quote_source("accepted_at", "quotes_accepted"),
    _quote_source("converted_at", "quotes_converted"),
    returns_opened_source,
    returns_refunded_source,
]


# --- which days an outbox event marks dirty (orderflow.outbox.register_day_marker) ---------

def _order_days(order):
    return [order.placed_at]


def _payment_days(payment):
    return [payment.order.placed_at]


def _cart_days(cart):
    return [cart.created_at]


def _quote_days(quote):
    return [quote.sent_at, quote.accepted_at, quote.converted_at]


def _return_days(return_request):
    return [return_request.created_at, return_request.refunded_at]


DAY_MARKERS = {
    "orders.order": _order_days,
    "orders.payment": _payment_days,
    "carts.cart": _cart_days,
    "quotes.quote": _quote_days,
    "fulfillment.return": _return_days,
}
