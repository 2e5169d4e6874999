"""Recovery reads: a channel's effective settings, which carts are due what, and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.utils import timezone

from carts.constants import CartStatus
from carts.models import Cart, CartLine
from orderflow.models import Channel
from orders.models import Order
from recovery.models import RecoveryEmail, RecoverySettings, ReminderStop, Unsubscribe

DEFAULT_SUBJECTS = [
    "You left something in your cart",
    "Your cart is still waiting for you",
    "Last reminder: your cart",
]
DEFAULT_MESSAGE = ("You left these items in your cart. They are saved for you: follow the link "
                   "to pick up where you left off.")


@dataclass(frozen=True)
class Step:
    number: int
    delay_seconds: int
    subject: str
    message: str


@dataclass(frozen=True)
class RecoveryConfig:
    """A channel's sequence with every empty value filled from the ORDERFLOW_RECOVERY_*
    settings."""

    enabled: bool
    idle_seconds: int
    link_days: int
    expiry_days: int
    storefront_url: str
    require_consent: bool
    steps: list[Step] = field(default_factory=list)

    def step(self, number: int) -> Step | None:
        return next((s for s in self.steps if s.number == number), None)


def default_steps() -> list[Step]:
    return [Step(number=i, delay_seconds=delay,
                 subject=DEFAULT_SUBJECTS[min(i, len(DEFAULT_SUBJECTS)) - 1],
                 message=DEFAULT_MESSAGE)
            for i, delay in enumerate(settings.ORDERFLOW_RECOVERY_STEPS, start=1)]


def config_of(row: RecoverySettings | None) -> RecoveryConfig:
    """``row`` (with its steps prefetched, or ``None``) filled from the settings."""
    steps = [Step(number=s.number, delay_seconds=s.delay_seconds, subject=s.subject,
                  message=s.message or DEFAULT_MESSAGE)
             for s in sorted(row.steps.all(), key=lambda s: s.number)] if row else []
    return RecoveryConfig(
        enabled=row.enabled if row else True,
        idle_seconds=(row.idle_seconds if row and row.idle_seconds
                      else settings.ORDERFLOW_RECOVERY_IDLE_SECONDS),
        link_days=(row.link_days if row and row.link_days
                   else settings.ORDERFLOW_RECOVERY_LINK_DAYS),
        expiry_days=(row.expiry_days if row and row.expiry_days
                     else settings.ORDERFLOW_RECOVERY_EXPIRY_DAYS),
        storefront_url=row.storefront_url if row else "",
        require_consent=row.require_consent if row else False,
        steps=steps or default_steps(),
    )


def recovery_config(channel) -> RecoveryConfig:
    row = RecoverySettings.objects.prefetch_related("steps").filter(channel=channel).first()
    return config_of(row)


def channel_configs() -> list[tuple[Channel, RecoveryConfig]]:
    """Every channel with its sequence, in two queries."""
    rows = {row.channel_id: row for row in
            RecoverySettings.objects.prefetch_related("steps")}
    return [(channel, config_of(rows.get(channel.pk)))
            for channel in Channel.objects.order_by("pk")]


def idle_carts(*, channel, idle_before):
    """Active carts of ``channel`` with a line and an e-mail, idle since before
    ``idle_before`` (inclusive)."""
    return (Cart.objects.filter(channel=channel, status=CartStatus.ACTIVE,
                                last_activity_at__lte=idle_before)
            .exclude(email="")
            .filter(Exists(CartLine.objects.filter(cart=OuterRef("pk")))))


def unsubscribed(email: str) -> bool:
    return Unsubscribe.objects.filter(email=email.strip().lower()).exists()


def waiting_carts(*, channel, config: RecoveryConfig):
    """Abandoned carts of ``channel`` whose sequence may go on: not stopped, the address not
    unsubscribed (and agreed to marketing e-mail where the channel requires it), annotated
    with ``steps_sent``."""
    qs = (Cart.objects.filter(channel=channel, status=CartStatus.ABANDONED)
          .exclude(Exists(ReminderStop.objects.filter(cart=OuterRef("pk"))))
          .exclude(Exists(Unsubscribe.objects.filter(email=OuterRef("email"))))
          .annotate(steps_sent=Count("recovery_emails")))
    if config.require_consent:
        qs = qs.filter(marketing_consent=True)
    return qs


def due_reminders(*, now=None) -> list[tuple[int, int]]:
    """``(cart pk, step)`` of every reminder due now: a cart's next step (one after those
    sent) once its delay after the cart's last activity has passed."""
    now = now or timezone.now()
    due = []
    for channel, config in channel_configs():
        if not config.enabled:
            continue
        for cart_pk, last_activity, sent in waiting_carts(channel=channel, config=config) \
                .values_list("pk", "last_activity_at", "steps_sent"):
            step = config.step(sent + 1)
            if step and last_activity + timedelta(seconds=step.delay_seconds) <= now:
                due.append((cart_pk, step.number))
    return due


# --- the summary ----------------------------------------------------------------------------

def recovery_summary(*, days: int, now=None) -> dict:
    """The last ``days`` days: carts abandoned, e-mails sent, and per step the e-mails sent,
    links opened, carts recovered and converted with their revenue by currency (step
    ``None``: carts that came back without a link)."""
    since = (now or timezone.now()) - timedelta(days=days)
    abandoned = Cart.objects.filter(abandoned_at__gte=since).count()
    sent = RecoveryEmail.objects.filter(sent_at__gte=since)
    by_step = {row["step"]: {"step": row["step"], "sent": row["sent"],
                             "opened": row["opened"], "recovered": 0, "converted": 0,
                             "revenue": {}}
               for row in sent.values("step").annotate(
                   sent=Count("pk"), opened=Count("pk", filter=Q(link_opened_at__isnull=False)))}
    recovered = (Cart.objects.filter(recovered_at__gte=since).values("recovered_step")
                 .annotate(carts=Count("pk"),
                           converted=Count("pk", filter=Q(status=CartStatus.CONVERTED))))
    for row in recovered:
        entry = by_step.setdefault(row["recovered_step"], {
            "step": row["recovered_step"], "sent": 0, "opened": 0, "recovered": 0,
            "converted": 0, "revenue": {}})
        entry["recovered"], entry["converted"] = row["carts"], row["converted"]
    revenue = (Order.objects.filter(cart__recovered_at__gte=since,
                                    cart__status=CartStatus.CONVERTED)
               .values("cart__recovered_step", "currency").annotate(total=Sum("total")))
    for row in revenue:
        by_step[row["cart__recovered_step"]]["revenue"][row["currency"]] = row["total"]
    steps = sorted(by_step.values(), key=lambda e: (e["step"] is None, e["step"] or 0))
    totals: dict[str, object] = {}
    for entry in steps:
        for currency, amount in entry["revenue"].items():
            totals[currency] = totals.get(currency, 0) + amount
    return {"days": days, "since": since, "abandoned": abandoned, "emails_sent": sent.count(),
            "recovered": sum(e["recovered"] for e in steps),
            "converted": sum(e["converted"] for e in steps), "revenue": totals, "steps": steps}


def cart_recovery_emails(*, cart) -> list[RecoveryEmail]:
    return list(RecoveryEmail.objects.filter(cart=cart).order_by("step"))


def last_step_sent(cart_pk: int) -> int:
    return RecoveryEmail.objects.filter(cart_id=cart_pk).aggregate(m=Max("step"))["m"] or 0
