"""Production settings: `manage.py check --deploy` is clean once the production variables are
set, and a process started with them behaves as they say (HTTPS redirect behind a proxy,
HSTS, secure cookies, static files from whitenoise, /healthz over plain HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "k7#Qz!v2Lw9@xR4m$T8p&bN1c^Y6s*H3d(F0g)J5e-A+u=W_rE"  # 50 characters
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "shop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "ORDERFLOW_HTTPS": "true",
    "ORDERFLOW_PROXY_SSL_HEADER": "true",
    "ORDERFLOW_TRUSTED_PROXY_HOPS": "1",
    "ORDERFLOW_HSTS_INCLUDE_SUBDOMAINS": "true",
    "ORDERFLOW_HSTS_PRELOAD": "true",
}


def environment(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests of this test process
           if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}
           and not k.startswith("ORDERFLOW_")}
    env.update(ORDERFLOW_VAR_DIR=str(tmp_path / "var"), **extra)
    return env


def check_deploy(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                           "--fail-level", "WARNING"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_check_deploy_is_clean_with_the_production_variables(tmp_path):
    result = check_deploy(environment(tmp_path, **PRODUCTION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_is_missing_without_them(tmp_path):
    bare = {k: PRODUCTION[k] for k in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}
    result = check_deploy(environment(tmp_path, **bare))
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


PROBE = r"""
import json, django
from django.core.management import call_command
django.setup()
from django.test import Client
call_command("collectstatic", "--noinput", verbosity=0)
client = Client(HTTP_HOST="shop.example.com")
proxied = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
plain = client.get("/admin/login/")
login = client.get("/admin/login/", **proxied)
static = client.get("/static/admin/css/base.css", **proxied)
health = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "login": login.status_code,
    "hsts": login.get("Strict-Transport-Security", ""),
    "cookies": {name: bool(c["secure"]) for name, c in login.cookies.items()},
    "static": [static.status_code, type(static).__name__],
    "health": health.status_code,
}))
"""


def test_a_production_process_redirects_to_https_and_serves_static_files(tmp_path):
    env = environment(tmp_path, DJANGO_SETTINGS_MODULE="orderflow.settings", **PRODUCTION)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://shop.example.com/admin/login/"]
    assert seen["login"] == 200
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["cookies"] and all(seen["cookies"].values()), seen["cookies"]
    # whitenoise answers static files itself (a FileResponse from Django would mean the app).
    assert seen["static"] == [200, "WhiteNoiseFileResponse"]
    assert seen["health"] in (200, 503)  # not redirected: load balancers check over HTTP


@pytest.mark.parametrize("name,value", [("ORDERFLOW_HTTPS", "maybe"),
                                        ("ORDERFLOW_HSTS_SECONDS", "-1")])
def test_a_malformed_production_variable_stops_start_up(tmp_path, name, value):
    from orderflow import config

    with pytest.raises(config.ConfigError, match=name):
        config.load({"ORDERFLOW_VAR_DIR": str(tmp_path), name: value})


LOG_PROBE = r"""
import django
django.setup()
from django.test import Client
response = Client(HTTP_HOST="shop.example.com").get(
    "/api/v1/orders", HTTP_X_REQUEST_ID="req-json-42", HTTP_X_FORWARDED_PROTO="https")
print("STATUS", response.status_code, response["X-Request-Id"])
"""


def test_log_format_json_writes_one_object_per_line_with_the_request_id(tmp_path):
    env = environment(tmp_path, DJANGO_SETTINGS_MODULE="orderflow.settings",
                      LOG_FORMAT="json", **PRODUCTION)
    result = subprocess.run([sys.executable, "-c", LOG_PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "STATUS 401 req-json-42" in result.stdout
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-2000:]
    (unauthorized,) = [line for line in lines if line["logger"] == "django.request"]
    assert unauthorized["request_id"] == "req-json-42"
    assert (unauthorized["level"], unauthorized["status"]) == ("WARNING", 401)
    assert unauthorized["path"] == "/api/v1/orders" and unauthorized["time"].endswith("+00:00")
