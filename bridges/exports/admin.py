"""Scheduled exports in the admin: schedules (cron, filters, destination, signing secret, "Run
now") and the run log. Registered on import from bridges/admin.py.

Every page needs ``bridges.webhooks_manage``, like the webhook pages. Nothing here writes a row:
saving, deleting and running a schedule go through ``bridges.exports.services``; runs are
read-only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action

from bridges.constants import ExportDestination, ExportRunStatus
from bridges.exports.services import (
    export_schedule_create,
    export_schedule_delete,
    export_schedule_run_now,
    export_schedule_update,
    export_schedule_validate,
    settle_seconds,
)
from bridges.exports.tasks import export_enqueue
from bridges.models import ExportRun, ExportSchedule
from bridges.webhooks.admin import (
    SETTINGS_MANAGE,
    ReadOnlyMixin,
    WebhooksOnlyMixin,
    can_manage_webhooks,
    staff_actor,
)
from orderflow.admin import DayRangeFilter, ObjectActionsMixin, confirm_page, run_service
from orderflow.display import when
from orderflow.errors import ValidationFailed
from orders.constants import OrderStatus

RUN_COLOURS = {ExportRunStatus.RUNNING: "#1d4ed8", ExportRunStatus.SUCCEEDED: "#15803d",
               ExportRunStatus.FAILED: "#b91c1c"}
RECENT_RUNS = 10


def run_badge(run: ExportRun):
    return format_html(
        '<span class="of-badge of-badge-{}" style="background:{};color:#fff;padding:1px 7px;'
        'border-radius:9px;font-size:11px;white-space:nowrap">{}</span>',
        run.status, RUN_COLOURS.get(run.status, "#374151"), run.get_status_display())


def runs_url(**filters) -> str:
    url = reverse("admin:bridges_exportrun_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def log_url(schedule: ExportSchedule) -> str:
    return (reverse("admin:bridges_transactionlog_changelist") + "?"
            + urlencode({"kind__exact": "export", "q": schedule.public_id}))


# --- schedules ---------------------------------------------------------------------------------

class ExportScheduleForm(forms.ModelForm):
    """The service's fields; ``clean`` runs the service's validation so the form shows the
    same errors (cron syntax, https and private addresses, absolute directory)."""

    statuses = forms.MultipleChoiceField(
        choices=OrderStatus.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Only orders in these statuses; none ticked = every status.")
    url = forms.URLField(
        label="URL", max_length=500, required=False, assume_scheme="https",
        help_text="For the URL destination: the export is POSTed here, signed like a webhook. "
                  "https is required, except for hosts listed in "
                  "ORDERFLOW_WEBHOOK_ALLOW_PRIVATE or with DEBUG on.")
    # The model's ``watermark`` is not editable (a model form refuses it), so the form field
    # has its own name and the service receives it as ``watermark``.
    export_after = forms.SplitDateTimeField(
        label="Export orders changed after", required=False, widget=AdminSplitDateTime,
        help_text="Where the next run starts. Empty = the next run exports every order. "
                  "Each successful run moves it forward by itself; set it back to export "
                  "orders again.")

    class Meta:
        model = ExportSchedule
        fields = ["name", "is_active", "cron", "format", "channels", "statuses",
                  "destination", "url", "directory", "timeout_seconds", "max_attempts"]
        widgets = {"channels": forms.CheckboxSelectMultiple,
                   "format": forms.RadioSelect, "destination": forms.RadioSelect}
        help_texts = {
            "cron": "Five fields: minute hour day-of-month month day-of-week, e.g. "
                    "\"*/15 * * * *\" (every 15 minutes) or \"30 2 * * mon-fri\" (02:30 on "
                    "weekdays), in the server's time zone.",
            "directory": "For the directory destination: an absolute path on the server the "
                         "workers write to, e.g. /srv/exports/erp.",
            "max_attempts": "A failed run is retried with the webhook backoff (about 5 s, "
                            "5 min, 30 min, …) until this many consecutive failures; the next "
                            "scheduled run always tries again.",
        }

    #: The form fields that go to the service as they are (the admin rebuilds ``Meta.fields``
    #: from its fieldsets).
    SERVICE_FIELDS = ["name", "is_active", "cron", "format", "channels", "statuses",
                      "destination", "url", "directory", "timeout_seconds", "max_attempts"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["statuses"] = list(self.instance.statuses or [])
            self.initial["export_after"] = self.instance.watermark

    def service_changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS
                if name in self.cleaned_data}
        data["statuses"] = list(data.get("statuses") or [])
        data["url"] = data.get("url") or ""
        data["directory"] = data.get("directory") or ""
        if not self.instance.pk or "export_after" in self.changed_data:
            data["watermark"] = self.cleaned_data.get("export_after")
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        changes = {k: v for k, v in self.service_changes().items() if k != "channels"}
        try:
            export_schedule_validate(schedule=self.instance if self.instance.pk else None,
                                     **changes)
        except ValidationFailed as exc:
            for field, field_messages in (exc.errors or {"": [exc.detail]}).items():
                field = "export_after" if field == "watermark" else field
                target = field if field in self.fields else None
                for message in field_messages:
                    self.add_error(target, message)
        return cleaned


@admin.register(ExportSchedule)
class ExportScheduleAdmin(WebhooksOnlyMixin, ObjectActionsMixin, ModelAdmin):
    """Bridges → Export schedules. The change page shows the signing secret (masked; revealed
    to settings.manage), the watermark, the beat entry, "Run now" and the recent runs."""

    form = ExportScheduleForm
    list_display = ["name", "is_active", "cron", "format", "destination_display", "watermark",
                    "last_run_status", "last_run_at"]
    list_filter = ["is_active", "format", "destination", "channels"]
    search_fields = ["name", "=public_id", "url", "directory"]
    change_form_template = "admin/bridges/exportschedule/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "is_active", "cron"]}),
        ("What", {"fields": ["format", "channels", "statuses", "export_after"]}),
        ("Where", {"fields": ["destination", "url", "directory", "timeout_seconds",
                              "max_attempts"]}),
    ]

    def has_add_permission(self, request):
        return can_manage_webhooks(request.user)

    def has_change_permission(self, request, obj=None):
        return can_manage_webhooks(request.user)

    def has_delete_permission(self, request, obj=None):
        return can_manage_webhooks(request.user)

    def get_queryset(self, request):
        latest = ExportRun.objects.filter(schedule=OuterRef("pk")).order_by("-started_at", "-id")
        return super().get_queryset(request).annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_started=Subquery(latest.values("started_at")[:1]),
        )

    @admin.display(description="destination")
    def destination_display(self, obj):
        where = obj.url if obj.destination == ExportDestination.URL else obj.directory
        return format_html("{} <code>{}</code>", obj.get_destination_display().split(" ")[0],
                           where)

    @admin.display(description="last run", ordering="last_status")
    def last_run_status(self, obj):
        if not obj.last_status:
            return "—"
        return format_html('<a href="{}">{}</a>', runs_url(schedule__id__exact=obj.pk),
                           ExportRunStatus(obj.last_status).label)

    @admin.display(description="last run at", ordering="last_started")
    def last_run_at(self, obj):
        return obj.last_started

    def save_model(self, request, obj, form, change):
        data = form.service_changes()
        if change:
            stored = ExportSchedule.objects.get(pk=obj.pk)
            saved = export_schedule_update(schedule=stored, **data)
        else:
            saved = export_schedule_create(**data)
            messages.info(request, "A signing secret (whsec_…) was generated; it is on the "
                                   "schedule's page.")
        obj.pk, obj.public_id, obj.secret = saved.pk, saved.public_id, saved.secret
        obj.periodic_task_id, obj.watermark = saved.periodic_task_id, saved.watermark

    def save_related(self, request, form, formsets, change):
        # Channels were set by the service; the form's save_m2m would write them again.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        export_schedule_delete(schedule=obj)

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            export_schedule_delete(schedule=schedule)

    # --- the inspector and its buttons

    actions_detail = ["run_now", "reveal"]

    def has_settings_manage_permission(self, request, obj=None) -> bool:
        """unfold's ``permissions=["settings_manage"]`` on the reveal/rotate actions."""
        return request.user.has_perm(SETTINGS_MANAGE)

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        return obj.is_active if name == "run_now" else True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        schedule = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if schedule is not None:
            extra.update(self.inspector_context(request, schedule, reveal=False))
        return super().change_view(request, object_id, form_url, extra)

    def inspector_context(self, request, schedule: ExportSchedule, *, reveal: bool) -> dict:
        task = schedule.periodic_task
        return {
            "schedule": schedule,
            "secret_display": schedule.secret if reveal else schedule.secret[:6] + "•" * 20,
            "revealed": reveal,
            "can_reveal": request.user.has_perm(SETTINGS_MANAGE),
            "periodic_task": task,
            "next_run_at": _next_run_at(task),
            "settle_seconds": settle_seconds(),
            "recent_runs": schedule.runs.order_by("-started_at", "-id")[:RECENT_RUNS],
            "runs_link": runs_url(schedule__id__exact=schedule.pk),
            "failed_link": runs_url(schedule__id__exact=schedule.pk, status__exact="failed"),
            "log_link": log_url(schedule),
        }

    def _schedule(self, request, object_id) -> ExportSchedule:
        schedule = get_object_or_404(ExportSchedule, pk=object_id)
        if not self.has_change_permission(request, schedule):
            raise PermissionDenied
        return schedule

    # --- the inspector's buttons: unfold detail actions (a link to a page with its own form)

    @action(description="Run now", url_path="run-now", icon="play_arrow")
    def run_now(self, request, object_id):
        schedule = self._schedule(request, object_id)
        if request.method != "POST":
            return confirm_page(request, self, schedule, title=f"Run {schedule.name} now?",
                                button="Run now",
                                text="Exports what changed since the watermark, in the "
                                     "background, exactly like a scheduled run.")
        if run_service(request, export_schedule_run_now, schedule=schedule,
                       actor=staff_actor(request),
                       success=f"Export of {schedule.name} queued: it runs in the background "
                               f"and appears under Recent runs (reload the page).") is not None:
            transaction.on_commit(
                lambda: export_enqueue(schedule.pk, trigger=ExportRun.Trigger.MANUAL))
        return redirect("admin:bridges_exportschedule_change", schedule.pk)

    @action(description="Reveal secret", url_path="reveal-secret", icon="visibility",
            permissions=["settings_manage"])
    def reveal(self, request, object_id):
        schedule = self._schedule(request, object_id)
        if request.method != "POST":
            return confirm_page(request, self, schedule, title="Reveal the signing secret?",
                                button="Reveal secret",
                                text="Receivers of URL uploads verify the webhook-signature "
                                     "header with it.")
        context = {
            **self.admin_site.each_context(request),
            **self.inspector_context(request, schedule, reveal=True),
            "opts": self.model._meta,
            "title": f"Signing secret of {schedule}",
        }
        return render(request, "admin/bridges/exportschedule/secret.html", context)


