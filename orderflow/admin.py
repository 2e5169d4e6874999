from django.contrib import admin, messages

from orderflow.errors import DomainError
from orderflow.models import Channel, OutboxEvent


class TimelineInline(admin.TabularInline):
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


class ServiceManagedAdmin(admin.ModelAdmin):
    """Rows that only services create and change: every field read-only, no add, no delete.
    Buttons and actions on the admin call the services instead."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "is_active", "created_at"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
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
