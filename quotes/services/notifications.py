"""E-mails of the quote flow. Each function registers its sending with
``transaction.on_commit`` (robust: a mail server refusing never undoes the change), so
nothing is sent for a change that rolls back."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string

logger = logging.getLogger("orderflow.quotes")
HTML_TEMPLATES = {"sent", "reminder"}  # the buyer's e-mails; staff and approvers get text


def _send(template: str, context: dict, recipients: list[str], subject: str) -> None:
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return
    context = {**context, "public_url": settings.ORDERFLOW_PUBLIC_URL.rstrip("/"),
               "seller_name": settings.ORDERFLOW_SELLER_NAME}
    text = render_to_string(f"emails/quotes/{template}.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
    if template in HTML_TEMPLATES:
        message.attach_alternative(render_to_string(f"emails/quotes/{template}.html", context),
                                   "text/html")
    message.send()


def _later(template: str, context: dict, recipients: list[str], subject: str) -> None:
    recipients = list(recipients)

    def send_quote_mail():
        _send(template, context, recipients, subject)

    transaction.on_commit(send_quote_mail, robust=True)


def staff_emails() -> list[str]:
    """Staff who handle quotes: active staff with ``quotes.change_quote`` and an address."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    perm = Q(user_permissions__codename="change_quote",
             user_permissions__content_type__app_label="quotes") | Q(
        groups__permissions__codename="change_quote",
        groups__permissions__content_type__app_label="quotes")
    return list(users.filter(Q(is_superuser=True) | perm).distinct()
                .values_list("email", flat=True))


def buyer_email(quote) -> str:
    if quote.customer_id and quote.customer.email:
        return quote.customer.email
    return quote.company.email


def quote_requested_mail(request) -> None:
    _later("requested", {"request": request, "lines": list(request.lines.all())},
           staff_emails(), f"Quote request {request.number} from {request.company.name}")


def quote_sent_mail(quote) -> None:
    version = quote.current
    _later("sent", {"quote": quote, "version": version, "lines": list(version.lines.all())},
           [buyer_email(quote)],
           f"Your quote {quote.number} (version {version.number}) from "
           f"{settings.ORDERFLOW_SELLER_NAME}")


def quote_reminder_mail(quote) -> None:
    version = quote.current
    _later("reminder", {"quote": quote, "version": version, "lines": list(version.lines.all())},
           [buyer_email(quote)],
           f"Quote {quote.number} is valid until {version.valid_until:%d %b %Y}")


def approvers_mail(quote, users) -> None:
    """Tell the approvers of the level a quote now waits for (those who want it at once)."""
    version = quote.current
    _later("approval_needed", {"quote": quote, "version": version},
           [user.email for user in users],
           f"Quote {quote.number} waits for your approval")


def digest_mail(user, items: list) -> None:
    _later("digest", {"user": user, "items": items}, [user.email],
           f"{len(items)} item(s) wait for your approval")
