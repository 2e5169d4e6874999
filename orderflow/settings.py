"""Django settings. Everything that varies by deployment comes from ``orderflow.config``."""

from datetime import timedelta

from django.templatetags.static import static

from orderflow import config as _config

try:
    CONFIG = _config.load()
except _config.ConfigError as exc:
    # One line naming the variable, no traceback: the operator fixes the environment.
    raise SystemExit(f"OrderFlow configuration error: {exc}") from None
_config.ensure_var_dirs(CONFIG)

BASE_DIR = _config.BASE_DIR
VAR_DIR = CONFIG.var_dir
SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts
CSRF_TRUSTED_ORIGINS = CONFIG.csrf_trusted_origins

# Served over HTTPS (ORDERFLOW_HTTPS=true): secure cookies, HTTPS redirect (but /healthz, for
# load balancers checking over plain HTTP), HSTS; behind a TLS-terminating proxy,
# ORDERFLOW_PROXY_SSL_HEADER=true trusts its X-Forwarded-Proto (set it only when the proxy
# overwrites that header). `manage.py check --deploy` is clean with these set.
SESSION_COOKIE_SECURE = CONFIG.https
CSRF_COOKIE_SECURE = CONFIG.https
SECURE_SSL_REDIRECT = CONFIG.ssl_redirect
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if CONFIG.proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = CONFIG.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = CONFIG.hsts_include_subdomains
SECURE_HSTS_PRELOAD = CONFIG.hsts_preload

INSTALLED_APPS = [
    # django-unfold: the admin's theme, dashboard and change-page action buttons; before
    # django.contrib.admin so its templates win. It ships its own static files (no CDN).
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_celery_beat",
    "axes",  # login lockouts (admin, approvals, HTTP Basic): orderflow/api/throttling.py
    "orderflow",
    "catalog",
    "customers",
    "carts",
    "orders",
    "quotes",
    "fulfillment",
    "bridges",
    "recovery",
    "demo",
    "imports",
    "analytics",
]

