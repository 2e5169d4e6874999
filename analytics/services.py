"""Recompute the daily rollups: of the dirty days (the beat task) or of a range (rebuild)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from analytics.models import AMOUNTS, COUNTS, DailyRollup
from analytics.sources import SOURCES
from orderflow.models import DirtyDay
from orderflow.money import quantize

# A rebuild recomputes this many days per set of queries: one pass over a year of orders is
# what PostgreSQL does best (narrower ranges switch it to index scans, 2-3x slower in bench).
REBUILD_CHUNK_DAYS = 366


@dataclass
class Recomputed:
    days: list[date]
    channels: list[int] | None
    rows: int


def _rows(days: list[date], channels, step: Callable[[str], None] | None = None,
          ) -> list[DailyRollup]:
    """The rollup rows of ``days`` (× ``channels``, None: all), from one GROUP BY per source;
    ``step(source name)`` after each."""
    rows: dict[tuple, DailyRollup] = {}
    for source in SOURCES:
        for group in source(days, channels):
            key = (group["day_"], group["channel_"], group["company_"], group["currency_"])
            row = rows.get(key)
            if row is None:
                row = rows[key] = DailyRollup(day=key[0], channel_id=key[1], company_id=key[2],
                                              currency=key[3])
            for name, value in group.items():
                if name in COUNTS:
                    setattr(row, name, getattr(row, name) + (value or 0))
                elif name in AMOUNTS:
                    setattr(row, name, getattr(row, name) + Decimal(value or 0))
        if step:
            step(source.__name__.removesuffix("_source"))
    for row in rows.values():
        for name in AMOUNTS:
            setattr(row, name, quantize(getattr(row, name), row.currency))
        row.net = row.gross_sales - row.discounts + row.tax + row.shipping - row.refunds
    return list(rows.values())


@transaction.atomic
def recompute(days: Iterable[date], channels: Iterable[int] | None = None, *,
              step: Callable[[str], None] | None = None) -> Recomputed:
    """Replace the rollups of ``days`` × ``channels`` (None: every channel) by a fresh
    computation: one set-based query per source, one DELETE, one INSERT."""
    days = sorted(set(days))
    channels = sorted(set(channels)) if channels is not None else None
    if not days:
        return Recomputed([], channels, 0)
    rows = _rows(days, channels, step)
    stale = DailyRollup.objects.filter(day__in=days)
    if channels is not None:
        stale = stale.filter(channel_id__in=channels)
    stale.delete()
    DailyRollup.objects.bulk_create(rows, batch_size=1000)
    return Recomputed(days, channels, len(rows))


def recompute_dirty() -> list[Recomputed]:
    """Claim the dirty days (delete their marks) and recompute them, per channel. A change
    committed after the claim marks its day again and is picked up by the next run; if the
    recompute fails, the marks are put back."""
    with transaction.atomic():
        marks = list(DirtyDay.objects.select_for_update(skip_locked=True)
                     .values_list("id", "day", "channel_id"))
        DirtyDay.objects.filter(id__in=[m[0] for m in marks]).delete()
    by_channel: dict[int, set[date]] = {}
    for _, day, channel_id in marks:
        by_channel.setdefault(channel_id, set()).add(day)
    done = []
    try:
        for channel_id, days in sorted(by_channel.items()):
            done.append(recompute(days, [channel_id]))
    except Exception:
        DirtyDay.objects.bulk_create([DirtyDay(day=day, channel_id=channel_id)
                                      for _, day, channel_id in marks], ignore_conflicts=True)
        raise
    return done


def rebuild(first: date, last: date, *,
            progress: Callable[[int, int, str], None] | None = None) -> int:
    """Recompute every day from ``first`` to ``last`` (inclusive), all channels, in chunks of
    ``REBUILD_CHUNK_DAYS`` (one transaction each); ``progress(done, total, what)`` after each
    source query of each chunk and after each chunk's write. Returns the rollup rows written."""
    chunks = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=REBUILD_CHUNK_DAYS - 1))
        chunks.append([start + timedelta(days=i) for i in range((end - start).days + 1)])
        start = end + timedelta(days=1)
    total = len(chunks) * (len(SOURCES) + 1)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, what)

    written = 0
    for chunk in chunks:
        label = f"{chunk[0]}..{chunk[-1]}"
        written += recompute(chunk, step=lambda name, label=label: step(f"{label} {name}")).rows
        step(f"{label} written")
    return written
