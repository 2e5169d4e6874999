"""The order back office. Statuses are read-only: every button and bulk action calls a
service (through ``run_service``, which shows the service's refusal)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportMixin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action as detail_action
from unfold.enums import ActionVariant

from catalog.models import SupplierUser
from orderflow.admin import (
    DayRangeFilter,
    ObjectActionsMixin,
    ServiceManagedAdmin,
    TimelineInline,
    confirm_page,
    run_service,
)
from orderflow.display import badge, money, timeline_feed, when
from orderflow.models import ActorSource
from orderflow.principals import Principal
from orderflow.timeline import Actor
from orders import services
from orders.constants import (
    CancelReason,
    FulfillmentStatus,
    InvoiceStatus,
    OrderAction,
    OrderStatus,
)
from orders.models import (
    Invoice,
    Order,
    OrderApproval,
    OrderApprovalRule,
    OrderEdit,
    OrderEvent,
    OrderLine,
    Payment,
    SupplierOrder,
)
from orders.presenters import invoice_pdf
from orders.resources import OrderImportResource, OrderResource, orders_export_json
from orders.selectors import (
    UNSHIPPED_AFTER_DAYS,
    invoice_overdue_filter,
    order_work_queue_filters,
    principal_with_memberships,
)


def staff_actor(request) -> Actor:
    return Actor.staff(request.user, source=ActorSource.ADMIN)


def staff_principal(request) -> Principal:
    return principal_with_memberships(Principal(user=request.user, source=ActorSource.ADMIN))


class WorkQueueFilter(admin.SimpleListFilter):
    """The admin index's order queues (orders.selectors), so a count and its list agree."""

    title = "needs attention"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("awaiting_approval", "Awaiting approval"),
                ("unshipped", f"Not shipped after {UNSHIPPED_AFTER_DAYS} days"),
                ("pending_capture", "Payment to capture"),
                ("pending_payment", "Pending payment")]

    def queryset(self, request, queryset):
        filters = order_work_queue_filters()
        if self.value() in filters:
            return queryset.filter(filters[self.value()])
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(invoice_overdue_filter())
        return queryset


