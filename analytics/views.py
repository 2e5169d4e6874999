"""The staff analytics dashboard (linked from the admin index): KPI cards, SVG charts with
their numbers in tables, and the operational health counts. Reads rollups only."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from analytics import charts, selectors
from customers.models import Company
from orderflow.display import money as format_money
from orderflow.models import Channel
from orders.selectors import work_queue_counts
from orders.templatetags.work_queue import QUEUES

PERIODS = (7, 30, 90)
# The health counts read the orders table (the rest of the page reads rollups only): they are
# shared by every staff user's dashboard for this many seconds.
HEALTH_CACHE_SECONDS = 30


def _health(user) -> list[dict]:
    """The work-queue counts of the admin index, at most HEALTH_CACHE_SECONDS old."""
    if not user.has_perm("orders.view_order"):
        return []
    counts = cache.get_or_set("analytics:health-counts", work_queue_counts,
                              HEALTH_CACHE_SECONDS)
    return [{"key": key, "label": label, "count": counts[key],
             "url": f"{reverse(f'admin:{changelist}_changelist')}?{query}"}
            for key, label, changelist, query in QUEUES
            if changelist != "orders_invoice" or user.has_perm("orders.view_invoice")]


def _kpis(filters) -> list[dict]:
    """Today, 7 and 30 days: per currency, the headline figures and their change."""
    cards = []
    for label, days in (("Today", 1), ("Last 7 days", 7), ("Last 30 days", 30)):
        data = selectors.summary(days, filters)
        cards.append({"label": label, "period": f"{days}d", "from": data["from"],
                      "to": data["to"], "totals": [
                          {"currency": t["currency"], "figures": [
                              {"key": key, "name": name,
                               "value": (format_money(t["current"][key], t["currency"])
                                         if money else t["current"][key]),
                               "raw": t["current"][key],
                               "change": t["change_percent"][key]}
                              for key, name, money in (
                                  ("net", "Net sales", True),
                                  ("orders_placed", "Orders placed", False),
                                  ("average_order_value", "Average order", True),
                                  ("refunds", "Refunds", True),
                                  ("carts_abandoned", "Carts abandoned", False),
                                  ("recovered_revenue", "Recovered revenue", True),
                                  ("quotes_sent", "Quotes sent", False))]}
                          for t in data["totals"]]})
    return cards


def _chart(chart_id, title, days, series, money=False):
    return {"id": chart_id, "title": title, "svg": charts.line_chart(chart_id, title, days,
                                                                      series),
            "columns": [name for name, _ in series],
            "rows": [(day, [values[i] for _, values in series]) for i, day in enumerate(days)],
            "money": money}


def _charts(first, last, filters) -> list[dict]:
    rows = selectors.daily(first, last, filters)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    per_channel = defaultdict(lambda: defaultdict(lambda: [0] * len(days)))
    totals = defaultdict(lambda: [0] * len(days))
    pipeline = defaultdict(int)
    for row in rows:
        i = index[row["day"]]
        key = f"{row['channel']} ({row['currency']})"
        per_channel[key]["net"][i] += row["net"]
        per_channel[key]["orders"][i] += row["orders_placed"]
        for name in ("carts_created", "carts_abandoned", "carts_recovered", "returns_opened"):
            totals[name][i] += row[name]
        totals[f"returns_refunded {row['currency']}"][i] += row["returns_refunded"]
        for name in ("quotes_sent", "quotes_accepted", "quotes_converted"):
            pipeline[name] += row[name]
    channels = sorted(per_channel)
    returns_money = sorted(k for k in totals if k.startswith("returns_refunded "))
    quotes = [("Sent", pipeline["quotes_sent"]), ("Accepted", pipeline["quotes_accepted"]),
              ("Converted", pipeline["quotes_converted"])]
    return [
        _chart("chart-revenue", "Net sales per day by channel", days,
               [(c, [Decimal(v) for v in per_channel[c]["net"]]) for c in channels],
               money=True),
        _chart("chart-orders", "Orders placed per day by channel", days,
               [(c, per_channel[c]["orders"]) for c in channels]),
        _chart("chart-carts", "Carts created, abandoned and recovered per day", days,
               [("Created", totals["carts_created"]), ("Abandoned", totals["carts_abandoned"]),
                ("Recovered", totals["carts_recovered"])]),
        {"id": "chart-quotes", "title": "Quote pipeline over the period",
         "svg": charts.bar_chart("chart-quotes", "Quote pipeline over the period", quotes),
         "columns": ["Quotes"], "rows": [(label, [value]) for label, value in quotes]},
        _chart("chart-returns", "Returns opened and refunded amount per day", days,
               [("Opened", totals["returns_opened"]),
                *[(f"Refunded {k.split()[1]}", totals[k]) for k in returns_money]]),
    ]


def dashboard(request):
    if not request.user.has_perm("analytics.view"):
        raise PermissionDenied
    period = request.GET.get("period", "30")
    period = int(period) if period in {str(p) for p in PERIODS} else 30
    filters = selectors.Filters(channel=request.GET.get("channel") or None,
                                company=request.GET.get("company") or None)
    last = timezone.localdate()
    first = last - timedelta(days=period - 1)
    context = {
        **admin.site.each_context(request),
        "title": "Analytics",
        "kpis": _kpis(filters),
        "charts": _charts(first, last, filters),
        "health": _health(request.user), "health_cache_seconds": HEALTH_CACHE_SECONDS,
        "first": first, "last": last,
        "period": period, "periods": PERIODS, "filters": filters,
        "channels": Channel.objects.order_by("code").values_list("code", "name"),
        "companies": Company.objects.order_by("name").values_list("public_id", "name")[:500],
    }
    return render(request, "analytics/dashboard.html", context)


dashboard_view = admin.site.admin_view(dashboard)
