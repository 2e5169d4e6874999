"""Catalog state changes."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest

from catalog import events
from catalog.lock_objects import product_qs_select_for_update
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
    locked = product_qs_select_for_update().get(pk=product.pk)
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


@transaction.atomic(savepoint=False)  # nothing to undo: a refusal writes nothing
def stock_reserve(*, items: list[tuple[Product, int]]) -> None:
    """Reserve base units for many products, all or none.

    ``items`` are (product, base units); products that do not track inventory are skipped.
    Runs in the caller's transaction; raises ``InsufficientStock`` naming the first short
    sku and what is available; nothing is reserved then.
    """
    wanted: dict[int, int] = {}
    skus: dict[int, str] = {}
    for product, qty in items:
        if product.track_inventory and qty > 0:
            wanted[product.pk] = wanted.get(product.pk, 0) + qty
            skus[product.pk] = product.sku
    if not wanted:
        return
    # All or nothing: the rows are locked in primary-key order, every quantity is checked
    # against them, and only then is anything written (one UPDATE for all).
    locked = {pk: (on_hand, reserved) for pk, on_hand, reserved in
              product_qs_select_for_update().filter(pk__in=wanted)
              .values_list("pk", "stock_on_hand", "stock_reserved")}
    for pk, qty in wanted.items():
        on_hand, reserved = locked[pk]
        available = on_hand - reserved
        if available < qty:
            raise InsufficientStock(f"Only {max(available, 0)} of {skus[pk]} available.",
                                    sku=skus[pk], requested=qty, available=max(available, 0))
    Product.objects.filter(pk__in=wanted).update(
        stock_reserved=F("stock_reserved") + _per_product(wanted))


def _per_product(quantities: dict[int, int]) -> Case:
    """``CASE id WHEN … THEN qty …``: one quantity per product, for a single UPDATE."""
    return Case(*[When(pk=pk, then=Value(qty)) for pk, qty in quantities.items()],
                output_field=IntegerField())


def stock_release(*, quantities: dict[int, int]) -> None:
    """Give back reserved base units (cancel, edit); one statement."""
    wanted = {pk: qty for pk, qty in quantities.items() if qty > 0}
    if not wanted:
        return
    Product.objects.filter(pk__in=wanted, track_inventory=True).update(
        stock_reserved=Greatest(F("stock_reserved") - _per_product(wanted), Value(0))
    )


def stock_consume(quantities: dict[int, tuple[int, int]]) -> None:
    """Shipped units leave the shelf: on hand goes down by what shipped and reserved by the
    part of it that was reserved. ``{product_pk: (shipped, from_reserved)}``; one statement."""
    wanted = {pk: q for pk, q in quantities.items() if q[0] > 0}
    if not wanted:
        return
    shipped = _per_product({pk: q[0] for pk, q in wanted.items()})
    reserved = _per_product({pk: q[1] for pk, q in wanted.items()})
    Product.objects.filter(pk__in=wanted, track_inventory=True).update(
        stock_on_hand=F("stock_on_hand") - shipped, stock_reserved=F("stock_reserved") - reserved)
