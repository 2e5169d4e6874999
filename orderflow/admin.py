from datetime import datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.shortcuts import render
from django.utils import timezone
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.utils import parse_date_str

from orderflow.errors import DomainError
from orderflow.models import Channel, OutboxEvent


class TimelineInline(TabularInline):
    """Read-only timeline of an aggregate, newest first."""

    extra = 0
    can_delete = False
    show_change_link = False
    fields = ["created_at", "type", "actor_source", "actor_label", "message", "parameters"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name = "timeline event"
    verbose_name_plural = "timeline"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DayRangeFilter(RangeDateFilter):
    """unfold's from/to date range on a timestamp, by calendar day in the site's time zone:
    "to 6 Dec" includes the whole of 6 Dec (unfold's own compares with midnight). An admin
    using it sets ``list_filter_submit = True`` (the range is a form with a Filter button)."""

    def queryset(self, request, queryset):
        # Instants of the local day boundaries, not ``__date`` lookups: a date cast of the
        # column cannot use its index (the order list at 1,000,000 orders: docs/analytics.md).
        lookups = {}
        for suffix, lookup, days in (("_from", "gte", 0), ("_to", "lt", 1)):
            value = self.used_parameters.get(self.parameter_name + suffix)
            if not isinstance(value, str) or not value:
                continue
            day = parse_date_str(value)
            if day is None:
                return queryset.none()  # not a date: nothing matches (no 500)
            lookups[f"{self.field_path}__{lookup}"] = datetime.combine(
                day + timedelta(days=days), time.min, timezone.get_current_timezone())
        return queryset.filter(**lookups)


class ImportExportAdmin(ImportExportModelAdmin, ModelAdmin):
    """django-import-export in unfold's look (its own import/export forms)."""

    import_form_class = ImportForm
    export_form_class = ExportForm


class ServiceManagedAdmin(ModelAdmin):
    """Rows that only services create and change: every field read-only, no add, no delete.
    Buttons and actions on the admin call the services instead."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Nothing on the page is editable: no Save buttons.
        extra = {"show_save": False, "show_save_and_continue": False,
                 "show_save_and_add_another": False, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra)

    def has_delete_permission(self, request, obj=None):
        return False


def confirm_page(request, model_admin, obj, *, title: str, button: str, text: str = "",
                 summary: str = "", form=None, danger: bool = False):
    """The page a change-page button (an unfold ``actions_detail`` link) leads to: what will
    happen and the inputs it needs, in its own form. GET shows it, POST runs the service, so
    a link never changes anything and no form is ever nested in the change form."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": title,
        "button": button,
        "text": text,
        "summary": summary,
        "form": form,
        "danger": danger,
    }
    return render(request, "admin/orderflow/confirm_action.html", context)


class ObjectActionsMixin:
    """unfold's ``actions_detail`` buttons, each offered only when ``detail_action_allowed``
    says the object would accept it (no Refund on an unpaid order)."""

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        return True

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        obj = self.get_object(request, unquote(str(object_id))) if object_id else None
        if obj is None:
            return actions
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}_"
        return [a for a in actions
                if self.detail_action_allowed(request, obj, a.action_name.removeprefix(prefix))]


def run_service(request, func, /, success: str | None = None, **kwargs):
    """Call a service from an admin action and show its outcome (or its refusal)."""
    try:
        result = func(**kwargs)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return None
    if success:
        messages.success(request, success)
    return result


@admin.register(Channel)
class ChannelAdmin(ModelAdmin):
    list_display = ["code", "name", "currency", "is_active", "created_at"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(ModelAdmin):
    list_display = ["public_id", "type", "aggregate_id", "channel", "created_at", "dispatched_at"]
    list_filter = ["type", "channel", ("dispatched_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "type", "aggregate_id"]
    date_hierarchy = "created_at"
    list_select_related = ["channel"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Django's and django-celery-beat's own models in unfold's look (the same pages, restyled).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


for _model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule,
               ClockedSchedule):
    admin.site.unregister(_model)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    pass


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(ModelAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    pass


@admin.register(SolarSchedule)
class SolarScheduleAdmin(ModelAdmin):
    pass


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ModelAdmin):
    pass
