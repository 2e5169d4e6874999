"""``{% load work_queue %}``: the order and invoice queues on the admin index, each a count
linking to the admin list filtered the same way (orders.selectors holds the filters)."""

from django import template
from django.urls import reverse

from orders.selectors import UNSHIPPED_AFTER_DAYS, work_queue_counts

register = template.Library()

QUEUES = [
    # (key, label, list, query string)
    ("awaiting_approval", "Orders awaiting approval", "orders_order", "queue=awaiting_approval"),
    ("unshipped", f"Confirmed, not shipped after {UNSHIPPED_AFTER_DAYS} days", "orders_order",
     "queue=unshipped"),
    ("pending_capture", "Payments to capture", "orders_order", "queue=pending_capture"),
    ("pending_payment", "Orders pending payment", "orders_order", "queue=pending_payment"),
    ("invoices_overdue", "Invoices overdue", "orders_invoice", "overdue=yes"),
]


@register.simple_tag(takes_context=True)
def order_work_queue(context) -> list[dict]:
    """``[{key, label, count, url}]`` for staff who may see orders; empty for anyone else."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.has_perm("orders.view_order"):
        return []
    counts = work_queue_counts()
    return [
        {"key": key, "label": label, "count": counts[key],
         "url": f"{reverse(f'admin:{changelist}_changelist')}?{query}"}
        for key, label, changelist, query in QUEUES
        if changelist != "orders_invoice" or user.has_perm("orders.view_invoice")
    ]
