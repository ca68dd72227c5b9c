"""The one settings module. Every knob comes from the environment (see README, "Configuration").

The defaults give the embedded profile: SQLite, the django-q2 ORM broker, files on local disk, all state
under one data directory. The same code runs at scale with other environment values only.
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; the real environment wins over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("IMAGEGEN_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into the data directory."""
    configured = env.str("SECRET_KEY", default="")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            with open(key_file, "x", encoding="ascii") as fh:
                fh.write(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        except FileExistsError:
            pass
    return key_file.read_text(encoding="ascii").strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "imagegen.views.csrf_failure"

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_ratelimit",
    "imagegen",
    "generation",
    "history",
    "gallery",
]

MIDDLEWARE = [
    "imagegen.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "imagegen.middleware.ApiRequestSizeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "imagegen.accounts.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "imagegen.urls"
WSGI_APPLICATION = "imagegen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "imagegen.context_processors.engine",
                "imagegen.accounts.context_processors.access",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
# SQLite tuned for several processes (gunicorn workers + the qcluster): WAL so readers never block the
# writer, IMMEDIATE transactions so a writer waits for the lock instead of failing with "database is
# locked" on a read->write upgrade, and a busy timeout.
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA temp_store=MEMORY;"
        "PRAGMA journal_size_limit=67108864;"
    ),
}
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    DATABASES["default"]["CONN_MAX_AGE"] = 60
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches ---------------------------------------------------------------------------------------------
# "default" holds the request-rate counters. The database cache is shared by every process but its
# increments are not atomic (approximate under races); point CACHE_URL at Redis for exact counters.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="dbcache://imagegen_cache"),
    # django-q2 writes cluster stats every guard cycle; keep that churn out of the database.
    "qstats": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "qstats"),
    },
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 100_000
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "imagegen-local"}
RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Where the request-rate counters live. Reads are counted on every poll: in the database cache each would
# be a write, so there they are counted per web process ("local") unless set otherwise.
_SHARED_CACHE_IS_DB = CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
IMAGEGEN_CREATE_RATE_CACHE = env.str("IMAGEGEN_CREATE_RATE_CACHE", default="default")
IMAGEGEN_READ_RATE_CACHE = env.str("IMAGEGEN_READ_RATE_CACHE", default="local" if _SHARED_CACHE_IS_DB else "default")
# The database cache is knowingly accepted as approximate (README, "Limits"); Django's Redis backend is
# atomic but not on django-ratelimit's allow-list.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Background work (django-q2) ------------------------------------------------------------------------
IMAGEGEN_BROKER = env.str("IMAGEGEN_BROKER", default="orm")  # "orm" or a redis:// URL
IMAGEGEN_WORKERS = env.int("IMAGEGEN_WORKERS", default=2)
# Upper bound for one execution of a task (engine call, polling, download, storage); django-q2 kills a
# worker that runs longer.
IMAGEGEN_TASK_TIMEOUT = env.int("IMAGEGEN_TASK_TIMEOUT", default=900)
# A queue message taken by a cluster that then died (a power cut) is delivered again after this long.
# django-q2 wants this above the task timeout so that a task never runs twice; here a second delivery is
# harmless (a run starts by claiming the task's lease, and a held lease turns the delivery into a no-op),
# so it is short and the warning about it is silenced.
IMAGEGEN_REDELIVERY_SECONDS = env.int("IMAGEGEN_REDELIVERY_SECONDS", default=60)
warnings.filterwarnings("ignore", message="Retry and timeout are misconfigured")
Q_CLUSTER = {
    "name": "imagegen",
    "workers": IMAGEGEN_WORKERS,
    "timeout": IMAGEGEN_TASK_TIMEOUT,
    "retry": IMAGEGEN_REDELIVERY_SECONDS,
    # Retries are decided by the task row (error taxonomy, attempts); a paid call is never repeated blindly.
    "max_attempts": 1,
    "ack_failures": True,
    "queue_limit": IMAGEGEN_WORKERS,
    "bulk": 1,
    "poll": env.float("IMAGEGEN_BROKER_POLL", default=0.1),
    # The latest successes stay for the task page's timeline of worker runs (failures are always kept).
    "save_limit": 250,
    "catch_up": False,
    "guard_cycle": 1,
    "cache": "qstats",
    "max_rss": env.int("IMAGEGEN_WORKER_MAX_RSS_KB", default=600_000),
    "label": _("Task queue"),
}
if IMAGEGEN_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
else:
    Q_CLUSTER["redis"] = IMAGEGEN_BROKER

