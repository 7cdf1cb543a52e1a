"""Settings for the test suite. The test command points DATABASE_URL at PostgreSQL
and CELERY_BROKER_URL at Redis; tasks still run eagerly unless a test starts a real
worker (tests/core/test_celery_worker.py)."""

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_TRANSPORT_OPTIONS,
    FILE_STORAGE,
    SITE_URL,
    VAR_DIR,
    env,
    file_storage,
    identity_provider_settings,
)

# Fixed, so that test runs are reproducible; never used outside the test suite.
SECRET_KEY = "test-suite-only-fixed-key-not-a-secret-0123456789abcdef"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "test-media"))
STORAGES = {
    "default": file_storage(FILE_STORAGE),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Serve static files straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Identity verification runs against the sandbox identity provider; tests that go
# over HTTP point the endpoints at their live server (tests/accounts/test_identity.py).
IDENTITY_SANDBOX_ENABLED = True
globals().update(identity_provider_settings(sandbox_enabled=True, site_url=SITE_URL))

# The sandbox payment gateways (card / QR page, payment numbers) so that fees can be
# paid offline (docs/payments.md).
PAYMENTS_SANDBOX_ENABLED = True

# The fault tests (tests/core/test_faults.py) start real workers and set these in
# the workers' environment only: a file that holds each PDF render while it exists
# (so a worker can be killed mid-render), and Redis transport options under which
# a killed worker's task becomes visible again within seconds, not ten minutes.
PDF_RENDER_TEST_GATE = env("PDF_RENDER_TEST_GATE", default="")
CELERY_BROKER_TRANSPORT_OPTIONS = env.json(
    "CELERY_BROKER_TRANSPORT_OPTIONS", default=CELERY_BROKER_TRANSPORT_OPTIONS
)

# Deliveries: the tests' receivers listen on the loopback over plain HTTP.
DELIVERY_ALLOW_HTTP = True
DELIVERY_ALLOW_PRIVATE_ADDRESSES = True
