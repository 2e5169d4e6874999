"""Hand-written SQL for the hottest statements, with the ORM's own value handling.

Compiling an ORM query costs about 1 ms of CPU on the storefront's busiest reads (a cart with
its shipping method, its lines with their products): several times the database's own work.
``fetch`` runs a fixed SQL text instead and builds the instances the way the ORM does (the
columns of each model in field order, the field and backend converters, ``Model.from_db``), so
the result is indistinguishable from ``select_related`` — related instances are assigned
through their descriptors and cost no further query; ``prefetch`` does the same for a reverse
foreign key. ``create`` (``bulk_create`` / ``objects.create``), ``save_fields``
(``save(update_fields=…)``) and ``update_rows`` (``bulk_update``) likewise prepare every value
with its field's ``pre_save`` and ``get_db_prep_save``. Used only where a benchmark showed it.
"""

from __future__ import annotations

import datetime
import inspect
from contextlib import contextmanager, suppress
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init


def _db():
    return connections[DEFAULT_DB_ALIAS]


class _cursor:
    """``with connection.cursor() as cursor``, with one cursor kept per open connection.

    Each new cursor costs ~30 µs of CPU (Django's checks and wrapper, psycopg's adapter
    map), as much as a third of a short statement. The kept cursor is used only when a new
    one would be the same kind: on PostgreSQL, not while queries are logged (DEBUG, or a
    test counting queries: those get Django's debug cursor), not before the request's health
    check, and only on the connection it was made on.

    ``native=True`` asks, where a cursor would be kept, for one taking PostgreSQL's own
    ``$1, $2, …`` placeholders (psycopg's ``RawCursor``, through Django's cursor wrapper:
    errors and execute wrappers as usual); ``cursor.native`` tells the caller which form to
    send. psycopg caches its parse of a ``%s`` statement only up to 50 parameters, so a long
    generated statement sent with ``%s`` is re-parsed on every call (0.5 ms for checkout's
    batch of INSERTs). Elsewhere (queries logged: Django's debug cursor formats ``%s``
    statements) the caller gets an ordinary cursor."""

    __slots__ = ("cursor", "fresh")

    def __init__(self, connection, native: bool = False):
        raw = connection.connection
        attr = "_orderflow_native_cursor" if native else "_orderflow_cursor"
        kept = getattr(connection, attr, None)
        if (raw is None or connection.vendor != "postgresql" or connection.queries_logged
                or (connection.health_check_enabled and not connection.health_check_done)):
            self.cursor, self.fresh = connection.cursor(), True
            self.cursor.native = False
        elif kept is not None and kept[0] is raw and not raw.closed:
            self.cursor, self.fresh = kept[1], False
        else:
            if native:
                from psycopg import RawCursor

                connection.validate_thread_sharing()
                self.cursor = connection.make_cursor(RawCursor(raw))
            else:
                self.cursor = connection.cursor()
            self.cursor.native, self.fresh = native, False
            setattr(connection, attr, (raw, self.cursor))

    def __enter__(self):
        return self.cursor

    def __exit__(self, *exc):
        if self.fresh:
            self.cursor.close()


