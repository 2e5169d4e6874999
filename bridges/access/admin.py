"""API keys, idempotency keys and bridge connections (the inspector) in the admin."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action

from bridges.access.network import parse_allow_list
from bridges.access.services import (
    api_key_create,
    api_key_rename,
    api_key_revoke,
    connection_create,
    connection_rotate_secret,
    connection_update,
)
from bridges.models import ApiKey, BridgeScope, IdempotencyKey, InboundConnection, TransactionLog
from orderflow.admin import confirm_page, run_service
from orderflow.display import badge, when
from orderflow.timeline import Actor


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
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
            api_key_rename(api_key=obj, name=obj.name)
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
class IdempotencyKeyAdmin(ModelAdmin):
    list_display = ["principal", "key", "response_status", "created_at"]
    search_fields = ["principal", "key"]
    date_hierarchy = "created_at"
    readonly_fields = ["principal", "key", "request_hash", "response_status", "response_body",
                       "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConnectionForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=BridgeScope.choices,
                                       widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = InboundConnection
        fields = ["name", "is_enabled", "channel", "scopes", "allowed_ips",
                  "replay_window_seconds"]

    def clean_allowed_ips(self):
        value = self.cleaned_data["allowed_ips"]
        try:
            parse_allow_list(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value


class RotateForm(forms.Form):
    grace_hours = forms.IntegerField(
        min_value=0, max_value=24 * 30, initial=24,
        help_text="How long the previous secret keeps working.")


def can_manage_settings(user) -> bool:
    return user.has_perm("bridges.settings_manage")


@admin.register(InboundConnection)
class InboundConnectionAdmin(ModelAdmin):
    """Bridges → Connections. The change page is the inspector: status, credentials (masked,
    revealed to settings.manage), rotation, and recent requests."""

    form = ConnectionForm
    list_display = ["name", "client_id", "channel", "is_enabled", "scope_list",
                    "last_used_display", "created_display"]
    list_filter = ["is_enabled", "channel"]
    search_fields = ["name", "client_id", "public_id"]
    list_select_related = ["channel"]
    change_form_template = "admin/bridges/inboundconnection/change_form.html"

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    def get_queryset(self, request):
        # The newest log entry per connection: one subquery on (connection, created_at).
        newest = TransactionLog.objects.filter(connection=OuterRef("pk")).order_by(
            "-created_at").values("created_at")[:1]
        return super().get_queryset(request).annotate(last_used=Subquery(newest))

    @admin.display(description="created", ordering="created_at")
    def created_display(self, obj):
        return when(obj.created_at)

    @admin.display(description="last used", ordering="last_used")
    def last_used_display(self, obj):
        return when(obj.last_used)

    def has_view_permission(self, request, obj=None):
        return can_manage_settings(request.user) and super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return can_manage_settings(request.user) and super().has_module_permission(request)

    def has_add_permission(self, request):
        return can_manage_settings(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return can_manage_settings(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # disable instead: orders keep pointing at their connection

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.Meta.fields}
        if change:
            saved = connection_update(connection=obj, **data)
        else:
            saved = connection_create(created_by=request.user, **data)
            messages.success(request, "Connection created: its client_id and secret are on "
                                      "its page (reveal the secret there).")
        obj.pk, obj.public_id, obj.client_id = saved.pk, saved.public_id, saved.client_id

    # --- the inspector's buttons: unfold detail actions (a link to a page with its own form)

    actions_detail = ["reveal", "rotate"]

    def has_settings_manage_permission(self, request, obj=None) -> bool:
        """unfold's ``permissions=["settings_manage"]`` on the reveal/rotate actions."""
        return can_manage_settings(request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        connection = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if connection is not None:
            extra.update(self.inspector_context(request, connection, reveal=False))
        return super().change_view(request, object_id, form_url, extra)

    def inspector_context(self, request, connection, *, reveal: bool) -> dict:
        """What the connection is and does: status, channel, scopes in words, network rules,
        who made it, when it was last used, the masked secret and the last 20 requests."""
        secret = connection.secret
        grace = connection.previous_secret_expires_at
        recent = list(TransactionLog.objects.filter(connection=connection)[:20])
        labels = dict(BridgeScope.choices)
        try:
            networks = [str(net) for net in parse_allow_list(connection.allowed_ips)]
        except ValueError:  # saved before the check existed: show it as written
            networks = [connection.allowed_ips]
        return {
            "connection": connection,
            "status_badge": badge("enabled" if connection.is_enabled else "disabled",
                                  "Enabled" if connection.is_enabled else "Disabled"),
            "scope_labels": [labels.get(scope, scope) for scope in connection.scopes],
            "networks": networks,
            "last_used": recent[0] if recent else None,
            "secret_display": secret if reveal else secret[:6] + "•" * 20,
            "revealed": reveal,
            "previous_valid_until": grace if grace and grace > timezone.now() else None,
            "recent_requests": recent,
            "log_link": reverse("admin:bridges_transactionlog_changelist")
                        + f"?connection__id__exact={connection.pk}",
        }

    def _connection(self, request, object_id) -> InboundConnection:
        if not can_manage_settings(request.user):
            raise PermissionDenied
        return get_object_or_404(InboundConnection, pk=object_id)

    @action(description="Reveal secret", url_path="reveal-secret", icon="visibility",
            permissions=["settings_manage"])
    def reveal(self, request, object_id):
        connection = self._connection(request, object_id)
        if request.method != "POST":
            return confirm_page(
                request, self, connection, title=f"Reveal the secret of {connection.name}?",
                button="Reveal secret",
                text="The secret signs every bridge request of this connection. Anyone who "
                     "sees it can act as this client: reveal it only to hand it over.")
        return self._render_inspector(request, connection, reveal=True)

    def _render_inspector(self, request, connection, *, reveal: bool):
        context = {
            **self.admin_site.each_context(request),
            **self.inspector_context(request, connection, reveal=reveal),
            "opts": self.model._meta,
            "title": f"Connection {connection.name}",
        }
        return render(request, "admin/bridges/inboundconnection/secret.html", context)

    @action(description="Rotate secret", url_path="rotate-secret", icon="autorenew",
            permissions=["settings_manage"])
    def rotate(self, request, object_id):
        connection = self._connection(request, object_id)
        form = RotateForm(request.POST or None)
        if request.method != "POST":
            return confirm_page(
                request, self, connection, title=f"Rotate the secret of {connection.name}?",
                button="Rotate secret", form=form, danger=True,
                text="A new secret is issued. The client must switch to it before the grace "
                     "period ends; until then the previous secret is accepted too.")
        if form.is_valid():
            run_service(request, connection_rotate_secret, connection=connection,
                        grace=timedelta(hours=form.cleaned_data["grace_hours"]),
                        actor=Actor.staff(request.user),
                        success="New secret issued; the previous one works until the grace "
                                "period ends.")
        else:
            messages.error(request, "Grace period: " + " ".join(
                form.errors.get("grace_hours", ["enter a number of hours"])))
        return redirect("admin:bridges_inboundconnection_change", connection.pk)
