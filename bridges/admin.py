from django.contrib import admin, messages
from django.utils.html import format_html

from bridges.models import ApiKey, IdempotencyKey
from bridges.services import api_key_create, api_key_revoke
from orderflow.admin import run_service
from orderflow.timeline import Actor


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix_display", "kind", "mode", "channel", "active",
                    "created_at", "revoked_at"]
    list_filter = ["kind", "mode", "channel", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "public_id"]
    list_select_related = ["channel"]
    actions = ["revoke_selected"]
    fields = ["name", "kind", "mode", "channel", "public_id", "prefix", "created_by",
              "created_at", "revoked_at"]
    readonly_fields = ["public_id", "prefix", "created_by", "created_at", "revoked_at"]

    @admin.display(description="key")
    def prefix_display(self, obj):
        return format_html("<code>{}…</code>", obj.prefix)

    @admin.display(boolean=True)
    def active(self, obj):
        return obj.is_active

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a key's kind, mode and channel are fixed once issued
            return [*self.readonly_fields, "kind", "mode", "channel"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "updated_at"])
            return
        created, raw = api_key_create(name=obj.name, kind=obj.kind, mode=obj.mode,
                                      channel=obj.channel, created_by=request.user)
        obj.pk, obj.public_id = created.pk, created.public_id
        messages.warning(
            request,
            format_html("Copy the key now — it is shown only this once: <code>{}</code>", raw),
        )

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            run_service(request, api_key_revoke, api_key=api_key,
                        actor=Actor.staff(request.user), success=f"Revoked {api_key}.")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: orders and carts keep pointing at their key


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["principal", "key", "response_status", "created_at"]
    search_fields = ["principal", "key"]
    date_hierarchy = "created_at"
    readonly_fields = ["principal", "key", "request_hash", "response_status", "response_body",
                       "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
