"""Beat tasks of the quote flow: thin wrappers over services, safe to run twice."""

from celery import shared_task

from quotes.selectors import inbox_items
from quotes.services import approver_digests_send, quotes_expire, quotes_remind


@shared_task(name="quotes.tasks.expire_quotes_task")
def expire_quotes_task() -> int:
    """Expire quotes whose latest version is past ``valid_until`` (``quote.expired``)."""
    return quotes_expire()


@shared_task(name="quotes.tasks.remind_quotes_task")
def remind_quotes_task() -> int:
    """E-mail buyers whose sent quote ends within ORDERFLOW_QUOTE_REMINDER_DAYS."""
    return quotes_remind()


@shared_task(name="quotes.tasks.send_approver_digests_task")
def send_approver_digests_task() -> int:
    """The daily digest for approvers who chose it."""
    return approver_digests_send(items_for=lambda user: inbox_items(user=user))
