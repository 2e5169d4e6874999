"""Catalog state changes."""

from __future__ import annotations

from django.db import transaction

from catalog import events
from catalog.models import Product
from orderflow.errors import ValidationFailed
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
