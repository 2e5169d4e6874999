"""The database as OrderFlow configures it: PostgreSQL options, the UTC timestamp loader of
the ``orderflow.postgresql`` backend, and human numbers drawn by the database."""

import datetime

import pytest
from django.db import connection

from orders.models import Invoice, Order
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL option")
def test_postgres_connections_bind_parameters_on_the_server():
    with connection.cursor() as cursor:
        assert type(cursor.cursor).__name__ == "ServerBindingCursor"
    assert connection.connection.prepare_threshold == 2


def test_config_binds_on_the_server_unless_told_not_to(tmp_path):
    from orderflow import config

    def options(**env):
        return config.load({"ORDERFLOW_VAR_DIR": str(tmp_path),
                            "DATABASE_URL": "postgres://of@db/orderflow", **env}
                           ).database["OPTIONS"]

    assert options() == {"server_side_binding": True, "prepare_threshold": 2}
    assert options(DB_PREPARE_THRESHOLD="0") == {"server_side_binding": True,
                                                 "prepare_threshold": None}
    assert options(DB_SERVER_SIDE_BINDING="false") == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL loader")
def test_timestamps_are_read_by_the_c_loader_and_equal_djangos():
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    sql = ("SELECT t FROM (VALUES ('2026-01-02 03:04:05.123456+00'::timestamptz), "
           "('1999-12-31 23:59:59-05'::timestamptz), (NULL::timestamptz), "
           "(now())) v(t)")
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(1184, 0)
        assert loader.__name__ == "NativeUtcLoader"
        cursor.execute(sql)
        fast = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        register_tzloader(datetime.UTC, cursor.cursor)  # Django's own loader
        cursor.execute(sql)
        django_loaded = [row[0] for row in cursor.fetchall()]
    assert fast[:3] == django_loaded[:3] and fast[2] is None
    assert fast[0] == datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.UTC)
    assert all(value.tzinfo is datetime.UTC for value in fast if value is not None)


def _order(**kwargs):
    channel = factories.ChannelFactory()
    return Order.objects.create(channel=channel, email="a@example.com", currency="JMD",
                                placed_at=datetime.datetime.now(datetime.UTC), **kwargs)


def test_an_order_gets_its_number_from_the_database_in_the_insert(django_assert_num_queries):
    channel = factories.ChannelFactory()
    with django_assert_num_queries(1):
        order = Order.objects.create(channel=channel, email="a@example.com", currency="JMD",
                                     placed_at=datetime.datetime.now(datetime.UTC))
    assert order.number == f"OF-{order.pk:06d}"
    assert Order.objects.get(number=order.number) == order


def test_numbers_grow_past_six_digits():
    assert _order(id=1_234_567).number == "OF-1234567"
    assert _order(id=999_999).number == "OF-999999"


def test_invoices_are_numbered_the_same_way():
    order = _order()
    invoice = Invoice.objects.create(order=order, amount=1, currency="JMD",
                                     issued_at=datetime.datetime.now(datetime.UTC),
                                     due_date=datetime.date(2027, 1, 1))
    assert invoice.number == f"INV-{invoice.pk:06d}"
