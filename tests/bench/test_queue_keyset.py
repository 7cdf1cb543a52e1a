"""The queue's keyset pages (applications/queue.py), as changed for B2: the
conditions start an index range at the cursor, and applications without a due
date still follow the dated ones when the dated rows run out mid-page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from applications.models import Application
from tests.applications.casework_setup import City, file_application, set_dates

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/queue/"


@pytest.fixture
def city(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return City()


def _walk(client, url):
    seen = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        seen += [item["id"] for item in response.json()["results"]]
        url = response.json()["next"]
    return seen


@pytest.mark.parametrize("page_size", [1, 2, 3, 5])
def test_pages_by_due_date_end_with_the_applications_without_one(city, page_size):
    today = timezone.localdate()
    applications = [file_application(city.permit) for _ in range(5)]
    for index, application in enumerate(applications[:3]):
        set_dates(application, due=today + timedelta(days=3 - index // 2))
    Application.objects.filter(pk__in=[a.pk for a in applications[3:]]).update(due_date=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AuthToken.objects.create(user=city.clerk)[1]}")
    seen = _walk(client, f"{QUEUE}?sort=due&page_size={page_size}")
    dated = sorted(applications[:3], key=lambda a: (3 - applications.index(a) // 2, a.pk))
    undated = sorted(a.pk for a in applications[3:])
    assert seen == [a.pk for a in dated] + undated
