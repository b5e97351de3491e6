"""A small overlay layer for write-path tests, registered inside the rolled-back transaction."""

from __future__ import annotations

import asyncpg
import pytest

from layers.model import Layer, LayerDef
from layers.registry import register_layer
from layers.versioning import open_changeset

TEST_LAYER = {
    "id": "test_sites",
    "title_zh": "测试点",
    "title_en": "Test sites",
    "group": "overlay",
    "geometry_type": "Point",
    "access": "public",
    "schema": {
        "key": ["code"],
        "fields": [
            {"name": "code", "type": "string", "required": True, "title_zh": "编码", "title_en": "Code"},
            {"name": "kind", "type": "code", "enum": ["a", "b", "c"], "title_zh": "类", "title_en": "Kind"},
            {"name": "n", "type": "integer", "minimum": 0, "title_zh": "数", "title_en": "Number"},
        ],
    },
}


@pytest.fixture
async def sites(db: asyncpg.Connection) -> Layer:
    return await register_layer(db, LayerDef.model_validate(TEST_LAYER))


@pytest.fixture
async def changeset(db: asyncpg.Connection) -> int:
    return await open_changeset(db, actor="pytest", source="test")
