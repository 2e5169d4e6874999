"""Django's PostgreSQL backend, reading ``timestamptz`` values with psycopg's C loader.

Django replaces psycopg's loader with a pure-Python subclass that re-labels each value with
the connection's time zone (about 5 µs a value instead of 0.5; a cart with its lines holds
dozens). In UTC, which is what OrderFlow's connections use, psycopg's own loader already
returns exactly that (aware datetimes in ``datetime.timezone.utc``), so only the cost
changes. Set as ``ENGINE = "orderflow.postgresql"`` by ``orderflow.config``.
"""

import datetime

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import Format


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.timezone is datetime.UTC:
            oid = psycopg.postgres.types["timestamptz"].oid
            native = psycopg.adapters.get_loader(oid, Format.TEXT)
            if native is not None and not native.__module__.startswith("psycopg.types"):
                # psycopg's C implementation (psycopg_c / psycopg[binary]) is installed.
                connection.adapters.register_loader(oid, _utc_loader(native))
        return connection


def _utc_loader(native):
    """A loader class handing out psycopg's C loader. Django asks a cursor's loader for its
    ``timezone`` to decide whether the cursor needs its own; psycopg creates loaders through
    the class."""

    class NativeUtcLoader:
        timezone = datetime.UTC
        format = native.format

        def __new__(cls, oid, context=None):
            return native(oid, context)

    return NativeUtcLoader
