"""Settings shared by every environment. Values come from the environment.

local.py, test.py and production.py import this module and adjust; nothing here
assumes a particular machine. The embedded default is SQLite under var/ with Celery
tasks run eagerly in-process, so a fresh checkout runs with nothing installed.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# No default here: a key in the repository would let anyone forge sessions and every
# secret derived from it. local.py makes a random one under var/, test.py uses a
# fixed one, production.py requires one.
SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# Absolute URL of the site, used in e-mails and PDFs where no request is at hand.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "core",
    "audit",
    "accounts",
    "procedures",
    "payments",
    "applications",
    "digitization",
    "deliveries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.SlidingSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.LanguageMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view: text no store can hold is refused here (core/input_limits.py).
    "core.middleware.InputLimitsMiddleware",
    "core.middleware.StorageUnavailableMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that lockouts raised by the authentication backend become responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "csp.context_processors.nonce",
                "core.navigation.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A kept connection that the database dropped (a restart, a failover, an idle
# timeout) is noticed before a request uses it, and replaced, instead of failing
# that request (tests/core/test_faults.py).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a writer commits; the timeout waits for the lock
    # instead of failing with "database is locked" under a few concurrent requests.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counters and other short-lived shared state. Production uses Redis so
# that all web processes share one count.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Accounts and authentication -------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out user+IP before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # one day, also used for e-mail verification links

# Sessions end after 30 minutes without a request. The expiry slides with the
# requests, written at most once a minute (accounts.middleware.SlidingSessionMiddleware),
# so a session ends between 29 and 30 minutes after its last request.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
SESSION_SLIDE_SECONDS = env.int("SESSION_SLIDE_SECONDS", default=60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Login rate limit: five failures lock the e-mail+IP pair for fifteen minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False  # axes would otherwise log the attempted e-mail address

# django-otp: the issuer shown in authenticator apps.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="CityProc")

# --- Internationalization ---------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "lang"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files live outside the web root and are only served through views that
# check permission; there is deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))


def file_storage(backend: str) -> dict:
    """Where attachments and issued documents are kept (docs/operations.md, "File
    storage"): the local disk under MEDIA_ROOT (the embedded default), or an
    S3-compatible object store through django-storages. Every file goes through
    Django's storage API and is served only by views that check permission,
    streamed through them; the store's own URLs are never handed out."""
    if backend == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if backend != "s3":
        raise ValueError(f"FILE_STORAGE must be 'filesystem' or 's3', not {backend!r}.")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL", default=None),
            "region_name": env("S3_REGION", default=None),
            "access_key": env("S3_ACCESS_KEY_ID", default=None),
            "secret_key": env("S3_SECRET_ACCESS_KEY", default=None),
            "location": env("S3_PREFIX", default=""),
            # Private objects; a name never overwrites another file.
            "default_acl": None,
            "file_overwrite": False,
            # Should a URL ever be asked for, it is signed and lives a minute.
            "querystring_auth": True,
            "querystring_expire": 60,
            "signature_version": "s3v4",
            "addressing_style": env("S3_ADDRESSING_STYLE", default="path"),
        },
    }


FILE_STORAGE = env("FILE_STORAGE", default="filesystem")
STORAGES = {
    "default": file_storage(FILE_STORAGE),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- E-mail ------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="no-reply@city.example.jp")

