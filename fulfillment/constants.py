from django.db import models


class RateBasis(models.TextChoices):
    FLAT = "flat", "Flat price"
    ORDER_TOTAL = "total", "By order subtotal"
    WEIGHT = "weight", "By weight"
