"""Reads of the rollups (API and dashboard): they never touch orders, only ``DailyRollup``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from analytics.models import AMOUNTS, COUNTS, DailyRollup, average_order_value, conversion_rate
from orderflow.errors import DomainError, ValidationFailed
from orderflow.money import quantize

MAX_RANGE_DAYS = 366
_PERIOD = re.compile(r"^(\d{1,3})d$")


class InvalidRange(DomainError):
    status = 400
    code = "invalid_range"
    title = "Invalid date range"


@dataclass(frozen=True)
class Filters:
    channel: str | None = None  # channel code
    company: str | None = None  # company public id


def parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{name} must be a date, YYYY-MM-DD.",
                               errors={name: ["Expected YYYY-MM-DD."]}) from None


def check_range(first: date, last: date) -> None:
    if first > last:
        raise InvalidRange(f"from ({first}) is after to ({last}).")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidRange(f"The range is {(last - first).days + 1} days; at most "
                           f"{MAX_RANGE_DAYS} days at once.")


def parse_period(value: str | None) -> int:
    match = _PERIOD.match(value or "7d")
    days = int(match.group(1)) if match else 0
    if not 1 <= days <= MAX_RANGE_DAYS:
        raise InvalidRange(f"period must be 1d to {MAX_RANGE_DAYS}d, such as 7d or 30d.")
    return days


def _rollups(first: date, last: date, filters: Filters):
    rows = DailyRollup.objects.filter(day__gte=first, day__lte=last)
    if filters.channel:
        rows = rows.filter(channel__code=filters.channel)
    if filters.company:
        rows = rows.filter(company__public_id=filters.company)
    return rows.order_by()


def _figures(row: dict) -> dict:
    currency = row["currency"]
    figures = {name: row[name] or 0 for name in COUNTS}
    for name in AMOUNTS:
        figures[name] = quantize(row[name] or Decimal("0"), currency)
    figures["average_order_value"] = average_order_value(
        figures["gross_sales"] - figures["discounts"] + figures["tax"] + figures["shipping"],
        figures["orders_counted"], currency)
    figures["quote_conversion_rate"] = conversion_rate(figures["quotes_converted"],
                                                       figures["quotes_sent"])
    return figures


_SUMS = {name: Sum(name) for name in COUNTS + AMOUNTS}


def daily(first: date, last: date, filters: Filters = Filters()) -> list[dict]:
    """One entry per day × channel × currency (companies summed unless one is asked for),
    in day order: one query."""
    check_range(first, last)
    rows = (_rollups(first, last, filters)
            .values("day", "channel__code", "currency").annotate(**_SUMS)
            .order_by("day", "channel__code", "currency"))
    return [{"day": row["day"], "channel": row["channel__code"], "currency": row["currency"],
             **_figures(row)} for row in rows]


def totals(first: date, last: date, filters: Filters = Filters()) -> dict[str, dict]:
    """currency → the figures of the whole range: one query."""
    rows = _rollups(first, last, filters).values("currency").annotate(**_SUMS)
    return {row["currency"]: _figures(row) for row in rows}


def _change(current, previous) -> Decimal | None:
    """Percent change from ``previous`` (None when there was nothing before)."""
    if current is None or previous is None or not previous:
        return None
    return ((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)).quantize(
        Decimal("0.1"))


def summary(days: int, filters: Filters = Filters(), *, today: date | None = None) -> dict:
    """Totals of the last ``days`` days (today included) and of the ``days`` before, with the
    change in percent, per currency."""
    last = today or timezone.localdate()
    first = last - timedelta(days=days - 1)
    previous_last = first - timedelta(days=1)
    previous_first = previous_last - timedelta(days=days - 1)
    current, previous = totals(first, last, filters), totals(previous_first, previous_last,
                                                             filters)
    empty = _figures({"currency": "", **{name: 0 for name in COUNTS + AMOUNTS}})
    by_currency = []
    for currency in sorted(set(current) | set(previous)):
        now = current.get(currency) or {**empty}
        before = previous.get(currency) or {**empty}
        by_currency.append({
            "currency": currency, "current": now, "previous": before,
            "change_percent": {name: _change(now[name], before[name]) for name in now},
        })
    return {"period": f"{days}d", "from": first, "to": last,
            "previous_from": previous_first, "previous_to": previous_last,
            "totals": by_currency}