# Execution leases: a task is owned by one worker at a time. A worker that dies is detected at once on
# its own machine (its pid is gone); elsewhere its lease runs out after the current step plus this margin.
IMAGEGEN_LEASE_MARGIN = env.int("IMAGEGEN_LEASE_MARGIN", default=30)
IMAGEGEN_MAX_ATTEMPTS = env.int("IMAGEGEN_MAX_ATTEMPTS", default=4)
IMAGEGEN_RETRY_BASE_DELAY = env.float("IMAGEGEN_RETRY_BASE_DELAY", default=2.0)
IMAGEGEN_RETRY_MAX_DELAY = env.float("IMAGEGEN_RETRY_MAX_DELAY", default=60.0)
# Pending tasks whose queue message was lost (a broker without persistence, a crash between commit and
# enqueue) are enqueued again after this long.
IMAGEGEN_REQUEUE_AFTER = env.int("IMAGEGEN_REQUEUE_AFTER", default=300)

# --- Engines --------------------------------------------------------------------------------------------
IMAGEGEN_ENGINE = env.str("IMAGEGEN_ENGINE", default="auto")  # auto | volcengine | preview
IMAGEGEN_PREVIEW_LATENCY = env.float("IMAGEGEN_PREVIEW_LATENCY", default=2.0)
VOLC_ACCESSKEY = env.str("VOLC_ACCESSKEY", default="")
VOLC_SECRETKEY = env.str("VOLC_SECRETKEY", default="")
VOLC_HOST = env.str("VOLC_HOST", default="visual.volcengineapi.com")
VOLC_SCHEME = env.str("VOLC_SCHEME", default="https")
VOLC_CONNECT_TIMEOUT = env.float("VOLC_CONNECT_TIMEOUT", default=5.0)
VOLC_READ_TIMEOUT = env.float("VOLC_READ_TIMEOUT", default=60.0)
VOLC_MAX_CONCURRENCY = env.int("VOLC_MAX_CONCURRENCY", default=1)
VOLC_POLL_INTERVAL = env.float("VOLC_POLL_INTERVAL", default=1.0)
VOLC_POLL_MAX_INTERVAL = env.float("VOLC_POLL_MAX_INTERVAL", default=5.0)
VOLC_ASYNC_DEADLINE = env.float("VOLC_ASYNC_DEADLINE", default=600.0)
# Rate/concurrency rejections (50429/50430) are not billed: they get their own, larger retry budget.
IMAGEGEN_QUOTA_RETRIES = env.int("IMAGEGEN_QUOTA_RETRIES", default=30)

# --- Access: open (no sign-in, everything shared) or accounts (sign-in; each user sees only their own) ---
IMAGEGEN_ACCESS = env.str("IMAGEGEN_ACCESS", default="open")
if IMAGEGEN_ACCESS not in ("open", "accounts"):
    raise ImproperlyConfigured(f"IMAGEGEN_ACCESS must be open or accounts, not {IMAGEGEN_ACCESS!r}")
