"""orderflow.db's hand-written writes store exactly what the ORM would."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from carts.models import Cart
from orderflow.db import create, prefetch, prefetch_together, save_fields
from orderflow.models import OutboxEvent
from tests import factories

pytestmark = pytest.mark.django_db

PAYLOAD = {"id": "ord_x", "note": 'quotes " and \\ backslashes, ünïcode', "lines": [1, 2]}


def stored(obj):
    """Every column as read back through the ORM."""
    row = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(row, f.attname) for f in obj._meta.concrete_fields}


def test_create_stores_what_the_orm_stores_and_hands_back_saved_instances():
    channel = factories.ChannelFactory()
    with transaction.atomic():
        by_orm = OutboxEvent.objects.create(type="order.created", payload=PAYLOAD,
                                            channel=channel, aggregate_type="orders.order")
        rows = create([OutboxEvent(type="order.created", payload=PAYLOAD, channel=channel,
                                   aggregate_type="orders.order") for _ in range(3)])
    assert [row.pk for row in rows] == sorted(row.pk for row in rows)
    assert all(row.pk > by_orm.pk and not row._state.adding for row in rows)
    assert len({row.public_id for row in rows}) == 3
    assert all(row.public_id.startswith("evt_") for row in rows)
    for row in rows:
        mine, theirs = stored(row), stored(by_orm)
        assert abs(mine.pop("created_at") - theirs.pop("created_at")) < timedelta(seconds=5)
        for name in ("id", "public_id"):
            mine.pop(name), theirs.pop(name)
        assert mine == theirs
        assert row.created_at == OutboxEvent.objects.get(pk=row.pk).created_at
    assert OutboxEvent.objects.get(pk=rows[0].pk).payload == PAYLOAD


def test_create_keeps_a_preset_primary_key_and_accepts_a_mix():
    preset = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    (row,) = create([OutboxEvent(pk=preset + 1000, type="a")])
    assert row.pk == preset + 1000 and OutboxEvent.objects.get(pk=preset + 1000).type == "a"
    mixed = create([OutboxEvent(pk=preset + 2000, type="b"), OutboxEvent(type="c")])
    assert OutboxEvent.objects.filter(pk__in=[m.pk for m in mixed]).count() == 2


def new_cart():
    return Cart.objects.create(channel=factories.ChannelFactory(), currency="JMD",
                               email="old@example.com", subtotal=Decimal("3.00"))


def test_save_fields_writes_only_the_named_fields_and_stamps_auto_now():
    cart = new_cart()
    before = Cart.objects.get(pk=cart.pk)
    cart.email, cart.subtotal = "new@example.com", Decimal("12.50")
    cart.updated_at = cart.last_activity_at = timezone.now() - timedelta(days=3)
    save_fields(cart, ["email", "updated_at", "last_activity_at"])
    after = Cart.objects.get(pk=cart.pk)
    assert after.email == "new@example.com"
    assert after.subtotal == before.subtotal  # not named, not written
    assert after.updated_at > before.updated_at and after.updated_at == cart.updated_at
    assert after.last_activity_at == cart.last_activity_at > before.last_activity_at


def test_save_fields_on_a_missing_row_fails_like_update_fields():
    cart = new_cart()
    Cart.objects.filter(pk=cart.pk).delete()
    with pytest.raises(DatabaseError):
        save_fields(cart, ["email"])


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


def test_prefetch_answers_like_djangos_prefetch():
    from django.db.models import Prefetch, prefetch_related_objects

    from catalog.models import TaxClass, TaxRate

    standard = factories.TaxClassFactory(code="std")
    factories.TaxRateFactory(tax_class=standard, country="US", rate=Decimal("0.07"))
    factories.TaxRateFactory(tax_class=standard, country="CA", rate=Decimal("0.05"))
    bare = TaxClass.objects.create(code="none", name="None")
    mine = [TaxClass.objects.get(pk=standard.pk), TaxClass.objects.get(pk=standard.pk),
            TaxClass.objects.get(pk=bare.pk)]
    theirs = [TaxClass.objects.get(pk=c.pk) for c in mine]
    with _queries() as counted:
        prefetch(mine, "rates", order_by=("country",))
    assert len(counted) == 1
    prefetch_related_objects(theirs, Prefetch("rates",
                                              queryset=TaxRate.objects.order_by("country")))
    with _queries() as counted:
        got = [[(r.pk, r.country, r.rate, r.tax_class.pk) for r in c.rates.all()]
               for c in mine]
    assert len(counted) == 0
    assert got == [[(r.pk, r.country, r.rate, c.pk) for r in c.rates.all()] for c in theirs]
    assert [r.country for r in mine[0].rates.all()] == ["", "CA", "US"]
    assert mine[2].rates.all().count() == 0


def test_prefetch_orders_descending():
    from fulfillment.models import ShippingMethod, ShippingRate

    method = ShippingMethod.objects.create(code="std", name="Std", currency="JMD")
    for threshold in (0, 500, 100):
        ShippingRate.objects.create(method=method, threshold=threshold, price=Decimal("1"))
    prefetch([method], "rates", order_by=("-threshold",))
    assert [r.threshold for r in method.rates.all()] == [500, 100, 0]


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="one statement on PostgreSQL; elsewhere one query per relation")
def test_prefetch_together_reads_several_relations_in_one_statement():
    from catalog.models import TaxClass, TaxRate
    from fulfillment.models import ShippingMethod, ShippingRate

    standard = factories.TaxClassFactory(code="std")
    factories.TaxRateFactory(tax_class=standard, country="US", rate=Decimal("0.07"))
    factories.TaxRateFactory(tax_class=standard, country="CA", rate=Decimal("0.05"))
    bare = TaxClass.objects.create(code="none", name="None")
    method = ShippingMethod.objects.create(code="std", name="Std", currency="JMD")
    other = ShippingMethod.objects.create(code="exp", name="Exp", currency="JMD")
    for threshold in (0, 500, 100):
        ShippingRate.objects.create(method=method, threshold=threshold, price=Decimal("1"))
    ShippingRate.objects.create(method=other, threshold=7, price=Decimal("2"))
    classes = [TaxClass.objects.get(pk=standard.pk), TaxClass.objects.get(pk=bare.pk)]
    methods = [ShippingMethod.objects.get(pk=method.pk)]
    reversed_order = [TaxClass.objects.get(pk=standard.pk)]
    with _queries() as counted:
        prefetch_together((classes, "rates", ("country",)), ([], "rates", ()),
                          (methods, "rates", ("-threshold",)),
                          (reversed_order, "rates", ("-country",)))
    assert len(counted) == 1
    assert [r.country for r in reversed_order[0].rates.all()] == ["US", "CA", ""]
    expected = [(r.country, r.rate, True)
                for r in TaxRate.objects.filter(tax_class=standard).order_by("country")]
    with _queries() as counted:
        rates = [(r.country, r.rate, r.tax_class is classes[0]) for r in classes[0].rates.all()]
        assert rates == expected
        assert [country for country, *_ in rates] == ["", "CA", "US"]
        assert list(classes[1].rates.all()) == []
        assert [r.threshold for r in methods[0].rates.all()] == [500, 100, 0]
        assert all(r.method is methods[0] for r in methods[0].rates.all())
    assert len(counted) == 0
    with _queries() as counted:
        prefetch_together(([], "rates", ()))
    assert len(counted) == 0


def _queries():
    from django.test.utils import CaptureQueriesContext

    return CaptureQueriesContext(connection)


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_fetch_builds_instances_the_orm_would_build():
    """fetch's instances (built without Model.__init__ where that does nothing more) equal
    the ORM's: every field value and type, saved state, the database alias; they save and
    load their relations like any instance."""
    from carts.models import CartLine
    from orderflow.db import _loader, columns, fetch, plain_init

    cart = new_cart()
    product = factories.ProductFactory()
    CartLine.objects.create(cart=cart, product=product, quantity=2, unit_price=Decimal("1.5"),
                            metadata={"gift": True})
    assert plain_init(Cart) and plain_init(CartLine)
    sql = (f"SELECT {columns(Cart, 'c')}, {columns(CartLine, 'l')} FROM carts_cart c "
           "LEFT JOIN carts_cartline l ON l.cart_id = c.id WHERE c.id IN (%s, %s) ORDER BY c.id")
    empty = new_cart()
    (got, line), (got_empty, no_line) = fetch(sql, [cart.pk, empty.pk], Cart, CartLine)
    assert no_line is None  # the outer-joined row that is not there
    for mine, theirs in ((got, Cart.objects.get(pk=cart.pk)),
                         (line, CartLine.objects.get(cart=cart)),
                         (got_empty, Cart.objects.get(pk=empty.pk))):
        assert type(mine) is type(theirs)
        assert _fields(mine) == _fields(theirs)
        assert {k: type(v) for k, v in _fields(mine).items()} == \
            {k: type(v) for k, v in _fields(theirs).items()}
        assert (mine._state.adding, mine._state.db) == (False, theirs._state.db)
        assert mine._state.fields_cache == {}
    assert line.product == product and line.cart.pk == cart.pk
    line.quantity = 5
    line.save()
    assert CartLine.objects.get(pk=line.pk).quantity == 5
    _loader.cache_clear()


def test_fetch_runs_init_signals_when_a_model_has_receivers():
    from django.db.models.signals import post_init

    from orderflow.db import _loader, columns, fetch, plain_init

    cart = new_cart()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=Cart)
    _loader.cache_clear()
    try:
        assert not plain_init(Cart)
        ((got,),) = fetch(f"SELECT {columns(Cart, 'c')} FROM carts_cart c WHERE c.id = %s",
                          [cart.pk], Cart)
        assert got.pk == cart.pk and seen == [cart.pk]
    finally:
        post_init.disconnect(receiver, sender=Cart)
        _loader.cache_clear()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL loader")
def test_timestamps_are_read_by_the_c_loader_and_equal_djangos():
    import datetime

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
    cart = new_cart()
    assert Cart.objects.get(pk=cart.pk).created_at == cart.created_at


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="cursors are kept on PostgreSQL only (CI always runs on it)")
def test_statements_share_one_cursor_per_connection_but_are_still_counted():
    from orderflow.db import _cursor, columns, fetch

    cart = new_cart()
    sql = f"SELECT {columns(Cart, 'c')} FROM carts_cart c WHERE c.id = %s"
    fetch(sql, [cart.pk], Cart)
    with _cursor(connection) as first, _cursor(connection) as second:
        assert first is second  # kept, not a new cursor per statement
    with _queries() as counted:  # a test counting queries gets Django's debug cursors
        assert fetch(sql, [cart.pk], Cart)[0][0].pk == cart.pk
        assert fetch(sql, [cart.pk], Cart)[0][0].pk == cart.pk
    assert len(counted) == 2
    with _cursor(connection) as kept:
        pass
    real = connections["default"]
    real._orderflow_cursor = (object(), kept)  # as if kept from a connection since closed
    with _cursor(connection) as other:
        assert other is not kept  # never a cursor of another connection
    assert fetch(sql, [cart.pk], Cart)[0][0].pk == cart.pk
