import time

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from audit.models import AuditEvent
from tests.factories import PASSWORD, MembershipFactory, UserFactory, confirmed_totp, current_code

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def api():
    return APIClient()


def _obtain(api, email, password=PASSWORD, headers=None, **fields):
    body = {"email": email, "password": password, **fields}
    return api.post(TOKEN_URL, body, format="json", headers=headers)


def test_a_resident_obtains_a_bearer_token_and_uses_it(api):
    user = UserFactory()
    response = _obtain(api, user.email)
    assert response.status_code == 201
    token = response.json()["token"]

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = api.get("/api/v1/auth/me/")
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert me.json()["memberships"] == []
    assert AuditEvent.objects.filter(action="accounts.api_token_issued", actor_id=user.pk).exists()


def test_staff_need_a_valid_one_time_code_for_a_token(api, org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    device = confirmed_totp(clerk)

    missing = _obtain(api, clerk.email)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "otp_required"
    wrong = _obtain(api, clerk.email, otp="000000")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_otp"

    time.sleep(1.1)  # django-otp throttles a device for 1 s after a wrong code
    right = _obtain(api, clerk.email, otp=current_code(device))
    assert right.status_code == 201
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {right.json()['token']}")
    roles = api.get("/api/v1/auth/me/").json()["memberships"]
    assert [(role["organization"], role["role"]) for role in roles] == [("food-safety", "clerk")]


def test_a_revoked_token_stops_working(api):
    user = UserFactory()
    issued = _obtain(api, user.email).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued['token']}")

    assert api.delete(f"/api/v1/auth/tokens/{issued['token_key']}/").status_code == 204
    response = api.get("/api/v1/auth/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_nobody_revokes_another_users_token(api):
    victim_token = _obtain(api, UserFactory().email).json()
    attacker = _obtain(api, UserFactory().email).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {attacker['token']}")

    assert api.delete(f"/api/v1/auth/tokens/{victim_token['token_key']}/").status_code == 404
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {victim_token['token']}")
    assert api.get("/api/v1/auth/me/").status_code == 200


def test_wrong_credentials_get_a_translated_json_error(api):
    UserFactory(email="a@example.jp")
    english = _obtain(api, "a@example.jp", "nope", headers={"Accept-Language": "en"})
    assert english.status_code == 401
    assert english.json() == {
        "error": {
            "code": "invalid_credentials",
            "message": "The e-mail address or password is incorrect.",
        }
    }
    api.credentials(HTTP_ACCEPT_LANGUAGE="ja")
    japanese = _obtain(api, "a@example.jp", "nope")
    assert (
        japanese.json()["error"]["message"] == "メールアドレスまたはパスワードが正しくありません。"
    )


def test_malformed_token_requests_are_validation_errors_not_crashes(api):
    response = api.post(
        TOKEN_URL, {"email": "not-an-email"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    assert set(body["details"]) == {"email", "password"}
    garbage = api.post(TOKEN_URL, "{not json", content_type="application/json")
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "parse_error"


def test_the_token_endpoint_locks_out_like_the_login_page(api):
    UserFactory(email="b@example.jp")
    statuses = [_obtain(api, "b@example.jp", "wrong").status_code for _ in range(6)]
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429, 429]
    assert _obtain(api, "b@example.jp").status_code == 429


def test_api_lists_require_authentication(api):
    response = api.get("/api/v1/auth/tokens/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_becoming_staff_revokes_tokens_issued_without_a_second_factor(api, org_tree):
    from accounts.services import membership_grant

    user = UserFactory()
    issued = _obtain(api, user.email).json()
    membership_grant(user=user, organization=org_tree["food"], role=Role.CLERK)

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued['token']}")
    assert api.get("/api/v1/auth/me/").status_code == 401


def test_the_number_of_tokens_per_user_is_limited(api, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    user = UserFactory()
    assert _obtain(api, user.email).status_code == 201
    assert _obtain(api, user.email).status_code == 201
    refused = _obtain(api, user.email, headers={"Accept-Language": "en"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "token_limit_reached"


def test_a_staff_session_without_the_second_factor_is_refused_by_the_api(client, org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    confirmed_totp(clerk)
    client.post("/accounts/login/", {"email": clerk.email, "password": PASSWORD})

    response = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION="")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "otp_required"
