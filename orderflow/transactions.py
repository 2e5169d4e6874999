"""Transaction helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def relaxed_commit(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """A transaction whose commit does not wait for the disk, for records of work already
    done (a transaction-log entry written after its response was built): on PostgreSQL
    ``SET LOCAL synchronous_commit TO off`` makes the commit return before its WAL is
    flushed, so a crash within a fraction of a second may lose the row but never corrupts
    anything, and the setting ends with the transaction. Other databases commit as usual."""
    with transaction.atomic(using=using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO off")
        yield
