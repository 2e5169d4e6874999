"""What beat runs: expiry past ``valid_until``, reminders before it, approvers' digests."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orderflow.timeline import Actor
from quotes import events
from quotes.constants import QUOTE_TRANSITIONS, DigestFrequency, QuoteAction, QuoteStatus
from quotes.models import ApproverPreference, Quote
from quotes.services import notifications
from quotes.services.common import check_transition, lock_quote, move_status


@transaction.atomic
def quote_expire(*, quote: Quote, actor: Actor) -> Quote | None:
    """Expire one quote whose latest version is past ``valid_until``; None when it moved on
    meanwhile (safe to run twice)."""
    quote = lock_quote(quote)
    today = timezone.localdate()
    if not quote.can(QuoteAction.EXPIRE) or quote.current.valid_until >= today:
        return None
    target = check_transition(quote, QuoteAction.EXPIRE)
    old_status = quote.status
    quote.awaiting_level = None
    quote.save(update_fields=[*move_status(quote, target, timezone.now()), "awaiting_level"])
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_EXPIRED,
                       old_status=old_status,
                       message=f"Expired: version {quote.version} was valid until "
                               f"{quote.current.valid_until}.")
    events.quote_emit("quote.expired", quote)
    return quote


def quotes_expire() -> int:
    """Expire every quote past its validity; each in its own transaction."""
    sources, _ = QUOTE_TRANSITIONS[QuoteAction.EXPIRE]
    ids = list(Quote.objects.filter(status__in=sources,
                                    current__valid_until__lt=timezone.localdate())
               .order_by("pk").values_list("pk", flat=True))
    actor = Actor.system("quote expiry")
    return sum(1 for pk in ids if quote_expire(quote=Quote(pk=pk), actor=actor) is not None)


@transaction.atomic
def quote_remind(*, quote: Quote, actor: Actor) -> Quote | None:
    """E-mail the buyer that the sent version ends soon; once per version."""
    quote = lock_quote(quote)
    version = quote.current
    if quote.status != QuoteStatus.SENT or quote.reminded_version == version.number:
        return None
    quote.reminded_version = version.number
    quote.save(update_fields=["reminded_version", "updated_at"])
    events.quote_event(quote=quote, actor=actor, type=events.QUOTE_REMINDER_SENT,
                       message=f"Reminder sent: version {version.number} is valid until "
                               f"{version.valid_until}.",
                       valid_until=version.valid_until.isoformat())
    events.quote_emit("quote.expiring", quote)
    notifications.quote_reminder_mail(quote)
    return quote


def quotes_remind() -> int:
    """Remind buyers of sent quotes ending within ``ORDERFLOW_QUOTE_REMINDER_DAYS``."""
    today = timezone.localdate()
    horizon = today + timedelta(days=settings.ORDERFLOW_QUOTE_REMINDER_DAYS)
    ids = list(Quote.objects.filter(status=QuoteStatus.SENT,
                                    current__valid_until__gte=today,
                                    current__valid_until__lte=horizon)
               .order_by("pk").values_list("pk", "reminded_version", "current__number"))
    actor = Actor.system("quote reminder")
    return sum(1 for pk, reminded, number in ids if reminded != number
               and quote_remind(quote=Quote(pk=pk), actor=actor) is not None)


@transaction.atomic
def approver_digests_send(*, items_for) -> int:
    """One e-mail per approver on the daily digest with what waits for them (``items_for``:
    user → inbox items); ``last_digest_at`` stamped so a second run the same day sends
    nothing."""
    now = timezone.now()
    since = now - timedelta(hours=20)
    sent = 0
    preferences = (ApproverPreference.objects.select_for_update(of=("self",))
                   .select_related("user").filter(digest=DigestFrequency.DAILY,
                                                  user__is_active=True)
                   .exclude(user__email="").order_by("pk"))
    for preference in preferences:
        if preference.last_digest_at and preference.last_digest_at > since:
            continue
        items = items_for(preference.user)
        preference.last_digest_at = now
        preference.save(update_fields=["last_digest_at"])
        if items:
            notifications.digest_mail(preference.user, items)
            sent += 1
    return sent
