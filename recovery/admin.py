"""The recovery back office: abandoned carts with the reminders each got ("Send next reminder
now", "Stop reminders"), per-channel settings with their steps, and the recovery summary."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timesince
from unfold.admin import ModelAdmin, TabularInline

from carts.constants import CartStatus
from orderflow.admin import ServiceManagedAdmin, run_service
from orderflow.display import badge, money
from recovery import services
from recovery.models import (
    AbandonedCart,
    RecoveryEmail,
    RecoverySettings,
    RecoveryStep,
    ReminderStop,
    Unsubscribe,
)
from recovery.selectors import recovery_summary


class AgeFilter(admin.SimpleListFilter):
    title = "idle for"
    parameter_name = "idle"
    RANGES = {"1h": (0, 1), "24h": (1, 24), "3d": (24, 72), "older": (72, None)}

    def lookups(self, request, model_admin):
        return [("1h", "under 1 hour"), ("24h", "1 to 24 hours"), ("3d", "1 to 3 days"),
                ("older", "over 3 days")]

    def queryset(self, request, queryset):
        if self.value() not in self.RANGES:
            return queryset
        low, high = self.RANGES[self.value()]
        now = timezone.now()
        queryset = queryset.filter(last_activity_at__lte=now - timedelta(hours=low))
        if high is not None:
            queryset = queryset.filter(last_activity_at__gt=now - timedelta(hours=high))
        return queryset


class StepReachedFilter(admin.SimpleListFilter):
    title = "step reached"
    parameter_name = "step"

    def lookups(self, request, model_admin):
        return [("0", "no e-mail yet"), ("1", "step 1"), ("2", "step 2"), ("3", "step 3 or more")]

    def queryset(self, request, queryset):
        value = self.value()
        if value in {"0", "1", "2"}:
            return queryset.filter(steps_sent=int(value))
        if value == "3":
            return queryset.filter(steps_sent__gte=3)
        return queryset


class RecoveredFilter(admin.SimpleListFilter):
    title = "recovered"
    parameter_name = "recovered"

    def lookups(self, request, model_admin):
        return [("link", "yes, through a reminder"), ("own", "yes, on their own"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() == "link":
            return queryset.filter(recovered_step__isnull=False)
        if self.value() == "own":
            return queryset.filter(recovered_at__isnull=False, recovered_step__isnull=True)
        if self.value() == "no":
            return queryset.filter(recovered_at__isnull=True)
        return queryset


class UnsubscribedFilter(admin.SimpleListFilter):
    title = "unsubscribed"
    parameter_name = "unsubscribed"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(unsubscribed=self.value() == "yes")
        return queryset


class RecoveryEmailInline(TabularInline):
    model = RecoveryEmail
    extra = 0
    can_delete = False
    fields = ["step", "sent_at", "to", "subject", "total_display", "sent_by", "link_opened_at"]
    readonly_fields = fields
    verbose_name_plural = "e-mails sent"

    @admin.display(description="total when sent")
    def total_display(self, obj):
        return money(obj.total, obj.currency)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AbandonedCart)
class AbandonedCartAdmin(ServiceManagedAdmin):
    """Every cart that was ever abandoned, with where its sequence stands."""

    change_list_template = "admin/recovery/abandonedcart/change_list.html"
    # All visible at 1280 px: the channel is a filter, the idle time a short duration.
    list_display = ["public_id", "status_badge", "email", "total_display", "idle_display",
                    "steps_sent", "sequence_display"]
    list_filter = ["channel", AgeFilter, StepReachedFilter, RecoveredFilter, UnsubscribedFilter,
                   "status"]
    search_fields = ["public_id", "email"]
    list_select_related = ["channel"]
    inlines = [RecoveryEmailInline]
    actions = ["send_next_now", "stop_reminders"]
    fields = ["public_id", "status", "channel", "email", "marketing_consent", "total",
              "currency", "last_activity_at", "abandoned_at", "recovered_at", "recovered_step",
              "expired_at", "converted_at"]

    def get_queryset(self, request):
        return (super().get_queryset(request).filter(abandoned_at__isnull=False)
                .annotate(steps_sent=Count("recovery_emails"),
                          unsubscribed=Exists(Unsubscribe.objects.filter(email=OuterRef("email"))),
                          stopped=Exists(ReminderStop.objects.filter(cart=OuterRef("pk")))))

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="total", ordering="total")
    def total_display(self, obj):
        return money(obj.total, obj.currency)

    @admin.display(description="idle", ordering="last_activity_at")
    def idle_display(self, obj):
        return timesince(obj.last_activity_at, depth=1)

    @admin.display(description="e-mails", ordering="steps_sent")
    def steps_sent(self, obj):
        return obj.steps_sent

    @admin.display(description="sequence")
    def sequence_display(self, obj):
        """Where the reminders stand: recovered (through which step), unsubscribed, stopped,
        running, or ended (converted or expired without coming back)."""
        if obj.recovered_step:
            return f"recovered (step {obj.recovered_step})"
        if obj.recovered_at:
            return "recovered (on their own)"
        if obj.unsubscribed:
            return "unsubscribed"
        if obj.stopped:
            return "stopped"
        return "running" if obj.status == CartStatus.ABANDONED else "ended"

    def _each(self, request, queryset, func, verb: str, *, args_of):
        done = skipped = 0
        for cart in queryset.order_by("pk"):
            if run_service(request, func, **args_of(cart)) is None:
                skipped += 1
            else:
                done += 1
        if done:
            messages.success(request, f"{done} cart(s): {verb}.")
        if skipped:
            messages.warning(request, f"{skipped} cart(s) skipped: not abandoned any more, "
                                      f"stopped, unsubscribed, or every step already sent.")

    @admin.action(description="Send next reminder now", permissions=["change"])
    def send_next_now(self, request, queryset):
        by = request.user.get_username()
        self._each(request, queryset, services.reminder_send, "next reminder sent",
                   args_of=lambda cart: {"cart_pk": cart.pk, "sent_by": by})

    @admin.action(description="Stop reminders", permissions=["change"])
    def stop_reminders(self, request, queryset):
        by = request.user.get_username()
        self._each(request, queryset, services.reminders_stop, "reminders stopped",
                   args_of=lambda cart: {"cart": cart, "stopped_by": by})

    def get_urls(self):
        return [
            path("summary/", self.admin_site.admin_view(self.summary_view),
                 name="recovery_abandonedcart_summary"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra = {"summary_url": reverse("admin:recovery_abandonedcart_summary")}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def summary_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        periods = [recovery_summary(days=days) for days in (7, 30)]
        context = {
            **self.admin_site.each_context(request),
            "title": "Recovery summary",
            "opts": self.model._meta,
            "periods": periods,
        }
        return render(request, "admin/recovery/summary.html", context)


class RecoveryStepInline(TabularInline):
    model = RecoveryStep
    extra = 0
    fields = ["number", "delay_seconds", "subject", "message"]


@admin.register(RecoverySettings)
class RecoverySettingsAdmin(ModelAdmin):
    """A channel's sequence; an empty field, or no steps, takes the ORDERFLOW_RECOVERY_*
    settings (docs/recovery.md)."""

    list_display = ["channel", "enabled", "idle_seconds", "link_days", "expiry_days",
                    "storefront_url", "require_consent"]
    list_filter = ["enabled"]
    inlines = [RecoveryStepInline]


@admin.register(Unsubscribe)
class UnsubscribeAdmin(ModelAdmin):
    list_display = ["email", "created_at", "cart"]
    search_fields = ["email"]
    readonly_fields = ["email", "created_at", "cart"]

    def has_add_permission(self, request):
        return False
