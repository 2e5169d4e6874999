"""Webhooks in the admin: endpoints (secret, rotation, test events), deliveries (dead letters,
replay) and the delivery log. Registered on import from bridges/admin.py.

Every page needs ``bridges.webhooks_manage`` (superusers have it). Nothing here writes a row:
saving an endpoint, rotating its secret, sending a test event and replaying deliveries all call
the services in ``bridges.webhooks.services``; deliveries and attempts are read-only.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from bridges.constants import DeliveryStatus
from bridges.events import EVENT_TYPES
from bridges.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from bridges.webhooks.services import (
    TEST_EVENT,
    webhook_body,
    webhook_deliveries_replay,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_enable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
    webhook_endpoint_validate,
)
from orderflow.admin import DayRangeFilter, ObjectActionsMixin, confirm_page, run_service
from orderflow.display import when
from orderflow.errors import ValidationFailed
from orderflow.models import ActorSource
from orderflow.timeline import Actor

WEBHOOKS_MANAGE = "bridges.webhooks_manage"
SETTINGS_MANAGE = "bridges.settings_manage"
OPEN_STATUSES = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
REPLAYABLE_STATUSES = [DeliveryStatus.DEAD, DeliveryStatus.SUCCEEDED]
# What staff can tick; the test event only ever goes to the endpoint whose button sent it.
SUBSCRIBABLE = {name: text for name, text in EVENT_TYPES.items() if name != TEST_EVENT}
BODY_PREVIEW = 600

STATUS_COLOURS = {
    DeliveryStatus.PENDING: "#b45309", DeliveryStatus.SENDING: "#1d4ed8",
    DeliveryStatus.SUCCEEDED: "#15803d", DeliveryStatus.DEAD: "#b91c1c",
    "retry": "#b45309", "lost": "#7c3aed",
}


def can_manage_webhooks(user) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(WEBHOOKS_MANAGE))


def staff_actor(request) -> Actor:
    return Actor.staff(request.user, source=ActorSource.ADMIN)


def badge(value: str, label: str):
    return format_html(
        '<span class="of-badge of-badge-{}" style="background:{};color:#fff;padding:1px 7px;'
        'border-radius:9px;font-size:11px;white-space:nowrap">{}</span>',
        value, STATUS_COLOURS.get(value, "#374151"), label)


def deliveries_url(**filters) -> str:
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    url = reverse("admin:bridges_webhookdelivery_changelist")
    return f"{url}?{query}" if query else url


class WebhooksOnlyMixin:
    """Visible only to holders of webhooks.manage; nobody deletes rows here."""

    def has_module_permission(self, request):
        return can_manage_webhooks(request.user)

    def has_view_permission(self, request, obj=None):
        return can_manage_webhooks(request.user)

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyMixin(WebhooksOnlyMixin):
    """Rows the delivery engine writes: viewable, never added or edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- endpoints ---------------------------------------------------------------------------------

