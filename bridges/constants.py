from django.db import models


class KeyKind(models.TextChoices):
    PUBLISHABLE = "pub", "Publishable"
    SECRET = "sec", "Secret"


class KeyMode(models.TextChoices):
    TEST = "test", "Test"
    LIVE = "live", "Live"
