from django.conf import settings
from django.db import models
from django.utils import timezone

from imports.constants import ImportFormat, ImportKind, ImportMode, ImportStatus
from orderflow.models import PublicIdField


class ImportJob(models.Model):
    """One uploaded file imported in the background (``imports.tasks.import_job_run_task``)."""

    public_id = PublicIdField(prefix="imp")
    kind = models.CharField(max_length=32, choices=ImportKind.choices)
    format = models.CharField(max_length=8, choices=ImportFormat.choices)
    mode = models.CharField(max_length=16, choices=ImportMode.choices,
                            default=ImportMode.ALL_OR_NOTHING)
    status = models.CharField(max_length=16, choices=ImportStatus.choices,
                              default=ImportStatus.QUEUED, db_index=True)
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    missing_columns = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} import {self.public_id}"

    @property
    def progress(self) -> int:
        """Percent of the current phase's rows done (validating, then importing)."""
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.rows_done * 100 // self.total_rows)

    @property
    def rows_per_second(self) -> float | None:
        if not self.started_at or not self.rows_done:
            return None
        end = self.finished_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return round(self.rows_done / seconds, 1) if seconds > 0 else None

    @property
    def seconds_left(self) -> int | None:
        rate = self.rows_per_second
        if not rate or not self.total_rows or self.finished_at:
            return None
        return int(max(0, self.total_rows - self.rows_done) / rate)


class ImportRowError(models.Model):
    """A row the import refused: its number (1 = the first row after the header), the column
    and a message a person can act on, and the row as read, for the failed-rows CSV."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    # [[column, value], …] in the file's order (a JSON object would lose it in jsonb).
    raw = models.JSONField(default=list)

    class Meta:
        ordering = ["job", "row_number", "id"]
        indexes = [models.Index(fields=["job", "row_number"])]

    def __str__(self):
        return f"row {self.row_number}: {self.message}"
