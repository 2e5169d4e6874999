"""The quote back office. Statuses are read-only: every action calls a service (through
``run_service``, which shows the service's refusal). The approval policy (levels and rules)
is edited here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action as detail_action
from unfold.enums import ActionVariant

from orderflow.admin import ObjectActionsMixin, ServiceManagedAdmin, confirm_page, run_service
from orderflow.display import badge, money, timeline_feed
from orderflow.models import ActorSource
from orderflow.timeline import Actor
from quotes import services
from quotes.constants import QuoteAction
from quotes.models import (
    ApproverPreference,
    Quote,
    QuoteApprovalLevel,
    QuoteApprovalRule,
    QuoteRequest,
    QuoteRequestLine,
)
from quotes.selectors import approver_levels, level_names


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


class QuoteActionForm(forms.Form):
    """The input a quote button needs (a reason, a comment); only its field is shown."""

    reason = forms.CharField(required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    comment = forms.CharField(required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))


def quote_action_form(data, field: str | None, *, required: bool, help_text: str = ""):
    form = QuoteActionForm(data)
    for name in list(form.fields):
        if name != field:
            del form.fields[name]
    if field:
        form.fields[field].required = required
        form.fields[field].help_text = help_text
    return form


def conversion_problem(quote) -> str:
    """Why an accepted quote is not an order yet, as one sentence."""
    error = quote.conversion_error or {}
    text = str(error.get("detail") or error.get("code") or "").strip()
    return text if text.endswith(".") else f"{text}." if text else ""


@admin.register(Quote)
class QuoteAdmin(ObjectActionsMixin, ServiceManagedAdmin):
    """The quote page tells its story above the folded fields (templates/admin/quotes/quote/
    change_form.html): header with badges, buyer, totals in the currency, the lines of the
    latest version, the versions, the approvals and the timeline as a feed. Its buttons are
    unfold detail actions offered only when the quote service would accept them; each leads
    to a page with its own form and calls the service, whose refusal is the admin message."""

    change_form_template = "admin/quotes/quote/change_form.html"
    list_display = ["number", "status_badge", "company", "version_number", "total",
                    "valid_until", "awaiting_level", "created_at"]
    list_filter = ["status", "channel", "awaiting_level",
                   ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "public_id", "company__name", "company__code",
                     "customer__email", "versions__lines__sku"]
    list_select_related = ["company", "current"]
    actions = ["submit", "approve", "send", "withdraw", "convert"]
    actions_detail = ["detail_submit", "detail_approve", "detail_request_changes",
                      "detail_reject", "detail_send", "detail_convert", "detail_withdraw"]
    fieldsets = [
        ("Details", {"classes": ["collapse"], "fields": [
            "number", "public_id", "status", "channel", "company", "customer", "request",
            "currency", "author", "current", "awaiting_level", "order", "conversion_error",
            "decline_reason", "changes_comment", "submitted_at", "approved_at", "sent_at",
            "accepted_at", "converted_at", "declined_at", "expired_at", "withdrawn_at",
            "reminded_version", "shipping_address", "created_at", "updated_at"]}),
    ]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="version")
    def version_number(self, obj):
        return obj.version

    @admin.display(description="total", ordering="current__total")
    def total(self, obj):
        return money(obj.current.total, obj.currency) if obj.current_id else "—"

    @admin.display(description="valid until", ordering="current__valid_until")
    def valid_until(self, obj):
        return obj.current.valid_until if obj.current_id else None

    # --- the story ------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        quote = self.get_object(request, object_id)
        extra = {}
        if quote is not None:
            version = quote.current
            names = level_names()
            extra = {
                "quote": quote,
                "version": version,
                "status_badge": self.status_badge(quote),
                "expired": version is not None and version.valid_until < timezone.localdate(),
                "awaiting_name": names.get(quote.awaiting_level, ""),
                "conversion_problem": conversion_problem(quote),
                "lines": version.lines.all() if version else [],
                "versions": quote.versions.order_by("-number"),
                "approvals": [(a, names.get(a.level, f"level {a.level}"),
                               badge(a.decision, a.get_decision_display()))
                              for a in quote.approvals.select_related("version")
                              .order_by("-created_at", "-id")],
                "events": timeline_feed(quote.events.select_related("actor_user")
                                        .order_by("-created_at", "-id")),
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})

    # --- change-page buttons --------------------------------------------------------------

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        """What the quote service would accept now (its transition table; a decision needs
        an approver of the level it waits for who did not write it; sending needs a version
        still valid). The service checks again and its refusal becomes the message."""
        action = name.removeprefix("detail_")
        if action in ("approve", "reject", "request_changes"):
            return (obj.can(action) and obj.awaiting_level is not None
                    and obj.author_id != request.user.pk
                    and obj.awaiting_level in approver_levels(user=request.user))
        if action == "send":
            return (obj.can(QuoteAction.SEND) and obj.current_id is not None
                    and obj.current.valid_until >= timezone.localdate())
        if action in QuoteAction.values:
            return obj.can(action)
        return True

    def _quote(self, request, object_id) -> Quote:
        quote = get_object_or_404(Quote.objects.select_related("current", "company"),
                                  pk=object_id)
        if not self.has_change_permission(request, quote):
            raise PermissionDenied
        return quote

    def _button(self, request, object_id, *, title: str, button: str, text: str,
                service, success: str, field: str | None = None, required: bool = False,
                help_text: str = "", danger: bool = False, **kwargs):
        """GET: what the button does (and its one input); POST: the service, then back to
        the quote page with its outcome as the message."""
        quote = self._quote(request, object_id)
        form = quote_action_form(request.POST or None, field, required=required,
                                 help_text=help_text)
        if request.method != "POST" or not form.is_valid():
            summary = (f"{quote.get_status_display()} · version {quote.version} · "
                       f"{money(quote.current.total, quote.currency)}"
                       if quote.current_id else quote.get_status_display())
            return confirm_page(request, self, quote, title=title.format(quote=quote),
                                button=button, text=text, summary=summary,
                                form=form if field else None, danger=danger)
        if field:
            kwargs[field] = form.cleaned_data[field]
        run_service(request, service, quote=quote, actor=staff_actor(request),
                    success=success.format(quote=quote), **kwargs)
        return redirect("admin:quotes_quote_change", quote.pk)

    @detail_action(description="Submit for approval", url_path="submit", icon="send",
                   permissions=["change"], attrs={"id": "action-submit"},
                   variant=ActionVariant.PRIMARY)
    def detail_submit(self, request, object_id):
        return self._button(
            request, object_id, title="Submit {quote} for approval?", button="Submit",
            text="The approval rules decide which levels must approve this version; with none "
                 "it is approved at once and can be sent.",
            service=services.quote_submit, success="{quote} submitted.")

    @detail_action(description="Approve", url_path="approve", icon="check_circle",
                   permissions=["change"], attrs={"id": "action-approve"},
                   variant=ActionVariant.PRIMARY)
    def detail_approve(self, request, object_id):
        return self._button(
            request, object_id, title="Approve {quote} at your level?", button="Approve",
            text="Your approval is recorded for the level the quote waits for; the last "
                 "required level approves the quote.",
            service=services.quote_approve, success="{quote} approved at your level.",
            field="comment", help_text="Optional, kept with your decision.",
            user=request.user)

    @detail_action(description="Request changes", url_path="request-changes",
                   icon="edit_note", permissions=["change"], attrs={"id": "action-request-changes"},
                   variant=ActionVariant.DEFAULT)
    def detail_request_changes(self, request, object_id):
        return self._button(
            request, object_id, title="Send {quote} back for changes?",
            button="Request changes",
            text="The author revises it into a new version, which is submitted again.",
            service=services.quote_request_changes, success="Changes requested on {quote}.",
            field="comment", required=True, help_text="What should change.",
            user=request.user)

    @detail_action(description="Decline", url_path="decline", icon="block",
                   permissions=["change"], attrs={"id": "action-decline"},
                   variant=ActionVariant.DANGER)
    def detail_reject(self, request, object_id):
        return self._button(
            request, object_id, title="Decline {quote}?", button="Decline", danger=True,
            text="The quote ends declined; the buyer cannot accept it.",
            service=services.quote_reject, success="{quote} declined.", field="reason",
            required=True, help_text="Kept with your decision.", user=request.user)

    @detail_action(description="Send to the buyer", url_path="send", icon="forward_to_inbox",
                   permissions=["change"], attrs={"id": "action-send"},
                   variant=ActionVariant.PRIMARY)
    def detail_send(self, request, object_id):
        return self._button(
            request, object_id, title="Send {quote} to the buyer?", button="Send",
            text="The buyer's contact gets the quote by e-mail and can accept it in the "
                 "store until it expires.",
            service=services.quote_send, success="{quote} sent to the buyer.")

    @detail_action(description="Convert to an order", url_path="convert",
                   icon="shopping_cart_checkout", permissions=["change"],
                   attrs={"id": "action-convert"},
                   variant=ActionVariant.PRIMARY)
    def detail_convert(self, request, object_id):
        quote = self._quote(request, object_id)
        if request.method == "POST":
            quote = run_service(request, services.quote_convert, quote=quote,
                                actor=staff_actor(request)) or quote
            if quote.order_id:
                messages.success(request, f"{quote.number} converted: order "
                                          f"{quote.order.number}.")
            elif quote.conversion_error:
                messages.error(request, "Not converted: " + str(
                    quote.conversion_error.get("detail", quote.conversion_error)))
            return redirect("admin:quotes_quote_change", quote.pk)
        return self._button(
            request, object_id, title="Convert {quote} to an order?", button="Convert",
            text="The buyer accepted it: the order is placed at the quoted prices (stock, "
                 "credit limit and approvals are checked again).",
            service=services.quote_convert, success="")

    @detail_action(description="Withdraw", url_path="withdraw", icon="undo",
                   permissions=["change"], attrs={"id": "action-withdraw"},
                   variant=ActionVariant.DANGER)
    def detail_withdraw(self, request, object_id):
        return self._button(
            request, object_id, title="Withdraw {quote}?", button="Withdraw", danger=True,
            text="The buyer can no longer accept it.", service=services.quote_withdraw,
            success="{quote} withdrawn.", field="reason",
            help_text="Optional, on the quote's timeline.")

    # --- bulk actions ---------------------------------------------------------------------

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