def columns(model: type[Model], alias: str) -> str:
    """``alias."col", …`` for every concrete field of ``model``, in field order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


# Descriptors of concrete fields that assigning to a new instance may bypass: a plain
# DeferredAttribute has no __set__, and ForeignKeyDeferredAttribute.__set__ only clears a
# cached related object, which a new instance does not have.
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def plain_init(model: type[Model]) -> bool:
    """Whether ``model.from_db(db, names, values)`` with every concrete field is the same as
    setting the instance's ``__dict__`` directly: neither ``from_db`` nor ``__init__``
    overridden, no ``pre_init``/``post_init`` receivers, no field descriptor with its own
    ``__set__``."""
    return (
        model.from_db.__func__ is Model.from_db.__func__
        and model.__init__ is Model.__init__
        and not pre_init.has_listeners(model) and not post_init.has_listeners(model)
        and all(type(inspect.getattr_static(model, field.attname, None)) in _PLAIN_DESCRIPTORS
                for field in model._meta.concrete_fields)
    )


@lru_cache(maxsize=64)
def _loader(model: type[Model], vendor: str):
    fields = model._meta.concrete_fields
    pk_index = fields.index(model._meta.pk)
    names = [field.attname for field in fields]
    converters = []
    for index, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((index, col, found))
    # Model.__init__ costs ~20 µs for a wide row (two signals, a setattr per field): where
    # it would do nothing more, the instance is built as it would leave it.
    fast = plain_init(model)
    new = object.__new__

    def load(values: list, connection):
        for index, col, functions in converters:
            value = values[index]
            for function in functions:
                value = function(value, col, connection)
            values[index] = value
        if values[pk_index] is None:  # an outer-joined row that is not there
            return None
        if not fast:
            return model.from_db(connection.alias, names, values)
        obj = new(model)
        obj._state = state = ModelState()
        state.adding = False
        state.db = connection.alias
        obj.__dict__.update(zip(names, values, strict=True))
        return obj

    return load, len(fields)


def fetch(sql: str, params: list, *models: type[Model]) -> list[tuple]:
    """Run ``sql`` (whose SELECT list is ``columns(m, …)`` of each of ``models`` in order) and
    return one tuple of instances per row; an outer-joined model that is absent is ``None``."""
    connection = _db()  # the wrapper itself: the proxy costs a lookup per use
    loaders = [_loader(model, connection.vendor) for model in models]
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for row in rows:
        start, instances = 0, []
        for load, width in loaders:
            instances.append(load(list(row[start:start + width]), connection))
            start += width
        result.append(tuple(instances))
    return result


@lru_cache(maxsize=512)
def _field(model: type[Model], name: str):
    """A concrete field by name or attname (``api_key_id``: pass ids, not instances)."""
    for field in model._meta.concrete_fields:
        if name in (field.name, field.attname):
            return field
    raise LookupError(f"{model.__name__} has no field {name}")


def update_rows(model: type[Model], objs: list[Model], names: list[str]) -> None:
    """``bulk_update(objs, names)`` in one ``UPDATE … FROM (VALUES …)`` on PostgreSQL, whose
    text the ORM's bulk_update (a CASE per row and field) takes several times longer to build.
    Elsewhere, bulk_update."""
    connection = _db()  # the wrapper itself: the proxy costs a lookup per use
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, names)
        return
    fields = [_field(model, name) for name in names]
    pk = model._meta.pk
    table = model._meta.db_table
    row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    sets = ", ".join(f'"{f.column}" = v."{f.column}"::{f.db_type(connection)}' for f in fields)
    aliases = ", ".join(f'"{f.column}"' for f in fields)
    sql = (f'UPDATE {table} SET {sets} FROM (VALUES {", ".join([row] * len(objs))}) '
           f'AS v("pk", {aliases}) WHERE {table}."{pk.column}" = v."pk"::{pk.db_type(connection)}')
    params = []
    for obj in objs:
        params.append(obj.pk)
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)


# ``SET LOCAL synchronous_commit TO off`` as an expression, for a statement the transaction
# runs anyway (one round trip fewer than the SET). A statement run on its own (autocommit) is
# its own transaction: the setting lasts until its COMMIT, which reads it then.
RELAX_COMMIT_SQL = "set_config('synchronous_commit', 'off', true)"


@lru_cache(maxsize=256)
def _create_sql(model: type[Model], with_pk: bool, rows: int, relaxed: bool = False
                ) -> tuple[str, tuple]:
    opts = model._meta
    fields = tuple(f for f in opts.concrete_fields if with_pk or f is not opts.pk)
    cols = ", ".join(f'"{f.column}"' for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (f'INSERT INTO "{opts.db_table}" ({cols}) VALUES {", ".join([row] * rows)} '
           f'RETURNING "{opts.pk.column}"' + (f", {RELAX_COMMIT_SQL}" if relaxed else ""))
    return sql, fields


def create(objs: list[Model], *, durable: bool = True) -> list[Model]:
    """``bulk_create(objs)`` (one model, unsaved instances) as one ``INSERT … VALUES …
    RETURNING`` on PostgreSQL, whose text is built once per model and row count.

    Every value goes through its field exactly as the ORM's insert does (``pre_save`` with
    ``add=True`` — timestamps, public ids — then ``get_db_prep_save``), and the instances get
    their primary keys and saved state. Like ``bulk_create`` it sends no signals (the
    project has no receivers), so it also stands in for ``Model.objects.create``. Rows that
    carry their own primary key (drawn from the sequence first) are inserted with it.
    Elsewhere, and for a mix of preset and missing keys, ``bulk_create``.

    ``durable=False`` is for rows that are records of what happened, not business data (the
    transaction log): outside a transaction, on PostgreSQL, the INSERT's own commit does not
    wait for its WAL to reach the disk (``synchronous_commit`` off for that one statement,
    ~1 ms of fsync saved per request). The row is visible at once and written to disk within
    a fraction of a second (the WAL writer's cycle); only a crash of the database server in
    that window can lose it — never a later durable commit, which flushes all WAL before it.
    Inside a transaction the flag does nothing: that transaction's own commit decides."""
    connection = _db()  # the wrapper itself: the proxy costs a lookup per use
    if not objs:
        return objs
    model = type(objs[0])
    batch = getattr(connection, "_orderflow_batch", None)
    if batch is not None and batch.add(model, objs):
        return objs
    preset = [obj.pk is not None for obj in objs]
    if connection.vendor != "postgresql" or (any(preset) and not all(preset)):
        return model.objects.bulk_create(objs)
    relaxed = not durable and relaxable_alone(connection)
    sql, fields = _create_sql(model, preset[0], len(objs), relaxed)
    params = _insert_params(objs, fields, connection)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall()
    pk_name = model._meta.pk.attname
    for obj, (pk, *_) in zip(objs, ids, strict=True):
        setattr(obj, pk_name, pk)
    _mark_saved(objs, connection)
    return objs


def _insert_params(objs: list[Model], fields, connection) -> list:
    # As the ORM's insert: pre_save with add=True (timestamps, public ids), then the value
    # for the database.
    return [field.get_db_prep_save(field.pre_save(obj, True), connection)
            for obj in objs for field in fields]


def _mark_saved(objs: list[Model], connection) -> None:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


# -- several INSERTs in one statement ---------------------------------------------------------

@lru_cache(maxsize=64)
def _keys_sql(models: tuple[type[Model], ...]) -> str:
    arrays = ", ".join(
        f"ARRAY(SELECT nextval(pg_get_serial_sequence('{m._meta.db_table}', "
        f"'{m._meta.pk.column}')) FROM generate_series(1, %s))" for m in models)
    return f"SELECT {arrays}"


def _numbered(sql: str) -> str:
    """``sql`` with PostgreSQL's ``$1, $2, …`` for its ``%s`` placeholders (for
    :class:`_cursor` ``native``); identifiers here are quoted model names, no "%s" in them."""
    pieces = sql.split("%s")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], 1))


