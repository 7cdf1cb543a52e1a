"""Settings for benchmark runs (`bin/bench`, `python -m bench`): the test settings
with what production changes for speed, so the figures describe production:
tasks go through a real Redis broker (never eagerly), database connections are
kept (CONN_MAX_AGE), the cache is Redis, DEBUG is off (Django would otherwise keep
every query of every request). The database and Redis DB are the benchmark's own;
the URL conf adds the baseline views (bench/urls.py).

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/cityproc_bench),
CELERY_BROKER_URL (default redis://127.0.0.1:6379/7)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cityproc_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES, VAR_DIR, env

DEBUG = False
ROOT_URLCONF = "bench.urls"
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False
# As in production (config/settings/production.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CACHES = {"default": env.cache_url("CACHE_URL", default=CELERY_BROKER_URL)}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "bench-media"))
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Static files come from collectstatic/a CDN in production, not from the finders.
WHITENOISE_AUTOREFRESH = False
