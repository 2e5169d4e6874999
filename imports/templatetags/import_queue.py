"""``{% load import_queue %}``: the import jobs still queued or running, for the admin index's
work queue and the analytics dashboard's health counts. A template loads it, so no app below
imports the import jobs (the imports-on-top contract)."""

from django import template
from django.urls import reverse

from imports.constants import RUNNING
from imports.models import ImportJob

register = template.Library()


@register.simple_tag(takes_context=True)
def running_imports(context) -> dict | None:
    """``{count, url}`` for staff who may see import jobs; None for anyone else."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.has_perm("imports.view_importjob"):
        return None
    return {"count": ImportJob.objects.filter(status__in=RUNNING).count(),
            "url": f"{reverse('admin:imports_importjob_changelist')}?running=yes"}
