"""The webhook health block on the admin dashboard (templates/admin/index.html), loaded as
``{% load webhook_dashboard %}`` (bridges/templatetags/webhook_dashboard.py)."""

from django import template
from django.db.models import Count, Q
from django.urls import reverse

from bridges.constants import DeliveryStatus
from bridges.models import WebhookDelivery, WebhookEndpoint

register = template.Library()


@register.simple_tag(takes_context=True)
def webhook_health(context) -> dict | None:
    """Dead deliveries and endpoints that are disabled or failing, for holders of
    webhooks.manage (``None`` for anyone else: the block is not shown)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff
                            and user.has_perm("bridges.webhooks_manage")):
        return None
    endpoints = WebhookEndpoint.objects.aggregate(
        disabled=Count("pk", filter=Q(is_active=False)),
        failing=Count("pk", filter=Q(is_active=True, failing_since__isnull=False)),
    )
    deliveries = reverse("admin:bridges_webhookdelivery_changelist")
    endpoint_list = reverse("admin:bridges_webhookendpoint_changelist")
    return {
        "dead": WebhookDelivery.objects.filter(status=DeliveryStatus.DEAD).count(),
        "dead_url": f"{deliveries}?status__exact=dead",
        "disabled": endpoints["disabled"],
        "disabled_url": f"{endpoint_list}?health=disabled",
        "failing": endpoints["failing"],
        "failing_url": f"{endpoint_list}?health=failing",
    }
