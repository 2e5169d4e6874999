"""Keys are created in the admin, shown once, stored hashed, and revocable."""

import re

import pytest

from bridges.access.keys import hash_key
from bridges.models import ApiKey
from tests import factories

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_shows_it_once_and_stores_only_its_hash(admin_client_logged):
    channel = factories.ChannelFactory(code="ECOMMERCE")
    response = admin_client_logged.post(
        "/admin/bridges/apikey/add/",
        {"name": "Web shop", "kind": "sec", "mode": "live", "channel": channel.pk}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    raw = re.search(r"<code>(of_live_sec_[A-Za-z0-9_\-]+)</code>", page).group(1)
    key = ApiKey.objects.get()
    assert key.key_hash == hash_key(raw) and raw not in key.prefix and key.prefix in raw
    assert raw not in str(ApiKey.objects.values().get())
    # Shown once: the key's own page never shows it again.
    again = admin_client_logged.get(f"/admin/bridges/apikey/{key.pk}/change/").content.decode()
    assert raw not in again

    admin_client_logged.post(f"/admin/bridges/apikey/{key.pk}/change/", {"name": "Web shop EU"})
    key.refresh_from_db()
    assert key.name == "Web shop EU" and key.key_hash == hash_key(raw)

    client = bearer_client(raw)
    assert client.get("/api/v1/products").status_code == 200
    admin_client_logged.post("/admin/bridges/apikey/",
                             {"action": "revoke_selected", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client.get("/api/v1/products").status_code == 401


def bearer_client(raw):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
