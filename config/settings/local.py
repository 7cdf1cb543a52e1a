"""Local development: the embedded default (SQLite, eager tasks) unless the
environment names a database and broker."""

import hashlib
import hmac

from core import secret_files

from .base import *  # noqa: F403
from .base import SITE_URL, VAR_DIR, env, identity_provider_settings

DEBUG = env.bool("DEBUG", default=True)

# SECRET_KEY from the environment, else a random one made on the first start and kept
# in var/secret_key (mode 0600). Every demo secret derives from it: the sandbox payment
# webhooks' signing secret, the demo staff's TOTP secrets, the sandbox identity
# provider's subjects and client secret, field encryption. So no two installations
# share them, and none can be computed from the repository. The file outlives the
# database: re-creating var/db.sqlite3 keeps the demo TOTP secrets.
SECRET_KEY_FILE = env.path("SECRET_KEY_FILE", default=str(VAR_DIR / "secret_key"))
SECRET_KEY = env("SECRET_KEY", default="") or secret_files.read_or_create_text(SECRET_KEY_FILE)

# Serve static files straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The sandbox identity provider at /sandbox-idp/ stands in for a national digital ID,
# so identity verification works offline (docs/identity.md).
IDENTITY_SANDBOX_ENABLED = env.bool("IDENTITY_SANDBOX_ENABLED", default=True)
globals().update(
    identity_provider_settings(sandbox_enabled=IDENTITY_SANDBOX_ENABLED, site_url=SITE_URL)
)
if IDENTITY_SANDBOX_ENABLED and not env("OIDC_RP_CLIENT_SECRET", default=""):
    # Not the fixed sandbox secret of base.py: this instance's own.
    OIDC_RP_CLIENT_SECRET = hmac.new(
        SECRET_KEY.encode(), b"sandbox-identity-provider-client", hashlib.sha256
    ).hexdigest()

# The sandbox payment gateways (card / QR page, payment numbers) so that fees can be
# paid offline (docs/payments.md).
PAYMENTS_SANDBOX_ENABLED = env.bool("PAYMENTS_SANDBOX_ENABLED", default=True)

# Deliveries may go to systems on this machine or the local network, over HTTP.
DELIVERY_ALLOW_HTTP = env.bool("DELIVERY_ALLOW_HTTP", default=True)
DELIVERY_ALLOW_PRIVATE_ADDRESSES = env.bool("DELIVERY_ALLOW_PRIVATE_ADDRESSES", default=True)
