"""Row locks of the catalog, for services only."""

from catalog.models import Product


def product_qs_select_for_update():
    """Products locked until the transaction ends, in primary-key order: writers that lock
    overlapping sets queue behind each other instead of deadlocking."""
    return Product.objects.order_by("pk").select_for_update(of=("self",))