@lru_cache(maxsize=64)
def _batch_sql(shape: tuple[tuple[type[Model], int], ...]) -> tuple[str, str]:
    """The one statement for INSERTs of ``shape`` ((model, rows) in order), with ``%s``
    placeholders and with ``$n``."""
    parts = []
    for model, rows in shape:
        insert = _create_sql(model, True, rows)[0]
        parts.append(insert[:insert.rindex(" RETURNING ")])
    *first, last = parts
    sql = (("WITH " + ", ".join(f"w{i} AS ({part})" for i, part in enumerate(first)) + " ")
           if first else "") + last
    return sql, _numbered(sql)


class _Batch:
    """The keys drawn for a :func:`batched_creates` block and the INSERTs waiting."""

    def __init__(self, connection, keys: dict[type[Model], list[int]]):
        self.connection = connection
        self.keys = keys
        self.waiting: list[tuple[type[Model], list[Model], list]] = []
        self.flushing = False

    def next_key(self, model: type[Model]) -> int | None:
        pool = self.keys.get(model)
        return pool.pop(0) if pool else None

    def add(self, model: type[Model], objs: list[Model]) -> bool:
        """Queue ``objs`` (their keys from the pool) if the pool has keys for all of those
        that need one; otherwise False, and ``create`` writes them itself — after what is
        waiting, so rows still reach the database in the order they were created."""
        pool = self.keys.get(model)
        missing = [obj for obj in objs if obj.pk is None]
        if pool is None or len(missing) > len(pool):
            self.flush()
            return False
        pk_name = model._meta.pk.attname
        for obj in missing:
            setattr(obj, pk_name, pool.pop(0))
        _mark_saved(objs, self.connection)
        # Values are prepared now, as create() would have (timestamps stamped at the call).
        fields = _create_sql(model, True, len(objs))[1]
        self.waiting.append((model, objs, _insert_params(objs, fields, self.connection)))
        return True

    def flush(self) -> None:
        """Every waiting INSERT, as one statement (data-modifying CTEs, the last one the
        main statement); foreign keys are checked at its end (or, deferred, at commit)."""
        if not self.waiting or self.flushing:
            return
        waiting, self.waiting = self.waiting, []
        sql, native_sql = _batch_sql(tuple((model, len(objs)) for model, objs, _ in waiting))
        params = [value for _, _, values in waiting for value in values]
        self.flushing = True
        try:
            with _cursor(self.connection, native=True) as cursor:
                cursor.execute(native_sql if cursor.native else sql, params)
        finally:
            self.flushing = False

    def before_statement(self, execute, sql, params, many, context):
        """``execute_wrapper``: whatever runs next sees the waiting rows — except a rollback
        to a savepoint, which would undo them: every waiting row was created after the last
        statement, so after that savepoint was set, and is dropped instead (a row that could
        not be written must not stop the rollback that recovers from it)."""
        if self.waiting and not self.flushing:
            if sql.startswith("ROLLBACK TO SAVEPOINT"):
                self.waiting = []
            else:
                self.flush()
        return execute(sql, params, many, context)


