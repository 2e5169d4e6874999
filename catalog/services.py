"""Catalog state changes."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Case, Exists, F, IntegerField, Value, When
from django.db.models.functions import Greatest

from catalog import events
from catalog.models import Product
from orderflow.errors import InsufficientStock, ValidationFailed
from orderflow.outbox import emit
from orderflow.timeline import Actor


@transaction.atomic
def product_adjust_stock(*, product: Product, delta: int, reason: str, actor: Actor) -> Product:
    """Count stock in or out (goods received, stocktake, damage).

    Refused when it would take on-hand below zero or below what open orders hold.
    """
    if delta == 0:
        raise ValidationFailed("A stock adjustment needs a non-zero quantity.",
                               code="invalid_quantity")
    locked = Product.objects.select_for_update().get(pk=product.pk)
    new = locked.stock_on_hand + delta
    if new < locked.stock_reserved:
        raise ValidationFailed(
            f"{locked.sku}: on hand would be {new}, below the {locked.stock_reserved} reserved "
            "by open orders.",
            code="stock_below_reserved",
            stock_on_hand=locked.stock_on_hand,
            stock_reserved=locked.stock_reserved,
        )
    old = locked.stock_on_hand
    locked.stock_on_hand = new
    locked.save(update_fields=["stock_on_hand", "updated_at"])
    events.stock_adjusted_event(product=locked, actor=actor, old=old, new=new, reason=reason)
    emit(
        "product.stock_changed",
        {"product_id": locked.public_id, "sku": locked.sku, "stock_on_hand": new,
         "stock_reserved": locked.stock_reserved, "delta": delta, "reason": reason},
        aggregate=locked,
    )
    product.stock_on_hand = new
    return locked


def stock_reserve(*, items: list[tuple[Product, int]]) -> None:
    """Reserve base units for many products in one statement, or none at all.

    ``items`` are (product, base units); products that do not track inventory are skipped.
    Runs in the caller's transaction (or its own when called alone); raises
    ``InsufficientStock`` naming the first short sku and what is available; nothing is
    reserved then.
    """
    wanted: dict[int, int] = {}
    skus: dict[int, str] = {}
    for product, qty in items:
        if product.track_inventory and qty > 0:
            wanted[product.pk] = wanted.get(product.pk, 0) + qty
            skus[product.pk] = product.sku
    if not wanted:
        return
    # All or nothing in one statement (the rows are locked): no row is updated when any is
    # short, so there is nothing to undo and no savepoint to pay for (``savepoint=False``: the
    # caller's transaction, or one of its own when called alone).
    with transaction.atomic(savepoint=False):
        updated = _reserve_all_or_nothing(wanted)
    if updated != len(wanted):
        available = dict(
            Product.objects.filter(pk__in=wanted)
            .annotate(available=F("stock_on_hand") - F("stock_reserved"))
            .values_list("pk", "available")
        )
        for pk, qty in wanted.items():
            if available[pk] < qty:
                raise InsufficientStock(
                    f"Only {max(available[pk], 0)} of {skus[pk]} available.",
                    sku=skus[pk], requested=qty, available=max(available[pk], 0),
                ) from None
        raise InsufficientStock("Stock changed while reserving; try again.") from None


RESERVE_SQL = f"""
WITH wanted (id, qty) AS MATERIALIZED (
    SELECT * FROM unnest(%s::bigint[], %s::integer[])
), locked AS MATERIALIZED (
    SELECT p.id, p.stock_on_hand, p.stock_reserved FROM {Product._meta.db_table} p
    WHERE p.id = ANY(%s::bigint[]) ORDER BY p.id FOR UPDATE
)
UPDATE {Product._meta.db_table} AS p SET stock_reserved = p.stock_reserved + w.qty
FROM wanted w
WHERE p.id = w.id AND NOT EXISTS (
    SELECT 1 FROM locked l JOIN wanted s ON s.id = l.id
    WHERE l.stock_on_hand < l.stock_reserved + s.qty
)"""


def _reserve_all_or_nothing(wanted: dict[int, int]) -> int:
    """Lock the products in primary-key order (concurrent checkouts of overlapping carts
    queue behind each other instead of deadlocking), then add every quantity to
    ``stock_reserved`` unless any product is short; the number of rows updated."""
    if connection.vendor == "postgresql":
        # The same statement as the ORM branch below, without building two querysets on
        # every checkout (their compilation cost more than the database's work).
        pks = list(wanted)
        with connection.cursor() as cursor:
            cursor.execute(RESERVE_SQL, [pks, [wanted[pk] for pk in pks], pks])
            return cursor.rowcount
    amount = Case(*[When(pk=pk, then=Value(qty)) for pk, qty in wanted.items()],
                  output_field=IntegerField())
    list(Product.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
         .values_list("pk", flat=True))
    short = Product.objects.filter(pk__in=wanted, stock_on_hand__lt=F("stock_reserved") + amount)
    return Product.objects.filter(pk__in=wanted).filter(~Exists(short)).update(
        stock_reserved=F("stock_reserved") + amount)


def stock_release(*, quantities: dict[int, int]) -> None:
    """Give back reserved base units (cancel, edit); one statement."""
    wanted = {pk: qty for pk, qty in quantities.items() if qty > 0}
    if not wanted:
        return
    amount = Case(*[When(pk=pk, then=Value(qty)) for pk, qty in wanted.items()],
                  output_field=IntegerField())
    Product.objects.filter(pk__in=wanted, track_inventory=True).update(
        stock_reserved=Greatest(F("stock_reserved") - amount, Value(0))
    )


def stock_consume(quantities: dict[int, tuple[int, int]]) -> None:
    """Shipped units leave the shelf: on hand goes down by what shipped and reserved by the
    part of it that was reserved. ``{product_pk: (shipped, from_reserved)}``; one statement."""
    wanted = {pk: q for pk, q in quantities.items() if q[0] > 0}
    if not wanted:
        return
    shipped = Case(*[When(pk=pk, then=Value(q[0])) for pk, q in wanted.items()],
                   output_field=IntegerField())
    reserved = Case(*[When(pk=pk, then=Value(q[1])) for pk, q in wanted.items()],
                    output_field=IntegerField())
    Product.objects.filter(pk__in=wanted, track_inventory=True).update(
        stock_on_hand=F("stock_on_hand") - shipped, stock_reserved=F("stock_reserved") - reserved)
