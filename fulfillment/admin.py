"""Fulfillment in the back office: shipping methods; shipments (list with filters, a create
page reached from the order, ship/deliver/cancel buttons, a CSV tracking import); the RMA
queue (authorize, reject, receive with restock per line, refund, close). Every change goes
through ``fulfillment.services``; statuses are read-only."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ImportMixin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ImportForm
from unfold.decorators import action

from fulfillment import services
from fulfillment.constants import ItemCondition, ReturnReason, ReturnStatus, ShipmentStatus
from fulfillment.models import (
    Return,
    ReturnEvent,
    ReturnLine,
    Shipment,
    ShipmentLine,
    ShippingMethod,
    ShippingRate,
)
from fulfillment.resources import TrackingImportResource
from orderflow.admin import (
    DayRangeFilter,
    ObjectActionsMixin,
    ServiceManagedAdmin,
    TimelineInline,
    confirm_page,
    run_service,
)
from orderflow.timeline import Actor
from orders.models import Order


class ShippingRateInline(TabularInline):
    model = ShippingRate
    extra = 0


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ModelAdmin):
    list_display = ["code", "name", "basis", "currency", "countries", "is_active", "sort_order"]
    list_filter = ["basis", "is_active", "channels"]
    search_fields = ["code", "name"]
    filter_horizontal = ["channels"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [ShippingRateInline]


def staff_actor(request) -> Actor:
    return Actor.staff(request.user)


class AgeFilter(admin.SimpleListFilter):
    """How long a shipment or return has been waiting (since it was created)."""

    title = "age"
    parameter_name = "age"
    OPTIONS = {"1d": ("older than a day", 1), "3d": ("older than 3 days", 3),
               "7d": ("older than a week", 7)}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.OPTIONS.items()]

    def queryset(self, request, queryset):
        if self.value() in self.OPTIONS:
            days = self.OPTIONS[self.value()][1]
            return queryset.filter(created_at__lt=timezone.now() - timedelta(days=days))
        return queryset


# --- shipments ---------------------------------------------------------------------------------

class ShipmentLineInline(TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    fields = ["sku", "name", "quantity"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="sku")
    def sku(self, obj):
        return obj.order_line.sku

    @admin.display(description="name")
    def name(self, obj):
        return obj.order_line.name


class TrackingForm(forms.Form):
    carrier = forms.CharField(max_length=60, required=False,
                              help_text="dhl, fedex, ups, usps, jamaica-post and knutsford get "
                                        "a tracking link by themselves.")
    service = forms.CharField(max_length=60, required=False)
    tracking_number = forms.CharField(max_length=120, required=False)
    tracking_url = forms.URLField(max_length=500, required=False, assume_scheme="https")


def create_shipment_form(lines: list[tuple], data=None):
    """The unshipped lines, one quantity field each (defaulting to what is left), then the
    carrier and tracking, and whether it leaves now."""
    fields = {}
    for line, left in lines:
        fields[f"qty_{line.public_id}"] = forms.IntegerField(
            label=f"{line.sku} — {line.name}", min_value=0, max_value=left, initial=left,
            help_text=f"{left} of {line.quantity} left to ship.")
    fields.update(TrackingForm.base_fields)
    fields["weight_grams"] = forms.IntegerField(min_value=1, required=False,
                                                label="Package weight (g)")
    fields["ship_now"] = forms.BooleanField(required=False, initial=True,
                                            label="Mark shipped now")
    return type("CreateShipmentForm", (forms.Form,), dict(fields))(data)


@admin.register(Shipment)
class ShipmentAdmin(ObjectActionsMixin, ImportMixin, ServiceManagedAdmin):
    """Shipments, newest first. "Create shipment" is reached from the order page
    (``admin:fulfillment_shipment_create`` with the order's id); tracking numbers come in by
    CSV (Import)."""

    list_display = ["number", "order_link", "status", "carrier", "tracking_number",
                    "supplier_order", "created_at", "shipped_at", "delivered_at"]
    list_filter = ["status", "carrier", AgeFilter, ("created_at", DayRangeFilter),
                   ("shipped_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["number", "public_id", "tracking_number", "order__number",
                     "lines__order_line__sku"]
    list_select_related = ["order", "supplier_order"]
    ordering = ["-created_at", "-id"]
    inlines = [ShipmentLineInline]
    actions = ["ship_selected", "deliver_selected", "cancel_selected"]
    actions_detail = ["ship", "deliver", "cancel", "edit_tracking"]
    resource_classes = [TrackingImportResource]
    import_form_class = ImportForm
    skip_admin_log = True

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    def has_import_permission(self, request):
        return request.user.has_perm("fulfillment.add_shipment")

    # --- bulk actions

    def _bulk(self, request, queryset, func, verb):
        done = 0
        for shipment in queryset:
            if run_service(request, func, shipment=shipment, actor=staff_actor(request)):
                done += 1
        if done:
            messages.success(request, f"{done} shipment(s) {verb}.")

    @admin.action(description="Mark shipped", permissions=["change"])
    def ship_selected(self, request, queryset):
        self._bulk(request, queryset, services.shipment_ship, "shipped")

    @admin.action(description="Mark delivered", permissions=["change"])
    def deliver_selected(self, request, queryset):
        self._bulk(request, queryset, services.shipment_deliver, "delivered")

    @admin.action(description="Cancel pending shipments", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._bulk(request, queryset, services.shipment_cancel, "canceled")

    # --- change-page buttons (links to a confirmation page with its own form)

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        return {"ship": obj.status == ShipmentStatus.PENDING,
                "deliver": obj.status == ShipmentStatus.SHIPPED,
                "cancel": obj.status == ShipmentStatus.PENDING,
                "edit_tracking": obj.status != ShipmentStatus.CANCELED}.get(name, True)

    def _shipment(self, request, object_id) -> Shipment:
        shipment = get_object_or_404(Shipment.objects.select_related("order"), pk=object_id)
        if not self.has_change_permission(request, shipment):
            raise PermissionDenied
        return shipment

    def _done(self, shipment):
        return redirect("admin:fulfillment_shipment_change", shipment.pk)

    @action(description="Mark shipped", url_path="ship", icon="local_shipping")
    def ship(self, request, object_id):
        shipment = self._shipment(request, object_id)
        form = TrackingForm(request.POST or None, initial={
            "carrier": shipment.carrier, "service": shipment.service,
            "tracking_number": shipment.tracking_number})
        if request.method != "POST" or not form.is_valid():
            return confirm_page(request, self, shipment, title=f"Ship {shipment}?",
                                button="Mark shipped", form=form,
                                text="Its units leave stock and count as shipped on the order; "
                                     "the buyer gets the shipping e-mail.")
        run_service(request, services.shipment_ship, shipment=shipment,
                    actor=staff_actor(request), success=f"{shipment} shipped.",
                    **{k: v for k, v in form.cleaned_data.items() if v or k != "tracking_url"})
        return self._done(shipment)

    @action(description="Mark delivered", url_path="deliver", icon="done_all")
    def deliver(self, request, object_id):
        shipment = self._shipment(request, object_id)
        if request.method != "POST":
            return confirm_page(request, self, shipment, title=f"{shipment} delivered?",
                                button="Mark delivered")
        run_service(request, services.shipment_deliver, shipment=shipment,
                    actor=staff_actor(request), success=f"{shipment} delivered.")
        return self._done(shipment)

    @action(description="Cancel shipment", url_path="cancel", icon="cancel")
    def cancel(self, request, object_id):
        shipment = self._shipment(request, object_id)
        form = forms.Form(request.POST or None)
        form.fields["reason"] = forms.CharField(max_length=500, required=False)
        if request.method != "POST" or not form.is_valid():
            return confirm_page(request, self, shipment, title=f"Cancel {shipment}?",
                                button="Cancel shipment", form=form, danger=True,
                                text="Its units are free to go in another shipment.")
        run_service(request, services.shipment_cancel, shipment=shipment,
                    actor=staff_actor(request), reason=form.cleaned_data["reason"],
                    success=f"{shipment} canceled.")
        return self._done(shipment)

    @action(description="Edit tracking", url_path="tracking", icon="edit")
    def edit_tracking(self, request, object_id):
        shipment = self._shipment(request, object_id)
        form = TrackingForm(request.POST or None, initial={
            "carrier": shipment.carrier, "service": shipment.service,
            "tracking_number": shipment.tracking_number, "tracking_url": shipment.tracking_url})
        if request.method != "POST" or not form.is_valid():
            return confirm_page(request, self, shipment, title=f"Tracking of {shipment}",
                                button="Save tracking", form=form)
        run_service(request, services.shipment_update_tracking, shipment=shipment,
                    actor=staff_actor(request), success="Tracking saved.", **form.cleaned_data)
        return self._done(shipment)

    # --- "Create shipment" for an order

    def get_urls(self):
        return [
            path("create/<int:order_id>/", self.admin_site.admin_view(self.create_view),
                 name="fulfillment_shipment_create"),
        ] + super().get_urls()

    def create_view(self, request, order_id):
        """The order's unshipped lines with a quantity each (default: what is left),
        carrier and tracking; creates the shipment (and ships it when asked)."""
        if not request.user.has_perm("fulfillment.add_shipment"):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        lines = list(order.lines.order_by("id"))
        left = services.quantities_unshipped(order, {line.public_id: line for line in lines})
        open_lines = [(line, left[line.public_id]) for line in lines if left[line.public_id] > 0]
        form = create_shipment_form(open_lines, request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            quantities = {line.public_id: data[f"qty_{line.public_id}"]
                          for line, _ in open_lines if data[f"qty_{line.public_id}"]}
            if not quantities:
                messages.error(request, "Enter a quantity for at least one line.")
            else:
                shipment = run_service(
                    request, services.shipment_create, order=order, lines=quantities,
                    actor=staff_actor(request), carrier=data["carrier"],
                    service=data["service"], tracking_number=data["tracking_number"],
                    tracking_url=data["tracking_url"], weight_grams=data["weight_grams"],
                    success=None)
                if shipment is not None and data["ship_now"]:
                    run_service(request, services.shipment_ship, shipment=shipment,
                                actor=staff_actor(request))
                if shipment is not None:
                    messages.success(request, f"Shipment {shipment.number} created"
                                     + (" and shipped." if data["ship_now"] else "."))
                    return redirect("admin:orders_order_change", order.pk)
        text = ("Every unit is already in a shipment." if not open_lines else
                "Set how many units of each line go in this parcel (0 leaves a line out).")
        # The page's breadcrumb and Back lead to the order it was opened from.
        return confirm_page(request, self.admin_site._registry[Order], order, form=form,
                            title=f"Create a shipment for order {order.number}",
                            button="Create shipment", text=text,
                            summary=f"{order.get_status_display()} · "
                                    f"{order.get_fulfillment_status_display()}")


# --- returns (the RMA queue) -------------------------------------------------------------------

class ReturnLineInline(TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    fields = ["sku", "quantity", "reason", "reason_text", "quantity_received", "condition",
              "restock"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="sku")
    def sku(self, obj):
        return obj.order_line.sku


class ReturnEventInline(TimelineInline):
    model = ReturnEvent


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return ReturnReason.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(lines__reason=self.value()).distinct()
        return queryset


@admin.register(Return)
class ReturnAdmin(ObjectActionsMixin, ServiceManagedAdmin):
    """The RMA queue: what waits for staff first (requested, then authorized and not yet
    received), with Authorize / Reject / Receive / Refund / Close through the services."""

    list_display = ["__str__", "order_link", "status", "refund_amount", "created_at",
                    "authorized_at", "received_at"]
    list_filter = ["status", AgeFilter, ReasonFilter, ("created_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["number", "public_id", "order__number", "lines__order_line__sku"]
    list_select_related = ["order"]
    ordering = ["created_at", "id"]
    inlines = [ReturnLineInline, ReturnEventInline]
    actions = ["authorize_selected"]
    actions_detail = ["authorize", "reject", "receive", "refund", "close"]

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.action(description="Authorize selected returns", permissions=["change"])
    def authorize_selected(self, request, queryset):
        done = sum(1 for r in queryset if run_service(
            request, services.return_authorize, return_request=r, actor=staff_actor(request)))
        if done:
            messages.success(request, f"{done} return(s) authorized.")

    def detail_action_allowed(self, request, obj, name: str) -> bool:
        target = {"authorize": ReturnStatus.AUTHORIZED, "reject": ReturnStatus.REJECTED,
                  "receive": ReturnStatus.RECEIVED, "refund": ReturnStatus.REFUNDED,
                  "close": ReturnStatus.CLOSED}.get(name)
        return target is None or obj.can_move_to(target)

    def _return(self, request, object_id) -> Return:
        r = get_object_or_404(Return.objects.select_related("order"), pk=object_id)
        if not self.has_change_permission(request, r):
            raise PermissionDenied
        return r

    def _step(self, request, object_id, *, title, button, func, fields=None, text="",
              danger=False, success="", kwargs_of=lambda data: data):
        r = self._return(request, object_id)
        form = forms.Form(request.POST or None)
        for name, field in (fields or {}).items():
            form.fields[name] = field
        if request.method != "POST" or not form.is_valid():
            return confirm_page(request, self, r, title=title.format(r=r), button=button,
                                form=form if fields else None, text=text, danger=danger)
        run_service(request, func, return_request=r, actor=staff_actor(request),
                    success=success, **kwargs_of(form.cleaned_data))
        return redirect("admin:fulfillment_return_change", r.pk)

    @action(description="Authorize", url_path="authorize", icon="check")
    def authorize(self, request, object_id):
        return self._step(
            request, object_id, title="Authorize return {r}?", button="Authorize",
            func=services.return_authorize, success="Return authorized; the buyer gets the "
                                                    "RMA number by e-mail.",
            fields={"instructions": forms.CharField(widget=forms.Textarea, required=False)})

    @action(description="Reject", url_path="reject", icon="block")
    def reject(self, request, object_id):
        return self._step(request, object_id, title="Reject return {r}?", button="Reject",
                          func=services.return_reject, danger=True, success="Return rejected.",
                          fields={"reason": forms.CharField(widget=forms.Textarea)})

    @action(description="Receive", url_path="receive", icon="inventory")
    def receive(self, request, object_id):
        r = self._return(request, object_id)
        rows = list(r.lines.select_related("order_line").order_by("id"))
        fields = {}
        for row in rows:
            key = row.order_line.public_id
            fields[f"qty_{key}"] = forms.IntegerField(
                label=f"{row.order_line.sku} received", min_value=0, max_value=row.quantity,
                initial=row.quantity, help_text=f"{row.quantity} asked to return.")
            fields[f"condition_{key}"] = forms.ChoiceField(choices=ItemCondition.choices,
                                                           label="condition")
            fields[f"restock_{key}"] = forms.BooleanField(required=False, initial=True,
                                                          label="back on the shelf (restock)")

        def kwargs_of(data):
            return {"lines": {row.order_line.public_id: {
                "quantity": data[f"qty_{row.order_line.public_id}"],
                "condition": data[f"condition_{row.order_line.public_id}"],
                "restock": data[f"restock_{row.order_line.public_id}"]} for row in rows}}

        return self._step(request, object_id, title="Receive return {r}", button="Receive",
                          func=services.return_receive, fields=fields, kwargs_of=kwargs_of,
                          text="What arrived, per line. Restocked units go back on hand; no "
                               "money moves until you refund.", success="Return received.")

    @action(description="Refund", url_path="refund", icon="payments")
    def refund(self, request, object_id):
        r = self._return(request, object_id)
        due = services.refund_due(r)
        return self._step(
            request, object_id, title="Refund return {r}?", button="Refund",
            func=services.return_refund, success="Refund recorded.",
            text=f"Default: {due} {r.currency}, what the received units cost. On the payment, "
                 "or as a credit on the invoice of a terms/COD order not paid yet.",
            fields={"amount": forms.DecimalField(max_digits=14, decimal_places=2,
                                                 min_value=0, initial=due),
                    "reference": forms.CharField(max_length=120, required=False,
                                                 label="provider refund id")})

    @action(description="Close", url_path="close", icon="task_alt")
    def close(self, request, object_id):
        return self._step(request, object_id, title="Close return {r}?", button="Close",
                          func=services.return_close, success="Return closed.",
                          fields={"note": forms.CharField(required=False)})