@contextmanager
def batched_creates(counts: dict[type[Model], int]):
    """Inside a transaction, :func:`create` of these models costs no round trip of its own:
    their keys are drawn from the sequences first (one statement for all, ``counts`` of
    each), each ``create`` assigns them and queues its INSERT, and the queued INSERTs go to
    the database as one statement — at the end of the block, or as soon as any other
    statement is about to run on the connection (a read, a savepoint, an UPDATE), so nothing
    can miss them. The instances have their keys and saved state at once, as after
    ``create``. A model without keys left (or not in ``counts``) is written by ``create``
    as usual, after what is waiting. An error leaving the block still writes what is
    waiting, as plain ``create`` would have (unless the transaction has failed); a rollback
    to a savepoint drops the rows created since. An integrity error in a queued row
    surfaces when the rows are sent, not at its ``create``.
    Yields the batch, whose ``next_key(Model)`` hands out a key for a row built with it
    (None elsewhere than PostgreSQL, where the block changes nothing)."""
    connection = _db()
    if connection.vendor != "postgresql" or getattr(connection, "_orderflow_batch", None):
        yield _NoBatch
        return
    assert connection.in_atomic_block, "batched_creates needs a transaction"
    models = tuple(model for model, count in counts.items() if count > 0)
    keys = {}
    if models:
        with _cursor(connection) as cursor:
            cursor.execute(_keys_sql(models), [counts[model] for model in models])
            keys = {model: list(found) for model, found in zip(models, cursor.fetchone(),
                                                                 strict=True)}
    batch = _Batch(connection, keys)
    connection._orderflow_batch = batch
    try:
        with connection.execute_wrapper(batch.before_statement):
            try:
                yield batch
            except BaseException:
                # As plain create() would have left it: the rows created before the error
                # are written (a caller may catch it and go on in this transaction) — unless
                # the transaction has failed already, whose rollback takes everything.
                if batch.waiting and not _transaction_failed(connection):
                    with suppress(DatabaseError):  # the caller's error is the one to see
                        batch.flush()
                raise
            batch.flush()
    finally:
        del connection._orderflow_batch