class OrderLineInline(TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["sku", "name", "quantity", "quantity_reserved", "quantity_shipped", "order_uom",
              "order_quantity", "unit_price", "line_subtotal", "tax_rate", "tax_amount",
              "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["kind", "reference", "amount", "status", "amount_authorized", "amount_captured",
              "amount_refunded", "refund_owed", "amount_due", "transactions_list"]
    readonly_fields = fields

    @admin.display(description="transactions")
    def transactions_list(self, obj):
        rows = [(tx.occurred_at.strftime("%Y-%m-%d %H:%M"), tx.kind, tx.result,
                 money(tx.amount, tx.currency), tx.reference or "—")
                for tx in obj.transactions.all()]
        if not rows:
            return "—"
        return format_html("<ul style='margin:0;padding-left:1em'>{}</ul>", format_html_join(
            "", "<li>{} · {} ({}) {} · {}</li>", rows))


class InvoiceInline(ReadOnlyInline):
    model = Invoice
    fields = ["number", "status", "amount", "issued_at", "due_date", "paid_at", "voided_at"]
    readonly_fields = fields
    show_change_link = True


class OrderApprovalInline(ReadOnlyInline):
    model = OrderApproval
    fields = ["level", "decision", "actor_label", "comment", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "approvals"


class SupplierOrderInline(ReadOnlyInline):
    model = SupplierOrder
    fields = ["number", "supplier", "status", "created_at", "acknowledged_at", "canceled_at"]
    readonly_fields = fields
    show_change_link = True


class OrderEditInline(ReadOnlyInline):
    """Edits staged through the API, with what each does to the total and the money."""

    model = OrderEdit
    fields = ["public_id", "status", "actor_label", "created_at", "summary", "applied_at",
              "discarded_at"]
    readonly_fields = fields
    verbose_name_plural = "edits"

    @admin.display(description="effect")
    def summary(self, obj):
        balance = obj.preview.get("balance") or {}
        changed = [line for line in obj.preview.get("lines", [])
                   if line.get("change") != "unchanged"]
        rows = [(line["change"], line["sku"], line["quantity_before"], line["quantity"])
                for line in changed]
        lines = format_html_join("", "<li>{} {} {} → {}</li>", rows) if rows else ""
        return format_html(
            "<ul style='margin:0;padding-left:1em'>{}<li>total {} → {} {} · to collect {} · "
            "to refund {}</li></ul>", lines, balance.get("total_before"),
            balance.get("total_after"), balance.get("currency", ""),
            balance.get("to_collect"), balance.get("to_refund"))


class OrderEventInline(TimelineInline):
    model = OrderEvent


class ActionForm(forms.Form):
    """The inputs a button needs; only the fields of the chosen action are shown."""

    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Shown to the buyer.")
    cancel_reason = forms.ChoiceField(choices=CancelReason.choices, required=False,
                                      initial=CancelReason.STAFF)
    payment = forms.ModelChoiceField(queryset=Payment.objects.none(), required=False)
    amount = forms.DecimalField(required=False, min_value=Decimal("0.01"), decimal_places=4,
                                help_text="Empty: the whole balance (capture) or what is "
                                          "owed (refund).")
    reference = forms.CharField(required=False, max_length=120,
                                help_text="The provider's id for this operation.")


# action → (button label, form fields, permission codename)
BUTTONS = {
    "confirm": ("Confirm", ["comment"], "change_order"),
    "approve": ("Approve", ["comment"], "approve_order"),
    "decline": ("Decline", ["reason"], "approve_order"),
    "cancel": ("Cancel order", ["cancel_reason", "comment"], "change_order"),
    "capture": ("Capture payment", ["payment", "amount", "reference"], "change_payment"),
    "refund": ("Refund", ["payment", "amount", "reference"], "change_payment"),
    "issue_invoice": ("Issue invoice", [], "change_order"),
    "mark_exported": ("Mark exported", [], "change_order"),
}
STATUS_ACTIONS = {"confirm": OrderAction.CONFIRM, "approve": OrderAction.APPROVE,
                  "decline": OrderAction.DECLINE, "cancel": OrderAction.CANCEL}


@admin.register(Order)
class OrderAdmin(ImportExportMixin, ServiceManagedAdmin):
    """Statuses are read-only: they change only through the order services.

    Import creates each order through ``services.order_import`` (stock, pricing, payment,
    timeline, outbox): the preview is a dry run showing every row's errors, and a file with
    any bad row imports nothing. Who imported is on each order's timeline
    (``order_imported``), so no admin log entries are written per row.
    """

    resource_classes = [OrderResource]
    import_form_class = ImportForm
    export_form_class = ExportForm
    skip_admin_log = True

    def get_import_resource_classes(self, request):
        return [OrderImportResource]

    def get_export_resource_classes(self, request):
        return [OrderResource]
    change_form_template = "admin/orders/order/change_form.html"
    # What staff scan for, all visible at 1280 px (exported is a filter, not a column; the
    # buyer is the company, else the e-mail — search finds either).
    list_display = ["number", "status_badge", "payment_badge", "fulfillment_badge", "channel",
                    "buyer", "total_display", "placed_display"]
    list_filter = [WorkQueueFilter, "status", "payment_status", "fulfillment_status", "channel",
                   ("company", admin.RelatedOnlyFieldListFilter),
                   ("exported_at", admin.EmptyFieldListFilter), ("placed_at", DayRangeFilter)]
    list_filter_submit = True  # the date range is a small form
    search_fields = ["number", "public_id", "email", "lines__sku", "payments__reference",
                     "payments__transactions__reference", "company__name"]
    list_select_related = ["channel", "company"]
    date_hierarchy = "placed_at"
    # Lines, payments, invoices and the timeline are on the story above the form
    # (templates/admin/orders/order/change_form.html); these show only when they have rows.
    inlines = [OrderApprovalInline, SupplierOrderInline, OrderEditInline]
    actions = ["confirm_selected", "cancel_selected", "mark_exported_selected",
               "issue_invoices_selected", "export_json_selected"]
    fieldsets = [
        ("Details", {"classes": ["collapse"], "fields": [
            "number", "public_id", "status", "payment_status", "fulfillment_status", "channel",
            "customer", "company", "email", "currency", "external_reference",
            "approval_levels", "placed_at", "confirmed_at", "approved_at", "declined_at",
            "decline_reason", "completed_at", "canceled_at", "cancel_reason", "exported_at",
            "notes", "metadata", "cart", "api_key", "connection", "created_at",
            "updated_at"]}),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_change"):
            qs = qs.prefetch_related("payments__transactions")
        return qs

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="payment", ordering="payment_status")
    def payment_badge(self, obj):
        return badge(obj.payment_status, obj.get_payment_status_display())

    @admin.display(description="fulfillment", ordering="fulfillment_status")
    def fulfillment_badge(self, obj):
        return badge(obj.fulfillment_status, obj.get_fulfillment_status_display())

    @admin.display(description="total", ordering="total")
    def total_display(self, obj):
        return money(obj.total, obj.currency)

    @admin.display(description="buyer", ordering="email")
    def buyer(self, obj):
        return obj.company.name if obj.company_id else obj.email

    @admin.display(description="placed", ordering="placed_at")
    def placed_display(self, obj):
        return when(obj.placed_at)

    # --- buttons -------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("<int:pk>/action/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="orders_order_action"),
        ] + super().get_urls()

    def buttons(self, request, order) -> list[tuple[str, str, str]]:
        """(label, url, action) of the buttons this order would accept now."""
        shown = []
        for action, (label, _, perm) in BUTTONS.items():
            if not request.user.has_perm(f"orders.{perm}"):
                continue
            if not self.button_allowed(order, action):
                continue
            shown.append((label, reverse("admin:orders_order_action", args=[order.pk, action]),
                          action))
        if (request.user.has_perm("fulfillment.add_shipment")
                and order.status == OrderStatus.CONFIRMED
                and order.fulfillment_status != FulfillmentStatus.FULFILLED):
            # The shipment page (fulfillment's admin) lists what is left to ship.
            shown.append(("Create shipment",
                          reverse("admin:fulfillment_shipment_create", args=[order.pk]),
                          "ship"))
        return shown

    @staticmethod
    def button_allowed(order, action: str) -> bool:
        """Ask the order (its transition table) and its payments whether the service would
        accept the button: no Refund on an unpaid order, no Capture once paid."""
        if action in STATUS_ACTIONS:
            return order.can(STATUS_ACTIONS[action])
        payments = list(order.payments.all())
        if action == "capture":  # payment_capture: an open order with a balance left
            net = sum((p.amount_net for p in payments), Decimal("0"))
            return (bool(payments) and order.total > net
                    and order.status not in (OrderStatus.CANCELED, OrderStatus.DECLINED))
        if action == "refund":
            return any(p.amount_captured > p.amount_refunded for p in payments)
        if action == "issue_invoice":
            return (order.status in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED)
                    and not order.invoices.exclude(status=InvoiceStatus.VOID).exists())
        if action == "mark_exported":
            return order.exported_at is None
        return True

    def get_inline_instances(self, request, obj=None):
        """Tables with rows only: an order without edits shows no empty edits table."""
        inlines = super().get_inline_instances(request, obj)
        if obj is None:
            return inlines
        return [inline for inline in inlines
                if inline.model._default_manager.filter(order=obj).exists()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = {}
        if order is not None:
            extra = {
                "order": order,
                "order_buttons": self.buttons(request, order),
                "status_badge": self.status_badge(order),
                "payment_badge": self.payment_badge(order),
                "fulfillment_badge": self.fulfillment_badge(order),
                "lines": order.lines.all(),
                "payments": order.payments.prefetch_related("transactions"),
                "invoices": order.invoices.all(),
                "shipments": order.shipments.order_by("id"),
                "events": timeline_feed(order.events.select_related("actor_user")
                                        .order_by("-created_at", "-id")),
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})

    def action_view(self, request, pk, action):
        if action not in BUTTONS:
            raise PermissionDenied
        label, field_names, perm = BUTTONS[action]
        order = get_object_or_404(Order.objects.select_related("channel"), pk=pk)
        if not request.user.has_perm(f"orders.{perm}"):
            raise PermissionDenied
        form = ActionForm(request.POST or None)
        payments = Payment.objects.filter(order=order)
        form.fields["payment"].queryset = payments
        form.fields["payment"].label_from_instance = lambda p: " · ".join(
            part for part in (p.get_kind_display(), p.reference, money(p.amount, p.currency))
            if part)
        form.fields["payment"].initial = payments.first()
        for name in list(form.fields):
            if name not in field_names:
                del form.fields[name]
        if action == "decline":
            form.fields["reason"].required = True
        if request.method == "POST" and form.is_valid():
            done = self.run_button(request, order, action, form.cleaned_data)
            if done is not None:
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label}: {order}",
            "order": order,
            "form": form,
            "label": label,
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order/action.html", context)

    def run_button(self, request, order, action, data):
        actor = staff_actor(request)
        if action == "confirm":
            return run_service(request, services.order_confirm, order=order, actor=actor,
                               note=data["comment"], success=f"{order} confirmed.")
        if action == "approve":
            return run_service(request, services.order_approve, order=order,
                               principal=staff_principal(request), comment=data["comment"],
                               success=f"Approval recorded on {order}.")
        if action == "decline":
            return run_service(request, services.order_decline, order=order,
                               principal=staff_principal(request), reason=data["reason"],
                               success=f"{order} declined.")
        if action == "cancel":
            return run_service(request, services.order_cancel, order=order, actor=actor,
                               reason=data["cancel_reason"] or CancelReason.STAFF,
                               note=data["comment"], success=f"{order} canceled.")
        if action in ("capture", "refund"):
            payment = data["payment"]
            if payment is None:
                messages.error(request, "This order has no payment.")
                return None
            service = services.payment_capture if action == "capture" \
                else services.payment_refund
            return run_service(request, service, order=order, payment=payment, actor=actor,
                               amount=data["amount"], reference=data["reference"],
                               success=f"{label_of(action)} recorded on {order}.")
        if action == "issue_invoice":
            invoice = run_service(request, services.invoice_issue, order=order, actor=actor)
            if invoice is not None:
                messages.success(request, f"Invoice {invoice.number} issued.")
            return invoice
        if action == "mark_exported":
            return run_service(request, services.order_mark_exported, order=order, actor=actor,
                               success=f"{order} marked exported.")
        raise PermissionDenied

    # --- bulk actions --------------------------------------------------------------------

    def _bulk(self, request, queryset, func, verb, **kwargs):
        done = failed = 0
        for order in queryset.order_by("pk"):
            if run_service(request, func, order=order, **kwargs) is None:
                failed += 1
            else:
                done += 1
        if done:
            messages.success(request, f"{done} order(s) {verb}.")
        if failed:
            messages.warning(request, f"{failed} order(s) refused (see the messages above).")

    @admin.action(description="Confirm selected orders", permissions=["change"])
    def confirm_selected(self, request, queryset):
        self._bulk(request, queryset, services.order_confirm, "confirmed",
                   actor=staff_actor(request))

    @admin.action(description="Cancel selected orders", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._bulk(request, queryset, services.order_cancel, "canceled",
                   actor=staff_actor(request), reason=CancelReason.STAFF)

    @admin.action(description="Mark selected orders exported", permissions=["change"])
    def mark_exported_selected(self, request, queryset):
        marked = services.orders_mark_exported(orders=list(queryset),
                                               actor=staff_actor(request))
        messages.success(request, f"{len(marked)} order(s) marked exported.")

    @admin.action(description="Export selected orders as JSON (lines nested)",
                  permissions=["view"])
    def export_json_selected(self, request, queryset):
        response = JsonResponse(orders_export_json(queryset), safe=False,
                                json_dumps_params={"indent": 2})
        response["Content-Disposition"] = 'attachment; filename="orders.json"'
        return response

    @admin.action(description="Issue invoices for selected orders", permissions=["change"])
    def issue_invoices_selected(self, request, queryset):
        self._bulk(request, queryset, services.invoice_issue, "invoiced",
                   actor=staff_actor(request))


def label_of(action: str) -> str:
    return BUTTONS[action][0].split()[0]


class InvoicePaidForm(forms.Form):
    reference = forms.CharField(required=False, max_length=120,
                                help_text="The bank transfer or cheque reference.")


@admin.register(Invoice)
class InvoiceAdmin(ObjectActionsMixin, ServiceManagedAdmin):
    """The invoice page: header with its status, the amount in the currency, the buyer and
    the order it bills (templates/admin/orders/invoice/change_form.html); the raw fields fold
    away with the amount formatted. Mark paid and Void are unfold detail actions offered
    while the invoice is issued, each through its service."""

    list_display = ["number", "status_badge", "order", "company", "amount_display",
                    "issued_at", "due_date", "paid_at"]
    list_filter = [OverdueFilter, "status", ("company", admin.RelatedOnlyFieldListFilter),
                   ("issued_at", DayRangeFilter), ("due_date", RangeDateFilter)]
    list_filter_submit = True
    search_fields = ["number", "public_id", "order__number", "company__name", "order__email",
                     "order__lines__sku"]
    list_select_related = ["order", "company"]
    date_hierarchy = "issued_at"
    actions = ["mark_paid_selected", "void_selected"]
    fieldsets = [
        ("Details", {"classes": ["collapse"], "fields": [
            "number", "public_id", "status", "order", "company", "customer", "amount_display",
            "issued_at", "due_date", "paid_at", "voided_at", "created_at", "updated_at"]}),
    ]

    change_form_template = "admin/orders/invoice/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "amount_display"]

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj):
        return money(obj.amount, obj.currency)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_object(request, object_id)
        extra = {}
        if invoice is not None:
            order = invoice.order
            extra = {
                "invoice": invoice,
                "order": order,
                "status_badge": self.status_badge(invoice),
                "order_status_badge": badge(order.status, order.get_status_display()),
                "payment_badge": badge(order.payment_status,
                                       order.get_payment_status_display()),
                "overdue": Invoice.objects.filter(invoice_overdue_filter(),
                                                  pk=invoice.pk).exists(),
            }
        return super().change_view(request, object_id, form_url, {**extra,
                                                                   **(extra_context or {})})

    def get_urls(self):
        return [
            path("<int:pk>/print/", self.admin_site.admin_view(self.print_view),
                 name="orders_invoice_print"),
        ] + super().get_urls()

    # Change-page buttons through unfold's detail actions: links, never a nested form.
    actions_detail = ["download_pdf", "print_invoice", "mark_paid", "void"]

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        if name in ("mark_paid", "void"):
            return obj.status == InvoiceStatus.ISSUED
        return True

    @detail_action(description="Download PDF", url_path="pdf", icon="picture_as_pdf",
            permissions=["view"])
    def download_pdf(self, request, object_id):
        """The same document as ``GET /api/v1/invoices/{id}.pdf`` (orders.presenters)."""
        invoice = get_object_or_404(Invoice.objects.select_related(
            "order__channel", "company"), pk=object_id)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response

    @detail_action(description="Print", url_path="print-page", icon="print", permissions=["view"])
    def print_invoice(self, request, object_id):
        return redirect("admin:orders_invoice_print", object_id)

    def _invoice(self, request, object_id) -> Invoice:
        invoice = get_object_or_404(Invoice.objects.select_related("order"), pk=object_id)
        if not self.has_change_permission(request, invoice):
            raise PermissionDenied
        return invoice

    @detail_action(description="Mark paid", url_path="mark-paid", icon="paid",
                   permissions=["change"], attrs={"id": "action-mark-paid"},
                   variant=ActionVariant.PRIMARY)
    def mark_paid(self, request, object_id):
        invoice = self._invoice(request, object_id)
        form = InvoicePaidForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            return confirm_page(
                request, self, invoice, title=f"Mark {invoice.number} paid?",
                button="Mark paid", form=form,
                summary=f"{invoice.get_status_display()} · "
                        f"{money(invoice.amount, invoice.currency)} · due {invoice.due_date}",
                text="The balance is captured on the order's payment, so the order's payment "
                     "status follows.")
        run_service(request, services.invoice_mark_paid, invoice=invoice,
                    actor=staff_actor(request), reference=form.cleaned_data["reference"],
                    success=f"{invoice.number} paid.")
        return redirect("admin:orders_invoice_change", invoice.pk)

    @detail_action(description="Void", url_path="void", icon="block", permissions=["change"],
                   attrs={"id": "action-void"}, variant=ActionVariant.DANGER)
    def void(self, request, object_id):
        invoice = self._invoice(request, object_id)
        if request.method != "POST":
            return confirm_page(
                request, self, invoice, title=f"Void {invoice.number}?", button="Void",
                danger=True, summary=f"{invoice.get_status_display()} · "
                                     f"{money(invoice.amount, invoice.currency)}",
                text="The invoice no longer counts; the order can be invoiced again.")
        run_service(request, services.invoice_void, invoice=invoice,
                    actor=staff_actor(request), success=f"{invoice.number} voided.")
        return redirect("admin:orders_invoice_change", invoice.pk)

    def print_view(self, request, pk):
        """The invoice as a document to print (or save as PDF from the browser)."""
        invoice = get_object_or_404(Invoice.objects.select_related(
            "order__channel", "company"), pk=pk)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return render(request, "admin/orders/invoice/print.html", {
            "invoice": invoice, "order": invoice.order,
            "back_url": reverse("admin:orders_invoice_change", args=[invoice.pk])})

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.action(description="Mark selected invoices paid", permissions=["change"])
    def mark_paid_selected(self, request, queryset):
        for invoice in queryset:
            run_service(request, services.invoice_mark_paid, invoice=invoice,
                        actor=staff_actor(request), success=f"{invoice} paid.")

    @admin.action(description="Void selected invoices", permissions=["change"])
    def void_selected(self, request, queryset):
        for invoice in queryset:
            run_service(request, services.invoice_void, invoice=invoice,
                        actor=staff_actor(request), success=f"{invoice} voided.")


