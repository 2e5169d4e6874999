"""Row locks of orders and what they own, for services only. Each queryset locks its own
table's rows (``of=("self",)``, so a ``select_related`` join locks nothing more) in
primary-key order, so two services locking overlapping rows queue instead of deadlocking.
A service locks the order first, then what belongs to it."""

from orders.models import Invoice, Order, OrderEdit, OrderLine, Payment, SupplierOrder


def order_qs_select_for_update():
    return Order.objects.order_by("pk").select_for_update(of=("self",))


def order_line_qs_select_for_update():
    return OrderLine.objects.order_by("pk").select_for_update(of=("self",))


def payment_qs_select_for_update():
    return Payment.objects.order_by("pk").select_for_update(of=("self",))


def invoice_qs_select_for_update():
    return Invoice.objects.order_by("pk").select_for_update(of=("self",))


def supplier_order_qs_select_for_update():
    return SupplierOrder.objects.order_by("pk").select_for_update(of=("self",))


def order_edit_qs_select_for_update():
    return OrderEdit.objects.order_by("pk").select_for_update(of=("self",))