# Per-user quotas (accounts mode); staff override them per user in the admin. The day is the UTC day.
IMAGEGEN_DEFAULT_DAILY_IMAGES = env.int("IMAGEGEN_DEFAULT_DAILY_IMAGES", default=100)
IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS = env.int("IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS", default=4)
# Failed sign-in attempts allowed per client address and, separately, per user name (django-ratelimit
# rate syntax); more are refused until the window ends.
IMAGEGEN_LOGIN_RATE = env.str("IMAGEGEN_LOGIN_RATE", default="10/15m")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Limits ---------------------------------------------------------------------------------------------
IMAGEGEN_MAX_UNFINISHED_PER_CLIENT = env.int("IMAGEGEN_MAX_UNFINISHED_PER_CLIENT", default=10)
IMAGEGEN_CREATE_RATE = env.str("IMAGEGEN_CREATE_RATE", default="30/m")
IMAGEGEN_READ_RATE = env.str("IMAGEGEN_READ_RATE", default="600/m")
IMAGEGEN_MAX_BODY_BYTES = env.int("IMAGEGEN_MAX_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(IMAGEGEN_MAX_BODY_BYTES, 2_621_440)
# How many reverse proxies sit in front of the app (nginx: 1). Decides which X-Forwarded-For entry is
# the client; 0 trusts none of it.
IMAGEGEN_NUM_PROXIES = env.int("IMAGEGEN_NUM_PROXIES", default=0)

# --- Files ----------------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("IMAGEGEN_MEDIA_DIR", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env.str("IMAGEGEN_STATIC_ROOT", default=str(DATA_DIR / "static")))
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Images in S3-compatible object storage at scale (VolcEngine TOS, Aliyun OSS, MinIO, AWS S3).
IMAGEGEN_STORAGE = env.str("IMAGEGEN_STORAGE", default="local")  # local | s3
# Serve images by redirecting to short-lived presigned URLs instead of streaming them through the app.
IMAGEGEN_S3_PRESIGNED = env.bool("IMAGEGEN_S3_PRESIGNED", default=False)
if IMAGEGEN_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("IMAGEGEN_S3_BUCKET"),
            "endpoint_url": env.str("IMAGEGEN_S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("IMAGEGEN_S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("IMAGEGEN_S3_SECRET_KEY", default="") or None,
            "region_name": env.str("IMAGEGEN_S3_REGION", default="") or None,
            "addressing_style": env.str("IMAGEGEN_S3_ADDRESSING_STYLE", default="") or None,  # path | virtual
            "location": env.str("IMAGEGEN_S3_PREFIX", default=""),
            "querystring_expire": env.int("IMAGEGEN_S3_PRESIGN_SECONDS", default=300),
            "default_acl": None,
            "file_overwrite": True,
            "signature_version": "s3v4",
        },
    }
elif IMAGEGEN_STORAGE != "local":
    raise ImproperlyConfigured(f"IMAGEGEN_STORAGE must be local or s3, not {IMAGEGEN_STORAGE!r}")
# Behind nginx the app checks the request and hands the bytes to nginx (see docker/nginx.conf).
IMAGEGEN_X_ACCEL_REDIRECT_PREFIX = env.str("IMAGEGEN_X_ACCEL_REDIRECT_PREFIX", default="")
IMAGEGEN_THUMBNAIL_SIZE = env.int("IMAGEGEN_THUMBNAIL_SIZE", default=384)

# --- Maintenance: cleanup and backups (manage.py cleanup / backup / restore, the admin's Clean up page) ---
# Limits the cleanup applies to finished tasks (0 or empty = no such limit); `manage.py cleanup` uses them
# unless given options. The daily schedule (created by a migration) does nothing unless switched on here.
IMAGEGEN_CLEANUP_SCHEDULE = env.bool("IMAGEGEN_CLEANUP_SCHEDULE", default=False)
IMAGEGEN_CLEANUP_DAYS = env.float("IMAGEGEN_CLEANUP_DAYS", default=0)
IMAGEGEN_CLEANUP_KEEP = env.int("IMAGEGEN_CLEANUP_KEEP", default=0)
IMAGEGEN_CLEANUP_MAX_SIZE = env.str("IMAGEGEN_CLEANUP_MAX_SIZE", default="")  # e.g. "20G", "500M"
# Nothing younger than this is ever touched: recent tasks, files and rows (a running task writes its files
# before its image rows exist).
IMAGEGEN_CLEANUP_GRACE_HOURS = env.float("IMAGEGEN_CLEANUP_GRACE_HOURS", default=24)
IMAGEGEN_BACKUP_DIR = Path(env.str("IMAGEGEN_BACKUP_DIR", default=str(DATA_DIR / "backups")))

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- API ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "imagegen.api.errors.api_exception_handler",
    # The bearer class comes first: DRF takes the 401's WWW-Authenticate from the first class.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "imagegen.accounts.auth.BearerTokenAuthentication",
        "imagegen.api.csrf.BrowserCsrfCheck",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["imagegen.accounts.auth.SignedInIfRequired"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["imagegen.api.parsers.StrictJSONParser"],
    "NUM_PROXIES": IMAGEGEN_NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "imagegen API",
    "DESCRIPTION": "Text-to-image generation through VolcEngine, as durable background tasks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "imagegen.api.docs.add_image_file_paths",
        "imagegen.streaming.schema.add_stream_paths",
    ],
}