# The admin (django-unfold): the sidebar groups models by what staff do
# (orderflow.navigation), the index is the work queue (templates/admin/index.html).
UNFOLD = {
    "SITE_TITLE": "OrderFlow",
    "SITE_HEADER": "OrderFlow back office",
    "SITE_SUBHEADER": "Operations",
    "SITE_URL": "/admin/",
    "SITE_SYMBOL": "local_shipping",
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_BACK_BUTTON": True,
    "BORDER_RADIUS": "6px",
    "STYLES": [lambda request: static("orderflow/backoffice.css")],
    "COLORS": {
        "primary": {
            "50": "oklch(97% .014 254.604)", "100": "oklch(93.2% .032 255.585)",
            "200": "oklch(88.2% .059 254.128)", "300": "oklch(80.9% .105 251.813)",
            "400": "oklch(70.7% .165 254.624)", "500": "oklch(62.3% .214 259.815)",
            "600": "oklch(54.6% .245 262.881)", "700": "oklch(48.8% .243 264.376)",
            "800": "oklch(42.4% .199 265.638)", "900": "oklch(37.9% .146 265.522)",
            "950": "oklch(28.2% .091 267.935)",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "orderflow.navigation.sidebar",
    },
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "bridges.txlog.middleware.TransactionLogMiddleware",
    "orderflow.inputgate.InputGateMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# CSRF failures under /api/ and /bridge/ answer problem+json (orderflow.views.csrf_failure).
CSRF_FAILURE_VIEW = "orderflow.views.csrf_failure"

# Admin messages live in the session (which staff have anyway): the default cookie storage
# builds a cookie signer on every request, API calls included.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "orderflow.urls"
WSGI_APPLICATION = "orderflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

for _key, _value in CONFIG.email.items():
    globals()[_key] = _value
SERVER_EMAIL = CONFIG.email["DEFAULT_FROM_EMAIL"]

if CONFIG.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.redis_url,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Throttle counts: Redis (shared by every process) when there is one, else in memory.
CACHES["throttle"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CONFIG.redis_url,
     "KEY_PREFIX": "throttle"} if CONFIG.redis_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# LOG_FORMAT=json: one JSON object per line, with the request id (orderflow/jsonlog.py).
LOGGING["formatters"]["json"] = {"()": "orderflow.jsonlog.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = CONFIG.log_format

# --- Django REST framework / OpenAPI -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The first class names the WWW-Authenticate scheme of a 401.
        "bridges.access.authentication.ApiKeyAuthentication",
        "orderflow.api.throttling.ThrottledBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["orderflow.api.permissions.IsStaffWithModelPerms"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "orderflow.api.pagination.CursorPage",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "orderflow.api.negotiation.ContentNegotiation",
    "EXCEPTION_HANDLER": "orderflow.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Throttling (docs/api.md, "Throttling"): 429 `throttled` with Retry-After.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "bridges.access.throttling.ApiKeyRateThrottle",
    "orderflow.api.throttling.BasicUserRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "api_key": CONFIG.throttle_api_key,
    "basic": CONFIG.throttle_basic,
    "basic_failures": CONFIG.throttle_basic_failures,
}
# The client address is REMOTE_ADDR, or what the trusted proxies saw (never a client's own
# X-Forwarded-For).
REST_FRAMEWORK["NUM_PROXIES"] = CONFIG.trusted_proxy_hops
AUTHENTICATION_BACKENDS = [
    "orderflow.api.throttling.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = CONFIG.login_failure_limit
AXES_COOLOFF_TIME = timedelta(minutes=CONFIG.login_lockout_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "orderflow.api.throttling.lockout_response"
AXES_CLIENT_IP_CALLABLE = "bridges.access.network.client_ip"
AXES_VERBOSE = False

if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "OrderFlow API",
    "DESCRIPTION": (
        "Carts, orders, quotes, shipments and returns. Errors are application/problem+json "
        "(RFC 9457) with a stable `code`. Money is a decimal string with an ISO currency code."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets ship in a package: nothing is fetched from a CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "orderflow.api.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ImportKindEnum": "imports.constants.ImportKind.choices",
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = CONFIG.broker_url
CELERY_BROKER_TRANSPORT_OPTIONS = CONFIG.broker_transport_options
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- OrderFlow ------------------------------------------------------------------------------
ORDERFLOW_DEFAULT_CURRENCY = "JMD"
ORDERFLOW_HEALTHZ_TIMEOUT_SECONDS = 2.0
ORDERFLOW_OUTBOX_RETENTION = timedelta(days=30)
# The task the kernel's outbox wakes after commit (sent by name: the kernel imports no app).
ORDERFLOW_OUTBOX_DISPATCH_TASK = "bridges.tasks.dispatch_outbox_task"
ORDERFLOW_SHOPPER_TOKEN_TTL = timedelta(hours=1)
# Server processes reuse an API key or bridge connection row they read for this long: a
# revoked key or disabled connection is refused everywhere within these seconds (at once by
# the process that changed it). 0: read on every request.
ORDERFLOW_API_KEY_CACHE_SECONDS = 5
ORDERFLOW_IDEMPOTENCY_TTL = timedelta(hours=24)
# Cart edits (lines, pricing, addresses, shipping method) commit without waiting for the disk
# (carts.services._relax_edit); True: every cart edit waits, like checkout always does.
ORDERFLOW_DURABLE_CART_EDITS = CONFIG.durable_cart_edits
# Import jobs (imports/): the largest upload accepted (413 beyond) and rows per chunk.
ORDERFLOW_IMPORT_MAX_BYTES = CONFIG.import_max_bytes
ORDERFLOW_IMPORT_CHUNK_ROWS = 500
# Orders: a pending_payment order with no capture for this long is canceled (payment_timeout).
ORDERFLOW_PAYMENT_TIMEOUT = timedelta(minutes=60)
# HMAC bridge
ORDERFLOW_REPLAY_GUARD_URL = CONFIG.redis_url  # None: the database guard (embedded default)
# How many reverse proxies in front of us append to X-Forwarded-For (0: use REMOTE_ADDR).
ORDERFLOW_TRUSTED_PROXY_HOPS = CONFIG.trusted_proxy_hops
# One body limit for REST and bridge (docs/api.md): larger bodies are refused with 413 before
# they are read; Django's own limit agrees so nothing between the two goes unscanned.
ORDERFLOW_MAX_BODY_BYTES = CONFIG.max_body_bytes
ORDERFLOW_BRIDGE_MAX_BODY = ORDERFLOW_MAX_BODY_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = ORDERFLOW_MAX_BODY_BYTES
# Nesting deeper than this in a JSON body is refused (400 malformed_request).
ORDERFLOW_MAX_JSON_DEPTH = 32
ORDERFLOW_SECRET_ROTATION_GRACE = timedelta(hours=24)
ORDERFLOW_TRANSACTION_LOG_RETENTION = timedelta(days=30)
# Outbound webhooks
ORDERFLOW_WEBHOOK_ALLOW_PRIVATE = CONFIG.webhook_allow_private  # hosts/CIDRs for local receivers
ORDERFLOW_WEBHOOK_RETRY_SCHEDULE = CONFIG.webhook_retry_schedule  # seconds after each failure
ORDERFLOW_WEBHOOK_RETRY_JITTER = 0.2  # each delay is scaled by a random factor in 1 ± this
ORDERFLOW_WEBHOOK_LEASE_MARGIN_SECONDS = CONFIG.webhook_lease_margin
ORDERFLOW_WEBHOOK_BATCH = 100  # deliveries one worker claims at once for one endpoint
# A busy dispatcher looks again after this (a countdown): commits meanwhile are fanned out
# together, and their deliveries claimed together.
ORDERFLOW_WEBHOOK_GATHER_SECONDS = CONFIG.webhook_gather_ms / 1000
ORDERFLOW_WEBHOOK_LOOP_SECONDS = 1  # a delivery task then re-queues itself, behind the dispatcher
ORDERFLOW_WEBHOOK_BATCH_SECONDS = 20  # no new POST of a batch starts after this; rest handed back
# An endpoint whose attempts have all failed for this long is disabled (default 120 h = 5 days).
ORDERFLOW_WEBHOOK_DISABLE_AFTER = timedelta(hours=CONFIG.webhook_disable_after_hours)
ORDERFLOW_WEBHOOK_LOG_RETENTION = timedelta(days=30)
# Scheduled exports: orders changed up to this many seconds ago go into a run (a transaction
# stamps updated_at before it commits); directories exports may write under (empty: any
# absolute path).
ORDERFLOW_EXPORT_SETTLE_SECONDS = 60
ORDERFLOW_EXPORT_DIRECTORY_ROOTS: list[str] = []

CELERY_BEAT_SCHEDULE = {
    "sweep-webhooks": {
        "task": "bridges.tasks.sweep_webhooks_task",
        "schedule": timedelta(seconds=30),
    },
    "retry-exports": {
        "task": "bridges.tasks.retry_exports_task",
        "schedule": timedelta(seconds=30),
    },
    "prune-webhook-log": {
        "task": "bridges.tasks.prune_webhook_log_task",
        "schedule": timedelta(hours=1),
    },
    "prune-export-runs": {
        "task": "bridges.tasks.prune_export_runs_task",
        "schedule": timedelta(hours=1),
    },
    "cancel-unpaid-orders": {
        "task": "orders.tasks.cancel_unpaid_orders_task",
        "schedule": timedelta(minutes=5),
    },
    "prune-bridge-records": {
        "task": "bridges.tasks.prune_bridge_records_task",
        "schedule": timedelta(hours=1),
    },
    "prune-idempotency-keys": {
        "task": "bridges.tasks.prune_idempotency_keys_task",
        "schedule": timedelta(hours=1),
    },
    "expire-quotes": {"task": "quotes.tasks.expire_quotes_task", "schedule": timedelta(hours=1)},
    "remind-quotes": {"task": "quotes.tasks.remind_quotes_task", "schedule": timedelta(hours=6)},
    "approver-digests": {"task": "quotes.tasks.send_approver_digests_task",
                         "schedule": timedelta(hours=1)},
    "recovery-scan": {"task": "recovery.tasks.recovery_scan_task",
                      "schedule": timedelta(seconds=CONFIG.recovery_scan_seconds)},
    "recovery-expire": {"task": "recovery.tasks.recovery_expire_task",
                        "schedule": timedelta(hours=1)},
    "analytics-dirty-days": {"task": "analytics.tasks.recompute_dirty_days_task",
                             "schedule": timedelta(minutes=2)},
}

# --- abandoned-cart recovery (docs/recovery.md); per-channel settings in the admin win ------
ORDERFLOW_RECOVERY_IDLE_SECONDS = CONFIG.recovery_idle_seconds
ORDERFLOW_RECOVERY_STEPS = CONFIG.recovery_steps  # seconds after last activity, per e-mail
ORDERFLOW_RECOVERY_SCAN_SECONDS = CONFIG.recovery_scan_seconds
ORDERFLOW_RECOVERY_LINK_DAYS = CONFIG.recovery_link_days
ORDERFLOW_RECOVERY_EXPIRY_DAYS = CONFIG.recovery_expiry_days

# --- quotes (docs/quotes.md) ------------------------------------------------------------------
ORDERFLOW_PUBLIC_URL = CONFIG.public_url  # links in e-mails (default: make run's address)
ORDERFLOW_SELLER_NAME = "OrderFlow"
ORDERFLOW_QUOTES_CHANNEL = "B2B_PORTAL"  # staff's quotes without a request are in this channel
ORDERFLOW_QUOTE_VALIDITY_DAYS = 30  # valid_until when staff give none
ORDERFLOW_QUOTE_REMINDER_DAYS = 3  # the buyer's reminder, this many days before valid_until
ORDERFLOW_QUOTE_DEFAULT_TERMS = "Prices valid until the date shown; delivery ex warehouse."

# --- django-import-export -------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
from import_export.formats.base_formats import CSV, JSON, XLSX  # noqa: E402

IMPORT_EXPORT_FORMATS = [CSV, XLSX, JSON]
