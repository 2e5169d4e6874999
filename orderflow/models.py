"""Shared kernel tables: channels, the transactional outbox, and base classes."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Value, When
from django.db.models.functions import Cast, Concat, Right

from orderflow.money import CurrencyField

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_public_id(prefix: str) -> str:
    """An opaque id such as ``prod_7k2q...``: 128 random bits, never a database id."""
    # One read of 130 random bits, 5 bits per character (secrets.choice per character cost a
    # fifth of a bulk fan-out of thousands of rows).
    bits = int.from_bytes(secrets.token_bytes(17)) >> 6
    return f"{prefix}_" + "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(0, 130, 5))


def human_number(prefix: str, *, digits: int = 6, max_length: int = 20) -> models.GeneratedField:
    """A human number such as ``OF-000123`` for a model's rows: its own id (drawn from the
    table's sequence) with a prefix, zero-padded to ``digits`` (more digits once the id has
    them). The database computes it in the INSERT itself and hands it back with the new id
    (``RETURNING``): unique, never reused, no counter row for concurrent writers to queue
    on, and no second write. Works the same on PostgreSQL and SQLite."""
    text = Cast("id", models.CharField(max_length=max_length))
    padded = Right(Concat(Value("0" * digits), text), digits)
    return models.GeneratedField(
        expression=Concat(Value(prefix), Case(When(id__lt=10 ** digits, then=padded),
                                              default=text)),
        output_field=models.CharField(max_length=max_length), db_persist=True, unique=True,
    )


class PublicIdField(models.CharField):
    """Filled with ``<prefix>_<random>`` on insert, also by ``bulk_create``."""

    def __init__(self, *args, prefix: str = "obj", **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if not value:
            value = new_public_id(self.prefix)
            setattr(model_instance, self.attname, value)
        return value


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Channel(TimeStampedModel):
    """A sales channel. Carts and orders take theirs from the credential that made them."""

    ECOMMERCE = "ECOMMERCE"
    B2B_PORTAL = "B2B_PORTAL"
    MARKETPLACE = "MARKETPLACE"

    public_id = PublicIdField(prefix="chn")
    code = models.SlugField(max_length=40, unique=True, allow_unicode=False)
    name = models.CharField(max_length=120)
    currency = CurrencyField()
    is_active = models.BooleanField(default=True)
    # The defaults that let a cart check out with nothing but lines (docs/storefront.md):
    # a string reference, so the kernel imports no app.
    default_shipping_method = models.ForeignKey(
        "fulfillment.ShippingMethod", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
        help_text="Taken by a cart without a shipping method when it is priced and at checkout.",
    )
    cod_allowed = models.BooleanField(
        "cash on delivery allowed", default=True,
        help_text="Buyers may pay cash on delivery; without a payment kind, a buyer who is not "
                  "on credit terms pays COD.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def clean(self):
        method = self.default_shipping_method
        if method is not None and self.pk and method.channels.exists() \
                and not method.channels.filter(pk=self.pk).exists():
            raise ValidationError({"default_shipping_method":
                                   "This method is not offered in this channel."})


class ActorSource(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    BRIDGE = "bridge", "Bridge"
    SYSTEM = "system", "System"
    IMPORT = "import", "Import"


class TimelineEvent(models.Model):
    """Base of every ``<Entity>Event`` timeline table. Written only by ``orderflow.timeline``."""

    type = models.CharField(max_length=64, db_index=True)
    actor_source = models.CharField(
        max_length=16, choices=ActorSource.choices, default=ActorSource.SYSTEM
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.type} by {self.actor_label or self.actor_source}"


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes.

    Delivery (webhooks, exports) reads from here; nothing is sent from inside a transaction.
    """

    public_id = PublicIdField(prefix="evt")
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    aggregate_type = models.CharField(max_length=40, blank=True)
    aggregate_id = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], name="outbox_undispatched_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            # Plain btrees, no LIKE twins: every event writes them (and again when dispatched).
            models.Index(fields=["type"], name="outbox_type_idx"),
            models.Index(fields=["aggregate_id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self):
        return f"{self.type} {self.public_id}"


class DirtyDay(models.Model):
    """A day × channel whose analytics figures changed and must be recomputed.

    Written by ``orderflow.outbox`` in the same transaction as the outbox event of the change
    (so a rolled-back change marks nothing); the analytics beat task claims and deletes rows,
    then recomputes those days. Which day a change belongs to is decided by the markers the
    analytics app registers (``orderflow.outbox.register_day_marker``): the kernel names no app.
    """

    day = models.DateField()
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["day", "channel"], name="dirtyday_day_channel_unique"),
        ]

    def __str__(self):
        return f"{self.day} {self.channel_id}"
