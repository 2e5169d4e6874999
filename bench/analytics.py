"""Analytics benchmark (issue 24): a full rollup rebuild against the equivalent hand-written
SQL ``GROUP BY`` over the same rows, back to back, and the dashboard's p95.

Run by ``bench/run.py --mode analytics`` on its disposable, migrated PostgreSQL database (or
by hand: ``DATABASE_URL=postgres://…/scratch .venv/bin/python bench/analytics.py --orders
100000`` on a database you can throw away). Loads ``--orders`` orders (one line each, a
payment each, a partial refund on every tenth) with ``INSERT … SELECT generate_series`` — no
Python per row — spread over the last 365 days in two channels, then:

- ``sql_seconds``: the hand-written SQL computing the same figures (orders, units, refunds,
  carts, quotes, returns, each a GROUP BY over local day × channel × company × currency);
- ``rebuild_seconds``: ``analytics.services.rebuild`` over the same 365 days (the ORM
  queries, plus deleting and writing the rollup rows);
- ``ratio`` = rebuild / SQL (budget 2×), each the best of ``--repeat`` alternating runs;
- ``dashboard``: ``GET /admin/analytics/`` through Django's test client in this process (no
  HTTP server), p50/p95 over ``--requests`` requests.

Prints one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderflow.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics.services import rebuild  # noqa: E402
from catalog.models import Product, TaxClass  # noqa: E402
from orderflow.models import Channel  # noqa: E402
from orders.models import Order  # noqa: E402

BUDGET = 2.0


def log(message: str) -> None:
    print(f"[analytics] {message}", file=sys.stderr, flush=True)


def load(orders: int) -> None:
    web, _ = Channel.objects.get_or_create(code="BENCH_WEB",
                                           defaults={"name": "Bench web", "currency": "JMD"})
    b2b, _ = Channel.objects.get_or_create(code="BENCH_B2B",
                                           defaults={"name": "Bench B2B", "currency": "USD"})
    product = Product.objects.first()
    if product is None:
        tax_class, _ = TaxClass.objects.get_or_create(code="bench", defaults={"name": "Bench"})
        product = Product.objects.create(sku="BENCH-1", name="Bench product",
                                         list_price="10.00", tax_class=tax_class)
    statuses = "ARRAY['confirmed','completed','canceled','pending_payment','confirmed']"
    placed = ("now() - (mod(g, 365)) * interval '1 day' - (mod(g, 86400)) * interval "
              "'1 second'")
    with connection.cursor() as cur:
        # Carts, created two hours before order g would be placed: every tenth order's
        # (converted; every thirtieth was abandoned and came back first), and as many left
        # behind (abandoned; every other one of those came back and is active again).
        cur.execute(f"""
            INSERT INTO carts_cart (public_id, channel_id, status, email, currency, version,
                subtotal, tax_total, shipping_total, total, metadata, defaults,
                marketing_consent, created_at, updated_at, last_activity_at, converted_at,
                abandoned_at, recovered_at)
            SELECT 'cartbench_' || g, CASE WHEN mod(g, 4) = 0 THEN %s ELSE %s END,
                CASE WHEN mod(g, 10) = 0 THEN 'converted'
                     WHEN mod(g, 20) = 5 THEN 'active' ELSE 'abandoned' END,
                'b@example.com', CASE WHEN mod(g, 4) = 0 THEN 'USD' ELSE 'JMD' END, 1,
                0, 0, 0, 0, '{{}}', '{{}}', false,
                {placed} - interval '2 hours', now(), now(),
                CASE WHEN mod(g, 10) = 0 THEN {placed} END,
                CASE WHEN mod(g, 10) = 5 OR mod(g, 30) = 0
                     THEN {placed} - interval '1 hour' END,
                CASE WHEN mod(g, 20) = 5 OR mod(g, 30) = 0
                     THEN {placed} - interval '30 minutes' END
            FROM generate_series(1, %s) AS g WHERE mod(g, 5) = 0""", [b2b.pk, web.pk, orders])
        cur.execute(f"""
            INSERT INTO orders_order (public_id, channel_id, email, status, payment_status,
                fulfillment_status, currency, subtotal, tax_total, shipping_total, total,
                shipping_method_name, notes, external_reference, metadata, approval_levels,
                cancel_reason, decline_reason, placed_at, confirmed_at, created_at, updated_at,
                cart_id)
            SELECT 'ordbench_' || g, CASE WHEN mod(g, 4) = 0 THEN %s ELSE %s END, 'b@example.com',
                ({statuses})[1 + mod(g, 5)], 'unpaid', 'unfulfilled',
                CASE WHEN mod(g, 4) = 0 THEN 'USD' ELSE 'JMD' END,
                100 + mod(g, 900), 15 + mod(g, 90), 5, 120 + mod(g, 900) + mod(g, 90),
                '', '', '', '{{}}', '[]', '', '', {placed},
                now() - (mod(g, 365)) * interval '1 day', now(), now(),
                CASE WHEN mod(g, 10) = 0 THEN (SELECT c.id FROM carts_cart c
                                              WHERE c.public_id = 'cartbench_' || g) END
            FROM generate_series(1, %s) AS g""", [b2b.pk, web.pk, orders])
        cur.execute("""
            INSERT INTO orders_orderline (public_id, order_id, product_id, sku, name, quantity,
                order_uom, unit_price, price_source, line_subtotal, tax_rate, tax_amount,
                line_total, quantity_reserved, quantity_shipped, metadata)
            SELECT 'olbench_' || o.id, o.id, %s, 'BENCH-1', 'Bench', 1 + mod(o.id, 5), '',
                o.subtotal, '', o.subtotal, 0, 0, o.subtotal, 0, 0, '{}'
            FROM orders_order o WHERE o.public_id LIKE 'ordbench\\_%%'""", [product.pk])
        cur.execute("""
            INSERT INTO orders_payment (public_id, order_id, kind, reference, amount, currency,
                status, amount_authorized, amount_captured, amount_refunded, amount_voided,
                refund_owed, amount_due, created_at, updated_at)
            SELECT 'paybench_' || o.id, o.id, 'payment_intent', '', o.total, o.currency,
                'captured', o.total, o.total, CASE WHEN mod(o.id, 10) = 0 THEN 10 ELSE 0 END, 0,
                0, 0, now(), now()
            FROM orders_order o WHERE o.public_id LIKE 'ordbench\\_%%'""", [])
        cur.execute("""
            INSERT INTO orders_paymenttransaction (public_id, payment_id, kind, result, amount,
                currency, reference, message, actor_label, occurred_at, created_at)
            SELECT 'ptxbench_' || p.id, p.id, 'refund', 'succeeded', 10, p.currency, '', '',
                'bench', now(), now()
            FROM orders_payment p WHERE p.amount_refunded > 0
                AND p.public_id LIKE 'paybench\\_%%'""", [])
        cur.execute("ANALYZE")


def hand_written_sql() -> int:
    """The same figures as analytics.sources, in plain SQL; the number of groups."""
    tz = settings.TIME_ZONE
    day = "(({col}) AT TIME ZONE %s)::date"
    queries = [
        f"""SELECT {day.format(col='o.placed_at')}, o.channel_id, o.company_id, o.currency,
                count(*), count(*) FILTER (WHERE o.confirmed_at IS NOT NULL),
                count(*) FILTER (WHERE o.status = 'canceled'),
                count(*) FILTER (WHERE o.status = 'completed'),
                count(*) FILTER (WHERE o.status NOT IN ('canceled', 'declined')),
                sum(o.subtotal) FILTER (WHERE o.status NOT IN ('canceled', 'declined')),
                sum(o.tax_total) FILTER (WHERE o.status NOT IN ('canceled', 'declined')),
                sum(o.shipping_total) FILTER (WHERE o.status NOT IN ('canceled', 'declined'))
            FROM orders_order o WHERE o.placed_at >= %s AND o.placed_at < %s
            GROUP BY 1, 2, 3, 4""",
        f"""SELECT {day.format(col='o.placed_at')}, o.channel_id, o.company_id, o.currency,
                sum(l.quantity)
            FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
            WHERE o.status NOT IN ('canceled', 'declined')
                AND o.placed_at >= %s AND o.placed_at < %s
            GROUP BY 1, 2, 3, 4""",
        f"""SELECT {day.format(col='o.placed_at')}, o.channel_id, o.company_id, o.currency,
                sum(t.amount)
            FROM orders_paymenttransaction t JOIN orders_payment p ON p.id = t.payment_id
                JOIN orders_order o ON o.id = p.order_id
            WHERE t.kind = 'refund' AND t.result = 'succeeded'
                AND o.status NOT IN ('canceled', 'declined')
                AND o.placed_at >= %s AND o.placed_at < %s
            GROUP BY 1, 2, 3, 4""",
        f"""SELECT {day.format(col='c.created_at')}, c.channel_id, cu.company_id, c.currency,
                count(*), count(*) FILTER (WHERE c.abandoned_at IS NOT NULL),
                count(*) FILTER (WHERE c.recovered_at IS NOT NULL)
            FROM carts_cart c LEFT JOIN customers_customer cu ON cu.id = c.customer_id
            WHERE c.created_at >= %s AND c.created_at < %s GROUP BY 1, 2, 3, 4""",
        f"""SELECT {day.format(col='o.placed_at')}, o.channel_id, o.company_id, o.currency,
                sum(o.total)
            FROM orders_order o JOIN carts_cart c ON c.id = o.cart_id
            WHERE c.recovered_at IS NOT NULL AND o.status NOT IN ('canceled', 'declined')
                AND o.placed_at >= %s AND o.placed_at < %s
            GROUP BY 1, 2, 3, 4""",
        *[f"""SELECT {day.format(col='q.' + field)}, q.channel_id, q.company_id, q.currency,
                count(*)
            FROM quotes_quote q WHERE q.{field} >= %s AND q.{field} < %s GROUP BY 1, 2, 3, 4"""
          for field in ("sent_at", "accepted_at", "converted_at")],
        f"""SELECT {day.format(col='r.created_at')}, o.channel_id, o.company_id, r.currency,
                count(*)
            FROM fulfillment_return r JOIN orders_order o ON o.id = r.order_id
            WHERE r.created_at >= %s AND r.created_at < %s GROUP BY 1, 2, 3, 4""",
        f"""SELECT {day.format(col='r.refunded_at')}, o.channel_id, o.company_id, r.currency,
                sum(r.refund_amount)
            FROM fulfillment_return r JOIN orders_order o ON o.id = r.order_id
            WHERE r.refunded_at >= %s AND r.refunded_at < %s GROUP BY 1, 2, 3, 4""",
    ]
    first, last = _range()
    tzinfo = timezone.get_current_timezone()
    start = timezone.datetime.combine(first, timezone.datetime.min.time(), tzinfo)
    end = timezone.datetime.combine(last + timedelta(days=1), timezone.datetime.min.time(),
                                    tzinfo)
    groups = 0
    with connection.cursor() as cur:
        for sql in queries:
            cur.execute(sql, [tz, start, end])
            groups += len(cur.fetchall())
    return groups


def _range():
    last = timezone.localdate()
    return last - timedelta(days=365), last


def _analyst():
    return get_user_model().objects.filter(username="bench-analyst").first() or \
        get_user_model().objects.create_superuser("bench-analyst", "b@example.com", "x" * 20)


def dashboard(requests: int) -> dict:
    user = _analyst()
    client = Client()
    client.force_login(user)
    client.get("/admin/analytics/")  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/admin/analytics/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return {"requests": requests, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1), "budget_p95_ms": 200,
            "note": "in process (Django test client), no HTTP server"}


# The staff order list at scale: one channel, one status, the last 30 days, page 50 (the REST
# staff list, GET /api/v1/orders; bench/run.py measures it over HTTP against the bare view).
ORDER_LIST_DAYS = 30


def order_list_query() -> str:
    # To the minute: with seconds, a timestamp's 14 digits can pass the Luhn check, and the
    # card-data guard would refuse the query (400 card_data_forbidden).
    now = timezone.now().astimezone(UTC)
    after = now - timedelta(days=ORDER_LIST_DAYS)
    return urlencode({"status": "confirmed", "channel": "BENCH_B2B",
                      "placed_at_after": f"{after:%Y-%m-%dT%H:%MZ}",
                      "placed_at_before": f"{now + timedelta(minutes=1):%Y-%m-%dT%H:%MZ}",
                      "limit": 50})


def order_list_plan(query: str) -> str:
    """EXPLAIN ANALYZE of the list's page query as the view builds it (staff see every
    order: the filter set on all orders, in the list's cursor order, one page + 1)."""
    from orders.api.filters import OrderFilter

    data = QueryDict(query)
    page = (OrderFilter(data=data, queryset=Order.objects.all()).qs
            .order_by("-placed_at", "-id")[:51])
    return page.explain(analyze=True)


