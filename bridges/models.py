from __future__ import annotations

from django.conf import settings
from django.db import models

from bridges.constants import (
    AckRule,
    AttemptOutcome,
    DeliveryStatus,
    ExportDestination,
    ExportFormat,
    ExportRunStatus,
    KeyKind,
    KeyMode,
    Ordering,
)
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
    kind = models.CharField(max_length=8, choices=Kind.choices)
    correlation_id = models.CharField(max_length=64)
    # The references carry no database constraint: a log row names a connection or key that
    # was just used, and checking it again (a lookup and a row lock in the referenced table)
    # cost every logged request. Deleting a connection or key still empties these columns
    # (``on_delete``, done by Django). The connection is indexed with created_at
    # (Meta.indexes), which serves that too.
    connection = models.ForeignKey(InboundConnection, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="log_entries",
                                   db_index=False, db_constraint=False)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="log_entries", db_constraint=False)
    client = models.CharField(max_length=120, blank=True,
                              help_text="client_id, key prefix or user as presented")
    method = models.CharField(max_length=8, blank=True)
    endpoint = models.CharField(max_length=300, help_text="Bridge action or API path.")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=64, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    object_ids = models.CharField(max_length=300, blank=True,
                                  help_text="Cart/order ids the call touched, space-separated.")
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # A row is written per API write, bridge call and webhook attempt, so every index
        # costs each of them; these are the ones a query uses: the admin's newest-first
        # list and date drill-down and the retention prune (created_at), a connection's
        # recent calls, a request looked up by the id its client saw in X-Request-Id
        # (``?correlation_id=`` in the admin's address) and the filter by problem code (rare
        # codes are what is looked for). Kind, direction and status are filters of few
        # values, and the admin's search box matches substrings, which no b-tree serves.
        indexes = [
            models.Index(fields=["connection", "-created_at"]),
            models.Index(fields=["correlation_id"], name="txlog_correlation_idx"),
            models.Index(fields=["code"], name="txlog_code_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.endpoint} {self.status_code}"


class WebhookEndpoint(TimeStampedModel):
    """A receiver of signed events (Standard Webhooks)."""

    public_id = PublicIdField(prefix="whe")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list, blank=True,
        help_text='Exact names ("order.created") or wildcards ("order.*", "*").',
    )
    channels = models.ManyToManyField(
        Channel, blank=True, related_name="+",
        help_text="Only events of these channels; none selected = every channel.",
    )
    is_active = models.BooleanField("active", default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret = models.CharField(max_length=80, editable=False)
    previous_secret = models.CharField(max_length=80, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    max_attempts = models.PositiveSmallIntegerField(default=8)
    ordering = models.CharField(max_length=8, choices=Ordering.choices,
                                default=Ordering.PARALLEL)
    retry_client_errors = models.BooleanField(
        default=False,
        help_text="Retry 4xx answers too (by default a 4xx other than 408/409/425/429 "
                  "goes straight to dead).",
    )
    ack_rule = models.CharField("acknowledgement rule", max_length=12, blank=True,
                                choices=AckRule.choices, default=AckRule.NONE)
    ack_field = models.CharField("acknowledgement JSON field", max_length=120, blank=True,
                                 help_text='Dotted path for "JSON field equals", e.g. '
                                           '"result.status".')
    ack_value = models.CharField("acknowledgement value", max_length=500, blank=True)
    custom_headers = models.JSONField(default=dict, blank=True)
    last_sequence = models.BigIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", editable=False)

    class Meta:
        ordering = ["url"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.description or self.url

    def subscribes_to(self, event_type: str) -> bool:
        for pattern in self.event_types:
            if pattern in ("*", event_type):
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


class WebhookDelivery(models.Model):
    """One event for one endpoint: its sequence, status and retry schedule."""

    public_id = PublicIdField(prefix="whd")
    # Every index here is written again on each of a delivery's two status updates (a status
    # change is never a HOT update): only the ones a query uses. The endpoint's is the
    # (endpoint, sequence) constraint's; the others are plain btrees (no LIKE twins: the log
    # is searched by equality or by contains, which a btree does not serve anyway).
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries", db_index=False)
    event = models.ForeignKey("orderflow.OutboxEvent", on_delete=models.PROTECT,
                              related_name="deliveries")
    event_type = models.CharField(max_length=64)
    reference = models.CharField(max_length=64, blank=True,
                                 help_text="Order (or invoice, cart …) number or id.")
    sequence = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts ever made.")
    series_attempts = models.PositiveIntegerField(
        default=0, help_text="Attempts since it was created or last replayed.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "sequence"],
                                    name="webhook_delivery_unique_sequence"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "next_attempt_at"], name="webhook_delivery_due_idx",
                         condition=models.Q(status="pending")),
            models.Index(fields=["lease_expires_at"], name="webhook_delivery_lease_idx",
                         condition=models.Q(status="sending")),
            models.Index(fields=["endpoint", "sequence"], name="webhook_delivery_open_idx",
                         condition=models.Q(status__in=["pending", "sending"])),
            models.Index(fields=["event_type"], name="webhook_delivery_type_idx"),
            models.Index(fields=["reference"], name="webhook_delivery_ref_idx"),
            models.Index(fields=["status"], name="webhook_delivery_status_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} #{self.sequence} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(db_index=True)
    url = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    latency_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error = models.CharField(max_length=500, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"],
                                    name="webhook_attempt_unique_number"),
        ]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error}"


class ExportSchedule(TimeStampedModel):
    """Orders changed since the last successful run, on a cron schedule (django-celery-beat)."""

    public_id = PublicIdField(prefix="exp")
    name = models.CharField(max_length=120, unique=True)
    cron = models.CharField(
        "cron expression", max_length=120, default="0 * * * *",
        help_text="minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\".",
    )
    format = models.CharField(max_length=4, choices=ExportFormat.choices,
                              default=ExportFormat.CSV)
    channels = models.ManyToManyField(Channel, blank=True, related_name="+",
                                      help_text="None selected = every channel.")
    statuses = models.JSONField(default=list, blank=True,
                                help_text="Order statuses to include; empty = all.")
    destination = models.CharField(max_length=10, choices=ExportDestination.choices,
                                   default=ExportDestination.DIRECTORY)
    url = models.URLField(max_length=500, blank=True)
    directory = models.CharField(max_length=500, blank=True)
    secret = models.CharField(max_length=80, editable=False)
    timeout_seconds = models.PositiveSmallIntegerField(default=30)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    is_active = models.BooleanField("active", default=True)
    watermark = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Orders changed after this moment go into the next run.")
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True,
                                         blank=True, on_delete=models.SET_NULL,
                                         related_name="+", editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ExportRun(models.Model):
    """One attempt of a schedule: what it covered (``changed_after`` < updated_at ≤
    ``changed_until``), what it wrote, and when it is retried."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Cron schedule"
        MANUAL = "manual", "Run now (admin)"
        RETRY = "retry", "Retry after a failure"

    public_id = PublicIdField(prefix="exr")
    schedule = models.ForeignKey(ExportSchedule, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=ExportRunStatus.choices,
                              default=ExportRunStatus.RUNNING, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="1 + the failed runs right before this one.")
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    changed_after = models.DateTimeField(null=True, blank=True)
    changed_until = models.DateTimeField()
    row_count = models.PositiveIntegerField(default=0)
    order_count = models.PositiveIntegerField(default=0)
    location = models.CharField(max_length=500, blank=True,
                                help_text="File written or URL posted to.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # The guard against overlapping runs of one schedule (beat and "Run now" at once,
            # a task delivered twice): a second claim fails instead of exporting twice.
            models.UniqueConstraint(fields=["schedule"], condition=models.Q(status="running"),
                                    name="export_run_one_running_per_schedule"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="export_run_retry_due_idx",
                         condition=models.Q(next_attempt_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.schedule} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
