import pytest
from django.core.cache import cache

from tests.factories import OrganizationFactory


@pytest.fixture(autouse=True)
def _isolate_caches():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def government(db):
    return OrganizationFactory(code="city", name_ja="市", name_en="City")


@pytest.fixture
def org_tree(government):
    """city > (health > food-safety), (taxation > certificates)."""
    health = OrganizationFactory(code="health", parent=government, kind="bureau")
    food = OrganizationFactory(code="food-safety", parent=health)
    taxation = OrganizationFactory(code="taxation", parent=government, kind="bureau")
    certificates = OrganizationFactory(code="certificates", parent=taxation)
    return {
        "city": government,
        "health": health,
        "food": food,
        "taxation": taxation,
        "certificates": certificates,
    }
