"""Order edit use cases: stage, discard, apply (the plan comes from ``edit_plan``)."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from catalog.services import stock_release, stock_reserve
from orderflow.errors import Conflict, InvalidTransition, ValidationFailed
from orderflow.money import format_amount
from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    ORDER_EDIT_TRANSITIONS,
    FulfillmentStatus,
    OrderEditStatus,
    PaymentRecordStatus,
)
from orders.lock_objects import order_edit_qs_select_for_update, payment_qs_select_for_update
from orders.models import (
    Order,
    OrderEdit,
    OrderLine,
    SupplierOrderLine,
)
from orders.services.common import (
    ZERO,
    lock_order,
    order_lines,
    order_payments,
)
from orders.services.edit_plan import (
    EDIT_LINE_FIELDS,
    EditPlan,
    check_editable,
    comparable,
    edit_changes,
    edit_money,
    edit_plan,
    edit_preview,
)
from orders.services.lifecycle import (
    finish_fulfilled,
    fulfillment_of,
)
from orders.services.suppliers import (
    supplier_orders_follow_edit,
)
from orders.services.transactions import (
    refresh_payment_status,
)


def _lock_edit(order: Order, edit) -> object:
    edit = order_edit_qs_select_for_update().get(pk=edit.pk, order_id=order.pk)
    edit.order = order
    return edit


def _edit_move(edit, target: str) -> None:
    if target not in ORDER_EDIT_TRANSITIONS[edit.status]:
        raise InvalidTransition(entity="order edit", from_status=edit.status, to_status=target)
    edit.status = target


@transaction.atomic
def order_edit_stage(*, order: Order, changes: dict, actor: Actor, note: str = ""):
    """Validate and price ``changes`` against the order as it is now and keep them, with the
    preview, as a staged edit. The order itself does not change."""
    order = lock_order(order)
    check_editable(order)
    changes = edit_changes(changes)
    plan = edit_plan(order, changes)
    preview = edit_preview(plan)
    if not any(line["change"] != "unchanged" for line in preview["lines"]) and not any(
            preview[k] for k in ("shipping_method", "shipping_address", "billing_address")):
        raise ValidationFailed("These changes leave the order as it is.", code="empty_edit",
                               errors={"changes": ["Nothing would change."]})
    edit = OrderEdit.objects.create(
        order=order, changes=json.loads(json.dumps(changes, cls=DjangoJSONEncoder)),
        preview=preview, note=note,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.display[:200])
    events.order_edit_event(order=order, actor=actor, edit=edit, type=events.ORDER_EDIT_STAGED)
    return edit


@transaction.atomic
def order_edit_discard(*, edit, actor: Actor):
    """Drop a staged edit; the order is untouched."""
    order = lock_order(edit.order)
    edit = _lock_edit(order, edit)
    _edit_move(edit, OrderEditStatus.DISCARDED)
    edit.discarded_at = timezone.now()
    edit.save(update_fields=["status", "discarded_at", "updated_at"])
    events.order_edit_event(order=order, actor=actor, edit=edit,
                            type=events.ORDER_EDIT_DISCARDED)
    return edit


@transaction.atomic
def order_edit_apply(*, edit, actor: Actor) -> Order:
    """Apply a staged edit in one transaction: stock reserved and released, lines rewritten,
    totals re-priced, the balance recorded on the payments (an amount due or a refund owed),
    supplier orders adjusted, ``order.updated`` and one timeline entry with the diff.

    Refused, with nothing changed, when the order is no longer editable, when the order or
    its prices moved since staging (``edit_stale``: stage it again), or when stock is short.
    """
    order = lock_order(edit.order)
    edit = _lock_edit(order, edit)
    _edit_move(edit, OrderEditStatus.APPLIED)
    check_editable(order)
    plan = edit_plan(order, edit.changes)
    preview = edit_preview(plan)
    if comparable(preview) != comparable(edit.preview):
        raise Conflict("The order, its payments or its prices changed since this edit was "
                       "staged; stage it again to see the new preview.", code="edit_stale",
                       edit_id=edit.public_id)
    credit = next((p for p in plan.problems if p["code"] == "over_credit_limit"), None)
    if credit:
        raise Conflict("This edit would take the company over its credit limit.",
                       **credit)
    now = timezone.now()
    before = {"subtotal": order.subtotal, "tax_total": order.tax_total,
              "shipping_total": order.shipping_total, "total": order.total}

    # Stock first: a short sku refuses the edit before anything is written.
    products = {p.product.pk: p.product for p in plan.lines}
    stock_reserve(items=[(products[pk], units) for pk, units in plan.reserve.items()])
    stock_release(quantities=plan.release)

    removed = [p.line for p in plan.lines if p.change == "removed"]
    touched_so = set(SupplierOrderLine.objects.filter(order_line__in=removed)
                     .values_list("supplier_order_id", flat=True))
    OrderLine.objects.filter(pk__in=[line.pk for line in removed]).delete()
    changed = []
    for p in plan.lines:
        if p.change != "changed":
            continue
        line = p.line
        (line.quantity, line.order_uom, line.order_quantity, line.unit_price,
         line.price_source, line.line_subtotal, line.tax_rate, line.tax_amount,
         line.line_total, line.quantity_reserved) = (
            p.quantity, p.order_uom, p.order_quantity, p.unit_price, p.price_source,
            p.subtotal, p.tax_rate, p.tax_amount, p.total, p.reserved)
        changed.append(line)
    OrderLine.objects.bulk_update(changed, EDIT_LINE_FIELDS)
    touched_so |= set(SupplierOrderLine.objects.filter(order_line__in=changed)
                      .values_list("supplier_order_id", flat=True))
    for line in changed:
        SupplierOrderLine.objects.filter(order_line=line).update(quantity=line.quantity)
    added = OrderLine.objects.bulk_create([
        OrderLine(order=order, product=p.product, sku=p.product.sku, name=p.product.name,
                  quantity=p.quantity, order_uom=p.order_uom, order_quantity=p.order_quantity,
                  unit_price=p.unit_price, price_source=p.price_source,
                  line_subtotal=p.subtotal, tax_rate=p.tax_rate, tax_amount=p.tax_amount,
                  line_total=p.total, quantity_reserved=p.reserved, metadata=p.metadata)
        for p in plan.lines if p.change == "added"
    ])

    old_fulfillment = order.fulfillment_status
    order.subtotal, order.tax_total = plan.subtotal, plan.tax_total
    order.shipping_total, order.total = plan.shipping_total, plan.total
    order.shipping_address, order.billing_address = plan.shipping_address, plan.billing_address
    if plan.shipping_method_changed:
        order.shipping_method = plan.shipping_method
        order.shipping_method_name = plan.shipping_method.name
    lines = order_lines(order)
    order.fulfillment_status = fulfillment_of(lines)
    _edit_record_balance(order, plan, actor)
    refresh_payment_status(order)
    order.save(update_fields=["subtotal", "tax_total", "shipping_total", "total",
                              "shipping_address", "billing_address", "shipping_method",
                              "shipping_method_name", "fulfillment_status", "payment_status",
                              "updated_at"])
    supplier_orders_follow_edit(order, touched_so, added, now)

    edit.applied_at = now
    edit.save(update_fields=["status", "applied_at", "updated_at"])
    diff = _edit_diff(order, plan, before, preview)
    events.order_edit_applied_event(order=order, actor=actor, edit=edit, diff=diff,
                                    balance=preview["balance"],
                                    old_fulfillment=old_fulfillment)
    events.order_emit("order.updated", order, lines=lines, payments=order_payments(order))
    if order.fulfillment_status == FulfillmentStatus.FULFILLED:
        finish_fulfilled(order, actor=actor)
    return order


def _edit_record_balance(order: Order, plan: EditPlan, actor: Actor) -> None:
    """Record what the new total means for the money, as cancel does: a refund owed on the
    payments that hold captured money (latest first), or an amount due on the main payment.
    Both are recomputed from the transactions, so a second edit corrects the first."""
    moves = edit_money(plan)
    payments = list(payment_qs_select_for_update().filter(order=order))
    owed_left = moves["to_refund"]
    owed = {}
    for payment in reversed(payments):
        share = min(owed_left, max(payment.amount_net, ZERO))
        owed[payment.pk] = share
        owed_left -= share
    main = next((p for p in payments if p.status != PaymentRecordStatus.VOIDED),
                payments[0] if payments else None)
    for payment in payments:
        due = moves["amount_due"] if main is not None and payment.pk == main.pk else ZERO
        if (payment.refund_owed, payment.amount_due) != (owed[payment.pk], due):
            payment.refund_owed, payment.amount_due = owed[payment.pk], due
            payment.save(update_fields=["refund_owed", "amount_due", "updated_at"])
    plan.payments = payments


def _edit_diff(order: Order, plan: EditPlan, before: dict, preview: dict) -> dict:
    """Before/after of what the edit changed, for the timeline."""
    diff: dict = {}
    lines = [
        {"id": line["id"], "sku": line["sku"], "change": line["change"],
         "quantity": {"old": line["quantity_before"], "new": line["quantity"]}}
        for line in preview["lines"] if line["change"] != "unchanged"
    ]
    if lines:
        diff["lines"] = lines
    for name, old in before.items():
        new = getattr(order, name)
        if old != new:
            diff[name] = {"old": format_amount(old, order.currency),
                          "new": format_amount(new, order.currency)}
    for key in ("shipping_method", "shipping_address", "billing_address"):
        if preview[key]:
            diff[key] = preview[key]
    return diff
