"""Case domain fixtures: the tiny city in a rolled-back transaction, and the case layer."""

from __future__ import annotations

import asyncpg
import pytest

from layers.model import Layer
from layers.registry import Registry
from tests.cases.city import seed_city


@pytest.fixture
async def city(db: asyncpg.Connection) -> asyncpg.Connection:
    """The rolled-back connection, with the six cells and three components written."""
    await seed_city(db)
    return db


@pytest.fixture
async def case_layer(db: asyncpg.Connection) -> Layer:
    """The registered city_cases layer."""
    return (await Registry.load(db)).get("city_cases")
