"""Abandoned-cart recovery: per-channel settings and steps, the reminders sent (one row per
cart and step: what makes sending idempotent), unsubscribed addresses and stopped sequences.
The cart's own side (status, ``abandoned_at``, ``recovered_step``) lives on ``carts.Cart``."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from carts.models import Cart
from orderflow.models import Channel, PublicIdField, TimeStampedModel
from orderflow.money import CurrencyField, MoneyField


class RecoverySettings(TimeStampedModel):
    """One channel's sequence. An empty number takes the ORDERFLOW_RECOVERY_* setting; a
    channel without steps takes ORDERFLOW_RECOVERY_STEPS with the default wording."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE,
                                   related_name="recovery_settings")
    enabled = models.BooleanField(default=True, help_text="Send reminders for this channel.")
    idle_seconds = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="A cart with lines and an e-mail idle this long is abandoned "
                  "(empty: ORDERFLOW_RECOVERY_IDLE_SECONDS, 3600).")
    link_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Days a recovery link works (empty: ORDERFLOW_RECOVERY_LINK_DAYS, 7).")
    expiry_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Days idle after which a cart expires (empty: "
                  "ORDERFLOW_RECOVERY_EXPIRY_DAYS, 30).")
    storefront_url = models.URLField(
        blank=True, max_length=500,
        help_text="Where a recovery link sends the shopper: {cart_id} is replaced by the "
                  "cart's id, else ?cart_id=… is added. Empty: a page of OrderFlow says the "
                  "cart is saved.")
    require_consent = models.BooleanField(
        default=False, help_text="Only carts whose shopper agreed to marketing e-mail get "
                                 "reminders.")

    class Meta:
        verbose_name = "recovery settings"
        verbose_name_plural = "recovery settings"

    def __str__(self):
        return f"Recovery settings of {self.channel.code}"


class RecoveryStep(models.Model):
    settings = models.ForeignKey(RecoverySettings, on_delete=models.CASCADE,
                                 related_name="steps")
    number = models.PositiveSmallIntegerField(help_text="1 for the first e-mail, then 2, 3…")
    delay_seconds = models.PositiveIntegerField(
        help_text="Seconds after the cart's last activity when this e-mail is due.")
    subject = models.CharField(max_length=200)
    message = models.TextField(blank=True, help_text="The opening paragraph of the e-mail.")

    class Meta:
        ordering = ["settings", "number"]
        constraints = [models.UniqueConstraint(fields=["settings", "number"],
                                               name="recoverystep_one_per_number")]

    def __str__(self):
        return f"step {self.number}"


class RecoveryEmail(models.Model):
    """A reminder sent. The unique (cart, step) makes every send attempt after the first one
    for the same step a no-op, whatever runs it twice."""

    public_id = PublicIdField(prefix="rce")
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="recovery_emails")
    step = models.PositiveSmallIntegerField()
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    currency = CurrencyField()
    total = MoneyField(default=Decimal("0"), help_text="The cart's total when sent (re-priced).")
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_by = models.CharField(max_length=200, blank=True,
                               help_text="Staff who sent it early; empty: the schedule.")
    link_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cart", "step"]
        verbose_name = "recovery e-mail"
        constraints = [models.UniqueConstraint(fields=["cart", "step"],
                                               name="recoveryemail_one_per_step")]

    def __str__(self):
        return f"step {self.step} to {self.to}"


class Unsubscribe(models.Model):
    """An address that gets no reminder again, for any cart."""

    email = models.EmailField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    cart = models.ForeignKey(Cart, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", help_text="The cart whose e-mail it came from.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.email


class ReminderStop(models.Model):
    """Staff stopped one cart's sequence ("Stop reminders")."""

    cart = models.OneToOneField(Cart, on_delete=models.CASCADE, related_name="reminder_stop")
    stopped_at = models.DateTimeField(default=timezone.now)
    stopped_by = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"reminders stopped for {self.cart_id}"


class AbandonedCart(Cart):
    """Carts that were ever abandoned, as the recovery admin lists them."""

    class Meta:
        proxy = True
        verbose_name = "abandoned cart"