def _next_run_at(task):
    """When beat next starts the schedule (an estimate from its crontab)."""
    if task is None or not task.enabled or task.crontab is None:
        return None
    try:
        schedule = task.crontab.schedule
        now = schedule.now()
        return now + schedule.remaining_estimate(task.last_run_at or now)
    except Exception:  # noqa: BLE001 - only a hint on the page
        return None


# --- runs --------------------------------------------------------------------------------------

@admin.register(ExportRun)
class ExportRunAdmin(ReadOnlyMixin, ModelAdmin):
    """Every run of every schedule, newest first: what it covered, what it wrote, why it
    failed and when it is retried."""

    # What a run did, on screen at 1280 px; the window, file and HTTP status are on its page.
    list_display = ["started", "schedule", "trigger", "status_badge", "counts", "short_error",
                    "next_attempt"]
    list_display_links = ["started"]
    list_filter = ["status", "schedule", "trigger", ("started_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["=public_id", "schedule__name", "=schedule__public_id", "location",
                     "error"]
    search_help_text = "Run id (exr_…), schedule name or id, file/URL, error text."
    list_select_related = ["schedule"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    fields = ["public_id", "schedule_link", "trigger", "attempt", "status_badge", "started_at",
              "finished_at", "changed_after", "changed_until", "order_count", "row_count",
              "location", "status_code", "error", "next_attempt_at", "log_link"]
    readonly_fields = fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return run_badge(obj)

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return when(obj.started_at)

    @admin.display(description="retry at", ordering="next_attempt_at")
    def next_attempt(self, obj):
        return when(obj.next_attempt_at) if obj.next_attempt_at else ""

    @admin.display(description="exported")
    def counts(self, obj):
        # The file or URL written is its tooltip (and on the run's page).
        return format_html('<span style="white-space:nowrap" title="{}">{} orders · {} rows'
                           '</span>', obj.location, obj.order_count, obj.row_count)

    @admin.display(description="schedule")
    def schedule_link(self, obj):
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:bridges_exportschedule_change", args=[obj.schedule_id]),
                           obj.schedule)

    @admin.display(description="transaction log")
    def log_link(self, obj):
        url = (reverse("admin:bridges_transactionlog_changelist") + "?"
               + urlencode({"q": obj.public_id}))
        return format_html('<a href="{}">Uploads of this run</a>', url)

