import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import factories


def pytest_sessionstart(session):
    """In CI the real services are required: a missing one fails the run, never a skip."""
    if os.environ.get("ORDERFLOW_REQUIRE_SERVICES"):
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine != "orderflow.postgresql":
            pytest.exit("ORDERFLOW_REQUIRE_SERVICES is set but DATABASE_URL is not PostgreSQL",
                        returncode=3)
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            pytest.exit("ORDERFLOW_REQUIRE_SERVICES is set but CELERY_BROKER_URL is not Redis",
                        returncode=3)
        from orderflow.health import check_broker, check_redis

        try:
            check_broker()
            check_redis()
        except Exception as exc:
            pytest.exit(f"Redis is required and unreachable: {exc}", returncode=3)


@pytest.fixture(autouse=True)
def _fresh_api_key_cache():
    """Each test starts with no API key or connection rows cached from another test's
    rolled-back data."""
    from bridges.access.authentication import api_key_cache_forget
    from bridges.access.selectors import connection_cache_forget

    api_key_cache_forget()
    connection_cache_forget()
    yield


@pytest.fixture
def unthrottled(settings):
    """For schema fuzzing: schemathesis sends hundreds of requests with wrong credentials on
    purpose (its ignored-auth check), which the login and Basic-failure limits would rightly
    answer with 429 (tests/security/test_throttling.py proves those limits)."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {s: "1000000/minute" for s in rates}}
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Each test starts with no throttle counts (all test clients share one address)."""
    from django.core.cache import caches

    caches["throttle"].clear()
    yield


@pytest.fixture
def staff_user(db):
    return factories.StaffUserFactory()


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def admin_client_logged(db, client):
    user = factories.StaffUserFactory(is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def standard_tax(db):
    return factories.TaxClassFactory(code="standard")
