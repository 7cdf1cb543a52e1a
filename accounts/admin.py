"""The Django admin for system administrators. Changes to organizations and roles
go through the same services as everywhere else, so they are checked and audited."""

import re

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts.models import Membership, Organization, OrganizationKind, User
from accounts.services import (
    membership_grant,
    membership_grant_check,
    membership_revoke,
    organization_create,
    organization_retention_set,
    organization_update,
    totp_reset,
)
from core.admin import HostileInputRefused
from core.errors import DomainError


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["organization", "role", "created_at"]
    readonly_fields = ["organization", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # roles are granted on the Membership page, through the service


@admin.register(User)
class UserAdmin(HostileInputRefused, admin.ModelAdmin):
    list_display = ["email", "display_name", "preferred_language", "email_verified_at", "is_active"]
    list_filter = ["is_active", "preferred_language"]
    search_fields = ["email", "display_name"]
    fields = ["email", "display_name", "preferred_language", "email_verified_at", "is_active"]
    readonly_fields = ["email", "email_verified_at"]
    inlines = [MembershipInline]
    actions = ["reset_second_factor"]

    @admin.action(description=_("Reset two-step login (the user enrols a new authenticator)"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            totp_reset(actor=request.user, user=user)
        self.message_user(request, _("Two-step login was reset."))

    def has_add_permission(self, request):
        return False  # residents sign up themselves; staff accounts come from seeding/IdP

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: the audit log keeps referring to users


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["code", "name_ja", "name_en", "kind", "parent", "default_retention_period"]

    def clean(self):
        data = super().clean()
        needs_parent = data.get("kind") != OrganizationKind.GOVERNMENT
        if not self.instance.pk and needs_parent and not data.get("parent"):
            self.add_error("parent", _("Only the government itself has no parent organization."))
        return data


class MembershipForm(forms.ModelForm):
    """Refuses, as a form error, a grant the service would refuse."""

    class Meta:
        model = Membership
        fields = ["user", "organization", "role"]

    def clean(self):
        data = super().clean()
        if data.get("organization") and data.get("role"):
            try:
                membership_grant_check(
                    actor=self.actor, organization=data["organization"], role=data["role"]
                )
            except DomainError as refusal:
                raise forms.ValidationError(refusal.message) from refusal
        return data

    def full_clean(self):
        super().full_clean()
        # Re-shown with its errors, the form's autocomplete widgets look the posted
        # user and organization up as primary keys: one that is not a whole number
        # (already refused as an invalid choice) would end in a 500. Show it empty.
        if self.is_bound and self._errors:
            data = self.data.copy()
            for name in ("user", "organization"):
                if not all(re.fullmatch(r"[0-9]+", value) for value in data.getlist(name)):
                    data.pop(name)
            self.data = data


@admin.register(Organization)
class OrganizationAdmin(HostileInputRefused, admin.ModelAdmin):
    form = OrganizationForm
    list_display = ["code", "name_ja", "name_en", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["code", "name_ja", "name_en"]
    ordering = ["path"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a node would silently change who may do what below it.
        return ["code", "kind", "parent"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            organization_update(
                actor=request.user, organization=obj, name_ja=obj.name_ja, name_en=obj.name_en
            )
            organization_retention_set(
                actor=request.user, organization=obj, period=obj.default_retention_period
            )
            return
        created = organization_create(
            actor=request.user,
            code=obj.code,
            name_ja=obj.name_ja,
            name_en=obj.name_en,
            kind=obj.kind,
            parent=obj.parent,
        )
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth
        if obj.default_retention_period != created.default_retention_period:
            organization_retention_set(
                actor=request.user, organization=created, period=obj.default_retention_period
            )

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(HostileInputRefused, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "user__display_name", "organization__code"]
    autocomplete_fields = ["user", "organization"]
    form = MembershipForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def get_changeform_initial_data(self, request):
        # The add page takes initial values from its query string (?user=3). The
        # autocomplete widgets look an initial value up as a primary key as they
        # render, so one that is not a whole number would end in a 500: drop it.
        initial = super().get_changeform_initial_data(request)
        for name in ("user", "organization"):
            if name in initial and not str(initial[name]).isdigit():
                del initial[name]
        return initial

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organization", "role"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing about a membership can change; revoke and grant instead
        granted = membership_grant(
            actor=request.user, user=obj.user, organization=obj.organization, role=obj.role
        )
        obj.pk = granted.pk

    def delete_model(self, request, obj):
        membership_revoke(actor=request.user, membership=obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            membership_revoke(actor=request.user, membership=membership)


# The admins of other packages registered before this module (Django's groups,
# django-axes' logs) refuse the same hostile input.
for model, model_admin in list(admin.site._registry.items()):
    if not isinstance(model_admin, HostileInputRefused):
        admin.site.unregister(model)
        admin.site.register(
            model, type(type(model_admin).__name__, (HostileInputRefused, type(model_admin)), {})
        )

# Tokens and authenticators change only through the audited services above and on
# the users' own pages, never by hand in the admin.
for model in (AuthToken, TOTPDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)

admin.site.site_title = _("CityProc administration")
