"""Finestreta settings: everything comes from the environment; `dotenv.example` lists it all.

Development works with nothing set (SQLite in WAL mode, in-memory channel layer, database task
queue, development outbox). With DEBUG off the process refuses to start on development secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from finestreta.lib import logs
from finestreta.lib.env import (
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_secret_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
TESTING = env_bool("FINESTRETA_TESTING", False)

DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 - refused below unless DEBUG  # nosec B105
SECRET_KEY = env_secret("SECRET_KEY") or (DEV_SECRET_KEY if DEBUG else "")
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off."
        )

# Earlier keys, newest first, separated by spaces or lines (or in SECRET_KEY_FALLBACKS_FILE):
# Django still accepts what they signed, and the audit log's older seals verify (ADR 31).
SECRET_KEY_FALLBACKS = env_secret("SECRET_KEY_FALLBACKS").split()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the public host names when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "modeltranslation",
    "finestreta.lib.admin_site.FinestretaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.saml",
    "allauth.socialaccount.providers.openid_connect",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "finestreta.lib",
    "finestreta.tenants",
    "finestreta.catalogue",
    "finestreta.accounts",
    "finestreta.scheduling",
    "finestreta.appointments",
    "finestreta.privacy",
    "finestreta.notifications",
    "finestreta.video",
    "finestreta.queueing",
    "finestreta.identity",
    "finestreta.recordings",
    "finestreta.reports",
    "finestreta.integrations",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "finestreta.api",
]

MIDDLEWARE = [
    # First: its request id and timing cover everything else (logs and metrics, ADR 38).
    "finestreta.lib.middleware.ObservabilityMiddleware",
    # A database outage raised by a view: 503 with Retry-After, not a 500 (lib.unavailable).
    "finestreta.lib.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "finestreta.lib.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Lets audit events raised away from a view (admin changes) know the address and browser.
    "finestreta.privacy.middleware.AuditRequestMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "finestreta.accounts.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of the authentication views (django-axes' rule).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "finestreta.urls"
WSGI_APPLICATION = "finestreta.wsgi.application"
ASGI_APPLICATION = "finestreta.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "finestreta" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "finestreta.lib.context_processors.platform",
            ],
        },
    },
]

# --- Database ---
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
        )
    }
    # The password apart from the address, so that it can come from a file (DATABASE_PASSWORD_FILE).
    if DATABASE_PASSWORD := env_secret("DATABASE_PASSWORD", ""):
        DATABASES["default"]["PASSWORD"] = DATABASE_PASSWORD
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's client-side binding prepares nothing; the few statements of the queue's hot
        # path ask for it (finestreta.lib.prepared). psycopg prepares none while this is None,
        # Django's default, so it is a threshold no other statement reaches.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
else:
    # The embedded default: SQLite in WAL mode (see finestreta.lib.apps for the PRAGMAs).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "var" / "finestreta.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
            # A file, not memory, so that worker and server subprocesses in tests share it.
            # One file per test run, so that concurrent runs do not share it.
            "TEST": {
                "NAME": env_str(
                    "SQLITE_TEST_PATH", str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")
                )
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels (WebSockets) ---
REDIS_URL = env_str("REDIS_URL")
# Redis pub/sub ignores the database number: deployments (or test runs) sharing a Redis keep
# apart by this prefix. A test run's own, passed on to the servers it starts (tests/processes).
CHANNEL_PREFIX = env_str("CHANNEL_PREFIX", f"test{os.getpid()}." if TESTING else "finestreta.")
if REDIS_URL:
    import redis.exceptions
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's pub/sub layer, with messages between consumers of one process
            # handed over in the process (ADR 20).
            "BACKEND": "finestreta.lib.channel_layer.LocalFirstPubSubChannelLayer",
            "CONFIG": {
                # redis-py's own defaults break a quiet call: a 5-second socket timeout, and a
                # pool of 100 connections that raises when busy.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": env_int("REDIS_SOCKET_TIMEOUT", 15),
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 1000),
                        # After a Redis restart every pooled connection is dead, and redis-py's
                        # asyncio client does not retry by default: each one's next command
                        # would fail (and close a WebSocket). Retry on a fresh connection;
                        # while Redis is down, fail within about a second.
                        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.1), 3),
                        "retry_on_error": [
                            redis.exceptions.ConnectionError,
                            redis.exceptions.TimeoutError,
                        ],
                    }
                ],
                "prefix": CHANNEL_PREFIX,
                "capacity": env_int("CHANNEL_CAPACITY", 1000),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache: rate limits and throttles. Redis when set (shared by every process), else memory
# (right for the embedded default's single web process). ---
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "finestreta",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Citizens' booking forms: attempts per address and hour (django-ratelimit).
BOOKING_RATE_LIMIT = env_str("BOOKING_RATE_LIMIT", "60/h")
# Searches for a person's data (subject access and erasure) per administrator and hour.
SUBJECT_SEARCH_RATE_LIMIT = env_str("SUBJECT_SEARCH_RATE_LIMIT", "60/h")

# --- REST API for integrators (/api/v1/; see docs/api.md) ---
# JSON only: the browsable API needs inline scripts, which the Content-Security-Policy forbids.
# No session authentication: the public endpoints need none, and so no CSRF either.
# Throttles count requests per client address in the cache above ("N/second|minute|hour|day").
API_READ_RATE = env_str("API_READ_RATE", "120/minute")
API_WRITE_RATE = env_str("API_WRITE_RATE", "30/minute")
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "finestreta.api.negotiation.JSONOnly",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "finestreta.api.throttling.ReadThrottle",
        "finestreta.api.throttling.WriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"api-read": API_READ_RATE, "api-write": API_WRITE_RATE},
    "EXCEPTION_HANDLER": "finestreta.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Finestreta API",
    "DESCRIPTION": (
        "Cita prèvia for integrators: services, offices, free times, holds, bookings, "
        "changes and cancellations, with the same rules as the citizens' web pages."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the drf-spectacular-sidecar package: served by the platform, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two choice sets share the field name "channel": how a citizen is attended, and how a
    # verification code travels. Name both enums explicitly.
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "finestreta.catalogue.models.Channel",
        "CodeChannelEnum": [("email", "email"), ("sms", "sms")],
    },
}

# --- Background tasks (Django's tasks API, database backend) ---
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
WORKER_STALE_SECONDS = env_int("WORKER_STALE_SECONDS", 60)

# --- Authentication and sessions ---
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses anyone locked out after repeated failed logins (django-axes).
    "axes.backends.AxesStandaloneBackend",
    # Single sign-on (SAML 2.0 and OpenID Connect) through each organisation's provider; it
    # never accepts a password.
    "finestreta.accounts.backends.SSOBackend",
    # Local passwords: platform administrators only (and demo accounts while DEBUG is on).
    "finestreta.accounts.backends.LocalBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:staff-home"
LOGOUT_REDIRECT_URL = "public:platform-home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher"
    if not TESTING
    else "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Single sign-on (django-allauth: SAML 2.0 and OpenID Connect, configured per organisation) ---
ACCOUNT_ADAPTER = "finestreta.accounts.sso.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "finestreta.accounts.sso.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_LOGOUT_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# Users are matched on (provider, subject or NameID), never on an e-mail address.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = env_int("SSO_REQUESTS_TIMEOUT", 10)

# --- Second factor for local (platform administrator) accounts: TOTP with django-otp ---
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Finestreta")

# --- Login throttling (django-axes): lock a username+address after repeated failures ---
AXES_ENABLED = env_bool("AXES_ENABLED", not TESTING)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Session limits for staff (an organisation may set stricter ones; see tenants.Organisation).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 10)

SECURE = not DEBUG
# Database sessions whose staff session record follows the key when it is cycled.
SESSION_ENGINE = "finestreta.accounts.session_store"
# The cookie lives as long as the absolute limit; StaffSessionMiddleware enforces both limits.
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE
SESSION_COOKIE_NAME = "__Host-finestreta-session" if SECURE else "finestreta-session"
CSRF_COOKIE_SECURE = SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "__Host-finestreta-csrf" if SECURE else "finestreta-csrf"
LANGUAGE_COOKIE_NAME = "finestreta-language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SECURE
LANGUAGE_COOKIE_HTTPONLY = True

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", SECURE) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = False
# Preloading HSTS is hard to undo and is the operator's decision per domain, not the software's.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: same origin only; no inline scripts or styles anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Languages and time ---
LANG_INFO["oc"] = {
    "bidi": False,
    "code": "oc",
    "name": "Occitan (Aranese)",
    "name_local": "aranés",
}
LANGUAGE_CODE = "ca"
LANGUAGES = [
    ("ca", _("Catalan")),
    ("es", _("Spanish")),
    ("oc", _("Aranese (Occitan)")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Django ships no formats for Aranese; ours live in finestreta/formats/oc/.
FORMAT_MODULE_PATH = ["finestreta.formats"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "ca"
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("ca", "es", "en"), "oc": ("ca", "es")}
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Madrid"

# --- Static and uploaded files ---
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "finestreta" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Larger uploads (files shared in a call) spill to a temporary file, never to the web root.
LOGO_MAX_BYTES = env_int("LOGO_MAX_BYTES", 512 * 1024)

# --- E-mail ---
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds before a silent relay counts as down (the message is then retried later).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Finestreta <no-reply@finestreta.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Notifications (outbox → gateways) ---
# "outbox": kept in the database only, readable on the development outbox page (the demo);
# "smtp": e-mail through the EMAIL_* settings above.
NOTIFICATIONS_EMAIL = env_str("NOTIFICATIONS_EMAIL", "outbox")
NOTIFICATIONS_SMS = env_str("NOTIFICATIONS_SMS", "outbox")
# Each task worker's dispatcher looks for due messages every NOTIFICATIONS_POLL_SECONDS and
# sends them NOTIFICATIONS_BATCH_SIZE at a time (one SMTP connection per batch and sender).
NOTIFICATIONS_POLL_SECONDS = env_int("NOTIFICATIONS_POLL_SECONDS", 1)
NOTIFICATIONS_BATCH_SIZE = env_int("NOTIFICATIONS_BATCH_SIZE", 20)
# A message claimed by a worker that died mid-batch is sent again (with the same idempotency
# key) after this many seconds; each worker looks for such messages every
# NOTIFICATIONS_SWEEP_SECONDS.
NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = env_int("NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", 600)
NOTIFICATIONS_SWEEP_SECONDS = env_int("NOTIFICATIONS_SWEEP_SECONDS", 60)
# Divides the waits between attempts (1, 2, 4 … 128 minutes): 1 in production; the
# failure tests use 100 so that a relay restart is retried within seconds.
NOTIFICATIONS_RETRY_SCALE = env_int("NOTIFICATIONS_RETRY_SCALE", 1)
# An organisation with its own SMS gateway address sends through it (see docs/sms-gateway.md):
# seconds before a silent gateway counts as down (the message is retried later), and the
# delivery receipts one address may post per period (django-ratelimit rate).
NOTIFICATIONS_SMS_TIMEOUT = env_int("NOTIFICATIONS_SMS_TIMEOUT", 10)
# Off in production: an organisation's SMS gateway must be https on a public address (the
# platform posts the gateway's key there). On in development and tests (gateways on 127.0.0.1).
NOTIFICATIONS_ALLOW_PRIVATE_GATEWAYS = env_bool(
    "NOTIFICATIONS_ALLOW_PRIVATE_GATEWAYS", DEBUG or TESTING
)
NOTIFICATIONS_RECEIPT_RATE_LIMIT = env_str("NOTIFICATIONS_RECEIPT_RATE_LIMIT", "600/m")

# --- Retention (docs/operations.md, ADR 34) ---
# The task workers purge what the organisations' retention periods say is due once every
# RETENTION_PURGE_HOURS (the first worker to look after that time does it), removing
# RETENTION_BATCH_SIZE rows per transaction.
RETENTION_PURGE_HOURS = env_int("RETENTION_PURGE_HOURS", 24)
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 200)

# --- Webhooks for integrators (docs/api.md, ADR 32) ---
# Seconds to connect to a receiver and to wait for its answer; the most deliveries a worker
# claims at a time; seconds after which a delivery claimed by a worker that died is tried again.
WEBHOOKS_TIMEOUT_SECONDS = env_int("WEBHOOKS_TIMEOUT_SECONDS", 5)
WEBHOOKS_BATCH_SIZE = env_int("WEBHOOKS_BATCH_SIZE", 10)
WEBHOOKS_CLAIM_TIMEOUT_SECONDS = env_int("WEBHOOKS_CLAIM_TIMEOUT_SECONDS", 300)
# Divides the waits between attempts (1 minute doubling to 6 hours, about a day in all): 1 in
# production; the failure tests use a large one.
WEBHOOKS_RETRY_SCALE = env_int("WEBHOOKS_RETRY_SCALE", 1)
# Off in production: receivers must be https on public addresses (no request to the platform's
# own network). On in development and tests: http on loopback, and private addresses.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", DEBUG or TESTING)

# --- Video calls (docs/signaling.md) ---
# ICE servers given to every participant: STUN addresses, and TURN addresses with the coturn
# `static-auth-secret` from which short-lived credentials (TURN REST) are made for each one.
VIDEO_STUN_URLS = env_list("VIDEO_STUN_URLS", [])
VIDEO_TURN_URLS = env_list("VIDEO_TURN_URLS", [])
VIDEO_TURN_SECRET = env_secret("VIDEO_TURN_SECRET", "")
VIDEO_TURN_TTL = env_int("VIDEO_TURN_TTL", 3600)
# The citizen may enter the waiting room this many minutes before the appointment, and until
# this many minutes after its end.
VIDEO_JOIN_EARLY_MINUTES = env_int("VIDEO_JOIN_EARLY_MINUTES", 30)
VIDEO_JOIN_LATE_MINUTES = env_int("VIDEO_JOIN_LATE_MINUTES", 120)
# The appointment's agent gets an e-mail when the citizen has waited this long unadmitted.
VIDEO_STAFF_ALERT_MINUTES = env_int("VIDEO_STAFF_ALERT_MINUTES", 3)
# Minutes after the start of a video appointment whose citizen never joined before the platform
# marks it not come (the agent may still correct it).
VIDEO_NO_SHOW_MINUTES = env_int("VIDEO_NO_SHOW_MINUTES", 15)

# --- Attention now (the virtual queue) ---
# Seconds an agent has to accept a citizen offered to them before the offer passes on.
QUEUE_OFFER_SECONDS = env_int("QUEUE_OFFER_SECONDS", 30)
# Seconds during which a citizen whose offer an agent let lapse goes to other agents first.
QUEUE_PASSED_SECONDS = env_int("QUEUE_PASSED_SECONDS", 120)
# How often each worker hands lapsed offers back and offers citizens to free agents.
QUEUE_POLL_SECONDS = env_int("QUEUE_POLL_SECONDS", 2)
# The service level's target: citizens taken into a call within this many seconds of joining.
QUEUE_TARGET_SECONDS = env_int("QUEUE_TARGET_SECONDS", 300)
# How often a desk's socket checks for changes its channel layer did not bring (seconds).
QUEUE_DESK_CHECK_SECONDS = env_int("QUEUE_DESK_CHECK_SECONDS", 3)
# Files shared in a call: where they are kept (outside every web root), the largest accepted,
# and the keys that encrypt them (Fernet keys, comma-separated: the first encrypts, all decrypt,
# so a new key goes first and the old one stays until the files it encrypted are gone). Without
# keys, development and tests derive one from SECRET_KEY; production refuses uploads (and
# `manage.py check --deploy` says so).
VIDEO_FILES_DIR = Path(env_str("VIDEO_FILES_DIR") or str(BASE_DIR / "var" / "files"))
VIDEO_FILE_MAX_BYTES = env_int("VIDEO_FILE_MAX_BYTES", 10 * 1024 * 1024)
VIDEO_FILE_KEYS = env_secret_list("VIDEO_FILE_KEYS")
# ClamAV's clamd, when set ("unix:/run/clamav/clamd.ctl" or "tcp:host:3310"): every file is
# scanned before it is kept, and refused if clamd finds something or cannot be reached.
VIDEO_CLAMD = env_str("VIDEO_CLAMD", "")
VIDEO_FILE_RATE_LIMIT = env_str("VIDEO_FILE_RATE_LIMIT", "30/h")

# --- Call recordings (ADR 28) ---
# Where the encrypted chunks are kept (outside every web root), the keys that encrypt them
# (Fernet keys, comma-separated, newest first: the first encrypts, all decrypt;
# `manage.py rotate_recording_keys` re-encrypts everything under the first), and what the
# recorder writes: a chunk every this many seconds, pictures at most this wide and this often.
RECORDINGS_DIR = Path(env_str("RECORDINGS_DIR") or str(BASE_DIR / "var" / "recordings"))
RECORDING_KEYS = env_secret_list("RECORDING_KEYS")
RECORDING_CHUNK_SECONDS = env_int("RECORDING_CHUNK_SECONDS", 10)
RECORDING_MAX_WIDTH = env_int("RECORDING_MAX_WIDTH", 640)
RECORDING_MAX_FPS = env_int("RECORDING_MAX_FPS", 15)

# --- Identity and evidence ---
# The key of the keyed hash (HMAC-SHA256) that stands for identity-document numbers: the same
# document gives the same value, the number cannot be read back. Required in production; keep it
# for as long as the checks it made are kept (a new key makes old fingerprints unmatchable).
IDENTITY_HASH_KEY = env_secret("IDENTITY_HASH_KEY", "")

# --- Logging and metrics ---
# One JSON object per line (with request and call ids) in production, text in development.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text")
LOGGING = logs.configuration(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
# Who may read /metrics: a client address in one of these networks, or one that sends
# "Authorization: Bearer <METRICS_TOKEN>". Anyone else gets 404.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env_secret("METRICS_TOKEN", "")
