"""Import jobs still queued or running are a count on the admin index's work queue and on the
analytics dashboard, linking to the jobs list filtered the same way."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports import services
from imports.constants import ImportStatus
from imports.models import ImportJob

pytestmark = pytest.mark.django_db


def queued_job(user) -> ImportJob:
    return services.job_create(kind="products", mode="all_or_nothing", fmt=None, user=user,
                               upload=SimpleUploadedFile("p.csv", b"sku,name,list_price\n"))


def tile_count(html: str, tile_id: str) -> int:
    match = re.search(rf'id="{tile_id}">\s*<span class="of-count"[^>]*>(\d+)<', html)
    assert match, f"no tile {tile_id}"
    return int(match.group(1))


def test_running_imports_are_counted_on_the_index_and_the_dashboard(admin_client_logged):
    user = ImportJob._meta.get_field("created_by").related_model.objects.get(
        is_superuser=True)
    queued_job(user)
    done = queued_job(user)
    ImportJob.objects.filter(pk=done.pk).update(status=ImportStatus.DONE)

    index = admin_client_logged.get("/admin/").content.decode()
    assert tile_count(index, "queue-imports-running") == 1
    dashboard = admin_client_logged.get("/admin/analytics/").content.decode()
    assert tile_count(dashboard, "health-imports-running") == 1

    listed = admin_client_logged.get("/admin/imports/importjob/?running=yes")
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
