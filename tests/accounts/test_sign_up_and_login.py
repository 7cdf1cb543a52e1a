import re
import time

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts.models import Role, User
from audit.models import AuditEvent
from tests.factories import PASSWORD, MembershipFactory, UserFactory, confirmed_totp, current_code

pytestmark = pytest.mark.django_db


def _log_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("accounts:login"), {"email": email, "password": password}, **extra)


def test_a_resident_signs_up_verifies_the_address_and_logs_in(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:sign_up"),
            {
                "display_name": "山田 花子",
                "email": "Hanako@Example.jp",
                "password": "a-long-passphrase-9",
                "password_again": "a-long-passphrase-9",
                "preferred_language": "en",
            },
        )
    assert response.status_code == 302
    user = User.objects.get(email="hanako@example.jp")
    assert not user.email_verified

    refused = _log_in(client, "hanako@example.jp", "a-long-passphrase-9")
    assert refused.status_code == 400
    assert "メールアドレスの確認を完了してください" in refused.content.decode()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["hanako@example.jp"]
    link = re.search(r"https?://\S+/accounts/verify/\S+/", mail.outbox[0].body).group(0)
    verified = client.get(link.replace(settings.SITE_URL, ""))
    assert verified.status_code == 200
    user.refresh_from_db()
    assert user.email_verified

    assert _log_in(client, "HANAKO@example.jp", "a-long-passphrase-9").status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_a_verification_link_cannot_be_forged(client):
    user = UserFactory(email_verified_at=None)
    from accounts.services import verification_link_parts

    uidb64, _token = verification_link_parts(user)
    response = client.get(reverse("accounts:verify_email", args=[uidb64, "abc-123"]))
    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.email_verified


def test_sign_up_with_a_taken_address_keeps_the_entries_and_explains(client):
    UserFactory(email="taken@example.jp")
    response = client.post(
        reverse("accounts:sign_up"),
        {
            "display_name": "別人",
            "email": "TAKEN@example.jp",
            "password": "a-long-passphrase-9",
            "password_again": "a-long-passphrase-9",
            "preferred_language": "ja",
        },
        HTTP_COOKIE="lang=en",
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "An account with this e-mail address already exists." in content
    assert 'value="別人"' in content
    assert User.objects.filter(email="taken@example.jp").count() == 1


def test_a_weak_password_is_refused_with_the_reason(client):
    response = client.post(
        reverse("accounts:sign_up"),
        {
            "display_name": "山田",
            "email": "weak@example.jp",
            "password": "12345678",
            "password_again": "12345678",
            "preferred_language": "en",
        },
        HTTP_COOKIE="lang=en",
    )
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="weak@example.jp").exists()


def test_a_failed_login_is_audited_without_the_address(client):
    user = UserFactory(email="someone@example.jp")
    response = _log_in(client, "someone@example.jp", "wrong-password")
    assert response.status_code == 401
    event = AuditEvent.objects.get(action="accounts.login_failed")
    assert event.target_id == str(user.pk)
    assert "someone@example.jp" not in str(event.data)


def test_logins_lock_out_per_address_and_ip_after_five_failures(client):
    UserFactory(email="target@example.jp")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(client, "target@example.jp", "wrong").status_code == 401

    locked = _log_in(client, "target@example.jp", "wrong")
    assert locked.status_code == 429
    # Even the right password is refused while locked out.
    assert _log_in(client, "target@example.jp").status_code == 429
    assert AuditEvent.objects.filter(action="accounts.lockout").exists()
    # Another address from the same IP, and the same address from elsewhere, still work.
    other = UserFactory()
    assert _log_in(client, other.email).status_code == 302
    assert _log_in(client, "target@example.jp", REMOTE_ADDR="192.0.2.7").status_code == 302


