"""Two workers delivering to one target at the same moment: each leases its own
delivery. The lease locks the delivery's row only; locking the joined target row
as well made the second worker skip its delivery, which then waited for the sweep
(found by the cluster test, tests/edges/test_cluster.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from deliveries import services
from deliveries.models import Delivery, DeliveryTarget, EventType, TargetKind
from tests.applications.casework_setup import City, file_application


@pytest.mark.django_db(transaction=True)
def test_a_lease_is_not_skipped_because_another_lease_holds_the_target():
    city = City()
    application = file_application(city.permit)  # before the target: nothing queued
    target, _secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="基幹システム",
        url="https://core.city.example.jp/events",
        events=[EventType.SUBMITTED],
    )
    # Written directly, so that no task (and no worker another test left running)
    # attempts it before this test leases it.
    delivery = Delivery.objects.create(
        target=target,
        application=application,
        event_type=EventType.SUBMITTED,
        revision=1,
        occurred_at=timezone.now(),
    )
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        # Another worker, mid-lease of another delivery to the same target, holds
        # the target's row as the old lease query did.
        try:
            with transaction.atomic():
                DeliveryTarget.objects.select_for_update().get(pk=target.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(10)
        leased = services._lease(delivery.pk, timezone.now())
    finally:
        release.set()
        thread.join()

    assert leased is not None and leased[1] == 1
