"""Product timeline entries. Written only from catalog services, inside their transaction."""

from catalog.models import Product, ProductEvent
from orderflow.timeline import Actor, record

STOCK_ADJUSTED = "stock_adjusted"


def stock_adjusted_event(*, product: Product, actor: Actor, old: int, new: int,
                         reason: str) -> ProductEvent:
    return record(
        ProductEvent, product=product, actor=actor, type=STOCK_ADJUSTED,
        message=reason,
        parameters={"stock_on_hand": {"old": old, "new": new}, "delta": new - old},
    )
