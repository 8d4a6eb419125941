"""Actors for the shop API tests; each test gets its own fresh accounts."""

from __future__ import annotations

import pytest

from tests.factories import Actor, Factory


@pytest.fixture
def seller(factory: Factory) -> Actor:
    return factory.user("seller")


@pytest.fixture
def other_seller(factory: Factory) -> Actor:
    return factory.user("seller")


@pytest.fixture
def shopper(factory: Factory) -> Actor:
    return factory.user("shopper")


@pytest.fixture
def staff(factory: Factory) -> Actor:
    return factory.user("staff")
