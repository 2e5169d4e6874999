"""Supplier forwarding: the lines of outside suppliers grouped into supplier orders, and
what suppliers do with them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.models import Product, Supplier
from orderflow.errors import InvalidTransition
from orderflow.timeline import Actor
from orders import events
from orders.constants import (
    SUPPLIER_ORDER_TRANSITIONS,
    SupplierOrderStatus,
)
from orders.lock_objects import supplier_order_qs_select_for_update
from orders.models import (
    Order,
    OrderLine,
    SupplierOrder,
    SupplierOrderLine,
)
from orders.services.common import (
    lock_order,
)


def supplier_order_number(order: Order, index: int) -> str:
    """``SO-000123-2``: the second supplier order of order ``OF-000123``."""
    return f"{order.number.replace('OF-', 'SO-', 1)}-{index}"


def is_forwarded(product) -> bool:
    """Whether a line of this product goes to its supplier (an external one)."""
    return bool(product.supplier_id and product.supplier.is_external)


def forward_to_suppliers(order: Order, *, new_lines=None) -> list[SupplierOrder]:
    """Group the lines of outside suppliers into one supplier order each.

    A fixed number of queries whatever the number of suppliers (it runs inside checkout).
    ``new_lines``: the lines of an order being placed, with ``product.supplier`` loaded —
    none of them is forwarded yet, so nothing needs reading.
    """
    if new_lines is not None:
        lines = [line for line in new_lines if is_forwarded(line.product)]
        existing = 0
    else:
        lines = list(OrderLine.objects.filter(order=order, product__supplier__is_external=True,
                                              supplier_line__isnull=True)
                     .select_related("product__supplier").order_by("id"))
        existing = None
    if not lines:
        return []
    by_supplier: dict[int, list[OrderLine]] = defaultdict(list)
    suppliers = {}
    for line in lines:
        by_supplier[line.product.supplier_id].append(line)
        suppliers[line.product.supplier_id] = line.product.supplier
    if existing is None:
        existing = SupplierOrder.objects.filter(order=order).count()
    ordered = sorted(suppliers.values(), key=lambda s: s.code)
    supplier_orders = SupplierOrder.objects.bulk_create([
        SupplierOrder(order=order, supplier=supplier,
                      number=supplier_order_number(order, existing + i))
        for i, supplier in enumerate(ordered, start=1)
    ])
    so_lines = {}
    rows = []
    for so in supplier_orders:
        so_lines[so.supplier_id] = [
            SupplierOrderLine(supplier_order=so, order_line=line, sku=line.sku, name=line.name,
                              quantity=line.quantity)
            for line in by_supplier[so.supplier_id]
        ]
        rows.extend(so_lines[so.supplier_id])
    SupplierOrderLine.objects.bulk_create(rows)
    events.supplier_orders_created_emit(supplier_orders, so_lines)
    return supplier_orders


@transaction.atomic
def supplier_order_acknowledge(*, supplier_order: SupplierOrder, actor: Actor) -> SupplierOrder:
    """The supplier confirms it received the order and will ship it."""
    order = lock_order(supplier_order.order)
    so = (supplier_order_qs_select_for_update().select_related("supplier")
          .get(pk=supplier_order.pk))
    so.order = order
    target = SupplierOrderStatus.ACKNOWLEDGED
    if target not in SUPPLIER_ORDER_TRANSITIONS[so.status]:
        raise InvalidTransition(entity="supplier order", from_status=so.status,
                                to_status=target)
    so.status, so.acknowledged_at = target, timezone.now()
    so.save(update_fields=["status", "acknowledged_at", "updated_at"])
    events.supplier_order_event(supplier_order=so, actor=actor,
                                type=events.SUPPLIER_ORDER_ACKNOWLEDGED,
                                message=f"{so.supplier.name} acknowledged {so.number}.")
    events.supplier_order_emit("supplier_order.acknowledged", so)
    return so


def supplier_orders_follow_edit(order: Order, touched: set[int], added: list[OrderLine],
                               now: datetime) -> None:
    """Forwarded lines follow the edit: changed quantities and removed lines update their
    supplier order (one left without lines is canceled), added lines of an outside supplier
    join its supplier order for this order or start one."""
    outside = {pk for pk in Product.objects.filter(
        pk__in=[line.product_id for line in added], supplier__is_external=True)
        .values_list("pk", flat=True)}
    new_lines = [line for line in added if line.product_id in outside]
    existing = {so.supplier_id: so for so in supplier_order_qs_select_for_update()
                .select_related("supplier").filter(order=order)}
    suppliers = dict(Product.objects.filter(pk__in=outside).values_list("pk", "supplier_id"))
    created = []
    for line in new_lines:
        so = existing.get(suppliers[line.product_id])
        if so is None:
            supplier = Supplier.objects.get(pk=suppliers[line.product_id])
            so = SupplierOrder.objects.create(
                order=order, supplier=supplier,
                number=supplier_order_number(order, len(existing) + 1))
            existing[supplier.pk] = so
            created.append(so)
        SupplierOrderLine.objects.create(supplier_order=so, order_line=line, sku=line.sku,
                                         name=line.name, quantity=line.quantity)
        if so not in created:
            touched.add(so.pk)
    for so in existing.values():
        so.order = order
        if so in created:
            events.supplier_order_emit("supplier_order.created", so)
            continue
        if so.pk not in touched:
            continue
        has_lines = so.lines.exists()
        if not has_lines and so.status != SupplierOrderStatus.CANCELED:
            so.status, so.canceled_at = SupplierOrderStatus.CANCELED, now
            so.save(update_fields=["status", "canceled_at", "updated_at"])
            events.supplier_order_emit("supplier_order.canceled", so)
        elif has_lines and so.status == SupplierOrderStatus.CANCELED:
            # Emptied by an earlier edit, needed again.
            so.status, so.canceled_at = SupplierOrderStatus.OPEN, None
            so.save(update_fields=["status", "canceled_at", "updated_at"])
            events.supplier_order_emit("supplier_order.updated", so)
        else:
            so.save(update_fields=["updated_at"])
            events.supplier_order_emit("supplier_order.updated", so)