# --- Security -------------------------------------------------------------------------------------------
# No inline script or style anywhere and no eval (the pages use Alpine's CSP build). The one hash allows
# the two identical style attributes in DRF's browsable-API template.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_HASHES, "'sha256-OfgyIBrd+/vP79JdFMYP+re4T+fIenvkrHPD2HZ8/cs='"],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
DEFAULT_EXCEPTION_REPORTER_FILTER = "imagegen.logs.SecretSafeReporterFilter"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if IMAGEGEN_NUM_PROXIES else None
# Served over https (by the app or by a proxy in front, which then sets X-Forwarded-Proto): cookies only
# over https, HSTS, and plain-http requests redirected. Off by default: `make run` serves http on localhost.
IMAGEGEN_HTTPS = env.bool("IMAGEGEN_HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = IMAGEGEN_HTTPS
SECURE_SSL_REDIRECT = IMAGEGEN_HTTPS and env.bool("IMAGEGEN_SSL_REDIRECT", default=True)
# Load balancers and Prometheus often probe over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("IMAGEGEN_HSTS_SECONDS", default=31_536_000) if IMAGEGEN_HTTPS else 0
# includeSubDomains and preload commit every host under the domain to https, for a long time: the
# operator's decision, not the app's, so they are opt-in and check --deploy does not ask for them.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("IMAGEGEN_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("IMAGEGEN_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS += ["security.W005", "security.W021"]

# --- Real-time stream (imagegen/streaming/: the WebSocket and server-sent events, a separate ASGI process) ---------
# Where pages open the WebSocket: empty = the page's own origin (nginx routes the stream paths), "off" =
# pages poll only. `manage.py serve` runs the stream on PORT+1 and sets IMAGEGEN_STREAM_PORT instead.
IMAGEGEN_STREAM_URL = env.str("IMAGEGEN_STREAM_URL", default="")
IMAGEGEN_STREAM_PORT = env.int("IMAGEGEN_STREAM_PORT", default=0)
IMAGEGEN_STREAM_POLL = env.float("IMAGEGEN_STREAM_POLL", default=0.5)  # seconds between the watcher's reads
IMAGEGEN_STREAM_HEARTBEAT = env.float("IMAGEGEN_STREAM_HEARTBEAT", default=15.0)
IMAGEGEN_STREAM_SSE_LIFETIME = env.float("IMAGEGEN_STREAM_SSE_LIFETIME", default=300.0)
IMAGEGEN_STREAM_SSE_RETRY = env.float("IMAGEGEN_STREAM_SSE_RETRY", default=1.0)
IMAGEGEN_STREAM_MAX_SUBSCRIPTIONS = env.int("IMAGEGEN_STREAM_MAX_SUBSCRIPTIONS", default=100)
if IMAGEGEN_STREAM_PORT:
    SECURE_CSP["connect-src"] += [f"ws://*:{IMAGEGEN_STREAM_PORT}", f"wss://*:{IMAGEGEN_STREAM_PORT}"]
elif IMAGEGEN_STREAM_URL.startswith(("ws://", "wss://", "http://", "https://")):
    from urllib.parse import urlparse as _urlparse

    SECURE_CSP["connect-src"].append(f"{_urlparse(IMAGEGEN_STREAM_URL).scheme}://{_urlparse(IMAGEGEN_STREAM_URL).netloc}")

# --- Metrics (/metrics, Prometheus) ----------------------------------------------------------------------
# Either a bearer token, or (without one) only these networks may scrape.
IMAGEGEN_METRICS_TOKEN = env.str("IMAGEGEN_METRICS_TOKEN", default="")
IMAGEGEN_METRICS_ALLOW = env.list("IMAGEGEN_METRICS_ALLOW", default=["127.0.0.1/32", "::1/128"])
# Counters of every process on this machine meet in this directory (prometheus_client multiprocess mode).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Logging --------------------------------------------------------------------------------------------
LOG_DIR = DATA_DIR / "logs"
LOG_DIR.mkdir(parents=True, exist_ok=True)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
IMAGEGEN_LOG_FORMAT = env.str("IMAGEGEN_LOG_FORMAT", default="plain")  # plain | json
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"task": {"()": "imagegen.logs.TaskContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
        "json": {"()": "imagegen.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": IMAGEGEN_LOG_FORMAT, "filters": ["task"]},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(LOG_DIR / "imagegen.log"),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 5,
            "formatter": IMAGEGEN_LOG_FORMAT,
            "filters": ["task"],
            "delay": True,
        },
    },
    "root": {"handlers": ["console", "file"], "level": LOG_LEVEL},
    "loggers": {
        "django_q": {"level": env.str("Q_LOG_LEVEL", default="WARNING"), "propagate": True},
    },
}
