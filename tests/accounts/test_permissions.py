import pytest

from accounts.models import Role
from accounts.permissions import Action, actor_is_staff, actor_may, organizations_where
from accounts.services import membership_grant, membership_revoke
from audit.models import AuditEvent
from core.errors import PermissionDenied
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_bureau_admin_manages_its_departments_but_not_other_bureaus(org_tree):
    admin = MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user

    assert actor_may(admin, Action.MANAGE_PROCEDURES, org_tree["food"])
    assert actor_may(admin, Action.MANAGE_PROCEDURES, org_tree["health"])
    assert not actor_may(admin, Action.MANAGE_PROCEDURES, org_tree["certificates"])
    assert not actor_may(admin, Action.MANAGE_PROCEDURES, org_tree["city"])


def test_a_clerk_reviews_but_does_not_decide(org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user

    assert actor_may(clerk, Action.REVIEW_APPLICATIONS, org_tree["food"])
    assert not actor_may(clerk, Action.DECIDE_APPLICATIONS, org_tree["food"])
    assert not actor_may(clerk, Action.REVIEW_APPLICATIONS, org_tree["health"])


def test_organizations_where_is_the_subtree_of_each_granting_role(org_tree):
    user = MembershipFactory(organization=org_tree["health"], role=Role.APPROVER).user
    MembershipFactory(user=user, organization=org_tree["certificates"], role=Role.CLERK)

    deciding = set(
        organizations_where(user, Action.DECIDE_APPLICATIONS).values_list("code", flat=True)
    )
    reviewing = set(
        organizations_where(user, Action.REVIEW_APPLICATIONS).values_list("code", flat=True)
    )

    assert deciding == {"health", "food-safety"}
    assert reviewing == {"health", "food-safety", "certificates"}


def test_objects_are_judged_by_their_owning_organization(org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user

    class Owned:
        def __init__(self, organization):
            self.owning_organization = organization

    assert actor_may(clerk, Action.REVIEW_APPLICATIONS, Owned(org_tree["food"]))
    assert not actor_may(clerk, Action.REVIEW_APPLICATIONS, Owned(org_tree["certificates"]))


def test_a_resident_has_no_staff_powers(org_tree):
    resident = UserFactory()

    assert not actor_is_staff(resident)
    assert organizations_where(resident, Action.REVIEW_APPLICATIONS).count() == 0
    assert not actor_may(resident, Action.REVIEW_APPLICATIONS, org_tree["food"])


def test_an_inactive_user_loses_every_role(org_tree):
    clerk = MembershipFactory(organization=org_tree["food"], role=Role.CLERK).user
    clerk.is_active = False
    clerk.save()
    clerk.refresh_from_db()

    assert not actor_may(clerk, Action.REVIEW_APPLICATIONS, org_tree["food"])


def test_role_changes_are_audited_and_take_effect(org_tree):
    admin = MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user
    user = UserFactory()

    membership = membership_grant(
        actor=admin, user=user, organization=org_tree["food"], role=Role.CLERK
    )
    assert actor_may(user, Action.REVIEW_APPLICATIONS, org_tree["food"])
    membership_revoke(actor=admin, membership=membership)
    assert not actor_may(user, Action.REVIEW_APPLICATIONS, org_tree["food"])

    actions = [
        (action, actor_id, {key: data[key] for key in ("organization", "role")})
        for action, actor_id, data in AuditEvent.objects.filter(
            target_id=str(user.pk), action__startswith="accounts.role_"
        ).values_list("action", "actor_id", "data")
    ]
    assert (
        "accounts.role_granted",
        admin.pk,
        {"organization": "food-safety", "role": "clerk"},
    ) in actions
    assert (
        "accounts.role_revoked",
        admin.pk,
        {"organization": "food-safety", "role": "clerk"},
    ) in actions


def test_nobody_grants_roles_outside_their_subtree(org_tree):
    admin = MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user

    with pytest.raises(PermissionDenied):
        membership_grant(
            actor=admin, user=UserFactory(), organization=org_tree["certificates"], role=Role.CLERK
        )
    with pytest.raises(PermissionDenied):
        membership_grant(
            actor=admin, user=UserFactory(), organization=org_tree["food"], role=Role.SYSTEM_ADMIN
        )


def test_only_a_system_admin_appoints_auditors(org_tree):
    bureau_admin = MembershipFactory(
        organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN
    ).user
    system_admin = MembershipFactory(organization=org_tree["city"], role=Role.SYSTEM_ADMIN).user

    with pytest.raises(PermissionDenied):
        membership_grant(
            actor=bureau_admin, user=UserFactory(), organization=org_tree["food"], role=Role.AUDITOR
        )
    membership_grant(
        actor=system_admin, user=UserFactory(), organization=org_tree["city"], role=Role.AUDITOR
    )


def test_users_who_may_take_an_action_include_those_above_and_no_one_else(org_tree):
    from accounts.models import Role
    from accounts.permissions import Action, users_who_may
    from tests.factories import MembershipFactory

    tree = org_tree
    above = MembershipFactory(organization=tree["health"], role=Role.DEPARTMENT_ADMIN).user
    here = MembershipFactory(organization=tree["food"], role=Role.DEPARTMENT_ADMIN).user
    MembershipFactory(organization=tree["food"], role=Role.CLERK)  # no such action
    sibling = MembershipFactory(organization=tree["certificates"], role=Role.DEPARTMENT_ADMIN)
    gone = MembershipFactory(organization=tree["food"], role=Role.DEPARTMENT_ADMIN).user
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    found = list(users_who_may(Action.MANAGE_PROCEDURES, tree["food"]))
    assert found == sorted([above, here], key=lambda user: user.pk)
    assert sibling.user not in found
