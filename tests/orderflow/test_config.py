"""Configuration is read from the environment in one place and refuses malformed values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orderflow import config

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path, **env):
    return config.load({"ORDERFLOW_VAR_DIR": str(tmp_path), **env})


def test_embedded_default_with_nothing_set(tmp_path):
    cfg = load(tmp_path)
    assert cfg.database["ENGINE"] == "django.db.backends.sqlite3"
    assert cfg.database["NAME"] == str(tmp_path / "orderflow.sqlite3")
    assert cfg.broker_url == "filesystem://"
    assert cfg.broker_transport_options["data_folder_in"].startswith(str(tmp_path))
    assert cfg.email["EMAIL_BACKEND"].endswith("filebased.EmailBackend")
    assert cfg.email["EMAIL_FILE_PATH"] == str(tmp_path / "mail")
    assert cfg.debug is False
    assert cfg.redis_url is None
    assert "localhost" in cfg.allowed_hosts


def test_generated_secret_key_is_kept_under_var_not_regenerated(tmp_path):
    first = load(tmp_path).secret_key
    assert len(first) >= 50
    assert load(tmp_path).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_values(tmp_path):
    cfg = load(
        tmp_path,
        DATABASE_URL="postgres://of:pw@db.internal:5433/orderflow",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        REDIS_URL="redis://cache.internal:6379/1",
        SECRET_KEY="x" * 40,
        DEBUG="true",
        ALLOWED_HOSTS="shop.example.com, admin.example.com",
        EMAIL_URL="submission://mailer:s%40cret@smtp.example.com",
    )
    assert cfg.database["ENGINE"] == "orderflow.postgresql"
    assert (cfg.database["HOST"], cfg.database["PORT"], cfg.database["NAME"]) == (
        "db.internal", 5433, "orderflow")
    assert cfg.broker_url == "redis://cache.internal:6379/0"
    assert cfg.redis_url == "redis://cache.internal:6379/1"
    assert cfg.debug is True
    assert cfg.allowed_hosts == ["shop.example.com", "admin.example.com"]
    assert cfg.email["EMAIL_HOST"] == "smtp.example.com"
    assert cfg.email["EMAIL_PORT"] == 587
    assert cfg.email["EMAIL_USE_TLS"] is True
    assert cfg.email["EMAIL_HOST_PASSWORD"] == "s@cret"
    assert cfg.embedded == {}
    assert (cfg.database["CONN_MAX_AGE"], cfg.database["CONN_HEALTH_CHECKS"]) == (60, False)
    tuned = load(tmp_path, DATABASE_URL="postgres://of@db/orderflow", DB_CONN_MAX_AGE="0",
                 DB_CONN_HEALTH_CHECKS="yes")
    assert (tuned.database["CONN_MAX_AGE"], tuned.database["CONN_HEALTH_CHECKS"]) == (0, True)


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://root@localhost/orderflow"),
        ("DATABASE_URL", "postgres://postgres@localhost:notaport/orderflow"),
        ("DATABASE_URL", "postgres://postgres@localhost:5432/"),
        ("CELERY_BROKER_URL", "localhost:6379"),
        ("REDIS_URL", "http://localhost:6379"),
        ("DEBUG", "maybe"),
        ("SECRET_KEY", "short"),
        ("EMAIL_URL", "smtp://"),
        ("CSRF_TRUSTED_ORIGINS", "shop.example.com"),
    ],
)
def test_malformed_value_names_the_variable(tmp_path, variable, value):
    with pytest.raises(config.ConfigError) as excinfo:
        load(tmp_path, **{variable: value})
    assert excinfo.value.variable == variable
    assert str(excinfo.value).startswith(f"{variable}: ")


def test_bad_connection_age_names_the_variable(tmp_path):
    with pytest.raises(config.ConfigError) as excinfo:
        load(tmp_path, DATABASE_URL="postgres://of@db/orderflow", DB_CONN_MAX_AGE="forever")
    assert excinfo.value.variable == "DB_CONN_MAX_AGE"


def test_bad_database_url_stops_startup_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    env.update(DATABASE_URL="postgresql//missing-colon", ORDERFLOW_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]], result.stderr
    assert lines[0].startswith("OrderFlow configuration error: DATABASE_URL:")
    assert "Traceback" not in result.stderr
