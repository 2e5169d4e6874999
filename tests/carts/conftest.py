import pytest

from tests.storefront import build_storefront


@pytest.fixture
def shop(db):
    return build_storefront()
