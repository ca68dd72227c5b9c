"""The one settings module. Every knob comes from the environment (see README, "Configuration").

The defaults give the embedded profile: SQLite, the django-q2 ORM broker, files on local disk, all state
under one data directory. The same code runs at scale with other environment values only.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.logs import logging_config
from imagegen import environment, hardening, wiring

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file beside manage.py is optional; the real environment wins over it. Every setting NAME can also
# come from the file named by NAME_FILE (Docker secrets).
env = environment.Env()
environment.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("IMAGEGEN_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
# From the environment, else generated once into the data directory: the one file settings write, because
# every process must agree on the key from the moment settings load (directories, file modes and the rest
# of start-up are imagegen/startup.py's, run when Django is set up).
SECRET_KEY = env.str("SECRET_KEY", default="") or environment.generated_secret_key(DATA_DIR)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
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
    # two-factor sign-in: TOTP devices and recovery codes (static tokens); see accounts/twofactor.py
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "imagegen",
    "accounts",
    "generation",
    "history",
    "gallery",
    "streaming",
]

MIDDLEWARE = [
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "accounts.networks.NetworkAllowlistMiddleware",
    "imagegen.middleware.ApiRequestSizeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "accounts.audit.middleware.AuditMiddleware",
    "accounts.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "imagegen.urls"
TEMPLATES = wiring.TEMPLATES
WSGI_APPLICATION = "imagegen.wsgi.application"


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
# The password apart from the URL, e.g. from a Docker secret (DATABASE_PASSWORD_FILE).
if env.str("DATABASE_PASSWORD", default=""):
    DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    DATABASES["default"]["CONN_MAX_AGE"] = 60
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches ---------------------------------------------------------------------------------------------
# "default" holds the request-rate counters (core/api/throttling.py). On the database cache they are
# counted with core.cache.DatabaseCache, whose increment is atomic; Redis and local memory are
# atomic already.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="dbcache://imagegen_cache"),
    # django-q2 writes cluster stats every guard cycle; keep that churn out of the database.
    "qstats": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "qstats"),
    },
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    CACHES["default"]["BACKEND"] = "core.cache.DatabaseCache"
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 100_000
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "imagegen-local"}
RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Where the request-rate counters live. Reads are counted on every poll: in the database cache each would
# be a write, so there they are counted per web process ("local") unless set otherwise.
_SHARED_CACHE_IS_DB = CACHES["default"]["BACKEND"] == "core.cache.DatabaseCache"
IMAGEGEN_CREATE_RATE_CACHE = env.str("IMAGEGEN_CREATE_RATE_CACHE", default="default")
IMAGEGEN_EDIT_RATE_CACHE = env.str("IMAGEGEN_EDIT_RATE_CACHE", default="default")
IMAGEGEN_READ_RATE_CACHE = env.str("IMAGEGEN_READ_RATE_CACHE", default="local" if _SHARED_CACHE_IS_DB else "default")
# django_ratelimit's checks do not know that these caches count atomically (see above).
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
# VolcEngine internal errors (50500, 50501) are retried once after this fixed pause (docs/spec/volcengine-protocol.md §4.4).
IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY = env.float("IMAGEGEN_RETRY_INTERNAL_ERROR_DELAY", default=5.0)
# Pending tasks whose queue message was lost (a broker without persistence, a crash between commit and
# enqueue) are enqueued again after this long.
IMAGEGEN_REQUEUE_AFTER = env.int("IMAGEGEN_REQUEUE_AFTER", default=300)

# Supervision of the worker cluster (generation/supervisor.py, run by `manage.py serve` and the worker
# container). The cluster is stalled when a deliverable queue message has waited longer than
# IMAGEGEN_STALL_SECONDS, none of its workers took a message for as long, and none of them is running a
# task; the supervisor then replaces it. Chosen by measurement (BENCHMARKS.md, "Worker supervision").
IMAGEGEN_STALL_SECONDS = env.float("IMAGEGEN_STALL_SECONDS", default=10.0)
IMAGEGEN_SUPERVISOR_POLL = env.float("IMAGEGEN_SUPERVISOR_POLL", default=1.0)  # seconds between stall checks
IMAGEGEN_RECOVERY_INTERVAL = env.float("IMAGEGEN_RECOVERY_INTERVAL", default=15.0)  # seconds between lease sweeps
IMAGEGEN_CLUSTER_STOP_GRACE = env.float("IMAGEGEN_CLUSTER_STOP_GRACE", default=1.0)  # SIGTERM -> SIGKILL, stalled cluster

# --- Engines --------------------------------------------------------------------------------------------
IMAGEGEN_ENGINE = env.str("IMAGEGEN_ENGINE", default="auto")  # auto | volcengine | preview: generation/offering.py
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
# The Ark (方舟) images API, for the catalogue's Ark models (README, "The Ark engine"). An empty base URL means
# the SDK's own (https://ark.cn-beijing.volces.com/api/v3).
ARK_API_KEY = env.str("ARK_API_KEY", default="")
ARK_BASE_URL = env.str("ARK_BASE_URL", default="")
ARK_CONNECT_TIMEOUT = env.float("ARK_CONNECT_TIMEOUT", default=5.0)
# One image takes 30 s to 3 min (third-party measurements; no official figure), and a read timeout is final.
ARK_READ_TIMEOUT = env.float("ARK_READ_TIMEOUT", default=300.0)
# Ark's images-per-minute limit per model version (500 for Seedream 4.x), shared by every worker; 0 = none.
ARK_IMAGES_PER_MINUTE = env.int("ARK_IMAGES_PER_MINUTE", default=500)
# Rate/concurrency rejections (50429/50430) are not billed: they get their own, larger retry budget.
IMAGEGEN_QUOTA_RETRIES = env.int("IMAGEGEN_QUOTA_RETRIES", default=30)

# --- Access: open (no sign-in, everything shared) or accounts (sign-in; each user sees only their own) ---
IMAGEGEN_ACCESS = env.str("IMAGEGEN_ACCESS", default="open")
if IMAGEGEN_ACCESS not in ("open", "accounts"):
    raise ImproperlyConfigured(f"IMAGEGEN_ACCESS must be open or accounts, not {IMAGEGEN_ACCESS!r}")
# Open mode is a local studio: served beyond loopback (HOST, the address the servers bind, or a name in
# ALLOWED_HOSTS) it must be asked for by name. `manage.py serve --host` checks its own address too.
IMAGEGEN_ACCESS_EXPLICIT = bool(env.str("IMAGEGEN_ACCESS", default=""))
try:
    hardening.refuse_exposed_open_mode(access=IMAGEGEN_ACCESS, explicit=IMAGEGEN_ACCESS_EXPLICIT,
                                       hosts=[env.str("HOST", default=""), *ALLOWED_HOSTS])
except hardening.OpenModeExposed as exc:
    raise ImproperlyConfigured(str(exc)) from None
# Per-user quotas (accounts mode); staff override them per user in the admin. The day is the UTC day.
IMAGEGEN_DEFAULT_DAILY_IMAGES = env.int("IMAGEGEN_DEFAULT_DAILY_IMAGES", default=100)
# The concurrent-task quota: a user's tasks that may run at once (the workers' fair claim holds the rest).
IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS = env.int("IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS", default=4)
# Site-wide spending caps (issue 22, item 3), over every task of every user: images billed per UTC day and
# per UTC month, and money per day and per month as "CNY:200,USD:30" (costs come from the console's price
# table). Empty: no cap. A task that would pass one is refused when it is created, before any upstream call.
IMAGEGEN_CAP_DAILY_IMAGES = env.int("IMAGEGEN_CAP_DAILY_IMAGES", default=None)
IMAGEGEN_CAP_MONTHLY_IMAGES = env.int("IMAGEGEN_CAP_MONTHLY_IMAGES", default=None)
IMAGEGEN_CAP_DAILY_MONEY = env.str("IMAGEGEN_CAP_DAILY_MONEY", default="")
IMAGEGEN_CAP_MONTHLY_MONEY = env.str("IMAGEGEN_CAP_MONTHLY_MONEY", default="")
# Failed sign-in attempts allowed per client address and, separately, per user name (count/period, in
# fixed windows: core/api/throttling.py); more are refused until the window ends.
IMAGEGEN_LOGIN_RATE = env.str("IMAGEGEN_LOGIN_RATE", default="10/15m")  # as IMAGEGEN_DEFAULT_RATES
# Failed second-factor codes (TOTP or recovery code) allowed per user and per client address, in fixed
# windows like the sign-in limit; more are refused until the window ends.
IMAGEGEN_OTP_RATE = env.str("IMAGEGEN_OTP_RATE", default="5/15m")
# Two-factor sign-in is optional for users; with this, staff must have it (the Docker deployment sets it).
IMAGEGEN_STAFF_2FA = env.bool("IMAGEGEN_STAFF_2FA", default=False)
# Password-reset e-mails asked for per client address (an e-mail is only sent to a known, active user).
IMAGEGEN_PASSWORD_RESET_RATE = env.str("IMAGEGEN_PASSWORD_RESET_RATE", default="5/h")
OTP_TOTP_ISSUER = env.str("IMAGEGEN_OTP_ISSUER", default="imagegen")
# The staff console never shows a TOTP key or a recovery code (not even to superusers): either one passes the
# second factor as its user.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A reset link works for this long (seconds), and only once (it depends on the password).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# E-mail (password reset): SMTP when EMAIL_HOST is set, else the console backend (make run prints the
# message in its terminal). EMAIL_HOST_PASSWORD can come from EMAIL_HOST_PASSWORD_FILE. Django 6.1's
# MAILERS is built from these variables (its EMAIL_* settings are deprecated).
MAILERS = environment.mailers(env, data_dir=DATA_DIR)
if not env.str("EMAIL_HOST", default=""):
    # Without an SMTP server the console backend is the intended one (reset mails go to the log), not a mistake.
    SILENCED_SYSTEM_CHECKS += ["mail.E001"]
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="imagegen <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The access audit log (staff console: Audit log; `manage.py audit_export`): events older than this are
# deleted by the daily cleanup schedule (0 keeps them for ever).
IMAGEGEN_AUDIT_RETENTION_DAYS = env.int("IMAGEGEN_AUDIT_RETENTION_DAYS", default=365)
# Events are written in batches this often by each process (0: each at once, in the request).
IMAGEGEN_AUDIT_FLUSH_SECONDS = env.float("IMAGEGEN_AUDIT_FLUSH_SECONDS", default=0.5)

# Signed requests: the clock window (seconds either side) and where used nonces are kept (a shared cache).
IMAGEGEN_SIGNATURE_WINDOW = env.int("IMAGEGEN_SIGNATURE_WINDOW", default=300)
IMAGEGEN_NONCE_CACHE = env.str("IMAGEGEN_NONCE_CACHE", default="default")

# --- Limits ---------------------------------------------------------------------------------------------
# Tasks one client (one user in accounts mode) may have queued or running; more is a 429. Big enough for a
# batch (50 variations of a prompt), small enough that a hostile client cannot fill the database.
IMAGEGEN_MAX_QUEUED_PER_CLIENT = env.int(
    "IMAGEGEN_MAX_QUEUED_PER_CLIENT", default=env.int("IMAGEGEN_MAX_UNFINISHED_PER_CLIENT", default=100)
)
IMAGEGEN_MAX_UNFINISHED_PER_CLIENT = IMAGEGEN_MAX_QUEUED_PER_CLIENT  # the old name
# Tasks one batch (POST /api/v1/batches) may make; a batch is one request of the generation budget.
IMAGEGEN_MAX_BATCH_TASKS = env.int("IMAGEGEN_MAX_BATCH_TASKS", default=50)
# Request-rate budgets (README, "Limits"): count/period, period s, m, h or d with an optional multiplier.
IMAGEGEN_DEFAULT_RATES = {
    "IMAGEGEN_CREATE_RATE": "30/m",  # generation: POST /generate, generate over the socket, staff retries
    "IMAGEGEN_EDIT_RATE": "300/m",  # edits: tags, bulk actions, cancel and delete, token management
    "IMAGEGEN_READ_RATE": "600/m",  # reads: every GET, browser visits of API pages included
    "IMAGEGEN_LOGIN_RATE": "10/15m",  # failed sign-ins per client address and per user name
}
IMAGEGEN_CREATE_RATE = env.str("IMAGEGEN_CREATE_RATE", default=IMAGEGEN_DEFAULT_RATES["IMAGEGEN_CREATE_RATE"])
IMAGEGEN_EDIT_RATE = env.str("IMAGEGEN_EDIT_RATE", default=IMAGEGEN_DEFAULT_RATES["IMAGEGEN_EDIT_RATE"])
IMAGEGEN_READ_RATE = env.str("IMAGEGEN_READ_RATE", default=IMAGEGEN_DEFAULT_RATES["IMAGEGEN_READ_RATE"])
IMAGEGEN_MAX_BODY_BYTES = env.int("IMAGEGEN_MAX_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(IMAGEGEN_MAX_BODY_BYTES, 2_621_440)
# How many reverse proxies sit in front of the app (nginx: 1). Decides which X-Forwarded-For entry is
# the client; 0 trusts none of it.
IMAGEGEN_NUM_PROXIES = env.int("IMAGEGEN_NUM_PROXIES", default=0)
# IP allowlist: CIDRs (IPv4 and IPv6) that may use the API, pages, staff console and stream (empty: all),
# and a stricter list for the staff console alone; the client address is read as above. Paths exempt from
# both (health checks by default).
IMAGEGEN_ALLOWED_NETWORKS = env.list("IMAGEGEN_ALLOWED_NETWORKS", default=[])
IMAGEGEN_STAFF_ALLOWED_NETWORKS = env.list("IMAGEGEN_STAFF_ALLOWED_NETWORKS", default=[])
IMAGEGEN_ALLOWLIST_EXEMPT = env.list("IMAGEGEN_ALLOWLIST_EXEMPT", default=["/api/v1/health"])
environment.check_networks(IMAGEGEN_ALLOWED_NETWORKS + IMAGEGEN_STAFF_ALLOWED_NETWORKS)

# --- Files ----------------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("IMAGEGEN_MEDIA_DIR", default=str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env.str("IMAGEGEN_STATIC_ROOT", default=str(DATA_DIR / "static")))
STATIC_URL = "/static/"
# Django's storage chmods what it saves (0644 by default): images are for the owner and the shared group.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
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
    STORAGES["default"] = environment.s3_storage(env)
elif IMAGEGEN_STORAGE != "local":
    raise ImproperlyConfigured(f"IMAGEGEN_STORAGE must be local or s3, not {IMAGEGEN_STORAGE!r}")
# jimeng_t2i_v40 takes reference images only as web addresses VolcEngine fetches itself: presigned URLs of the
# bucket, which VolcEngine must be able to reach (a public endpoint, not one inside a private network).
IMAGEGEN_S3_REFERENCE_URLS = env.bool("IMAGEGEN_S3_REFERENCE_URLS", default=False)
if IMAGEGEN_S3_REFERENCE_URLS and IMAGEGEN_STORAGE != "s3":
    raise ImproperlyConfigured("IMAGEGEN_S3_REFERENCE_URLS needs IMAGEGEN_STORAGE=s3: the references are sent as "
                               "presigned URLs of the bucket")
# How long VolcEngine may take to fetch them: an asynchronous task can wait in its queue before it starts.
IMAGEGEN_S3_REFERENCE_URL_SECONDS = env.int("IMAGEGEN_S3_REFERENCE_URL_SECONDS", default=3600)
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
# The trash: a deleted task or image stays there (files and all, restorable) this many days, then the daily
# cleanup schedule deletes it for good (0: until its owner or staff empty the trash).
IMAGEGEN_TRASH_DAYS = env.int("IMAGEGEN_TRASH_DAYS", default=30)
if IMAGEGEN_TRASH_DAYS < 0:
    raise ImproperlyConfigured("IMAGEGEN_TRASH_DAYS must be 0 (no automatic purge) or a number of days")
IMAGEGEN_BACKUP_DIR = Path(env.str("IMAGEGEN_BACKUP_DIR", default=str(DATA_DIR / "backups")))

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- API ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {**wiring.REST_FRAMEWORK, "NUM_PROXIES": IMAGEGEN_NUM_PROXIES}
SPECTACULAR_SETTINGS = wiring.SPECTACULAR_SETTINGS

# --- Security -------------------------------------------------------------------------------------------
SECURE_CSP = {name: list(sources) for name, sources in wiring.SECURE_CSP.items()}  # imagegen/wiring.py
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.logs.SecretSafeReporterFilter"
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

# --- Webhooks (README, "Webhooks") ------------------------------------------------------------------------
# Receivers must be https, and on a public address, unless these allow otherwise (a local receiver while
# developing: IMAGEGEN_WEBHOOK_ALLOW_HTTP=true IMAGEGEN_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8).
IMAGEGEN_WEBHOOK_ALLOW_HTTP = env.bool("IMAGEGEN_WEBHOOK_ALLOW_HTTP", default=False)
IMAGEGEN_WEBHOOK_ALLOW_NETWORKS = env.list("IMAGEGEN_WEBHOOK_ALLOW_NETWORKS", default=[])
IMAGEGEN_WEBHOOK_CONNECT_TIMEOUT = env.float("IMAGEGEN_WEBHOOK_CONNECT_TIMEOUT", default=5.0)
IMAGEGEN_WEBHOOK_READ_TIMEOUT = env.float("IMAGEGEN_WEBHOOK_READ_TIMEOUT", default=10.0)
# A delivery is retried (5xx, 408, 429, timeouts, refused connections) for this long after its event.
IMAGEGEN_WEBHOOK_RETRY_HOURS = env.float("IMAGEGEN_WEBHOOK_RETRY_HOURS", default=24.0)
# The first retry comes this many seconds after a failure; each next one 4x later, capped at the maximum.
IMAGEGEN_WEBHOOK_RETRY_BASE = env.float("IMAGEGEN_WEBHOOK_RETRY_BASE", default=5.0)
IMAGEGEN_WEBHOOK_RETRY_MAX = env.float("IMAGEGEN_WEBHOOK_RETRY_MAX", default=4 * 3600.0)
# Finished deliveries and their attempt logs are kept this many days (the daily cleanup removes older ones).
IMAGEGEN_WEBHOOK_LOG_DAYS = env.int("IMAGEGEN_WEBHOOK_LOG_DAYS", default=14)

# --- Real-time stream (streaming/: the WebSocket and server-sent events, served by imagegen.asgi on the ---
# same address as everything else). Where pages open the WebSocket: empty = the page's own origin, "off" = pages
# poll only, or a full URL (wss://stream.example.com) for an operator who serves it elsewhere.
IMAGEGEN_STREAM_URL = env.str("IMAGEGEN_STREAM_URL", default="")
IMAGEGEN_STREAM_POLL = env.float("IMAGEGEN_STREAM_POLL", default=0.5)  # seconds between the watcher's reads
IMAGEGEN_STREAM_HEARTBEAT = env.float("IMAGEGEN_STREAM_HEARTBEAT", default=15.0)
IMAGEGEN_STREAM_SSE_LIFETIME = env.float("IMAGEGEN_STREAM_SSE_LIFETIME", default=300.0)
IMAGEGEN_STREAM_SSE_RETRY = env.float("IMAGEGEN_STREAM_SSE_RETRY", default=1.0)
IMAGEGEN_STREAM_MAX_SUBSCRIPTIONS = env.int("IMAGEGEN_STREAM_MAX_SUBSCRIPTIONS", default=100)
if IMAGEGEN_STREAM_URL.startswith(("ws://", "wss://", "http://", "https://")):
    from urllib.parse import urlparse as _urlparse

    SECURE_CSP["connect-src"].append(f"{_urlparse(IMAGEGEN_STREAM_URL).scheme}://{_urlparse(IMAGEGEN_STREAM_URL).netloc}")

# --- Metrics (/metrics, Prometheus) ----------------------------------------------------------------------
# Either a bearer token, or (without one) only these networks may scrape.
IMAGEGEN_METRICS_TOKEN = env.str("IMAGEGEN_METRICS_TOKEN", default="")
IMAGEGEN_METRICS_ALLOW = env.list("IMAGEGEN_METRICS_ALLOW", default=["127.0.0.1/32", "::1/128"])
# Counters of every process on this machine meet in this directory (prometheus_client multiprocess mode;
# start-up puts it in PROMETHEUS_MULTIPROC_DIR, where prometheus_client looks).
IMAGEGEN_METRICS_DIR = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default=str(DATA_DIR / "metrics")))

# --- Logging --------------------------------------------------------------------------------------------
LOG_DIR = DATA_DIR / "logs"
IMAGEGEN_LOG_FORMAT = env.str("IMAGEGEN_LOG_FORMAT", default="plain")  # plain | json
# django-q2 writes a line per scheduled run, task and process start at INFO: only the cluster's start and
# stop lines pass unless Q_LOG_LEVEL=DEBUG (WARNING hides those too).
Q_LOG_LEVEL = env.str("Q_LOG_LEVEL", default="INFO").upper()
# Successful reads of image files and thumbnails are left out of the access lines unless this is true.
IMAGEGEN_ACCESS_LOG_ASSETS = env.bool("IMAGEGEN_ACCESS_LOG_ASSETS", default=False)
LOGGING = logging_config(level=env.str("LOG_LEVEL", default="INFO"), log_format=IMAGEGEN_LOG_FORMAT,
                         log_file=LOG_DIR / "imagegen.log", queue_level=Q_LOG_LEVEL,
                         access_level=env.str("IMAGEGEN_ACCESS_LOG", default="INFO"))