def _transaction_failed(connection) -> bool:
    from psycopg.pq import TransactionStatus

    return connection.connection.info.transaction_status == TransactionStatus.INERROR


class _NoBatch:
    @staticmethod
    def next_key(model: type[Model]) -> None:
        return None


def relaxable_alone(connection=None) -> bool:
    """Whether a statement run now would be its own transaction on PostgreSQL (no
    transaction open, autocommit), so that carrying ``RELAX_COMMIT_SQL`` relaxes that
    statement's commit and nothing else."""
    connection = connection or _db()
    return (connection.vendor == "postgresql" and not connection.in_atomic_block
            and connection.get_autocommit())


def relax_commit() -> None:
    """Let the current transaction's COMMIT return before its WAL is on disk
    (``SET LOCAL synchronous_commit TO off``), for changes that can be lost in a crash of
    the database server without harm: PostgreSQL keeps such a transaction atomic and in
    order, makes it visible at once, and writes it within the WAL writer's cycle (a fraction
    of a second); only a server crash in that window loses it, and a later durable commit
    flushes all WAL before its own record, so nothing durable ever rests on it. Saves ~1 ms
    of fsync per commit here. Nothing outside a transaction or elsewhere than PostgreSQL.
    Callers: cart edits (carts.services, unless ORDERFLOW_DURABLE_CART_EDITS), the
    transaction log's batches; a statement run alone may carry ``RELAX_COMMIT_SQL``
    instead (:func:`relaxable_alone`)."""
    connection = _db()
    if relaxable_in_transaction(connection):
        with _cursor(connection) as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


def relaxable_in_transaction(connection=None) -> bool:
    """Whether :func:`relax_commit` would relax something now (a transaction open on
    PostgreSQL): a statement of that transaction may then carry ``RELAX_COMMIT_SQL``
    instead, for the same effect without a round trip of its own."""
    connection = connection or _db()
    return connection.vendor == "postgresql" and connection.in_atomic_block


@lru_cache(maxsize=256)
def _save_sql(model: type[Model], names: tuple[str, ...]) -> tuple[str, tuple]:
    opts = model._meta
    fields = tuple(_field(model, name) for name in names)
    sets = ", ".join(f'"{f.column}" = %s' for f in fields)
    return f'UPDATE "{opts.db_table}" SET {sets} WHERE "{opts.pk.column}" = %s', fields


def save_fields(obj: Model, names: list[str]) -> None:
    """``obj.save(update_fields=names)`` for a row the caller holds (locked, or just
    written): the same values (``pre_save`` with ``add=False``, so ``auto_now`` fields are
    stamped; ``get_db_prep_save``) in one UPDATE whose text is built once. No signals, as
    with :func:`create`."""
    connection = _db()  # the wrapper itself: the proxy costs a lookup per use
    if connection.vendor != "postgresql":
        obj.save(update_fields=names)
        return
    sql, fields = _save_sql(type(obj), tuple(dict.fromkeys(names)))
    params = [field.get_db_prep_save(field.pre_save(obj, False), connection)
              for field in fields]
    params.append(obj.pk)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError(f"{type(obj).__name__} {obj.pk}: save_fields updated "
                                f"{cursor.rowcount} rows")


@lru_cache(maxsize=64)
def _children_sql(groups: tuple[tuple[type[Model], str, tuple[str, ...]], ...]):
    """One statement reading the children of every (parent model, related name, order)
    group: each group's rows in a subquery of its own, the subqueries FULL JOINed ON false,
    so that every row holds one child of one group and NULLs for the others."""
    selects, sources, orders, relations = [], [], [], []
    for i, (parent, related_name, order_by) in enumerate(groups):
        rel = parent._meta.get_field(related_name)
        child, fk, alias = rel.related_model, rel.field, f"r{i}"
        selects.append(columns(child, alias))
        sources.append(f'(SELECT * FROM "{child._meta.db_table}" '
                       f'WHERE "{fk.column}" = ANY(%s::{parent._meta.pk.db_type(connection)}[]))'
                       f" {alias}")
        orders += [f'{alias}."{_field(child, name.lstrip("-")).column}"'
                   + (" DESC" if name.startswith("-") else "") for name in order_by]
        orders.append(f'{alias}."{child._meta.pk.column}"')
        relations.append((child, fk))
    joined = sources[0] + "".join(f" FULL JOIN {source} ON false" for source in sources[1:])
    sql = f"SELECT {', '.join(selects)} FROM {joined} ORDER BY {', '.join(orders)}"
    return sql, tuple(relations)


