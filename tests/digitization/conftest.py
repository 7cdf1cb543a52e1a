import pytest

from tests.digitization.setup import Government


@pytest.fixture
def gov(db):
    return Government()


@pytest.fixture
def inventory(gov):
    gov.build_inventory()
    return gov
