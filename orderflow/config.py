"""Configuration from the environment, read in one place.

Every setting that varies between the embedded default and a production deployment is read
here, validated, and returned as one immutable ``Config``. A malformed value raises
``ConfigError`` whose message names the variable, so start-up can stop with one line.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}
POSTGRESQL_ENGINE = "orderflow.postgresql"  # Django's backend with a faster timestamp loader
BROKER_SCHEMES = {"redis", "rediss", "filesystem", "memory", "amqp", "pyamqp"}
REDIS_SCHEMES = {"redis", "rediss", "unix"}
EMAIL_SCHEMES = {"smtp", "smtps", "submission", "file", "console", "memory"}


class ConfigError(Exception):
    """A configuration variable holds a value OrderFlow cannot use."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True)
class Config:
    var_dir: Path
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    database: dict
    broker_url: str
    broker_transport_options: dict
    redis_url: str | None
    email: dict
    time_zone: str
    trusted_proxy_hops: int = 0
    embedded: dict = field(default_factory=dict)
    webhook_allow_private: list[str] = field(default_factory=list)
    webhook_retry_schedule: list[int] = field(default_factory=lambda: list(RETRY_SCHEDULE))
    webhook_lease_margin: int = 30
    webhook_gather_ms: int = 100
    webhook_disable_after_hours: int = 120
    durable_cart_edits: bool = False
    recovery_idle_seconds: int = 3600
    recovery_steps: list[int] = field(default_factory=lambda: list(RECOVERY_STEPS))
    recovery_scan_seconds: int = 300
    recovery_link_days: int = 7
    recovery_expiry_days: int = 30
    public_url: str = "http://127.0.0.1:8000"
    import_max_bytes: int = 100 * 1024 * 1024
    # Throttling (docs/api.md, "Throttling"): DRF rates "<n>/<second|minute|hour|day>".
    throttle_api_key: str = "1200/minute"
    throttle_basic: str = "600/minute"
    throttle_basic_failures: str = "10/minute"
    login_failure_limit: int = 10
    login_lockout_minutes: int = 15
    # Production behind HTTPS (README, "Running in production").
    https: bool = False
    ssl_redirect: bool = False
    proxy_ssl_header: bool = False
    hsts_seconds: int = 0
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False
    log_format: str = "plain"
    max_body_bytes: int = 1024 * 1024

    @property
    def uses_postgres(self) -> bool:
        return self.database["ENGINE"] == POSTGRESQL_ENGINE


def parse_bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ConfigError(name, f"expected true/false, got {raw!r}")


def parse_int(env: dict, name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}")
    return value


