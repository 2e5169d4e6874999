"""orderflow.db.batched_creates: keys drawn first, the INSERTs of a block sent as one statement,
and nothing a reader, a savepoint or an error could tell apart from plain ``create``."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from carts.models import Cart
from catalog.models import Product
from orderflow.db import batched_creates, create
from orderflow.models import Channel, OutboxEvent
from orders.constants import ORDER_NUMBER_FORMAT
from orders.models import Order, OrderEvent, OrderLine, Payment, SupplierOrderLine
from tests import factories
from tests.storefront import build_storefront

pytestmark = pytest.mark.django_db

postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the batch exists on PostgreSQL only")

PAYLOAD = {"id": "ord_x", "note": 'quotes " and \\ backslashes, ünïcode', "lines": [1, 2]}


def stored(obj, *skip):
    """Every column as read back through the ORM, less ``skip``."""
    row = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(row, f.attname) for f in obj._meta.concrete_fields
            if f.attname not in skip}


def statements(captured):
    """Each captured statement as (kind, tables inserted into): kind is "keys" for the key
    draw, "batch" for queued INSERTs (sent without RETURNING), "insert" for a plain
    create's INSERT … RETURNING, else the statement's first word."""
    found = []
    for query in captured.captured_queries:
        sql = query["sql"]
        tables = re.findall(r'INSERT INTO "(\w+)"', sql)
        if sql.startswith("SELECT ARRAY(SELECT nextval(pg_get_serial_sequence("):
            kind = "keys"
        elif tables and " RETURNING " not in sql:
            kind = "batch"
        elif tables:
            kind = "insert"
        else:
            kind = sql.split()[0].upper()
        found.append((kind, tables))
    return found


def event(**values):
    return OutboxEvent(**{"type": "order.created", "payload": PAYLOAD,
                          "aggregate_type": "orders.order", "aggregate_id": "ord_x", **values})


@postgresql
def test_creates_get_their_drawn_keys_at_once_and_go_out_as_one_statement():
    old_channel = factories.ChannelFactory()
    # Twins written by plain create(), before the block: the same values, the row it stores.
    (plain_channel,) = create([Channel(code="plain", name="Plain", currency="JMD")])
    (plain_event,) = create([event(channel=old_channel)])

    with CaptureQueriesContext(connection) as captured:
        with batched_creates({Channel: 1, OutboxEvent: 2}) as batch:
            drawn = {model: list(pool) for model, pool in batch.keys.items()}
            (channel,) = create([Channel(code="batched", name="Plain", currency="JMD")])
            (first,) = create([event(channel=channel)])
            (second,) = create([event(channel=old_channel)])
            # Saved as far as the caller can tell, though nothing has been sent but the draw.
            assert len(captured) == 1
            assert channel.pk == drawn[Channel][0]
            assert [first.pk, second.pk] == drawn[OutboxEvent]
            for obj in (channel, first, second):
                assert obj._state.adding is False and obj._state.db == "default"
            assert first.public_id.startswith("evt_") and first.created_at is not None
            assert batch.keys == {Channel: [], OutboxEvent: []}

    assert statements(captured) == [
        ("keys", []),
        ("batch", ["orderflow_channel", "orderflow_outboxevent", "orderflow_outboxevent"]),
    ]
    assert captured[1]["sql"].startswith("WITH ")
    # Fresh keys from the sequences, after the plain rows'.
    assert channel.pk > plain_channel.pk and first.pk > plain_event.pk
    assert second.pk == first.pk + 1

    skip = ("id", "public_id", "code", "created_at", "updated_at")
    assert stored(channel, *skip) == stored(plain_channel, *skip)
    assert Channel.objects.get(pk=channel.pk).public_id == channel.public_id
    assert Channel.objects.get(pk=channel.pk).code == "batched"
    for row, channel_id in ((first, channel.pk), (second, old_channel.pk)):
        mine, theirs = stored(row, "id", "channel_id"), stored(plain_event, "id", "channel_id")
        assert mine.pop("public_id") == row.public_id != theirs.pop("public_id")
        assert mine.pop("created_at") == row.created_at
        assert abs(row.created_at - theirs.pop("created_at")) < timedelta(seconds=5)
        assert mine == theirs
        assert mine["payload"] == PAYLOAD
        assert OutboxEvent.objects.get(pk=row.pk).channel_id == channel_id


@postgresql
def test_unlogged_the_batch_goes_out_with_native_placeholders_and_stores_the_same_rows():
    # Not logging queries: the batch is sent through a cursor taking $1, $2, … (psycopg
    # re-parses a %s statement of more than 50 parameters on every call); what it stores
    # is what the %s form, sent while queries are logged, stores.
    channel = factories.ChannelFactory()
    connection.__dict__.pop("_orderflow_native_cursor", None)  # kept from an earlier test
    rows = {}
    for logged in (True, False):
        with CaptureQueriesContext(connection) if logged else transaction.atomic():
            with batched_creates({OutboxEvent: 8}):
                rows[logged] = create([event(channel=channel, type=f"t{i}") for i in range(8)])
    kept = connection._orderflow_native_cursor[1]
    assert type(kept.cursor).__name__ == "RawCursor"
    assert [stored(row, "id", "public_id", "created_at") for row in rows[False]] == \
        [stored(row, "id", "public_id", "created_at") for row in rows[True]]
    assert [OutboxEvent.objects.get(pk=row.pk).public_id for row in rows[False]] == \
        [row.public_id for row in rows[False]]


def test_the_native_form_numbers_every_placeholder_in_order():
    from orderflow.db import _batch_sql

    sql, native = _batch_sql(((Channel, 1), (OutboxEvent, 8)))
    count = sql.count("%s")
    assert count > 50 and "%s" not in native
    assert re.findall(r"\$(\d+)", native) == [str(n) for n in range(1, count + 1)]
    assert re.sub(r"\$\d+", "%s", native) == sql


@postgresql
def test_a_read_in_the_block_sees_the_rows_created_before_it_and_later_ones_still_go_out():
    with CaptureQueriesContext(connection) as captured:
        with batched_creates({OutboxEvent: 3}):
            (before,) = create([event(type="before")])
            assert OutboxEvent.objects.filter(pk=before.pk, type="before").exists()
            after = create([event(type="after"), event(type="after")])
            assert len(captured) == 3  # the two after the read are waiting
    assert statements(captured) == [
        ("keys", []),
        ("batch", ["orderflow_outboxevent"]),  # flushed right before the read
        ("SELECT", []),
        ("batch", ["orderflow_outboxevent"]),  # at the end of the block
    ]
    assert list(OutboxEvent.objects.filter(pk__in=[before.pk] + [a.pk for a in after])
                .order_by("pk").values_list("pk", "type")) == [
        (before.pk, "before"), (after[0].pk, "after"), (after[1].pk, "after")]


@postgresql
def test_a_read_through_a_cursor_of_its_own_sees_the_waiting_rows():
    # Not logging queries: orderflow.db keeps one cursor per connection, a raw cursor is new.
    with batched_creates({OutboxEvent: 2}):
        (first,) = create([event(type="first")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT type FROM orderflow_outboxevent WHERE id = %s", [first.pk])
            assert cursor.fetchall() == [("first",)]
        (second,) = create([event(type="second")])
        assert OutboxEvent.objects.get(pk=second.pk).type == "second"


@postgresql
def test_rows_beyond_the_keys_and_models_not_counted_are_written_in_order():
    channel = factories.ChannelFactory()
    with CaptureQueriesContext(connection) as captured:
        with batched_creates({Channel: 1, OutboxEvent: 2}) as batch:
            drawn = {model: list(pool) for model, pool in batch.keys.items()}
            (new_channel,) = create([Channel(code="late", name="Late", currency="JMD")])
            (one,) = create([event(type="one", channel=new_channel)])
            two, three = create([event(type="two"), event(type="three")])  # 1 key left
            (four,) = create([event(type="four", channel=channel)])  # takes it
            (five,) = create([event(type="five")])  # none left
            (cart,) = create([Cart(channel=new_channel, currency="JMD",  # not counted
                                   email="late@example.com", subtotal=Decimal("3.00"))])
            (six,) = create([Channel(code="six", name="Six", currency="JMD")])  # none left
    assert statements(captured) == [
        ("keys", []),
        ("batch", ["orderflow_channel", "orderflow_outboxevent"]),
        ("insert", ["orderflow_outboxevent"]),  # two, three
        ("batch", ["orderflow_outboxevent"]),  # four, sent before five
        ("insert", ["orderflow_outboxevent"]),  # five
        ("insert", ["carts_cart"]),
        ("insert", ["orderflow_channel"]),
    ]
    assert captured[1]["sql"].startswith("WITH ")
    assert [new_channel.pk, one.pk, four.pk] == drawn[Channel] + drawn[OutboxEvent]
    # The plain INSERTs take later keys from the same sequences.
    assert one.pk < two.pk < three.pk and four.pk < two.pk < five.pk
    assert new_channel.pk < six.pk
    created = [one, two, three, four, five]
    rows = {row.pk: row for row in OutboxEvent.objects.filter(pk__in=[e.pk for e in created])}
    assert [(rows[e.pk].type, rows[e.pk].channel_id) for e in created] == [
        ("one", new_channel.pk), ("two", None), ("three", None), ("four", channel.pk),
        ("five", None)]
    assert all(rows[e.pk].public_id == e.public_id and rows[e.pk].created_at == e.created_at
               for e in created)
    stamps = [e.created_at for e in created]
    assert stamps == sorted(stamps)  # stamped when created, in the order created
    assert Cart.objects.get(pk=cart.pk).channel_id == new_channel.pk
    assert Channel.objects.filter(pk__in=[new_channel.pk, six.pk]).count() == 2


@postgresql
def test_an_error_in_the_block_writes_what_was_queued_and_leaves_the_connection_plain():
    wrappers = list(connection.execute_wrappers)
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(RuntimeError, match="boom"), transaction.atomic():
            with batched_creates({OutboxEvent: 2}):
                queued = create([event(type="doomed"), event(type="doomed")])
                raise RuntimeError("boom")
    # As plain create() would have: the rows were written, and the savepoint took them.
    assert [kind for kind, _ in statements(captured)] == ["SAVEPOINT", "keys", "batch",
                                                          "ROLLBACK", "RELEASE"]
    assert not OutboxEvent.objects.filter(pk__in=[q.pk for q in queued]).exists()
    assert not OutboxEvent.objects.filter(type="doomed").exists()
    assert not hasattr(connection, "_orderflow_batch")
    assert connection.execute_wrappers == wrappers

    with CaptureQueriesContext(connection) as captured:
        (plain,) = create([event(type="plain")])
        assert statements(captured) == [("insert", ["orderflow_outboxevent"])]
    assert OutboxEvent.objects.get(pk=plain.pk).type == "plain"


@postgresql
def test_an_error_caught_in_the_same_transaction_keeps_the_rows_created_before_it():
    with pytest.raises(RuntimeError, match="caught"):
        with batched_creates({OutboxEvent: 2}):
            (kept,) = create([event(type="kept")])
            raise RuntimeError("caught")
    assert OutboxEvent.objects.get(pk=kept.pk).type == "kept"


@postgresql
def test_an_error_after_a_failed_statement_is_the_one_the_caller_sees():
    taken = create([event(type="taken")])[0].public_id
    with pytest.raises(IntegrityError), transaction.atomic():
        with batched_creates({OutboxEvent: 2}):
            create([event(type="waiting")])
            with connection.cursor() as cursor:  # sends the row; then fails the transaction
                cursor.execute("INSERT INTO orderflow_outboxevent (public_id, type, payload, "
                               "aggregate_type, aggregate_id, created_at) SELECT public_id, "
                               "type, payload, aggregate_type, aggregate_id, created_at "
                               "FROM orderflow_outboxevent WHERE public_id = %s", [taken])
    assert not OutboxEvent.objects.filter(type="waiting").exists()
    assert not hasattr(connection, "_orderflow_batch")


@postgresql
def test_a_savepoint_rolled_back_in_the_block_takes_only_its_own_rows():
    with batched_creates({OutboxEvent: 4}):
        (before,) = create([event(type="before")])
        with pytest.raises(RuntimeError), transaction.atomic():
            (inside,) = create([event(type="inside")])
            raise RuntimeError
        with transaction.atomic():
            (kept,) = create([event(type="kept")])
        (after,) = create([event(type="after")])
    found = set(OutboxEvent.objects.filter(pk__in=[before.pk, inside.pk, kept.pk, after.pk])
                .values_list("type", flat=True))
    assert found == {"before", "kept", "after"}


@postgresql
@pytest.mark.parametrize("counts", [
    pytest.param({}, id="plain"),
    pytest.param({OutboxEvent: 2}, id="batched"),
])
def test_a_savepoint_holding_an_invalid_row_still_protects_the_outer_transaction(counts):
    taken = create([event(type="taken")])[0].public_id
    with batched_creates(counts):
        with pytest.raises((RuntimeError, IntegrityError)), transaction.atomic():
            create([event(type="duplicate", public_id=taken)])  # unique public_id
            raise RuntimeError("gave up before any other statement")
        assert not OutboxEvent.objects.filter(type="duplicate").exists()
    assert OutboxEvent.objects.filter(public_id=taken).count() == 1


@postgresql
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_block_refuses():
    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(AssertionError, match="needs a transaction"):
            with batched_creates({OutboxEvent: 1}):
                pytest.fail("the block ran")
    assert len(captured) == 0
    assert not hasattr(connection, "_orderflow_batch")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the fallback elsewhere")
def test_elsewhere_than_postgresql_the_block_changes_nothing():
    wrappers = list(connection.execute_wrappers)
    with transaction.atomic(), batched_creates({OutboxEvent: 2}) as batch:
        assert batch.next_key(OutboxEvent) is None
        assert not hasattr(connection, "_orderflow_batch")
        assert connection.execute_wrappers == wrappers
        with CaptureQueriesContext(connection) as captured:
            (row,) = create([event(type="at once")])
        assert len(captured) == 1 and captured[0]["sql"].startswith("INSERT")
    assert OutboxEvent.objects.get(pk=row.pk).type == "at once"


@postgresql
def test_checkout_writes_the_order_and_everything_it_owns_in_one_statement():
    shop = build_storefront()
    client = shop.shopper(factories.CustomerFactory())
    owned = ["orders_order", "orders_orderline", "orders_payment", "orders_orderevent",
             "orderflow_outboxevent"]
    counts = {}
    for line_count in (1, 3):
        skus = [factories.ProductFactory(stock_on_hand=10).sku for _ in range(line_count)]
        cart_id = shop.ready_cart(client, [(sku, 1) for sku in skus])
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/checkout",
                                   {"cart_id": cart_id, "payment": {"kind": "cod"}},
                                   format="json")
        assert response.status_code == 201, response.content
        counts[line_count] = len(captured)
        found = statements(captured)
        writing = [tables for kind, tables in found if set(tables) & set(owned)]
        assert len(writing) == 1, found
        assert [kind for kind, tables in found if tables == writing[0]] == ["batch"]
        # The products have suppliers: the supplier orders forwarded at once join it too.
        assert set(writing[0]) == {*owned, "orders_supplierorder", "orders_supplierorderline"}
        assert writing[0].count("orders_orderline") == 1  # all lines in one VALUES list
        # The stock is reserved last, after the cart's conversion and the order's rows.
        sqls = [q["sql"] for q in captured.captured_queries]
        batch = next(i for i, sql in enumerate(sqls) if 'INSERT INTO "orders_order"' in sql)
        assert "UPDATE catalog_product AS p SET stock_reserved" in sqls[batch + 1]
        assert sqls[batch + 2].split()[0] in ("COMMIT", "RELEASE")  # its transaction ends
        assert any(sql.startswith('UPDATE "carts_cart" SET "status"') for sql in sqls[:batch])
        assert list(Product.objects.filter(sku__in=skus).values_list("stock_reserved",
                                                                     flat=True)) == \
            [1] * line_count
        keys = [i for i, (kind, _) in enumerate(found) if kind == "keys"]
        assert len(keys) == 1 and keys[0] < found.index(("batch", writing[0]))

        order = Order.objects.get(public_id=response.json()["id"])
        assert order.number == ORDER_NUMBER_FORMAT.format(order.pk)
        lines = list(OrderLine.objects.filter(order=order))
        assert sorted(line.sku for line in lines) == sorted(skus)
        assert Payment.objects.get(order=order).amount == order.total
        assert SupplierOrderLine.objects.filter(
            supplier_order__order=order, order_line__in=lines).count() == line_count
        assert list(OrderEvent.objects.filter(order=order)
                    .values_list("type", flat=True)) == ["order_placed"]
        assert list(OutboxEvent.objects.filter(aggregate_id=order.public_id).order_by("pk")
                    .values_list("type", flat=True)) == ["order.created", "order.confirmed"]
        payload = OutboxEvent.objects.get(type="order.created",
                                          aggregate_id=order.public_id).payload
        assert payload["number"] == order.number and len(payload["lines"]) == line_count
    assert counts[1] == counts[3], counts