# --- Celery --------------------------------------------------------------------------
# Without a broker, tasks run eagerly in-process (after the transaction commits,
# because services enqueue them with transaction.on_commit).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Acknowledge after the task ran, so a worker killed mid-task has it redelivered;
# tasks are written to be idempotent for that reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after this long; it must exceed the hard
# time limit so a slow task is never run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    # Deliveries to back-office systems: retries that are due, and first attempts
    # whose task never reached the broker (docs/deliveries.md).
    "deliveries-sweep-due": {
        "task": "deliveries.tasks.sweep_due_deliveries",
        "schedule": crontab(minute="*"),
    },
    # The retention purge (docs/retention.md), at night, before the chain check.
    "applications-retention-purge-daily": {
        "task": "applications.tasks.purge_expired_cases",
        "schedule": crontab(hour=2, minute=30),
    },
    "audit-verify-chain-nightly": {
        "task": "audit.tasks.verify_audit_chain",
        "schedule": crontab(hour=3, minute=15),
    },
    # Work whose task could not be queued (broker down) or was lost: core/tasks.py.
    "applications-sweep-pending-documents": {
        "task": "applications.tasks.sweep_pending_documents",
        "schedule": crontab(minute="*/5"),
    },
    "accounts-sweep-unsent-notifications": {
        "task": "accounts.tasks.sweep_unsent_notifications",
        "schedule": crontab(minute="*/5"),
    },
    "applications-sweep-unsent-cosigner-emails": {
        "task": "applications.tasks.sweep_unsent_cosigner_emails",
        "schedule": crontab(minute="*/5"),
    },
    # Before the office opens: due-soon reminders and overdue escalations.
    "applications-deadline-reminders-daily": {
        "task": "applications.tasks.send_deadline_reminders",
        "schedule": crontab(hour=7, minute=30),
    },
    # Payment numbers and payment pages past their deadline (docs/payments.md).
    "payments-expire-overdue": {
        "task": "payments.tasks.expire_overdue_payments",
        "schedule": crontab(minute="*/5"),
    },
    # Settlements whose task was never queued (broker down) or failed: core/tasks.py.
    "payments-sweep-settlements": {
        "task": "payments.tasks.sweep_settlements",
        "schedule": crontab(minute="*/5"),
    },
    # The providers' books against ours, after the night's settlements.
    "payments-reconcile-daily": {
        "task": "payments.tasks.reconcile_payments",
        "schedule": crontab(hour=4, minute=30),
    },
    # The auditors' snapshots, just before midnight: daily, and at month and
    # fiscal-year end (the task decides; docs/digitization.md).
    "digitization-snapshots-daily": {
        "task": "digitization.tasks.take_snapshots",
        "schedule": crontab(hour=23, minute=55),
    },
    # The chain check the auditors' log viewer shows, after the audit app's own.
    "digitization-audit-chain-check-daily": {
        "task": "digitization.tasks.check_audit_chain",
        "schedule": crontab(hour=3, minute=45),
    },
    # The sandbox gateway's delayed results (does nothing unless the sandbox is on).
    "payments-sandbox-release": {
        "task": "payments.tasks.release_sandbox_results",
        "schedule": crontab(minute="*"),
    },
}

# --- REST API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api.permissions.StaffSecondFactorVerified",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "core.api.parsers.MultiPartParser",
        "core.api.parsers.FormParser",
    ],
    # An unsupported method is 405 before authentication (core/api/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.MethodCheckingNegotiation",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular, plus the errors every operation can answer (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "20/min"},
    # Clients are identified by REMOTE_ADDR unless this many trusted proxies add
    # X-Forwarded-For; a client cannot dodge the throttle by sending that header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "TOKEN_PREFIX": "cp_",
    "TOKEN_LIMIT_PER_USER": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CityProc API",
    "DESCRIPTION": (
        "Public API of the digital-first administrative procedures platform. "
        "Errors are JSON objects {error: {code, message, details}} in the "
        "requester's language (Accept-Language: ja or en). An unsupported method is "
        "405 method_not_allowed with an Allow header, whoever asks. A URI (path and "
        "query) too long for the HTTP server is 414, answered by the server before the "
        "app with its own body (gunicorn: a request line over 4094 bytes)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets used under several field names get one name of their own.
    "ENUM_NAME_OVERRIDES": {
        "DeliveryEventEnum": "deliveries.models.EventType",
        "DeliveryTargetKindEnum": "deliveries.models.TargetKind",
        "DeliveryStateEnum": "deliveries.models.DeliveryState",
    },
}

# --- Security headers (strict in every environment; production adds HTTPS) ---------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Logging -------------------------------------------------------------------------
LOG_FORMAT = env("LOG_FORMAT", default="text")  # "json" in production
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # WeasyPrint reports every step of every PDF at INFO.
        "weasyprint": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "fontTools": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- The platform's own settings -------------------------------------------------------