def parse_list(env: dict, name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


# About 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (then dead): a receiver down for a day or a
# deploy that breaks it overnight still gets everything.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)


# Abandoned-cart reminders: 1 h, 24 h and 72 h after the cart's last activity.
RECOVERY_STEPS = (3600, 86400, 259200)


def parse_choice(env: dict, name: str, default: str, choices: set[str]) -> str:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(name, f"expected one of {', '.join(sorted(choices))}, got {raw!r}")
    return value


RATE_PATTERN = r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$"


def parse_rate(env: dict, name: str, default: str) -> str:
    """A DRF throttle rate such as ``600/minute``."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if not re.match(RATE_PATTERN, value):
        raise ConfigError(name, f"expected a rate such as 600/minute, got {raw!r}")
    return value


def parse_seconds_list(env: dict, name: str, default: tuple[int, ...]) -> list[int]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return list(default)
    try:
        values = [int(item) for item in raw.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(name, f"expected whole seconds separated by commas, got {raw!r}"
                          ) from None
    if not values or any(v < 0 for v in values):
        raise ConfigError(name, "expected at least one delay of 0 seconds or more")
    return values


def parse_allow_private(env: dict, name: str) -> list[str]:
    import ipaddress

    entries = parse_list(env, name, [])
    for entry in entries:
        if "/" in entry or entry.replace(".", "").isdigit() or ":" in entry:
            try:
                ipaddress.ip_network(entry.strip("[]"), strict=False)
            except ValueError:
                raise ConfigError(name, f"{entry!r} is not an address or CIDR range") from None
    return [entry.strip("[]").lower() for entry in entries]


def _scheme(env: dict, name: str, allowed: set[str]) -> str:
    raw = env[name].strip()
    scheme = urlsplit(raw).scheme.lower()
    if "://" not in raw or scheme not in allowed:
        raise ConfigError(
            name, f"expected a URL with one of the schemes {', '.join(sorted(allowed))}"
        )
    return scheme


def parse_database(env: dict, var_dir: Path) -> dict:
    """The default database. Persistent PostgreSQL connections (``DB_CONN_MAX_AGE`` seconds,
    default 60): opening a server connection per request would cost more than most requests."""
    if not env.get("DATABASE_URL"):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(var_dir / "orderflow.sqlite3"),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    scheme = _scheme(env, "DATABASE_URL", DATABASE_SCHEMES)
    conn_max_age = parse_int(env, "DB_CONN_MAX_AGE", 60)
    try:
        db = dj_database_url.parse(env["DATABASE_URL"].strip(), conn_max_age=conn_max_age)
    except Exception as exc:  # dj-database-url raises several types for bad URLs
        raise ConfigError("DATABASE_URL", f"cannot parse ({exc.__class__.__name__})") from None
    if scheme != "sqlite" and not db.get("NAME"):
        raise ConfigError("DATABASE_URL", "no database name in the URL path")
    if db.get("PORT") not in ("", None):
        try:
            int(db["PORT"])
        except (TypeError, ValueError):
            raise ConfigError("DATABASE_URL", "port is not a number") from None
    if db["ENGINE"] == "django.db.backends.postgresql":
        db["ENGINE"] = POSTGRESQL_ENGINE
        db.setdefault("OPTIONS", {})
        # A health check is a SELECT 1 round trip at the start of every request (~0.5 ms, 18 %
        # of a cart read); off by default like Django's. Without it, a connection broken by a
        # database restart fails one request per worker and is then replaced.
        db["CONN_HEALTH_CHECKS"] = parse_bool(env, "DB_CONN_HEALTH_CHECKS", False)
        # Parameters travel apart from the SQL text (no client-side quoting of every value,
        # JSON payloads included) and a statement run DB_PREPARE_THRESHOLD times on a
        # connection is prepared: PostgreSQL parses and plans it once, not on every request.
        # Behind a transaction-pooling proxy that cannot keep prepared statements, set
        # DB_SERVER_SIDE_BINDING=false (binding on the server unprepared costs PostgreSQL more).
        if parse_bool(env, "DB_SERVER_SIDE_BINDING", True):
            db["OPTIONS"]["server_side_binding"] = True
            threshold = parse_int(env, "DB_PREPARE_THRESHOLD", 2)
            db["OPTIONS"]["prepare_threshold"] = threshold or None
    return db


def parse_broker(env: dict, var_dir: Path) -> tuple[str, dict]:
    if not env.get("CELERY_BROKER_URL"):
        folder = var_dir / "broker"
        return "filesystem://", {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    _scheme(env, "CELERY_BROKER_URL", BROKER_SCHEMES)
    url = env["CELERY_BROKER_URL"].strip()
    # Tasks have hard time limits far below this; a countdown never relies on it.
    options = {"visibility_timeout": 3600}
    if url.startswith(("redis", "rediss")):
        # Publishing (e.g. the outbox wake-up after a checkout commits) fails fast when the
        # broker is down instead of redis-py's ~6 s of reconnects inside a web request: the
        # rows are committed and beat's sweepers send them when the broker is back. The
        # worker's own reconnection follows broker_connection_* settings, not these.
        options.update(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                       socket_connect_timeout=2)
    return url, options


def parse_redis(env: dict) -> str | None:
    if not env.get("REDIS_URL"):
        return None
    _scheme(env, "REDIS_URL", REDIS_SCHEMES)
    return env["REDIS_URL"].strip()


def parse_email(env: dict, var_dir: Path) -> dict:
    default_from = env.get("DEFAULT_FROM_EMAIL", "OrderFlow <orderflow@localhost>")
    if not env.get("EMAIL_URL"):
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(var_dir / "mail"),
            "DEFAULT_FROM_EMAIL": default_from,
        }
    scheme = _scheme(env, "EMAIL_URL", EMAIL_SCHEMES)
    url = urlsplit(env["EMAIL_URL"].strip())
    if scheme == "console":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "DEFAULT_FROM_EMAIL": default_from,
        }
    if scheme == "memory":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DEFAULT_FROM_EMAIL": default_from,
        }
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(url.path) or str(var_dir / "mail"),
            "DEFAULT_FROM_EMAIL": default_from,
        }
    if not url.hostname:
        raise ConfigError("EMAIL_URL", "no host in the URL")
    try:
        port = url.port
    except ValueError:
        raise ConfigError("EMAIL_URL", "port is not a number") from None
    query = {k: v[-1].lower() for k, v in parse_qs(url.query).items()}
    use_ssl = scheme == "smtps" or query.get("ssl") in TRUE_VALUES
    use_tls = not use_ssl and (scheme == "submission" or query.get("tls") in TRUE_VALUES)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": url.hostname,
        "EMAIL_PORT": port or (465 if use_ssl else 587 if use_tls else 25),
        "EMAIL_HOST_USER": unquote(url.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(url.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": 10,
        "DEFAULT_FROM_EMAIL": default_from,
    }


def read_or_create_secret_key(env: dict, var_dir: Path) -> str:
    if env.get("SECRET_KEY"):
        key = env["SECRET_KEY"]
        if len(key) < 32:
            raise ConfigError("SECRET_KEY", "must be at least 32 characters")
        return key
    # Embedded default: a key generated on first start and kept under var/, never in the repo.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    var_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def load(env: dict | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("ORDERFLOW_VAR_DIR") or BASE_DIR / "var").resolve()
    debug = parse_bool(env, "DEBUG", False)
    hosts = parse_list(env, "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
    origins = parse_list(env, "CSRF_TRUSTED_ORIGINS", [])
    for origin in origins:
        if "://" not in origin:
            raise ConfigError("CSRF_TRUSTED_ORIGINS", f"{origin!r} has no scheme")
    database = parse_database(env, var_dir)
    broker_url, transport_options = parse_broker(env, var_dir)
    redis_url = parse_redis(env)
    email = parse_email(env, var_dir)
    secret_key = read_or_create_secret_key(env, var_dir)
    embedded = {}
    if not env.get("DATABASE_URL"):
        embedded["database"] = database["NAME"]
    if not env.get("CELERY_BROKER_URL"):
        embedded["broker"] = transport_options["data_folder_in"]
    https = parse_bool(env, "ORDERFLOW_HTTPS", False)
    return Config(
        var_dir=var_dir,
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=hosts,
        csrf_trusted_origins=origins,
        database=database,
        broker_url=broker_url,
        broker_transport_options=transport_options,
        redis_url=redis_url,
        email=email,
        time_zone=env.get("TIME_ZONE", "UTC"),
        trusted_proxy_hops=parse_int(env, "ORDERFLOW_TRUSTED_PROXY_HOPS", 0),
        embedded=embedded,
        webhook_allow_private=parse_allow_private(env, "ORDERFLOW_WEBHOOK_ALLOW_PRIVATE"),
        webhook_retry_schedule=parse_seconds_list(env, "ORDERFLOW_WEBHOOK_RETRY_SCHEDULE",
                                                  RETRY_SCHEDULE),
        webhook_lease_margin=parse_int(env, "ORDERFLOW_WEBHOOK_LEASE_MARGIN", 30, minimum=1),
        webhook_gather_ms=parse_int(env, "ORDERFLOW_WEBHOOK_GATHER_MS", 100),
        webhook_disable_after_hours=parse_int(env, "ORDERFLOW_WEBHOOK_DISABLE_AFTER_HOURS", 120,
                                              minimum=1),
        durable_cart_edits=parse_bool(env, "ORDERFLOW_DURABLE_CART_EDITS", False),
        recovery_idle_seconds=parse_int(env, "ORDERFLOW_RECOVERY_IDLE_SECONDS", 3600,
                                        minimum=1),
        recovery_steps=parse_seconds_list(env, "ORDERFLOW_RECOVERY_STEPS", RECOVERY_STEPS),
        recovery_scan_seconds=parse_int(env, "ORDERFLOW_RECOVERY_SCAN_SECONDS", 300, minimum=1),
        recovery_link_days=parse_int(env, "ORDERFLOW_RECOVERY_LINK_DAYS", 7, minimum=1),
        recovery_expiry_days=parse_int(env, "ORDERFLOW_RECOVERY_EXPIRY_DAYS", 30, minimum=1),
        public_url=parse_public_url(env),
        import_max_bytes=parse_int(env, "ORDERFLOW_IMPORT_MAX_BYTES", 100 * 1024 * 1024,
                                   minimum=1),
        throttle_api_key=parse_rate(env, "ORDERFLOW_THROTTLE_API_KEY", "1200/minute"),
        throttle_basic=parse_rate(env, "ORDERFLOW_THROTTLE_BASIC", "600/minute"),
        throttle_basic_failures=parse_rate(env, "ORDERFLOW_THROTTLE_BASIC_FAILURES",
                                           "10/minute"),
        login_failure_limit=parse_int(env, "ORDERFLOW_LOGIN_FAILURE_LIMIT", 10, minimum=1),
        login_lockout_minutes=parse_int(env, "ORDERFLOW_LOGIN_LOCKOUT_MINUTES", 15,
                                        minimum=1),
        https=https,
        ssl_redirect=parse_bool(env, "ORDERFLOW_SSL_REDIRECT", https),
        proxy_ssl_header=parse_bool(env, "ORDERFLOW_PROXY_SSL_HEADER", False),
        hsts_seconds=parse_int(env, "ORDERFLOW_HSTS_SECONDS", 31536000 if https else 0),
        hsts_include_subdomains=parse_bool(env, "ORDERFLOW_HSTS_INCLUDE_SUBDOMAINS", False),
        hsts_preload=parse_bool(env, "ORDERFLOW_HSTS_PRELOAD", False),
        log_format=parse_choice(env, "LOG_FORMAT", "plain", {"plain", "json"}),
        max_body_bytes=parse_int(env, "ORDERFLOW_MAX_BODY_BYTES", 1024 * 1024, minimum=1024),
    )


def parse_public_url(env: dict) -> str:
    """Where e-mails' links point: ``ORDERFLOW_PUBLIC_URL``, else where ``make run`` serves
    (``ORDERFLOW_HOST``:``ORDERFLOW_PORT``)."""
    raw = (env.get("ORDERFLOW_PUBLIC_URL") or "").strip()
    if not raw:
        host = env.get("ORDERFLOW_HOST") or "127.0.0.1"
        return f"http://{host}:{env.get('ORDERFLOW_PORT') or 8000}"
    if urlsplit(raw).scheme not in {"http", "https"} or not urlsplit(raw).netloc:
        raise ConfigError("ORDERFLOW_PUBLIC_URL", f"expected http(s)://host[:port], got {raw!r}")
    return raw.rstrip("/")


def ensure_var_dirs(config: Config) -> None:
    """Create the folders the embedded default writes to."""
    config.var_dir.mkdir(parents=True, exist_ok=True)
    (config.var_dir / "static").mkdir(exist_ok=True)
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in config.broker_transport_options:
            Path(config.broker_transport_options[key]).mkdir(parents=True, exist_ok=True)
    if config.email.get("EMAIL_FILE_PATH"):
        Path(config.email["EMAIL_FILE_PATH"]).mkdir(parents=True, exist_ok=True)
