from __future__ import annotations

from django.conf import settings
from django.db import models

from bridges.constants import KeyKind, KeyMode
from orderflow.models import Channel, PublicIdField, TimeStampedModel


class ApiKey(TimeStampedModel):
    """A storefront credential. Only a SHA-256 of the key is stored; the key is shown once."""

    public_id = PublicIdField(prefix="key")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=3, choices=KeyKind.choices)
    mode = models.CharField(max_length=4, choices=KeyMode.choices, default=KeyMode.TEST)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="api_keys")
    prefix = models.CharField(
        max_length=32, editable=False,
        help_text="The first characters of the key, to recognise it (of_test_sec_ab12…).",
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_secret(self) -> bool:
        return self.kind == KeyKind.SECRET

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first answer to a request carrying ``Idempotency-Key``, per principal, for 24 h.

    Written in the same transaction as the work it records, so a replay never sees an answer
    whose work rolled back.
    """

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self):
        return f"{self.principal}:{self.key}"


class BridgeScope(models.TextChoices):
    CARTS_CREATE = "carts:create", "carts:create — create carts and change their lines"
    CARTS_READ = "carts:read", "carts:read — read carts, prices and shipping estimates"
    ORDERS_CREATE = "orders:create", "orders:create — convert carts to orders"
    ORDERS_READ = "orders:read", "orders:read — read orders"


class InboundConnection(TimeStampedModel):
    """A server-to-server integration calling ``POST /bridge/{client_id}/{action}`` with
    HMAC-signed requests."""

    public_id = PublicIdField(prefix="conn")
    name = models.CharField(max_length=120)
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    # The HMAC key must be usable, so it is kept (encrypted at rest is the database's job);
    # only holders of settings.manage can reveal it in the admin.
    secret = models.CharField(max_length=128, editable=False)
    previous_secret = models.CharField(max_length=128, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_enabled = models.BooleanField("enabled", default=True)
    scopes = models.JSONField(default=list, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="connections")
    allowed_ips = models.TextField(
        "IP allow-list", blank=True,
        help_text="IPv4/IPv6 addresses or CIDR ranges, one per line or comma-separated; "
                  "empty = any address.",
    )
    replay_window_seconds = models.PositiveIntegerField(default=60)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", editable=False)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("settings_manage", "settings.manage: see and rotate integration secrets"),
            ("webhooks_manage", "webhooks.manage: manage webhook endpoints and deliveries"),
        ]

    def __str__(self):
        return f"{self.name} ({self.client_id})"


class ReplayNonce(models.Model):
    """Signatures already accepted, for the database replay guard (the embedded default;
    production uses Redis)."""

    digest = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.digest


class TransactionLog(models.Model):
    """One inbound bridge/API write or outbound delivery, with redacted bodies."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Kind(models.TextChoices):
        BRIDGE = "bridge", "Bridge"
        API = "api", "REST API"
        WEBHOOK = "webhook", "Webhook"
        EXPORT = "export", "Export"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices,
                                 default=Direction.INBOUND)
    kind = models.CharField(max_length=8, choices=Kind.choices, db_index=True)
    correlation_id = models.CharField(max_length=64, db_index=True)
    connection = models.ForeignKey(InboundConnection, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="log_entries")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="log_entries")
    client = models.CharField(max_length=120, blank=True, db_index=True,
                              help_text="client_id, key prefix or user as presented")
    method = models.CharField(max_length=8, blank=True)
    endpoint = models.CharField(max_length=300, help_text="Bridge action or API path.")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(db_index=True)
    code = models.CharField(max_length=64, blank=True, db_index=True)
    latency_ms = models.PositiveIntegerField(default=0)
    object_ids = models.CharField(max_length=300, blank=True, db_index=True,
                                  help_text="Cart/order ids the call touched, space-separated.")
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"])]

    def __str__(self):
        return f"{self.kind} {self.endpoint} {self.status_code}"
