"""Local development: the embedded default (SQLite, eager tasks) unless the
environment names a database and broker."""

from .base import *  # noqa: F403
from .base import SITE_URL, env, identity_provider_settings

DEBUG = env.bool("DEBUG", default=True)

# Serve static files straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The sandbox identity provider at /sandbox-idp/ stands in for a national digital ID,
# so identity verification works offline (docs/identity.md).
IDENTITY_SANDBOX_ENABLED = env.bool("IDENTITY_SANDBOX_ENABLED", default=True)
globals().update(
    identity_provider_settings(sandbox_enabled=IDENTITY_SANDBOX_ENABLED, site_url=SITE_URL)
)

# The sandbox payment gateways (card / QR page, payment numbers) so that fees can be
# paid offline (docs/payments.md).
PAYMENTS_SANDBOX_ENABLED = env.bool("PAYMENTS_SANDBOX_ENABLED", default=True)
