"""Demo organizations and one user per role, created through the services (so the
audit log records them). Idempotent: what exists is left exactly as it is."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organization, OrganizationKind, Role, User
from accounts.services import membership_grant, organization_create, user_create

DEFAULT_DEMO_PASSWORD = "Tokyo-demo-2026"

# (code, Japanese name, English name, kind, parent code)
ORGANIZATIONS = [
    ("tokyo", "東京都", "Tokyo Metropolitan Government", OrganizationKind.GOVERNMENT, None),
    ("general-affairs", "総務局", "Bureau of General Affairs", OrganizationKind.BUREAU, "tokyo"),
    ("taxation", "主税局", "Bureau of Taxation", OrganizationKind.BUREAU, "tokyo"),
    (
        "tax-certificates",
        "課税部 証明担当",
        "Taxation Department, Certificates Section",
        OrganizationKind.DEPARTMENT,
        "taxation",
    ),
    ("welfare", "福祉局", "Bureau of Social Welfare", OrganizationKind.BUREAU, "tokyo"),
    (
        "childcare",
        "子供・子育て支援部",
        "Child and Childcare Support Department",
        OrganizationKind.DEPARTMENT,
        "welfare",
    ),
    ("housing", "住宅政策本部", "Housing Policy Headquarters", OrganizationKind.BUREAU, "tokyo"),
    (
        "metro-housing",
        "都営住宅経営部",
        "Metropolitan Housing Management Department",
        OrganizationKind.DEPARTMENT,
        "housing",
    ),
    (
        "industry",
        "産業労働局",
        "Bureau of Industrial and Labor Affairs",
        OrganizationKind.BUREAU,
        "tokyo",
    ),
    (
        "commerce",
        "商工部",
        "Commerce and Industry Department",
        OrganizationKind.DEPARTMENT,
        "industry",
    ),
    ("health", "保健医療局", "Bureau of Public Health", OrganizationKind.BUREAU, "tokyo"),
    (
        "food-safety",
        "健康安全部 食品監視課",
        "Health and Safety Department, Food Safety Section",
        OrganizationKind.DEPARTMENT,
        "health",
    ),
    ("construction", "建設局", "Bureau of Construction", OrganizationKind.BUREAU, "tokyo"),
    (
        "roads",
        "道路管理部",
        "Road Management Department",
        OrganizationKind.DEPARTMENT,
        "construction",
    ),
    (
        "urban-development",
        "都市整備局",
        "Bureau of Urban Development",
        OrganizationKind.BUREAU,
        "tokyo",
    ),
    (
        "building-permits",
        "市街地建築部",
        "Urban Building Department",
        OrganizationKind.DEPARTMENT,
        "urban-development",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    role: str | None
    organization: str | None
    description: str


DEMO_USERS = [
    DemoUser("resident@example.jp", "都民 花子", None, None, "resident"),
    DemoUser("clerk@example.jp", "審査 一郎", Role.CLERK, "food-safety", "clerk"),
    DemoUser("approver@example.jp", "決裁 次郎", Role.APPROVER, "food-safety", "approver"),
    DemoUser(
        "dept-admin@example.jp", "所管 三子", Role.DEPARTMENT_ADMIN, "health", "department admin"
    ),
    DemoUser("auditor@example.jp", "監査 四郎", Role.AUDITOR, "tokyo", "auditor"),
    DemoUser("admin@example.jp", "管理 五郎", Role.SYSTEM_ADMIN, "tokyo", "system admin"),
]


DEMO_DEVICE_NAME = "demo authenticator"


def demo_password() -> str:
    return settings.DEMO_PASSWORD or DEFAULT_DEMO_PASSWORD


def demo_totp_key(email: str) -> str:
    """A secret per demo user, derived from SECRET_KEY: random per installation
    (var/secret_key under bin/serve), never computable from the repository, and
    stable across re-creating the demo database, so an authenticator app that was
    already set up keeps working."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-totp:{email}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


@transaction.atomic
def seed_organizations() -> dict[str, Organization]:
    existing = {organization.code: organization for organization in Organization.objects.all()}
    for code, name_ja, name_en, kind, parent_code in ORGANIZATIONS:
        if code not in existing:
            existing[code] = organization_create(
                code=code,
                name_ja=name_ja,
                name_en=name_en,
                kind=kind,
                parent=existing[parent_code] if parent_code else None,
            )
    return existing


@transaction.atomic
def seed_users(organizations: dict[str, Organization]) -> list[tuple[DemoUser, User, str | None]]:
    """Returns each demo user with the base32 TOTP secret of staff users."""
    from accounts.services import totp_secret_base32

    seeded = []
    for demo in DEMO_USERS:
        user = User.objects.filter(email=demo.email).first()
        if user is None:
            user = user_create(
                email=demo.email,
                password=demo_password(),
                display_name=demo.display_name,
                email_verified=True,
            )
            if demo.role == Role.SYSTEM_ADMIN:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
        secret = None
        if demo.role:
            membership_grant(
                user=user, organization=organizations[demo.organization], role=demo.role
            )
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(
                    user=user,
                    name=DEMO_DEVICE_NAME,
                    key=demo_totp_key(demo.email),
                    confirmed=True,
                )
            elif device.name == DEMO_DEVICE_NAME and device.key != demo_totp_key(demo.email):
                # Seeded under another SECRET_KEY (before demo keys were random, the
                # committed one): that secret may be known, so it follows the key.
                device.key = demo_totp_key(demo.email)
                device.save(update_fields=["key"])
            secret = totp_secret_base32(device)
        seeded.append((demo, user, secret))
    return seeded


def seed(results: dict) -> None:
    """Seeder for core.demo: organizations and users, then print the logins."""
    organizations = seed_organizations()
    seeded = seed_users(organizations)
    results["organizations"] = organizations
    results["users"] = {demo.email: user for demo, user, _secret in seeded}
    out, style = results["stdout"], results["style"]
    out.write(style.MIGRATE_HEADING(f"Demo logins (password for all: {demo_password()})"))
    for demo, _user, secret in seeded:
        line = f"  {demo.description:<17} {demo.email:<24}"
        if secret:
            line += f" TOTP secret {secret}"
        out.write(line)
    out.write(
        "  Staff log in with the password, then a 6-digit code from an authenticator app\n"
        "  set up with the TOTP secret (or print the current code:\n"
        "  python manage.py demo_totp clerk@example.jp)."
    )