# Ed25519 key that signs filings and issued documents. Created on first use where
# allowed (local and test); production must provide one (docs/operations.md).
SIGNING_KEY_PATH = env("SIGNING_KEY_PATH", default=str(VAR_DIR / "keys" / "signing-ed25519.pem"))
SIGNING_KEY_AUTOCREATE = env.bool("SIGNING_KEY_AUTOCREATE", default=True)
# Encrypts values such as the Individual Number at rest; derived from SECRET_KEY
# when unset. Changing it makes stored values unreadable.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
# Unix socket of clamd for scanning uploads; unset: scanning is skipped (logged).
CLAMAV_SOCKET = env("CLAMAV_SOCKET", default="")
# The Japanese font embedded in PDFs; unset: Debian's fonts-ipaexfont-gothic.
PDF_FONT_PATH = env("PDF_FONT_PATH", default="")
# Fault tests only (tests/core/test_faults.py, through config/settings/test.py): while
# the file at this path exists, every PDF render holds before returning, so that a
# worker can be killed in the middle of issuing a document. Production refuses it.
PDF_RENDER_TEST_GATE = ""
# Demo data (seed_demo, demo_totp): on for local use, refused in production.
DEMO_ENABLED = env.bool("DEMO_ENABLED", default=True)
# Demo data password; a printed default is used when unset.
DEMO_PASSWORD = env("DEMO_PASSWORD", default="")

