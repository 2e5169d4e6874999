"""``{% load webhook_dashboard %}``: Django finds tag libraries only in an app's templatetags/;
the tags are bridges.webhooks.dashboard's."""

from bridges.webhooks.dashboard import register  # noqa: F401
