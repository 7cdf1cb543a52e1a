"""Staff roles kept across requests in the shared cache (Redis), and forgotten at
the next request once any membership changes, in this process or another."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from accounts.permissions import GENERATION_KEY
from accounts.services import membership_grant, membership_revoke
from tests.applications.casework_setup import City, file_application, resident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.CELERY_BROKER_URL,
            # A namespace of this test's own, so nothing another test cached is read.
            "KEY_PREFIX": f"permissions-test-{uuid.uuid4().hex}",
        }
    }
    yield caches["default"]
    caches["default"].clear()


def _api(user) -> APIClient:
    client = APIClient()
    token = AuthToken.objects.create(user=user)[1]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def _reads_memberships(client, url: str) -> tuple[int, bool]:
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    return status, any("accounts_membership" in query["sql"] for query in queries)


def test_roles_come_from_the_cache_until_a_membership_changes(redis_cache):
    city = City()
    application = file_application(city.permit, resident())
    clerk = _api(city.clerk)
    case = f"/api/v1/queue/{application.pk}/"
    assert _reads_memberships(clerk, case) == (200, True)  # the first request reads them
    assert _reads_memberships(clerk, case) == (200, False)  # later ones do not
    generation = redis_cache.get(GENERATION_KEY)

    # Removed from the bureau: the very next request no longer sees the case.
    membership_revoke(membership=Membership.objects.get(user=city.clerk, role=Role.CLERK))
    assert redis_cache.get(GENERATION_KEY) != generation
    assert _reads_memberships(clerk, case) == (403, True)  # no staff role left at all

    # Granted again (tokens issued before a role are revoked: a new one).
    membership_grant(user=city.clerk, organization=city.health, role=Role.CLERK)
    clerk = _api(city.clerk)
    assert _reads_memberships(clerk, case) == (200, True)


def test_a_change_made_by_another_process_is_seen_too(redis_cache):
    """Another web process changing a role replaces the generation in Redis; this
    process's cached roles are then stale. Simulated by replacing it directly."""
    city = City()
    clerk = _api(city.clerk)
    assert _reads_memberships(clerk, "/api/v1/queue/") == (200, True)
    Membership.objects.filter(user=city.clerk).delete()  # as the other process did
    assert _reads_memberships(clerk, "/api/v1/queue/") == (200, False)  # not told yet
    redis_cache.set(GENERATION_KEY, "from-another-process", None)
    status, read = _reads_memberships(clerk, "/api/v1/queue/")
    assert read and status == 403


def test_a_per_process_cache_never_keeps_roles_across_requests(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    city = City()
    clerk = _api(city.clerk)
    assert _reads_memberships(clerk, "/api/v1/queue/") == (200, True)
    assert _reads_memberships(clerk, "/api/v1/queue/") == (200, True)
