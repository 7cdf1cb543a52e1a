"""Every admin of the site refuses hostile input the same way (core/admin.py), ours
and those of the packages we use, so a model registered later cannot bring back
the 500s tests/test_page_fuzzing.py found."""

from django.contrib import admin

from core.admin import HostileInputRefused


def test_every_registered_admin_refuses_hostile_input():
    missing = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, HostileInputRefused)
    ]
    assert missing == []
