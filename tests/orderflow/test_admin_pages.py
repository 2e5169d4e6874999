"""Every admin changelist and the change page of one object of each registered model render
(status 200, no exception), so a broken page cannot land. The objects come from the demo
store (seed_demo), which reaches nearly every model through the services."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", verbosity=0)


def test_every_changelist_and_one_change_page_per_model_render(seeded, admin_client_logged):
    rendered = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        listing = admin_client_logged.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, f"{opts.label} changelist: {listing.status_code}"
        obj = model_admin.get_queryset(listing.wsgi_request).order_by("pk").first()
        if obj is None:
            continue
        page = admin_client_logged.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert page.status_code == 200, f"{opts.label} change page: {page.status_code}"
        rendered.append(opts.label)
    for label in ("orders.Order", "orders.Invoice", "customers.Company", "catalog.Product",
                  "bridges.InboundConnection"):
        assert label in rendered, f"the demo store has no {label} to render"


def test_the_front_page_leads_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
