"""/healthz answers 200 when the database and broker answer, 503 naming the one that doesn't."""

import pytest
from django.db import connections


@pytest.mark.django_db
def test_healthz_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"


@pytest.mark.django_db
def test_healthz_broker_down(client, settings):
    # Nothing listens on port 1: a real connection attempt that fails.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.ORDERFLOW_HEALTHZ_TIMEOUT_SECONDS = 0.5
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error:")


def test_healthz_database_down(client, django_db_blocker):
    """Point the real connection at somewhere no database answers, then put it back."""
    conn = connections["default"]
    if conn.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database cannot be disconnected; CI runs this "
                    "on PostgreSQL")
    saved = dict(conn.settings_dict)
    with django_db_blocker.unblock():
        conn.close()
        try:
            conn.settings_dict.update(HOST="127.0.0.1", PORT=1)
            conn.settings_dict["OPTIONS"] = {**saved.get("OPTIONS", {}), "connect_timeout": 1}
            response = client.get("/healthz")
        finally:
            conn.close()
            conn.settings_dict.clear()
            conn.settings_dict.update(saved)
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failing"]
    assert body["checks"]["database"].startswith("error:")