def order_list_setup() -> dict:
    """A staff session (the session table is shared with the server), the list's path and
    its query plan, for bench/run.py."""
    user = _analyst()
    client = Client()
    client.force_login(user)
    query = order_list_query()
    response = client.get(f"/api/v1/orders?{query}")
    assert response.status_code == 200, response.content[:500]
    assert len(response.json()["results"]) == 50, "fewer than 50 orders match"
    plan = order_list_plan(query)
    log("order list plan:\n" + plan)
    today = timezone.localdate()
    admin = "/admin/orders/order/?" + urlencode({
        "status__exact": "confirmed",
        "channel__id__exact": Channel.objects.get(code="BENCH_B2B").pk,
        "placed_at_from": today - timedelta(days=ORDER_LIST_DAYS), "placed_at_to": today})
    assert client.get(admin).status_code == 200
    return {"session": client.cookies["sessionid"].value, "path": f"/api/v1/orders?{query}",
            "admin_path": admin, "plan": plan.splitlines()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench/analytics.py")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--skip-load", action="store_true", help="rows are already there")
    parser.add_argument("--order-list-setup", action="store_true",
                        help="only print a staff session, the order list's path and its plan "
                             "(JSON), for bench/run.py's HTTP phase")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        log("needs PostgreSQL")
        return 1
    if args.order_list_setup:
        print(json.dumps(order_list_setup()), flush=True)
        return 0
    if not args.skip_load:
        started = time.perf_counter()
        load(args.orders)
        log(f"loaded {args.orders} orders in {time.perf_counter() - started:.1f}s")
    first, last = _range()
    sql_times, rebuild_times = [], []
    for round_ in range(args.repeat):
        started = time.perf_counter()
        groups = hand_written_sql()
        sql_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        rows = rebuild(first, last)
        rebuild_times.append(time.perf_counter() - started)
        log(f"round {round_ + 1}: SQL {sql_times[-1]:.2f}s ({groups} groups), "
            f"rebuild {rebuild_times[-1]:.2f}s ({rows} rows)")
    sql, full = min(sql_times), min(rebuild_times)
    report = {"mode": "analytics", "orders": args.orders, "days": (last - first).days + 1,
              "rollup_rows": rows, "sql_seconds": round(sql, 3),
              "rebuild_seconds": round(full, 3), "ratio": round(full / sql, 2),
              "budget_ratio": BUDGET, "within_budget": full / sql <= BUDGET,
              "sql_runs": [round(t, 3) for t in sql_times],
              "rebuild_runs": [round(t, 3) for t in rebuild_times],
              "dashboard": dashboard(args.requests)}
    print(json.dumps(report, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