@admin.register(SupplierOrder)
class SupplierOrderAdmin(ServiceManagedAdmin):
    list_display = ["number", "status_badge", "supplier", "order", "created_at",
                    "acknowledged_at"]
    list_filter = ["status", "supplier", ("created_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["number", "public_id", "order__number", "supplier__code",
                     "lines__sku"]
    list_select_related = ["supplier", "order"]
    actions = ["acknowledge_selected"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.action(description="Acknowledge selected supplier orders", permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        for so in queryset:
            run_service(request, services.supplier_order_acknowledge, supplier_order=so,
                        actor=staff_actor(request), success=f"{so} acknowledged.")


@admin.register(OrderApprovalRule)
class OrderApprovalRuleAdmin(ModelAdmin):
    """Configuration, not workflow: rules are edited directly. Orders already placed keep
    the levels they were placed with."""

    list_display = ["company", "threshold", "level", "is_active"]
    list_filter = ["is_active", "level"]
    search_fields = ["company__name", "company__code"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]


@admin.register(SupplierUser)
class SupplierUserAdmin(ModelAdmin):
    """Which login acts for which supplier (it then sees that supplier's orders)."""

    list_display = ["user", "supplier"]
    search_fields = ["user__username", "user__email", "supplier__code", "supplier__name"]
    list_select_related = ["user", "supplier"]
    autocomplete_fields = ["user", "supplier"]
