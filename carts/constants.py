from django.db import models


class CartStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONVERTED = "converted", "Converted"
    ABANDONED = "abandoned", "Abandoned"
    EXPIRED = "expired", "Expired"


# What may change a cart's lines, addresses or shipping (an abandoned cart that comes back is
# active again, counted as recovered by the abandoned-cart feature).
EDITABLE_STATUSES = {CartStatus.ACTIVE, CartStatus.ABANDONED}


class CartProblem(models.TextChoices):
    """What would stop checkout right now (shown on the cart, refused at checkout)."""

    EMPTY = "cart_empty"
    NOT_PRICED = "not_priced"
    PRICE_CHANGED = "price_changed"
    INSUFFICIENT_STOCK = "insufficient_stock"
    PRODUCT_INACTIVE = "product_inactive"
    SHIPPING_METHOD_MISSING = "shipping_method_missing"
    SHIPPING_METHOD_UNAVAILABLE = "shipping_method_unavailable"
    ADDRESS_MISSING = "address_missing"
