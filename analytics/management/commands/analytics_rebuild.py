"""``manage.py analytics_rebuild --from 2026-01-01 --to 2026-12-31``: recompute a range."""

from __future__ import annotations

import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import rebuild


class Command(BaseCommand):
    help = "Recompute the daily analytics rollups of a range of days (inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", default=None, help="YYYY-MM-DD (default today)")

    def handle(self, *args, first, last, **options):
        try:
            first = date.fromisoformat(first)
            last = date.fromisoformat(last) if last else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"dates are YYYY-MM-DD: {exc}") from exc
        if first > last:
            raise CommandError("--from is after --to")
        started = time.monotonic()
        interactive = self.stdout.isatty() if hasattr(self.stdout, "isatty") else False

        def progress(done: int, total: int, what: str) -> None:
            width = 30
            filled = width * done // total
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}"
            if interactive:
                self.stdout.write("\r" + bar.ljust(100), ending="")
                sys.stdout.flush()
            else:
                self.stdout.write(bar)

        rows = rebuild(first, last, progress=progress)
        if interactive:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"Rebuilt {first}..{last}: {rows} rollup rows in {time.monotonic() - started:.1f}s"))
