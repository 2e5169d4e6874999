"""What a server process read of a credential row (an API key, a bridge connection), kept a
few seconds.

Every storefront and bridge request authenticates, and those rows almost never change, so each
process keeps what it read for ``ORDERFLOW_API_KEY_CACHE_SECONDS`` (0 turns it off): a change
made in another process (revocation, disabling, a new secret) reaches this one within that
time, and the process that made it at once (the services forget the entry).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from django.conf import settings


class CredentialCache:
    def __init__(self, max_entries: int = 1024):
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._max = max_entries

    def get(self, key: Hashable, load: Callable[[Hashable], object | None]):
        """The row for ``key``: kept, or ``load(key)`` (kept when found)."""
        ttl = settings.ORDERFLOW_API_KEY_CACHE_SECONDS
        if ttl <= 0:
            return load(key)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = load(key)
        if row is not None:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (now + ttl, row)
        return row

    def forget(self, key: Hashable | None = None) -> None:
        """Drop ``key``'s entry, or every entry."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)