def test_a_successful_login_is_audited_and_the_session_expires_when_idle(client):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    user = UserFactory()
    _log_in(client, user.email)
    assert AuditEvent.objects.filter(action="accounts.login", actor_id=user.pk).exists()
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 30 * 60
    assert client.get(reverse("accounts:profile")).status_code == 200

    # Thirty minutes without a request: the stored expiry has passed, the session is over.
    Session.objects.filter(pk=client.session.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_idle_timeout_slides_with_the_requests_written_at_most_once_a_minute(
    client, monkeypatch
):
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import middleware

    assert settings.SESSION_SLIDE_SECONDS == 60
    clock = [time.time()]
    monkeypatch.setattr(middleware, "_now", lambda: clock[0])
    _log_in(client, UserFactory().email)
    key = client.session.session_key
    expiry_at_login = Session.objects.get(pk=key).expire_date
    profile = reverse("accounts:profile")

    def session_writes():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(profile).status_code == 200
        return [q["sql"] for q in captured if q["sql"].startswith('UPDATE "django_session"')]

    clock[0] += 30  # within the minute: the expiry stands, nothing is written
    assert session_writes() == []
    assert Session.objects.get(pk=key).expire_date == expiry_at_login

    clock[0] += 31  # a minute after the last write: the expiry moves on
    assert len(session_writes()) == 1
    assert Session.objects.get(pk=key).expire_date > expiry_at_login
    assert (
        Session.objects.get(pk=key).get_decoded()[middleware.SlidingSessionMiddleware.KEY]
        == clock[0]
    )
    assert session_writes() == []


def test_anonymous_visits_create_no_session(client):
    from django.contrib.sessions.models import Session

    client.cookies[settings.SESSION_COOKIE_NAME] = "no-such-session"
    for path in ("/", reverse("accounts:login")):
        assert client.get(path).status_code == 200
    assert not Session.objects.exists()


def test_staff_must_pass_the_second_factor_before_any_page(client, org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    device = confirmed_totp(clerk)

    response = _log_in(client, clerk.email)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor"))
    blocked = client.get(reverse("accounts:profile"))
    assert blocked.status_code == 302
    assert blocked["Location"].startswith(reverse("accounts:two_factor"))
    assert client.get("/api/v1/auth/me/").json()["error"]["code"] == "otp_required"

    wrong = client.post(reverse("accounts:two_factor"), {"token": "000000"})
    assert wrong.status_code == 401
    time.sleep(1.1)  # django-otp throttles a device for 1 s after a wrong code
    right = client.post(reverse("accounts:two_factor"), {"token": current_code(device)})
    assert right.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert AuditEvent.objects.filter(action="accounts.otp_failed", actor_id=clerk.pk).exists()
    assert AuditEvent.objects.filter(action="accounts.otp_verified", actor_id=clerk.pk).exists()


def test_new_staff_enrol_an_authenticator_with_a_qr_code(client, org_tree):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    auditor = MembershipFactory(organization=org_tree["city"], role=Role.AUDITOR).user
    _log_in(client, auditor.email)

    page = client.get(reverse("accounts:two_factor"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=auditor, confirmed=False)
    # Reloading shows the same secret rather than a new one.
    client.get(reverse("accounts:two_factor"))
    assert TOTPDevice.objects.filter(user=auditor).count() == 1

    response = client.post(reverse("accounts:two_factor"), {"token": current_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_logout_needs_post_and_ends_the_session(client):
    user = UserFactory()
    _log_in(client, user.email)
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_the_login_form_rejects_foreign_redirects(client):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"email": user.email, "password": PASSWORD},
    )
    assert response["Location"] == reverse("home")


def test_an_authorization_header_does_not_skip_the_second_factor_on_pages(client, org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    confirmed_totp(clerk)
    _log_in(client, clerk.email)

    response = client.get(reverse("accounts:profile"), HTTP_AUTHORIZATION="Bearer junk")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor"))


def test_changing_the_letter_case_of_the_address_does_not_reset_the_lockout(client):
    UserFactory(email="case@example.jp")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "case@example.jp", "wrong")

    assert _log_in(client, "CASE@Example.JP").status_code == 429


def test_a_forgotten_password_is_reset_through_the_mailed_link(client):
    user = UserFactory(email="forgetful@example.jp")
    response = client.post(reverse("accounts:password_reset"), {"email": "forgetful@example.jp"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/password-reset/\S+/", mail.outbox[0].body).group(0)

    form_page = client.get(link.replace(settings.SITE_URL, ""), follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-7", "new_password2": "a-brand-new-secret-7"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-secret-7")
    assert AuditEvent.objects.filter(action="accounts.password_changed", actor_id=user.pk).exists()
    assert _log_in(client, user.email, "a-brand-new-secret-7").status_code == 302


def test_asking_for_a_reset_of_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.jp"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_a_logged_in_visit_to_the_login_page_redirects_to_a_next_without_a_slash(client):
    """redirect() took a `next` such as "true" or "1.5" for a view name and answered
    500 (NoReverseMatch) when a logged-in user opened the login page (issue 18)."""
    user = UserFactory()
    client.force_login(user)
    for value in ("true", "1.5", "NaN"):
        response = client.get(reverse("accounts:login") + f"?next={value}")
        assert response.status_code == 302, value
        assert response["Location"] == value