def prefetch(parents: list[Model], related_name: str, *, order_by: tuple[str, ...] = ()
             ) -> None:
    """``prefetch_related_objects(parents, Prefetch(related_name,
    queryset=Child.objects.order_by(*order_by)))`` for a reverse foreign key, with a fixed
    SQL text: ``parent.<related_name>.all()`` then answers from memory, and each child's
    foreign key points back at its parent, as Django's prefetch leaves them. Several
    instances of one row (lines sharing a tax class) each get the children. Elsewhere than
    PostgreSQL, that ``prefetch_related_objects``."""
    prefetch_together((parents, related_name, order_by))


def prefetch_together(*groups: tuple[list[Model], str, tuple[str, ...]]) -> None:
    """Several :func:`prefetch` calls, each ``(parents, related_name, order_by)``, in one
    statement on PostgreSQL (one round trip instead of one per group)."""
    groups = tuple(group for group in groups if group[0])
    if not groups:
        return
    if _db().vendor != "postgresql":
        from django.db.models import Prefetch, prefetch_related_objects

        for parents, related_name, order_by in groups:
            child = parents[0]._meta.get_field(related_name).related_model
            prefetch_related_objects(parents, Prefetch(
                related_name, queryset=child._default_manager.order_by(*order_by)))
        return
    sql, relations = _children_sql(tuple((type(parents[0]), related_name, tuple(order_by))
                                         for parents, related_name, order_by in groups))
    found: list[dict] = [{} for _ in groups]
    for row in fetch(sql, [list({parent.pk for parent in parents}) for parents, *_ in groups],
                     *(child for child, _ in relations)):
        for by_parent, obj, (_, fk) in zip(found, row, relations, strict=True):
            if obj is not None:
                by_parent.setdefault(getattr(obj, fk.attname), []).append(obj)
    for (parents, related_name, _), by_parent, (child, fk) in zip(groups, found, relations,
                                                                 strict=True):
        cache_name = fk.remote_field.cache_name
        for parent in parents:
            manager = getattr(parent, related_name)
            queryset = manager._apply_rel_filters(child._default_manager.get_queryset())
            queryset._result_cache = children = by_parent.get(parent.pk, [])
            queryset._prefetch_done = True
            for obj in children:
                fk.set_cached_value(obj, parent)
            parent.__dict__.setdefault("_prefetched_objects_cache", {})[cache_name] = queryset


# -- reading timestamps ----------------------------------------------------------------------

def native_utc_timestamps(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: on a PostgreSQL connection whose time zone is UTC,
    timestamptz values are read by psycopg's C loader instead of Django's.

    Django replaces psycopg's loader with a pure-Python subclass that re-labels each value
    with the connection's time zone (about 5 µs a value instead of 0.5: a cart with its lines
    holds dozens). In UTC the C loader already gives exactly that (``datetime.timezone.utc``,
    the session being set to UTC by Django), so nothing changes but the cost. The registered
    class only hands out the C loader: psycopg instantiates loaders through the class, and
    Django reads its ``timezone`` to see the cursor needs no loader of its own."""
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.postgres.types["timestamptz"].oid
    native = psycopg.adapters.get_loader(oid, Format.TEXT)
    if native is None or native.__module__.startswith("psycopg.types"):
        return  # no C implementation (pure-Python psycopg): Django's loader stays

    class NativeUtcLoader:
        timezone = datetime.UTC
        format = native.format

        def __new__(cls, oid, context=None):
            return native(oid, context)

    connection.connection.adapters.register_loader(oid, NativeUtcLoader)
