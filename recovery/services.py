"""Recovery use cases: find idle carts, send each cart's reminders once, stop, unsubscribe,
follow a link, expire. The cart's own status changes go through ``carts.services``
(``cart_status_move``, ``cart_recover``), each one transaction with its outbox event."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from carts.constants import CartStatus
from carts.models import Cart
from carts.selectors import cart_company, cart_lines, price_cart
from carts.services import cart_recover, cart_status_move
from recovery import tokens
from recovery.models import RecoveryEmail, ReminderStop, Unsubscribe
from recovery.selectors import channel_configs, idle_carts, recovery_config, unsubscribed

logger = logging.getLogger("orderflow.recovery")


def carts_abandon(*, now=None) -> list[int]:
    """Mark every cart idle past its channel's threshold ``abandoned`` (``cart.abandoned``),
    one transaction per cart; returns their pks."""
    now = now or timezone.now()
    moved = []
    for channel, config in channel_configs():
        if not config.enabled:
            continue
        idle_before = now - timedelta(seconds=config.idle_seconds)
        for pk in idle_carts(channel=channel, idle_before=idle_before).values_list("pk",
                                                                                 flat=True):
            if cart_status_move(cart_pk=pk, to=CartStatus.ABANDONED,
                                idle_before=idle_before + timedelta(microseconds=1)):
                moved.append(pk)
    return moved


def carts_expire(*, now=None) -> list[int]:
    """Carts idle past their channel's expiry days are ``expired`` (``cart.expired``). Carts
    hold no stock, so nothing is released."""
    now = now or timezone.now()
    expired = []
    for channel, config in channel_configs():
        idle_before = now - timedelta(days=config.expiry_days)
        pks = Cart.objects.filter(channel=channel, last_activity_at__lte=idle_before,
                                  status__in=[CartStatus.ACTIVE, CartStatus.ABANDONED]
                                  ).values_list("pk", flat=True)
        for pk in pks:
            if cart_status_move(cart_pk=pk, to=CartStatus.EXPIRED,
                                idle_before=idle_before + timedelta(microseconds=1)):
                expired.append(pk)
    return expired


# --- sending ----------------------------------------------------------------------------------

def _public_url(path: str) -> str:
    return settings.ORDERFLOW_PUBLIC_URL.rstrip("/") + path


def _message(*, cart: Cart, email: RecoveryEmail, step, priced, lines) -> EmailMultiAlternatives:
    link = _public_url(f"/recover/{tokens.link_token(email)}")
    unsubscribe = _public_url(f"/recover/unsubscribe/{tokens.unsubscribe_token(email)}")
    context = {
        "cart": cart, "step": step, "message": step.message, "currency": cart.currency,
        "lines": [{"sku": p.product.sku, "name": p.product.name, "quantity": p.quantity,
                   "order_uom": p.order_uom, "order_quantity": p.order_quantity,
                   "unit_price": p.unit_price, "total": p.total} for p in priced.lines],
        "subtotal": priced.subtotal, "tax_total": priced.tax_total,
        "shipping_total": priced.shipping_total, "total": priced.total,
        "shipping_available": priced.shipping_available and cart.shipping_method_id is not None,
        "recovery_url": link, "unsubscribe_url": unsubscribe,
        "seller_name": settings.ORDERFLOW_SELLER_NAME,
    }
    message = EmailMultiAlternatives(
        subject=step.subject, body=render_to_string("emails/recovery/reminder.txt", context),
        to=[email.to],
        headers={"List-Unsubscribe": f"<{unsubscribe}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    message.attach_alternative(render_to_string("emails/recovery/reminder.html", context),
                               "text/html")
    return message


@transaction.atomic
def reminder_send(*, cart_pk: int, step: int | None = None, sent_by: str = "",
                  now=None) -> RecoveryEmail | None:
    """Send the cart's reminder ``step`` (``None``: its next one), at most once ever.

    One transaction on the locked cart: a second run for the same step, at the same time or
    later, waits for the first and then finds its row (unique per cart and step) and sends
    nothing. The mail goes out before the commit, so a mail server that refuses takes the row
    back with it (the next scan tries again). Nothing is sent, and ``None`` returned, for a
    cart no longer abandoned (it came back, converted or expired), a stopped sequence, an
    unsubscribed address, a channel without consent it requires, or a step it does not have.
    ``sent_by``: staff sending early ("Send next reminder now") — the delay is not waited for.
    """
    cart = (Cart.objects.select_for_update(of=("self",))
            .select_related("channel", "shipping_method", "customer__company__price_list")
            .filter(pk=cart_pk).first())
    if cart is None or cart.status != CartStatus.ABANDONED or not cart.email:
        return None
    config = recovery_config(cart.channel)
    if not config.enabled or (config.require_consent and not cart.marketing_consent):
        return None
    if ReminderStop.objects.filter(cart=cart).exists() or unsubscribed(cart.email):
        return None
    sent = set(RecoveryEmail.objects.filter(cart=cart).values_list("step", flat=True))
    number = step if step is not None else len(sent) + 1
    chosen = config.step(number)
    if chosen is None or number in sent:
        return None
    now = now or timezone.now()
    if not sent_by and cart.last_activity_at + timedelta(seconds=chosen.delay_seconds) > now:
        return None  # not due yet (a task queued early, or the cart was touched since)
    lines = cart_lines(cart=cart, for_pricing=True)
    priced = price_cart(cart=cart, lines=lines, company=cart_company(cart))
    email = RecoveryEmail.objects.create(cart=cart, step=number, to=cart.email,
                                         subject=chosen.subject, currency=cart.currency,
                                         total=priced.total, sent_at=now, sent_by=sent_by)
    _message(cart=cart, email=email, step=chosen, priced=priced, lines=lines).send()
    logger.info("recovery: sent step %s of cart %s", number, cart.public_id)
    return email


@transaction.atomic
def reminders_stop(*, cart: Cart, stopped_by: str = "") -> ReminderStop:
    """No more reminders for this cart ("Stop reminders")."""
    stop, _ = ReminderStop.objects.get_or_create(cart=cart, defaults={"stopped_by": stopped_by})
    return stop


@transaction.atomic
def unsubscribe(*, email: RecoveryEmail) -> Unsubscribe:
    """The address of ``email`` gets no reminder again, for any cart."""
    row, _ = Unsubscribe.objects.get_or_create(email=email.to.strip().lower(),
                                               defaults={"cart": email.cart})
    return row


# --- following a link -------------------------------------------------------------------------

def link_follow(*, token: str, channel=None) -> tuple[Cart, list[dict], RecoveryEmail]:
    """The shopper followed a reminder's link: the first opening is stamped on the e-mail,
    then the cart is recovered and re-priced (``carts.services.cart_recover``) through that
    step. ``channel``: a storefront may recover only its own channel's carts.
    ``RecoveryTokenInvalid`` for a bad link, ``Conflict`` for a cart that cannot come back."""
    email = tokens.link_resolve(token)
    if channel is not None and email.cart.channel_id != channel.pk:
        raise tokens.RecoveryTokenInvalid("This recovery link is for another channel.",
                                          reason="channel")
    RecoveryEmail.objects.filter(pk=email.pk, link_opened_at__isnull=True).update(
        link_opened_at=timezone.now())
    cart, problems = cart_recover(cart_pk=email.cart_id, step=email.step)
    return cart, problems, email


def storefront_redirect(*, cart: Cart) -> str | None:
    """Where the channel's storefront shows the cart, or ``None`` when none is configured."""
    url = recovery_config(cart.channel).storefront_url
    if not url:
        return None
    if "{cart_id}" in url:
        return url.replace("{cart_id}", cart.public_id)
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'cart_id': cart.public_id})}"
