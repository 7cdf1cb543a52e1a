import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, OrganizationKind, User
from accounts.services import organization_create

PASSWORD = "Correct-horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.jp")
    display_name = factory.Sequence(lambda n: f"利用者 {n}")
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """Created through the service so the materialized path is right."""

    class Meta:
        model = Organization

    code = factory.Sequence(lambda n: f"org-{n}")
    name_ja = factory.Sequence(lambda n: f"部署{n}")
    name_en = factory.Sequence(lambda n: f"Department {n}")
    kind = OrganizationKind.DEPARTMENT
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("parent") is None:
            kwargs["kind"] = OrganizationKind.GOVERNMENT
        return organization_create(**kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = "clerk"


def confirmed_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def valid_definition() -> dict:
    """A version definition that passes the schema, the rules and the policy."""
    return {
        "form": {
            "steps": [
                {
                    "key": "applicant",
                    "title": {"ja": "申請者", "en": "Applicant"},
                    "fields": [
                        {
                            "key": "full_name",
                            "type": "text",
                            "label": {"ja": "氏名", "en": "Name"},
                            "required": True,
                        }
                    ],
                }
            ]
        },
        "fee": {"kind": "fixed", "amount": 400, "methods": ["card", "bank_transfer"]},
        "workflow": {"approval": "four_eyes"},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email", "web_form"]},
    }


class ProcedureFactory(factory.django.DjangoModelFactory):
    """A catalogue entry without versions; see ProcedureVersionFactory."""

    class Meta:
        model = "procedures.Procedure"
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"procedure-{n}")
    title_ja = factory.Sequence(lambda n: f"手続{n}")
    title_en = factory.Sequence(lambda n: f"Procedure {n}")
    owning_organization = factory.SubFactory(OrganizationFactory)
    category = "other"
    filer = "individual"
    processing_days = 10

    @factory.post_generation
    def search_text(obj, create, extracted, **kwargs):
        """As the services keep it (procedures.search)."""
        from procedures.search import search_index_refresh

        fields = search_index_refresh(obj)
        if create:
            obj.save(update_fields=fields)


class ProcedureVersionFactory(factory.django.DjangoModelFactory):
    """A draft by default; `published=True` for the catalogue."""

    class Meta:
        model = "procedures.ProcedureVersion"

    class Params:
        published = factory.Trait(
            state="published", published_at=factory.LazyFunction(timezone.now)
        )

    procedure = factory.SubFactory(ProcedureFactory)
    number = 1
    state = "draft"
    definition = factory.LazyFunction(valid_definition)


# --- Published procedures for filing tests ---------------------------------------------------

MY_NUMBER = "123456789018"  # a valid Individual Number (check digit 8)


def applicant_step() -> dict:
    """The step most filing tests start with: a name and an Individual Number."""
    return {
        "key": "applicant",
        "title": {"ja": "申請者", "en": "Applicant"},
        "fields": [
            {
                "key": "full_name",
                "type": "text",
                "label": {"ja": "氏名", "en": "Name"},
                "required": True,
            },
            {
                "key": "my_number",
                "type": "my_number",
                "label": {"ja": "個人番号", "en": "My Number"},
                "required": True,
            },
        ],
    }


def publish_procedure(*, code: str, definition: dict, organization=None, **fields):
    """A procedure created and published through the services, as seeding does.
    Without an organization, it belongs to a new government "city"."""
    from procedures.services import procedure_create, version_publish

    if organization is None:
        organization = organization_create(
            code="city", name_ja="市", kind=OrganizationKind.GOVERNMENT
        )
    values = {
        "category": "other",
        "filer": "individual",
        "identity_level": "email_verified",
        "processing_days": 5,
        **fields,
    }
    procedure = procedure_create(
        actor=None, organization=organization, code=code, definition=definition, **values
    )
    version_publish(actor=None, version=procedure.versions.get())
    return procedure
