import pytest

from accounts.models import Membership, Role
from audit.models import AuditEvent
from tests.factories import PASSWORD, MembershipFactory, UserFactory, confirmed_totp, current_code

pytestmark = pytest.mark.django_db


def _verified_login(client, user):
    device = confirmed_totp(user)
    client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/", {"token": current_code(device)}).status_code == 302


def test_a_system_admin_grants_a_role_in_the_admin_and_it_is_audited(client, org_tree):
    admin_user = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    _verified_login(client, admin_user)
    newcomer = UserFactory()

    response = client.post(
        "/admin/accounts/membership/add/",
        {"user": newcomer.pk, "organization": org_tree["food"].pk, "role": Role.CLERK},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(user=newcomer, role=Role.CLERK).exists()
    event = AuditEvent.objects.get(action="accounts.role_granted", target_id=str(newcomer.pk))
    assert event.actor_id == admin_user.pk


def test_the_admin_refuses_a_grant_the_service_would_refuse(client, org_tree):
    bureau_admin = MembershipFactory(
        organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN
    ).user
    bureau_admin.is_staff = True
    bureau_admin.is_superuser = True  # even with admin-site access
    bureau_admin.save()
    _verified_login(client, bureau_admin)

    response = client.post(
        "/admin/accounts/membership/add/",
        {"user": UserFactory().pk, "organization": org_tree["food"].pk, "role": Role.AUDITOR},
    )
    assert response.status_code == 200
    assert "監査担当とシステム管理者を任命できるのは" in response.content.decode()
    assert not Membership.objects.filter(role=Role.AUDITOR).exists()


def test_staff_without_admin_site_access_cannot_open_the_admin(client, org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    _verified_login(client, clerk)
    assert client.get("/admin/").status_code == 302


def test_resetting_a_lost_authenticator_is_audited_and_forces_new_enrolment(client, org_tree):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin_user = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    _verified_login(client, admin_user)
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    confirmed_totp(clerk)

    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [clerk.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    assert AuditEvent.objects.filter(
        action="accounts.otp_reset", target_id=str(clerk.pk), actor_id=admin_user.pk
    ).exists()


def test_tokens_and_authenticators_are_not_editable_in_the_admin(client, org_tree):
    admin_user = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    _verified_login(client, admin_user)

    assert client.get("/admin/knox/authtoken/").status_code == 404
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_bootstrap_admin_creates_the_first_system_administrator(capsys):
    from django.core.management import call_command

    from accounts.models import User
    from accounts.permissions import Action, actor_may

    call_command(
        "bootstrap_admin",
        email="root@city.example.jp",
        name="初代 管理者",
        government_name_ja="市役所",
    )
    password = capsys.readouterr().out.split("change it after the first login): ")[1].strip()
    user = User.objects.get(email="root@city.example.jp")
    assert user.check_password(password)
    assert user.is_superuser
    assert actor_may(user, Action.MANAGE_MEMBERSHIPS)


def test_renaming_an_organization_in_the_admin_is_audited(client, org_tree):
    admin_user = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    _verified_login(client, admin_user)
    food = org_tree["food"]

    response = client.post(
        f"/admin/accounts/organization/{food.pk}/change/",
        {
            "name_ja": "食品安全課",
            "name_en": "Food Safety Section",
            "default_retention_period": "5y",
        },
    )
    assert response.status_code == 302
    food.refresh_from_db()
    assert food.name_ja == "食品安全課"
    event = AuditEvent.objects.get(action="accounts.organization_renamed")
    assert event.data["after"]["name_ja"] == "食品安全課"


def test_the_membership_add_page_ignores_an_initial_user_that_is_not_an_id(client, org_tree):
    """?user=true (or 1.5, or garbage) on the add page: the autocomplete widget looked
    it up as a primary key while rendering and the page was a 500 (issue 18)."""
    admin_user = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    _verified_login(client, admin_user)
    newcomer = UserFactory()
    for value in ("true", "1.5", "[]", "%FF"):
        response = client.get(f"/admin/accounts/membership/add/?user={value}&organization={value}")
        assert response.status_code == 200, value
    response = client.get(f"/admin/accounts/membership/add/?user={newcomer.pk}")
    assert response.status_code == 200
    assert str(newcomer) in response.content.decode()  # the valid initial value is kept


def _admin_client(client, org_tree):
    admin_user = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    _verified_login(client, admin_user)
    return admin_user


def test_an_action_on_a_selection_that_is_not_an_id_changes_nothing(client, org_tree):
    """_selected_action=true failed in the query: a 500 on every changelist with an
    action (issue 18). Such a selection matches no row; the valid ones still act."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _admin_client(client, org_tree)
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    confirmed_totp(clerk)
    for value in ("true", "1.5", "[]", "<script>"):
        response = client.post(
            "/admin/accounts/user/",
            {"action": "reset_second_factor", "index": "0", "_selected_action": [value]},
        )
        assert response.status_code == 302, value
    assert TOTPDevice.objects.filter(user=clerk).exists()
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "index": "0", "_selected_action": ["x", clerk.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    for path in ("/admin/accounts/membership/", "/admin/axes/accesslog/"):  # Django's delete
        response = client.post(
            path, {"action": "delete_selected", "index": "0", "_selected_action": ["true"]}
        )
        assert response.status_code == 302, path


def test_a_membership_posted_with_a_user_that_is_not_an_id_is_reshown(client, org_tree):
    """The re-shown form's autocomplete widget looked the posted value up as a
    primary key: a 500 (issue 18). Now the form answers with its error."""
    _admin_client(client, org_tree)
    for value in ("true", "1.5", "[]"):
        response = client.post(
            "/admin/accounts/membership/add/",
            {"user": value, "organization": value, "role": Role.CLERK},
        )
        assert response.status_code == 200, value
        assert response.context["adminform"].form.errors.keys() >= {"user", "organization"}
    assert not Membership.objects.filter(role=Role.CLERK).exists()


def test_a_date_filter_beyond_any_date_answers_like_a_bad_filter(client, org_tree):
    """?attempt_time__year=10**30 on django-axes' logs: an OverflowError, a 500."""
    _admin_client(client, org_tree)
    response = client.get("/admin/axes/accesslog/?attempt_time__year=" + "1" + "0" * 30)
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
