import secrets

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Organization, OrganizationKind, Role, User
from accounts.services import membership_grant, organization_create, user_create


class Command(BaseCommand):
    help = (
        "Create the first system administrator of a new installation (and the root "
        "organization if there is none). Prints a one-time password to change at once; "
        "the authenticator is enrolled at the first login."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument("--government-code", default="government")
        parser.add_argument("--government-name-ja", default="")
        parser.add_argument("--government-name-en", default="")

    @transaction.atomic
    def handle(self, *args, email, name, government_code, **options):
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"A user {email} already exists.")
        root = Organization.objects.filter(parent__isnull=True).first()
        if root is None:
            if not options["government_name_ja"]:
                raise CommandError("No organization exists yet: give --government-name-ja.")
            root = organization_create(
                code=government_code,
                name_ja=options["government_name_ja"],
                name_en=options["government_name_en"],
                kind=OrganizationKind.GOVERNMENT,
            )
        password = secrets.token_urlsafe(18)
        user = user_create(email=email, password=password, display_name=name, email_verified=True)
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        membership_grant(user=user, organization=root, role=Role.SYSTEM_ADMIN)
        self.stdout.write(f"System administrator {email} created in {root.code}.")
        self.stdout.write(f"One-time password (change it after the first login): {password}")
