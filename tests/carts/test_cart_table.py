"""The cart table keeps its frequent updates in place (HOT): no index on the columns each edit
changes, and pages left with room for the new row version (PostgreSQL)."""

import pytest
from django.db import connection

from carts.models import Cart

pytestmark = pytest.mark.django_db

EDIT_COLUMNS = {"version", "last_activity_at", "updated_at", "subtotal", "tax_total",
                "shipping_total", "total", "priced_at", "priced_version"}


def test_no_index_covers_a_column_every_edit_changes():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Cart._meta.db_table)
    indexed = {column for c in constraints.values() if c["index"] for column in c["columns"]}
    assert "status" in indexed  # idle carts are found by status
    assert not indexed & EDIT_COLUMNS


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage setting")
def test_cart_pages_leave_room_for_updates():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s",
                       [Cart._meta.db_table])
        (options,) = cursor.fetchone()
    assert "fillfactor=70" in options
