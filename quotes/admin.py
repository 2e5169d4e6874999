"""The quote back office. Statuses are read-only: every action calls a service (through
``run_service``, which shows the service's refusal). The approval policy (levels and rules)
is edited here."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline

from orderflow.admin import ServiceManagedAdmin, TimelineInline, run_service
from orderflow.display import money
from orderflow.models import ActorSource
from orderflow.timeline import Actor
from quotes import services
from quotes.models import (
    ApproverPreference,
    Quote,
    QuoteApproval,
    QuoteApprovalLevel,
    QuoteApprovalRule,
    QuoteEvent,
    QuoteRequest,
    QuoteRequestLine,
    QuoteVersion,
)


def staff_actor(request) -> Actor:
    return Actor.staff(request.user, source=ActorSource.ADMIN)


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class QuoteRequestLineInline(ReadOnlyInline):
    model = QuoteRequestLine
    fields = readonly_fields = ["sku", "name", "quantity", "target_unit_price", "notes"]


@admin.register(QuoteRequest)
class QuoteRequestAdmin(ServiceManagedAdmin):
    list_display = ["number", "company", "customer", "status", "requested_delivery_date",
                    "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["number", "public_id", "company__name", "company__code",
                     "customer__email"]
    list_select_related = ["company", "customer"]
    inlines = [QuoteRequestLineInline]
    actions = ["build_quotes"]

    @admin.action(description="Build a draft quote from each selected request",
                  permissions=["change"])
    def build_quotes(self, request, queryset):
        for quote_request in queryset:
            quote = run_service(request, services.quote_create, actor=staff_actor(request),
                                author=request.user, request=quote_request)
            if quote is not None:
                self.message_user(request, f"{quote.number} drafted from "
                                           f"{quote_request.number}.")


class QuoteVersionInline(ReadOnlyInline):
    model = QuoteVersion
    fields = readonly_fields = ["number", "version_lines", "total", "valid_until",
                                "approval_levels", "created_at", "submitted_at", "sent_at"]
    ordering = ["-number"]
    verbose_name_plural = "versions"

    @admin.display(description="lines")
    def version_lines(self, obj):
        return format_html_join(
            "", "<div>{} × {} @ {} ({} % off)</div>",
            ((line.quantity, line.sku, money(line.unit_price, obj.currency),
              line.discount_percent) for line in obj.lines.all()))


class QuoteApprovalInline(ReadOnlyInline):
    model = QuoteApproval
    fields = readonly_fields = ["version", "level", "decision", "actor_label", "comment",
                                "created_at"]
    verbose_name_plural = "approvals"


class QuoteEventInline(TimelineInline):
    model = QuoteEvent
    fields = readonly_fields = ["created_at", "version", "type", "actor_source", "actor_label",
                                "message"]


@admin.register(Quote)
class QuoteAdmin(ServiceManagedAdmin):
    list_display = ["number", "company", "status", "version_number", "total", "valid_until",
                    "awaiting_level", "created_at"]
    list_filter = ["status", "channel", "awaiting_level"]
    search_fields = ["number", "public_id", "company__name", "company__code",
                     "customer__email"]
    list_select_related = ["company", "current"]
    inlines = [QuoteVersionInline, QuoteApprovalInline, QuoteEventInline]
    actions = ["submit", "approve", "send", "withdraw", "convert"]

    def get_readonly_fields(self, request, obj=None):
        return ["current_lines", *super().get_readonly_fields(request, obj)]

    @admin.display(description="version")
    def version_number(self, obj):
        return obj.version

    @admin.display(description="total")
    def total(self, obj):
        return money(obj.current.total, obj.currency) if obj.current_id else "—"

    @admin.display(description="valid until")
    def valid_until(self, obj):
        return obj.current.valid_until if obj.current_id else None

    @admin.display(description="lines of the latest version")
    def current_lines(self, obj):
        if not obj.current_id:
            return "—"
        version = obj.current
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td style='text-align:right'>{}</td>"
                "<td style='text-align:right'>{}</td><td style='text-align:right'>{} %</td>"
                "<td style='text-align:right'>{}</td></tr>",
            ((line.sku, line.quantity, money(line.list_price, version.currency),
              money(line.unit_price, version.currency), line.discount_percent,
              money(line.line_total, version.currency)) for line in version.lines.all()))
        return format_html(
            "<table><tr><th>sku</th><th>qty</th><th>list</th><th>quoted</th><th>discount</th>"
            "<th>line total</th></tr>{}<tr><td colspan=5><b>Total (v{})</b></td>"
            "<td style='text-align:right'><b>{}</b></td></tr></table>",
            rows, version.number, money(version.total, version.currency))

    def _each(self, request, queryset, service, verb, **kwargs):
        for quote in queryset:
            if run_service(request, service, quote=quote, **kwargs) is not None:
                self.message_user(request, f"{quote.number} {verb}.")

    @admin.action(description="Submit selected drafts for approval", permissions=["change"])
    def submit(self, request, queryset):
        self._each(request, queryset, services.quote_submit, "submitted",
                   actor=staff_actor(request))

    @admin.action(description="Approve selected quotes at my level", permissions=["change"])
    def approve(self, request, queryset):
        self._each(request, queryset, services.quote_approve, "approved at your level",
                   user=request.user, actor=staff_actor(request))

    @admin.action(description="Send selected approved quotes to the buyer",
                  permissions=["change"])
    def send(self, request, queryset):
        self._each(request, queryset, services.quote_send, "sent", actor=staff_actor(request))

    @admin.action(description="Withdraw selected quotes", permissions=["change"])
    def withdraw(self, request, queryset):
        self._each(request, queryset, services.quote_withdraw, "withdrawn",
                   actor=staff_actor(request))

    @admin.action(description="Retry converting selected accepted quotes to orders",
                  permissions=["change"])
    def convert(self, request, queryset):
        self._each(request, queryset, services.quote_convert, "conversion tried",
                   actor=staff_actor(request))


@admin.register(QuoteApprovalLevel)
class QuoteApprovalLevelAdmin(ModelAdmin):
    list_display = ["level", "name", "group"]


@admin.register(QuoteApprovalRule)
class QuoteApprovalRuleAdmin(ModelAdmin):
    list_display = ["name", "kind", "threshold", "level", "is_active"]
    list_filter = ["kind", "level", "is_active"]
    list_editable = ["is_active"]


@admin.register(ApproverPreference)
class ApproverPreferenceAdmin(ModelAdmin):
    list_display = ["user", "digest", "last_digest_at"]
    readonly_fields = ["last_digest_at"]
