"""Production: every secret and host comes from the environment, and the settings
refuse to load without them. `manage.py check --deploy` is clean with these."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, FILE_STORAGE, LOGGING, env, file_storage, identity_provider_settings

DEBUG = False


def _required(name: str) -> str:
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Production settings need the environment variable {name}.")
    return value


SECRET_KEY = _required("SECRET_KEY")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters.")
ALLOWED_HOSTS = [host for host in _required("ALLOWED_HOSTS").split(",") if host]
_required("DATABASE_URL")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs PostgreSQL: DATABASE_URL=postgres://...")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Tasks must go through a real broker in production, never eagerly in the web process.
CELERY_BROKER_URL = _required("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False
SITE_URL = _required("SITE_URL").rstrip("/")
SIGNING_KEY_PATH = _required("SIGNING_KEY_PATH")
SIGNING_KEY_AUTOCREATE = False
FIELD_ENCRYPTION_KEY = _required("FIELD_ENCRYPTION_KEY")
CACHES = {"default": env.cache_url("CACHE_URL", default=CELERY_BROKER_URL)}
if "locmem" in CACHES["default"]["BACKEND"].lower() and DIGITIZATION_OVERVIEW_CACHE_SECONDS:
    # Each process would keep its own figures, and a change made in one would not
    # outdate those of the others (digitization/figures_cache.py).
    raise ImproperlyConfigured(
        "CACHE_URL must be a cache shared by every process (Redis) while "
        "DIGITIZATION_OVERVIEW_CACHE_SECONDS is not 0."
    )
# seed_demo would create a superuser with a published password.
DEMO_ENABLED = False
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Identity verification: the sandbox provider would let anyone assert any identity.
if env.bool("IDENTITY_SANDBOX_ENABLED", default=False):
    raise ImproperlyConfigured(
        "IDENTITY_SANDBOX_ENABLED must be off in production: the sandbox identity "
        "provider lets anyone assert any identity."
    )
IDENTITY_SANDBOX_ENABLED = False
IDENTITY_VERIFICATION_ENABLED = env.bool("IDENTITY_VERIFICATION_ENABLED", default=True)
globals().update(identity_provider_settings(sandbox_enabled=False, site_url=SITE_URL))
if IDENTITY_VERIFICATION_ENABLED:
    # Procedures that need a verified identity depend on a real provider.
    for _name in (
        "OIDC_RP_CLIENT_ID",
        "OIDC_RP_CLIENT_SECRET",
        "OIDC_OP_ISSUER",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
    ):
        _value = _required(_name)
        if _name.startswith("OIDC_OP_") and not _value.startswith("https://"):
            raise ImproperlyConfigured(f"{_name} must be an https:// URL.")
    if not env("OIDC_RP_SIGN_ALGO", default="RS256").startswith(("RS", "ES")):
        raise ImproperlyConfigured("OIDC_RP_SIGN_ALGO must be an RS or ES algorithm (RS256).")

# Payments: the sandbox gateways would let anyone "pay" without money.
if env.bool("PAYMENTS_SANDBOX_ENABLED", default=False):
    raise ImproperlyConfigured(
        "PAYMENTS_SANDBOX_ENABLED must be off in production: the sandbox payment "
        "gateways mark fees as paid without any money."
    )
PAYMENTS_SANDBOX_ENABLED = False
# Only real gateways, named explicitly (none is configured by default).
PAYMENTS_METHOD_PROVIDERS = env.json("PAYMENTS_METHOD_PROVIDERS", default={})
if any(str(name).startswith("sandbox") for name in PAYMENTS_METHOD_PROVIDERS.values()):
    raise ImproperlyConfigured("PAYMENTS_METHOD_PROVIDERS must not name a sandbox provider.")

# The fault tests' hold on PDF rendering (config/settings/test.py) has no place here.
if env("PDF_RENDER_TEST_GATE", default=""):
    raise ImproperlyConfigured("PDF_RENDER_TEST_GATE is for the fault tests only.")
PDF_RENDER_TEST_GATE = ""

# HTTPS everywhere; the proxy in front terminates TLS and says so in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

STORAGES = {
    "default": file_storage(FILE_STORAGE),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")
