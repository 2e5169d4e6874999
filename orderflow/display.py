"""How the back office shows money and rates: one formatter, used by the admin's Python code
and, as template filters, by its templates (``{% load backoffice %}``)."""

from __future__ import annotations

import json
from decimal import Decimal

from django.utils import timezone
from django.utils.html import format_html

from orderflow.money import minor_units, quantize, to_decimal


def money(amount, currency: str | None) -> str:
    """``JMD 138,775.00``: currency code, the currency's minor unit, grouped thousands."""
    if amount is None or amount == "":
        return "—"
    currency = (currency or "").upper()
    value = quantize(amount, currency or "XXX")
    digits = minor_units(currency) if currency else 2
    text = f"{abs(value):,.{digits}f}"
    sign = "-" if value < 0 else ""
    return f"{currency} {sign}{text}".strip()


def when(value) -> str:
    """A timestamp as a list column shows it, short and on one line: ``6 Dec 2026 18:12``
    (the site's time zone); ``—`` when there is none."""
    if value is None:
        return "—"
    return format_html('<span style="white-space:nowrap">{}</span>',
                       f"{timezone.localtime(value):%-d %b %Y %H:%M}")


def rate(value) -> str:
    """A tax rate kept as a fraction (``0.1500``) as people write it: ``15 %``."""
    if value is None or value == "":
        return "—"
    percent = (to_decimal(value) * 100).normalize()
    if percent == percent.to_integral():
        percent = percent.quantize(Decimal(1))
    return f"{percent:f} %"


def address_lines(address) -> list[str]:
    """An address (the JSON kept on orders and carts) as the lines of an envelope."""
    if not address:
        return []
    if isinstance(address, str):
        return [address]
    get = address.get
    name = get("full_name") or " ".join(p for p in (get("first_name"), get("last_name")) if p)
    city_line = " ".join(p for p in (get("city"), get("region") or get("state"),
                                     get("postal_code")) if p)
    lines = [name, get("company") or get("company_name"), get("line1"), get("line2"),
             city_line, get("country"), get("phone")]
    return [str(line) for line in lines if line]


BADGE_COLOURS = {
    # status
    "pending_payment": "#b45309", "awaiting_approval": "#7c3aed", "confirmed": "#1d4ed8",
    "declined": "#6b7280", "completed": "#15803d", "canceled": "#6b7280",
    # payment
    "unpaid": "#b45309", "authorized": "#1d4ed8", "partially_paid": "#b45309",
    "paid": "#15803d", "partially_refunded": "#7c3aed", "refunded": "#6b7280",
    # fulfillment
    "unfulfilled": "#b45309", "partially_fulfilled": "#1d4ed8", "fulfilled": "#15803d",
    # invoices and supplier orders
    "issued": "#1d4ed8", "void": "#6b7280", "open": "#b45309", "acknowledged": "#15803d",
    # carts
    "active": "#1d4ed8", "converted": "#15803d", "abandoned": "#6b7280", "expired": "#6b7280",
    # quotes (converted, declined and expired as above)
    "draft": "#374151", "pending_approval": "#7c3aed", "approved": "#15803d", "sent": "#1d4ed8",
    "changes_requested": "#b45309", "accepted": "#0f766e", "withdrawn": "#6b7280",
    # connections
    "enabled": "#15803d", "disabled": "#6b7280",
}


def badge(value: str, label: str):
    """A status as a coloured pill (statuses of orders, payments, fulfilment, invoices,
    supplier orders and carts)."""
    colour = BADGE_COLOURS.get(value, "#374151")
    return format_html(
        '<span class="of-badge of-badge-{}" style="background:{};color:#fff;padding:1px 7px;'
        'border-radius:9px;font-size:11px;white-space:nowrap">{}</span>', value, colour, label)


def timeline_feed(events) -> list[dict]:
    """Timeline events (any ``TimelineEvent`` subclass) as a feed: who, what, when in words;
    the parameters folded away as indented JSON for whoever needs them."""
    feed = []
    for event in events:
        who = event.actor_label or (event.actor_user.get_username() if event.actor_user
                                    else event.get_actor_source_display())
        feed.append({
            "type": event.type,
            "title": event.type.replace("_", " ").capitalize(),
            "message": event.message,
            "who": who,
            "created_at": event.created_at,
            "parameters": event.parameters,
            "parameters_text": json.dumps(event.parameters, indent=2, ensure_ascii=False,
                                          default=str),
        })
    return feed
