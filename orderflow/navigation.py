"""The admin's models grouped by what staff do (Sell, Fulfil, Catalog, Customers, Integrations,
Settings), not alphabetically by app. One list serves the sidebar (``UNFOLD["SIDEBAR"]``) and
the index page. Built from the admin site's own app list, so permissions are the admin's and a
newly registered model shows up (under Settings until it is placed here)."""

from __future__ import annotations

from django.contrib import admin

# (group, icon, [model labels in the order staff use them])
GROUPS: list[tuple[str, str, list[str]]] = [
    ("Sell", "point_of_sale", [
        "orders.order", "orders.invoice", "quotes.quote", "quotes.quoterequest", "carts.cart",
        "recovery.abandonedcart", "recovery.recoverysettings", "recovery.unsubscribe",
        "orders.supplierorder", "orders.orderapprovalrule", "quotes.quoteapprovalrule",
        "quotes.quoteapprovallevel", "quotes.approverpreference",
    ]),
    ("Fulfil", "local_shipping", [
        "fulfillment.shipment", "fulfillment.return", "fulfillment.shippingmethod",
    ]),
    ("Catalog", "inventory_2", [
        "catalog.product", "catalog.pricelist", "catalog.pricelistentry", "catalog.taxclass",
        "catalog.supplier", "catalog.supplieruser",
    ]),
    ("Customers", "groups", ["customers.company", "customers.customer", "customers.address"]),
    ("Integrations", "hub", [
        "bridges.inboundconnection", "bridges.apikey", "bridges.webhookendpoint",
        "bridges.webhookdelivery", "bridges.webhookattempt", "bridges.exportschedule",
        "bridges.exportrun", "bridges.transactionlog", "bridges.idempotencykey",
        "orderflow.outboxevent",
        "imports.importjob",
    ]),
    ("Settings", "settings", [
        "orderflow.channel", "auth.user", "auth.group", "django_celery_beat.periodictask",
        "django_celery_beat.crontabschedule", "django_celery_beat.intervalschedule",
        "django_celery_beat.clockedschedule", "django_celery_beat.solarschedule",
    ]),
]
FALLBACK_GROUP = "Settings"
ICONS = {
    "orders.order": "receipt_long", "orders.invoice": "request_quote", "carts.cart":
    "shopping_cart", "catalog.product": "inventory_2", "customers.company": "apartment",
    "customers.customer": "person", "bridges.inboundconnection": "cable",
    "bridges.apikey": "key", "bridges.webhookendpoint": "webhook",
    "bridges.webhookdelivery": "outbox", "bridges.exportschedule": "schedule_send",
    "bridges.transactionlog": "list_alt", "orderflow.channel": "storefront",
    "auth.user": "badge", "fulfillment.shippingmethod": "local_shipping",
    "fulfillment.shipment": "package_2", "fulfillment.return": "assignment_return",
    "quotes.quote": "request_page", "quotes.quoterequest": "contact_support",
    "imports.importjob": "upload_file",
}


def grouped_app_list(request) -> list[dict]:
    """``[{"title", "icon", "models": [{"label", "name", "url", "add_url", "icon"}]}]``: the
    models this user may see, in GROUPS' order; empty groups are left out."""
    seen: dict[str, dict] = {}
    for app in admin.site.get_app_list(request):
        for model in app["models"]:
            label = f"{app['app_label']}.{model['object_name'].lower()}"
            seen[label] = {
                "label": label,
                "name": model["name"],
                "url": model.get("admin_url"),
                "add_url": model.get("add_url"),
                "icon": ICONS.get(label, "chevron_right"),
            }
    groups = []
    placed: set[str] = set()
    for title, icon, labels in GROUPS:
        models = [seen[label] for label in labels if label in seen and seen[label]["url"]]
        placed.update(labels)
        groups.append({"title": title, "icon": icon, "models": models})
    rest = [m for label, m in seen.items() if label not in placed and m["url"]]
    for group in groups:
        if group["title"] == FALLBACK_GROUP:
            group["models"].extend(rest)
    return [group for group in groups if group["models"]]


def sidebar(request) -> list[dict]:
    """``UNFOLD["SIDEBAR"]["navigation"]``: the groups as unfold's sidebar sections."""
    return [
        {
            "title": group["title"],
            "separator": True,
            "collapsible": group["title"] in ("Integrations", "Settings"),
            "items": [
                {"title": model["name"], "icon": model["icon"], "link": model["url"]}
                for model in group["models"]
            ],
        }
        for group in grouped_app_list(request)
    ]
