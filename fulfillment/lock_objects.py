"""Row locks of shipments and returns, for fulfillment's services only: each locks its own
table's rows in primary-key order. A service locks the order first (``orders.lock_objects``),
then its shipment or return."""

from fulfillment.models import Return, ReturnLine, Shipment


def shipment_qs_select_for_update():
    return Shipment.objects.order_by("pk").select_for_update(of=("self",))


def return_qs_select_for_update():
    return Return.objects.order_by("pk").select_for_update(of=("self",))


def return_line_qs_select_for_update():
    return ReturnLine.objects.order_by("pk").select_for_update(of=("self",))
