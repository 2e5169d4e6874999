"""Password guessing is throttled: django-axes locks the admin and approver logins (and HTTP
Basic) after ORDERFLOW_LOGIN_FAILURE_LIMIT wrong passwords; wrong HTTP Basic passwords are
refused with 429 before any password is hashed; API keys and Basic users have DRF rates.
Every refusal is 429 ``throttled`` with Retry-After."""

from __future__ import annotations

import base64

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client, override_settings

from orderflow import config
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


class CountingHasher(PBKDF2PasswordHasher):
    """The default hasher, counting how many passwords it checked."""

    calls = 0

    def verify(self, password, encoded):
        CountingHasher.calls += 1
        return super().verify(password, encoded)


def rates(**changed):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **changed}
    return override_settings(REST_FRAMEWORK=rest)


def assert_throttled(response):
    assert response.status_code == 429, response.content[:300]
    assert int(response["Retry-After"]) >= 1


def assert_problem_throttled(response):
    assert_throttled(response)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "throttled"


def test_twelve_wrong_admin_logins_lock_the_login_out_even_for_the_right_password():
    get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True,
                                         is_superuser=True)
    client = Client()
    answers = [client.post("/admin/login/?next=/admin/",
                           {"username": "ops", "password": f"wrong-{i}"}).status_code
               for i in range(12)]
    assert answers[:settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429

    right = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD})
    assert_throttled(right)
    assert "Too many failed logins" in right.content.decode()
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_a_login_with_fewer_failures_than_the_limit_goes_in_and_starts_again():
    get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True)
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "ops", "password": f"wrong-{i}"})
    response = client.post("/admin/login/?next=/admin/",
                           {"username": "ops", "password": PASSWORD})
    assert response.status_code == 302


def test_the_approver_login_is_locked_out_too():
    user = get_user_model().objects.create_user("approver", password=PASSWORD)
    factories.CustomerFactory(user=user)
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post("/approvals/login/", {"username": "approver", "password": f"bad-{i}"})
    right = client.post("/approvals/login/", {"username": "approver", "password": PASSWORD})
    assert_throttled(right)


def basic(username, password):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@override_settings(PASSWORD_HASHERS=["tests.security.test_throttling.CountingHasher"])
def test_a_flood_of_wrong_basic_passwords_is_429_before_hashing():
    get_user_model().objects.create_user("erp", password=PASSWORD, is_staff=True,
                                         is_superuser=True)
    client = Client()
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["basic_failures"]
                .split("/")[0])
    CountingHasher.calls = 0
    answers = [client.get("/api/v1/orders", **basic("erp", f"guess-{i}")) for i in range(50)]

    # The limit-th failure locks the login (axes counts the same failures): 429 from then on.
    assert [r.status_code for r in answers[:limit - 1]] == [401] * (limit - 1)
    for response in answers[limit - 1:]:
        assert_problem_throttled(response)
    assert CountingHasher.calls == limit  # the 40 refused guesses cost no hashing
    # The right password from that address waits too, and is still not hashed.
    assert_problem_throttled(client.get("/api/v1/orders", **basic("erp", PASSWORD)))
    assert CountingHasher.calls == limit
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert other.get("/api/v1/orders", **basic("erp", PASSWORD)).status_code == 200


def test_an_api_key_over_its_rate_gets_429_with_retry_after(shop):
    with rates(api_key="3/minute"):
        client = shop.client(shop.secret)
        assert [client.get("/api/v1/products").status_code for _ in range(3)] == [200] * 3
        assert_problem_throttled(client.get("/api/v1/products"))
        # Another key of the channel has its own count.
        assert shop.client(shop.publishable).get("/api/v1/products").status_code == 200


def test_a_basic_user_over_its_rate_gets_429():
    get_user_model().objects.create_user("wms", password=PASSWORD, is_staff=True,
                                         is_superuser=True)
    client = Client()
    with rates(basic="2/minute"):
        assert client.get("/api/v1/orders", **basic("wms", PASSWORD)).status_code == 200
        assert client.get("/api/v1/orders", **basic("wms", PASSWORD)).status_code == 200
        assert_problem_throttled(client.get("/api/v1/orders", **basic("wms", PASSWORD)))


def test_limits_come_from_the_environment(tmp_path):
    cfg = config.load({"ORDERFLOW_VAR_DIR": str(tmp_path),
                       "ORDERFLOW_THROTTLE_API_KEY": "50/second",
                       "ORDERFLOW_THROTTLE_BASIC_FAILURES": "5/hour",
                       "ORDERFLOW_LOGIN_FAILURE_LIMIT": "4",
                       "ORDERFLOW_LOGIN_LOCKOUT_MINUTES": "60"})
    assert (cfg.throttle_api_key, cfg.throttle_basic_failures) == ("50/second", "5/hour")
    assert (cfg.login_failure_limit, cfg.login_lockout_minutes) == (4, 60)
    with pytest.raises(config.ConfigError, match="ORDERFLOW_THROTTLE_BASIC"):
        config.load({"ORDERFLOW_VAR_DIR": str(tmp_path), "ORDERFLOW_THROTTLE_BASIC": "lots"})