class EndpointForm(forms.ModelForm):
    """The service's fields. Event types are ticked from the catalogue; wildcards and types not
    in it go in a text box. ``clean`` runs the service's own validation, so the form shows the
    same errors the API answers (https, private addresses, acknowledgement rule, headers)."""

    url = forms.URLField(
        label="URL", max_length=500, assume_scheme="https",
        help_text="https is required, except for hosts listed in "
                  "ORDERFLOW_WEBHOOK_ALLOW_PRIVATE (local receivers) or with DEBUG on. "
                  "Private, loopback and link-local addresses are refused.")
    event_types = forms.MultipleChoiceField(
        label="Event types", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, f"{name} — {text}") for name, text in SUBSCRIBABLE.items()])
    event_patterns = forms.CharField(
        label="Wildcards and other types", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text='One per line: "order.*" for every order event, "*" for every event, or '
                  "an exact type not in the list above (a feature that is not built yet).")
    custom_headers = forms.JSONField(
        required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text='A JSON object of header names to values, e.g. {"X-Tenant": "shop-1"}. '
                  "The webhook-* signature headers, content-type and user-agent cannot be "
                  "set.")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "is_active", "event_types", "event_patterns",
                  "channels", "timeout_seconds", "max_attempts", "ordering",
                  "retry_client_errors", "ack_rule", "ack_field", "ack_value", "custom_headers"]
        widgets = {"channels": forms.CheckboxSelectMultiple}

    #: The form fields that go to the service as they are.
    SERVICE_FIELDS = ["url", "description", "is_active", "event_types", "channels",
                      "timeout_seconds", "max_attempts", "ordering", "retry_client_errors",
                      "ack_rule", "ack_field", "ack_value", "custom_headers"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = list(self.instance.event_types or []) if self.instance.pk else []
        self.initial["event_types"] = [t for t in current if t in SUBSCRIBABLE]
        self.initial["event_patterns"] = "\n".join(t for t in current if t not in SUBSCRIBABLE)

    def clean_custom_headers(self):
        return self.cleaned_data.get("custom_headers") or {}

    def clean(self):
        cleaned = super().clean()
        patterns = [p for p in re.split(r"[\s,]+", cleaned.get("event_patterns") or "") if p]
        cleaned["event_types"] = list(dict.fromkeys([*cleaned.get("event_types", []),
                                                     *patterns]))
        changes = {name: cleaned[name] for name in self.SERVICE_FIELDS
                   if name in cleaned and name != "channels"}
        try:
            webhook_endpoint_validate(endpoint=self.instance if self.instance.pk else None,
                                      changes=changes)
        except ValidationFailed as exc:
            for field, field_messages in (exc.errors or {"": [exc.detail]}).items():
                if field == "event_types" and patterns:
                    field = "event_patterns"
                target = field if field in self.fields else None
                if target in self.errors:  # already explained by the field's own check
                    continue
                for message in field_messages:
                    self.add_error(target, message)
        return cleaned


class RotateSecretForm(forms.Form):
    grace_hours = forms.IntegerField(
        min_value=0, max_value=24 * 30, initial=24,
        help_text="How long the previous secret keeps signing too (both signatures are sent).")


class HealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("failing", "Failing (still active)"), ("disabled", "Disabled"),
                ("healthy", "Healthy")]

    def queryset(self, request, queryset):
        if self.value() == "failing":
            return queryset.filter(is_active=True, failing_since__isnull=False)
        if self.value() == "disabled":
            return queryset.filter(is_active=False)
        if self.value() == "healthy":
            return queryset.filter(is_active=True, failing_since__isnull=True)
        return queryset


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(WebhooksOnlyMixin, ObjectActionsMixin, ModelAdmin):
    """Bridges → Webhook endpoints. The change page is the inspector: status, the signing
    secret (masked; revealed to settings.manage), rotation, test event and recent deliveries."""

    form = EndpointForm
    list_display = ["url", "description", "is_active", "ordering", "event_type_list",
                    "health", "pending_deliveries", "dead_deliveries"]
    list_display_links = ["url"]
    list_filter = ["is_active", HealthFilter, "ordering", "retry_client_errors", "channels"]
    search_fields = ["url", "description", "=public_id"]
    change_form_template = "admin/bridges/webhookendpoint/change_form.html"
    fieldsets = [
        (None, {"fields": ["url", "description", "is_active"]}),
        ("Events", {"fields": ["event_types", "event_patterns", "channels"]}),
        ("Delivery", {"fields": ["timeout_seconds", "max_attempts", "ordering",
                                 "retry_client_errors", "custom_headers"]}),
        ("Acknowledgement", {
            "fields": ["ack_rule", "ack_field", "ack_value"],
            "description": "Besides a 2xx status, the answer's body may have to match a rule; "
                           "a 2xx whose body fails it counts as a failure and is retried.",
        }),
    ]

    def has_add_permission(self, request):
        return can_manage_webhooks(request.user)

    def has_change_permission(self, request, obj=None):
        return can_manage_webhooks(request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status__in=OPEN_STATUSES)),
            dead_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DEAD)),
        )

    @admin.display(description="health", ordering="disabled_at")
    def health(self, obj):
        """The admin notice: disabled (since when, why), failing (since when) or healthy."""
        if not obj.is_active:
            since = f" since {obj.disabled_at:%Y-%m-%d %H:%M}" if obj.disabled_at else ""
            return format_html('<strong class="of-disabled" style="color:#b91c1c">disabled{}'
                               '</strong><br><small>{}</small>', since, obj.disabled_reason)
        if obj.failing_since:
            return format_html('<span style="color:#b45309">failing since {}</span>',
                               f"{obj.failing_since:%Y-%m-%d %H:%M}")
        return "healthy"

    @admin.display(description="event types")
    def event_type_list(self, obj):
        return ", ".join(obj.event_types)

    @admin.display(description="pending", ordering="pending_count")
    def pending_deliveries(self, obj):
        if not obj.pending_count:
            return 0
        return format_html('<a href="{}">{}</a>', deliveries_url(
            endpoint__id__exact=obj.pk, status__in="pending,sending"), obj.pending_count)

    @admin.display(description="dead", ordering="dead_count")
    def dead_deliveries(self, obj):
        if not obj.dead_count:
            return 0
        return format_html('<a href="{}" style="color:#b91c1c;font-weight:bold">{}</a>',
                           deliveries_url(endpoint__id__exact=obj.pk, status__exact="dead"),
                           obj.dead_count)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.SERVICE_FIELDS}
        if change:
            # The form already copied its values onto ``obj``; the service compares against
            # the stored row (switching an endpoint back on clears its failing streak).
            stored = WebhookEndpoint.objects.get(pk=obj.pk)
            saved = webhook_endpoint_update(endpoint=stored, actor=staff_actor(request), **data)
        else:
            saved = webhook_endpoint_create(created_by=request.user, **data)
            messages.info(request, "A signing secret (whsec_…) was generated; it is on the "
                                   "endpoint's page.")
        obj.pk, obj.public_id, obj.secret = saved.pk, saved.public_id, saved.secret

    def save_related(self, request, form, formsets, change):
        # Channels were set by the service; the form's save_m2m would write them again.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # --- the inspector and its buttons

    actions_detail = ["send_test", "reveal", "rotate", "enable"]

    def has_settings_manage_permission(self, request, obj=None) -> bool:
        """unfold's ``permissions=["settings_manage"]`` on the reveal/rotate actions."""
        return request.user.has_perm(SETTINGS_MANAGE)

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        if name == "enable":
            return not obj.is_active
        return True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if endpoint is not None:
            extra.update(self.inspector_context(request, endpoint, reveal=False))
        return super().change_view(request, object_id, form_url, extra)

    def inspector_context(self, request, endpoint, *, reveal: bool) -> dict:
        grace = endpoint.previous_secret_expires_at
        counts = endpoint.deliveries.aggregate(
            pending=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            dead=Count("pk", filter=Q(status=DeliveryStatus.DEAD)),
            succeeded=Count("pk", filter=Q(status=DeliveryStatus.SUCCEEDED)),
        )
        return {
            "endpoint": endpoint,
            "secret_display": endpoint.secret if reveal else endpoint.secret[:6] + "•" * 20,
            "revealed": reveal,
            "can_reveal": request.user.has_perm(SETTINGS_MANAGE),
            "previous_valid_until": grace if grace and grace > timezone.now() else None,
            "delivery_counts": counts,
            "deliveries_link": deliveries_url(endpoint__id__exact=endpoint.pk),
            "dead_link": deliveries_url(endpoint__id__exact=endpoint.pk, status__exact="dead"),
            "recent_deliveries": endpoint.deliveries.select_related("event")
            .order_by("-sequence")[:10],
        }

    def _endpoint(self, request, object_id) -> WebhookEndpoint:
        endpoint = get_object_or_404(WebhookEndpoint, pk=object_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return endpoint

    # --- the inspector's buttons: unfold detail actions (a link to a page with its own form)

    @action(description="Reveal secret", url_path="reveal-secret", icon="visibility",
            permissions=["settings_manage"])
    def reveal(self, request, object_id):
        endpoint = self._endpoint(request, object_id)
        if request.method != "POST":
            return confirm_page(request, self, endpoint, title="Reveal the signing secret?",
                                button="Reveal secret",
                                text="Receivers verify every message with it; reveal it only "
                                     "to hand it to the receiver's developers.")
        context = {
            **self.admin_site.each_context(request),
            **self.inspector_context(request, endpoint, reveal=True),
            "opts": self.model._meta,
            "title": f"Signing secret of {endpoint}",
        }
        return render(request, "admin/bridges/webhookendpoint/secret.html", context)

    @action(description="Rotate secret", url_path="rotate-secret", icon="autorenew")
    def rotate(self, request, object_id):
        endpoint = self._endpoint(request, object_id)
        form = RotateSecretForm(request.POST or None)
        if request.method != "POST":
            return confirm_page(request, self, endpoint, title="Rotate the signing secret?",
                                button="Rotate secret", form=form, danger=True,
                                text="A new secret is issued; during the grace period every "
                                     "message carries both signatures.")
        if not form.is_valid():
            messages.error(request, "Grace period: " + " ".join(
                form.errors.get("grace_hours", ["enter a number of hours"])))
        else:
            hours = form.cleaned_data["grace_hours"]
            run_service(request, webhook_endpoint_rotate_secret, endpoint=endpoint,
                        actor=staff_actor(request), grace=timedelta(hours=hours),
                        success=f"New signing secret issued; the previous one keeps signing "
                                f"for {hours} h. Give the receiver the new secret.")
        return redirect("admin:bridges_webhookendpoint_change", endpoint.pk)

    @action(description="Send test event", url_path="send-test", icon="send")
    def send_test(self, request, object_id):
        endpoint = self._endpoint(request, object_id)
        if request.method != "POST":
            return confirm_page(request, self, endpoint, title="Send a test event?",
                                button="Send test event", summary=endpoint.url,
                                text="A webhook.test event is delivered to this endpoint only, "
                                     "signed and logged like any other.")
        delivery = run_service(request, webhook_endpoint_send_test, endpoint=endpoint,
                               actor=staff_actor(request))
        if delivery is not None:
            link = reverse("admin:bridges_webhookdelivery_change", args=[delivery.pk])
            messages.success(request, format_html(
                'Test event queued: <a href="{}">delivery #{}</a> ({}).', link,
                delivery.sequence, delivery.public_id))
            if not endpoint.is_active:
                messages.warning(request, "The endpoint is disabled: the test event waits "
                                          "until it is enabled.")
        return redirect("admin:bridges_webhookendpoint_change", endpoint.pk)

    @action(description="Enable", url_path="enable", icon="play_arrow")
    def enable(self, request, object_id):
        endpoint = self._endpoint(request, object_id)
        if request.method != "POST":
            return confirm_page(request, self, endpoint, title="Enable this endpoint?",
                                button="Enable", summary=endpoint.disabled_reason,
                                text="Deliveries that waited are sent straight away.")
        run_service(request, webhook_endpoint_enable, endpoint=endpoint,
                    actor=staff_actor(request),
                    success="Endpoint enabled; deliveries that waited are being sent.")
        return redirect("admin:bridges_webhookendpoint_change", endpoint.pk)


# --- deliveries --------------------------------------------------------------------------------

class AttemptInline(ReadOnlyMixin, TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    ordering = ["number"]
    fields = ["number", "started_at", "status_code", "latency", "outcome_badge", "error",
              "headers", "body"]
    readonly_fields = fields
    verbose_name_plural = "attempts"

    @admin.display(description="latency")
    def latency(self, obj):
        return f"{obj.latency_ms} ms"

    @admin.display(description="outcome")
    def outcome_badge(self, obj):
        return badge(obj.outcome, obj.get_outcome_display())

    @admin.display(description="response headers")
    def headers(self, obj):
        if not obj.response_headers:
            return "—"
        return format_html('<pre style="margin:0;white-space:pre-wrap;font-size:11px">{}</pre>',
                           "\n".join(f"{k}: {v}" for k, v in obj.response_headers.items()))

    @admin.display(description="response body")
    def body(self, obj):
        if not obj.response_body:
            return "—"
        text = obj.response_body
        if len(text) > BODY_PREVIEW:
            text = text[:BODY_PREVIEW] + f"… ({len(obj.response_body)} characters kept)"
        return format_html('<pre style="margin:0;white-space:pre-wrap;max-width:40em;'
                           'font-size:11px">{}</pre>', text)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, ObjectActionsMixin, ModelAdmin):
    """One event for one endpoint. Dead letters are ``status = dead``; "Replay" sends a
    delivery again with the same webhook-id and a fresh attempt budget."""

    # On screen at 1280 px; the sequence, next attempt and status code are on its page.
    list_display = ["created", "endpoint", "event_type", "reference", "status_badge",
                    "attempts", "last_result"]
    list_display_links = ["created", "event_type"]
    list_filter = ["status", "endpoint", "event_type", ("created_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["=event__public_id", "=public_id", "event_type", "reference",
                     "endpoint__url"]
    search_help_text = "Event id (evt_…), delivery id, event type, order number or endpoint URL."
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["replay_selected"]
    inlines = [AttemptInline]
    change_form_template = "admin/bridges/webhookdelivery/change_form.html"
    change_list_template = "admin/bridges/webhookdelivery/change_list.html"
    fields = ["public_id", "endpoint_link", "event_id", "event_type", "reference", "sequence",
              "status_badge", "attempts", "series_attempts", "next_attempt_at",
              "last_attempt_at", "last_status_code", "last_error", "delivered_at", "dead_at",
              "created_at", "payload"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint", "event")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="endpoint")
    def endpoint_link(self, obj):
        return format_html('<a href="{}">{}</a> <code>{}</code>',
                           reverse("admin:bridges_webhookendpoint_change", args=[obj.endpoint_id]),
                           obj.endpoint, obj.endpoint.url)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return when(obj.created_at)

    @admin.display(description="last result")
    def last_result(self, obj):
        error = obj.last_error if len(obj.last_error) <= 60 else obj.last_error[:60] + "…"
        return " · ".join(str(part) for part in (obj.last_status_code, error) if part) or "—"

    @admin.display(description="event id (webhook-id)")
    def event_id(self, obj):
        return obj.event.public_id

    @admin.display(description="payload (the exact body sent)")
    def payload(self, obj):
        body = webhook_body(obj).decode()
        pretty = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        return format_html(
            '<pre id="payload" style="white-space:pre-wrap;max-width:60em">{}</pre>'
            '<details><summary>Pretty-printed</summary><pre style="max-width:60em">{}</pre>'
            '</details>', body, pretty)

    def has_replay_permission(self, request):
        return can_manage_webhooks(request.user)

    @admin.action(description="Replay selected deliveries", permissions=["replay"])
    def replay_selected(self, request, queryset):
        wanted = queryset.count()
        replayed = webhook_deliveries_replay(deliveries=queryset.order_by("endpoint_id",
                                                                          "sequence"),
                                             actor=staff_actor(request))
        if replayed:
            noun = "delivery" if replayed == 1 else "deliveries"
            messages.success(request, f"Replayed {replayed} {noun}; sent again with the same "
                                      f"webhook-id.")
        if wanted - replayed:
            messages.warning(request, f"{wanted - replayed} skipped: already pending or being "
                                      f"sent.")

    actions_detail = ["replay"]

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        return obj.status in REPLAYABLE_STATUSES and self.has_replay_permission(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        delivery = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if delivery is not None:
            extra["can_replay"] = self.detail_action_allowed(request, delivery, "replay")
            extra["delivery"] = delivery
        return super().change_view(request, object_id, form_url, extra)

    def changelist_view(self, request, extra_context=None):
        extra = dict(extra_context or {})
        if self.has_view_permission(request):
            extra["dead_count"] = WebhookDelivery.objects.filter(
                status=DeliveryStatus.DEAD).count()
            extra["dead_letters_url"] = deliveries_url(status__exact="dead")
        return super().changelist_view(request, extra)

    @action(description="Replay", url_path="replay", icon="replay")
    def replay(self, request, object_id):
        delivery = get_object_or_404(WebhookDelivery, pk=object_id)
        if not self.has_replay_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return confirm_page(request, self, delivery, title="Replay this delivery?",
                                button="Replay", summary=f"{delivery.event_type} → "
                                                         f"{delivery.endpoint.url}",
                                text="The same message (same webhook-id) is sent again; "
                                     "receivers that already processed it can drop it.")
        run_service(request, webhook_delivery_replay, delivery=delivery,
                    actor=staff_actor(request),
                    success="Replayed: the delivery is sent again with the same webhook-id.")
        return redirect("admin:bridges_webhookdelivery_change", delivery.pk)


# --- the delivery log --------------------------------------------------------------------------

@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyMixin, ModelAdmin):
    """Every HTTP attempt, newest first: status code, latency, outcome and what came back."""

    list_display = ["started_at", "endpoint", "event_type", "event_id", "reference", "number",
                    "status_code", "latency", "outcome_badge", "error"]
    list_filter = ["outcome", "status_code", "delivery__endpoint"]
    search_fields = ["=delivery__event__public_id", "delivery__event_type",
                     "delivery__reference", "delivery__endpoint__url"]
    search_help_text = "Event id (evt_…), event type, order number or endpoint URL."
    list_select_related = ["delivery__endpoint", "delivery__event"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    fields = ["delivery_link", "number", "started_at", "url", "status_code", "latency",
              "outcome_badge", "error", "next_attempt_at", "response_headers", "response_body"]
    readonly_fields = fields

    @admin.display(description="endpoint", ordering="delivery__endpoint__url")
    def endpoint(self, obj):
        endpoint = obj.delivery.endpoint
        if not endpoint.description:
            return obj.url
        return format_html('{}<br><small class="quiet">{}</small>', endpoint.description,
                           obj.url)

    @admin.display(description="event type", ordering="delivery__event_type")
    def event_type(self, obj):
        return obj.delivery.event_type

    @admin.display(description="event id")
    def event_id(self, obj):
        return obj.delivery.event.public_id

    @admin.display(description="reference", ordering="delivery__reference")
    def reference(self, obj):
        return obj.delivery.reference

    @admin.display(description="latency", ordering="latency_ms")
    def latency(self, obj):
        return f"{obj.latency_ms} ms"

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj):
        return badge(obj.outcome, obj.get_outcome_display())

    @admin.display(description="delivery")
    def delivery_link(self, obj):
        delivery = obj.delivery
        return format_html('<a href="{}">{} #{} → {}</a>',
                           reverse("admin:bridges_webhookdelivery_change", args=[delivery.pk]),
                           delivery.event_type, delivery.sequence, delivery.endpoint)