# --- Identity verification over OpenID Connect (docs/identity.md) ----------------------
# Residents verify their identity with an external identity provider (a national
# digital ID app, say). We are the relying party; mozilla-django-oidc supplies the
# protocol pieces, never a login backend (it is not in AUTHENTICATION_BACKENDS).
IDENTITY_VERIFICATION_ENABLED = env.bool("IDENTITY_VERIFICATION_ENABLED", default=True)
# The in-project test identity provider under /sandbox-idp/. Local and test settings
# turn it on; production refuses to start with it.
IDENTITY_SANDBOX_ENABLED = env.bool("IDENTITY_SANDBOX_ENABLED", default=False)
IDENTITY_SANDBOX_PREFIX = "/sandbox-idp"
# Shown to residents as "verified by ..."; the sandbox names itself.
IDENTITY_PROVIDER_NAME = env("IDENTITY_PROVIDER_NAME", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid profile address")
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
# Seconds to wait for the provider's token, JWKS and userinfo endpoints (the
# library's default is to wait forever).
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
# How long a started verification may take at the provider before it expires.
# Which claims fill which part of a verified identity (docs/identity.md, "Claims").
# Each entry lists sources in order of preference; a source is a claim (a dot
# reaches into an object claim, "address.formatted") or a list of claims joined with
# a space. The defaults are OpenID Connect's standard claims, with the reading in
# Japanese katakana as language-tagged claims (Core 5.2). A provider that names them
# otherwise is configured with IDENTITY_CLAIMS (JSON of the same shape).
IDENTITY_CLAIMS = env.json(
    "IDENTITY_CLAIMS",
    default={
        "full_name": ["name", ["family_name", "given_name"]],
        "name_kana": [
            "name#ja-Kana-JP",
            ["family_name#ja-Kana-JP", "given_name#ja-Kana-JP"],
        ],
        "birth_date": ["birthdate"],
        "sex": ["gender"],
        "address": [
            "address.formatted",
            [
                "address.postal_code",
                "address.region",
                "address.locality",
                "address.street_address",
            ],
        ],
    },
)
IDENTITY_STATE_MAX_AGE = env.int("IDENTITY_STATE_MAX_AGE", default=15 * 60)


# Where the start form's answer sends a card payer when Stripe is on (CSP form-action).
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def identity_provider_settings(*, sandbox_enabled: bool, site_url: str) -> dict:
    """The provider's endpoints and our client registration, from the environment.
    Unset endpoints default to the sandbox at SITE_URL when the sandbox is on, so
    local.py and test.py call this again after turning it on. Also returns the
    Content-Security-Policy with the provider's origin in form-action (below)."""
    sandbox = f"{site_url}{IDENTITY_SANDBOX_PREFIX}" if sandbox_enabled else ""

    def endpoint(name: str, path: str) -> str:
        return env(name, default=f"{sandbox}/{path}" if sandbox else "")

    found = {
        "OIDC_OP_ISSUER": env("OIDC_OP_ISSUER", default=sandbox),
        "OIDC_OP_AUTHORIZATION_ENDPOINT": endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT", "authorize/"),
        "OIDC_OP_TOKEN_ENDPOINT": endpoint("OIDC_OP_TOKEN_ENDPOINT", "token/"),
        "OIDC_OP_USER_ENDPOINT": endpoint("OIDC_OP_USER_ENDPOINT", "userinfo/"),
        "OIDC_OP_JWKS_ENDPOINT": endpoint("OIDC_OP_JWKS_ENDPOINT", "jwks/"),
        # The sandbox's client registration is public on purpose: it is a test.
        "OIDC_RP_CLIENT_ID": env(
            "OIDC_RP_CLIENT_ID", default="cityproc-sandbox" if sandbox_enabled else ""
        ),
        "OIDC_RP_CLIENT_SECRET": env(
            "OIDC_RP_CLIENT_SECRET",
            default="sandbox-client-secret-not-for-production" if sandbox_enabled else "",
        ),
    }
    # The button that starts a verification posts a form whose answer redirects to
    # the provider; CSP form-action also governs that redirect, so allow its origin.
    parts = urlsplit(found["OIDC_OP_AUTHORIZATION_ENDPOINT"])
    form_action = ["'self'"]
    if parts.scheme and parts.netloc:
        form_action.append(f"{parts.scheme}://{parts.netloc}")
    # Stripe Checkout's hosted page (payments/providers/stripe.py) is reached the same way.
    if env("STRIPE_SECRET_KEY", default=""):
        form_action.append(STRIPE_CHECKOUT_ORIGIN)
    policy = {**CONTENT_SECURITY_POLICY, "DIRECTIVES": dict(CONTENT_SECURITY_POLICY["DIRECTIVES"])}
    policy["DIRECTIVES"]["form-action"] = form_action
    found["CONTENT_SECURITY_POLICY"] = policy
    return found


globals().update(
    identity_provider_settings(sandbox_enabled=IDENTITY_SANDBOX_ENABLED, site_url=SITE_URL)
)

# --- Payments (docs/payments.md) ---------------------------------------------------------
# The in-project sandbox gateways (a hosted card / QR page, Pay-easy style payment
# numbers) under PAYMENTS_SANDBOX_PREFIX. Local and test settings turn them on;
# production refuses them: their pages let anyone "pay" without money.
PAYMENTS_SANDBOX_ENABLED = env.bool("PAYMENTS_SANDBOX_ENABLED", default=False)
PAYMENTS_SANDBOX_PREFIX = "/sandbox-pay"
# Which provider takes which method; a real gateway is registered under its own name.
PAYMENTS_METHOD_PROVIDERS = env.json(
    "PAYMENTS_METHOD_PROVIDERS",
    default={
        "card": "sandbox",
        "qr_code": "sandbox",
        "bank_transfer": "sandbox_deferred",
        "convenience_store": "sandbox_deferred",
    },
)
# Webhook secrets by provider name; the sandboxes derive theirs from SECRET_KEY.
PAYMENTS_WEBHOOK_SECRETS = env.json("PAYMENTS_WEBHOOK_SECRETS", default={})
# Signed webhooks older (or newer) than this are refused.
PAYMENTS_WEBHOOK_TOLERANCE_SECONDS = env.int("PAYMENTS_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Payment numbers stay valid until the end of the day this many days ahead.
PAYMENTS_DEFERRED_DAYS = env.int("PAYMENTS_DEFERRED_DAYS", default=7)
# An abandoned payment page expires after this long.
PAYMENTS_CARD_SESSION_MINUTES = env.int("PAYMENTS_CARD_SESSION_MINUTES", default=30)
# A page asks the provider about an open payment at most this often.
PAYMENTS_QUERY_INTERVAL_SECONDS = env.int("PAYMENTS_QUERY_INTERVAL_SECONDS", default=5)
# The reconciliation compares the transactions of this many days back (overlapping).
PAYMENTS_RECONCILIATION_DAYS = env.int("PAYMENTS_RECONCILIATION_DAYS", default=3)
# The sandbox's "delayed result" is decided this many seconds after the choice.
PAYMENTS_SANDBOX_DELAY_SECONDS = env.int("PAYMENTS_SANDBOX_DELAY_SECONDS", default=15)
# Empty: the sandbox delivers its webhooks in-process (through the same verification);
# set to http://host/api/v1/payments/webhooks to deliver them over HTTP.
PAYMENTS_SANDBOX_WEBHOOK_URL = env("PAYMENTS_SANDBOX_WEBHOOK_URL", default="")
# Stripe (payments/providers/stripe.py): the providers "stripe" (card, Checkout) and
# "stripe_konbini" (convenience store) answer only with a secret key. Secrets from the
# environment only; the signing secret of each webhook endpoint may instead be given in
# PAYMENTS_WEBHOOK_SECRETS["stripe"] / ["stripe_konbini"].
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Empty: Stripe's own API. Set only to point the SDK at a test server.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# The SDK retries a request that failed on the network this often (with its idempotency key).
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

# --- Digitization metrics (docs/digitization.md) -------------------------------------------
# The ordinance's target for the volume-weighted availability rate, as a fraction.
DIGITIZATION_TARGET = env.float("DIGITIZATION_TARGET", default=0.98)
# How long a scope's inventory figures are kept between requests (digitization/
# figures_cache.py: every change to them outdates them at once, so this only bounds
# the cache's memory); 0 computes them on every request.
DIGITIZATION_OVERVIEW_CACHE_SECONDS = env.int("DIGITIZATION_OVERVIEW_CACHE_SECONDS", default=600)

# --- Deliveries to back-office systems (docs/deliveries.md) -------------------------------
# Seconds to wait after each failed attempt: 11 attempts over about 40 hours, so a
# receiver that is down for a day loses nothing.
DELIVERY_RETRY_DELAYS = [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200]
DELIVERY_TIMEOUT_SECONDS = env.int("DELIVERY_TIMEOUT_SECONDS", default=10)
# How long the links to a delivery's files work (each attempt makes new ones).
DELIVERY_LINK_MAX_AGE = env.int("DELIVERY_LINK_MAX_AGE", default=3600)
# After a secret rotation the previous secret signs too, for this long.
DELIVERY_SECRET_OVERLAP_HOURS = env.int("DELIVERY_SECRET_OVERLAP_HOURS", default=24)
# Webhooks must use HTTPS and a public address unless these say otherwise (local
# systems, tests): the platform must not be made to call its own network.
DELIVERY_ALLOW_HTTP = env.bool("DELIVERY_ALLOW_HTTP", default=False)
DELIVERY_ALLOW_PRIVATE_ADDRESSES = env.bool("DELIVERY_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- Retention and erasure (docs/retention.md) ----------------------------------------------
# When a case's retention period starts: "fiscal_year" (the 1st of April after the case
# ended, as the Public Records Management Act's order prescribes) or "case_end" (the
# day it ended). Days are Japan's.
RETENTION_PERIOD_START = env.str("RETENTION_PERIOD_START", default="fiscal_year")
if RETENTION_PERIOD_START not in ("fiscal_year", "case_end"):
    raise ImproperlyConfigured('RETENTION_PERIOD_START must be "fiscal_year" or "case_end".')
# A draft never submitted is deleted this many days after its last change, and its
# owner reminded this many days before.
DRAFT_EXPIRY_DAYS = env.int("DRAFT_EXPIRY_DAYS", default=30)
DRAFT_REMINDER_DAYS = env.int("DRAFT_REMINDER_DAYS", default=7)
# Co-signatures (docs/cosignature.md): a request to co-sign runs out this many days
# after it was sent (Japan's days), its co-signer reminded this many days before; a
# declined or expired required one must be replaced within COSIGNATURE_DAYS too, or
# the application is closed.
COSIGNATURE_DAYS = env.int("COSIGNATURE_DAYS", default=14)
COSIGNATURE_REMINDER_DAYS = env.int("COSIGNATURE_REMINDER_DAYS", default=3)
# Cases purged per transaction by the purge (each batch commits before its files go).
RETENTION_PURGE_BATCH = env.int("RETENTION_PURGE_BATCH", default=200)
