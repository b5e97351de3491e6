"""The layer registry: built-in layers, tables created from schemas, overlays."""

from __future__ import annotations

import asyncpg
import pytest

from layers.definitions import builtin_layers
from layers.errors import InvalidLayerDefinition, LayerExists, UnknownLayer
from layers.model import LayerDef
from layers.registry import Registry, register_layer, sync_builtin


async def test_every_builtin_layer_is_registered_with_its_table(db: asyncpg.Connection) -> None:
    reg = await Registry.load(db)
    assert {layer.id for layer in builtin_layers()} == {layer.id for layer in reg.all()}
    groups = {layer.group for layer in reg.all()}
    assert groups == {"一张图", "管线", "建筑", "网格"}
    for layer in reg.vector_layers():
        cols = {r["column_name"] for r in await db.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='data' AND table_name=$1",
            layer.id)}
        assert {"fid", "version", "valid_from", "valid_to", "geom"} <= cols
        assert set(layer.attributes.names) <= cols
        gtype = await db.fetchval(
            "SELECT type FROM geometry_columns WHERE f_table_schema='data' AND f_table_name=$1", layer.id)
        srid = await db.fetchval(
            "SELECT srid FROM geometry_columns WHERE f_table_schema='data' AND f_table_name=$1", layer.id)
        assert gtype == layer.geometry_type.upper() and srid == 4490


async def test_registry_row_fields(db: asyncpg.Connection) -> None:
    reg = await Registry.load(db)
    gas = reg.get("pipeline_gas_segments")
    assert gas.title_zh.startswith("燃气") and gas.title_en
    assert gas.group == "管线" and gas.access == "restricted"  # DESIGN: pipelines default to restricted
    assert gas.style_id == "pipeline_gas" and gas.min_zoom <= gas.max_zoom
    assert gas.metadata.sample and "示例数据" in gas.title_zh
    assert gas.attributes.field("pressure_class") is not None  # gas-only field
    assert reg.get("pipeline_water_segments").attributes.field("pressure_class") is None
    volume = reg.get("ghsl_built_volume")
    assert volume.kind == "raster" and volume.metadata.raster is not None
    assert len(volume.metadata.raster.epochs) == 5
    buildings = reg.get("buildings").metadata
    assert buildings.licence and "OpenStreetMap" in (buildings.attribution or "")
    with pytest.raises(UnknownLayer):
        reg.get("nope")


async def test_sync_is_idempotent(db: asyncpg.Connection) -> None:
    assert await sync_builtin(db) == []
    count = await db.fetchval("SELECT count(*) FROM onemap.layers")
    assert count == len(builtin_layers())


def _overlay(layer_id: str = "env_monitoring_sites") -> LayerDef:
    return LayerDef.model_validate({
        "id": layer_id, "title_zh": "环境监测站点", "title_en": "Environmental monitoring sites",
        "group": "overlay", "geometry_type": "Point", "access": "internal",
        "schema": {"fields": [
            {"name": "site_code", "type": "string", "required": True, "title_zh": "站点编码", "title_en": "Site code"},
            {"name": "pm25", "type": "number", "minimum": 0, "title_zh": "PM2.5", "title_en": "PM2.5"},
        ], "key": ["site_code"]},
        "metadata": {"owner": "环境监测平台"},
    })


async def test_register_overlay_creates_table(db: asyncpg.Connection) -> None:
    layer = await register_layer(db, _overlay())
    assert layer.group == "overlay" and not layer.builtin
    assert await db.fetchval("SELECT to_regclass('data.env_monitoring_sites') IS NOT NULL")
    with pytest.raises(LayerExists):
        await register_layer(db, _overlay())


async def test_overlay_rules(db: asyncpg.Connection) -> None:
    bad = _overlay("sneaky").model_copy(update={"group": "管线"})
    with pytest.raises(InvalidLayerDefinition):
        await register_layer(db, bad)


@pytest.mark.parametrize(
    "change",
    [
        {"id": "Bad-Id"},
        {"geometry_type": "Circle"},
        {"min_zoom": 18, "max_zoom": 3},
        {"schema": {"fields": [{"name": "fid", "type": "string", "title_zh": "x", "title_en": "x"}]}},
        {"schema": {"fields": [{"name": "m", "type": "code", "codelist": "no.such",
                                "title_zh": "x", "title_en": "x"}]}},
        {"metadata": {"sample": True}},  # a sample layer must say 示例数据 in its title
    ],
)
def test_invalid_definitions_refused(change: dict[str, object]) -> None:
    raw = _overlay().model_dump(by_alias=True)
    raw.update(change)
    with pytest.raises(ValueError):
        LayerDef.model_validate(raw)
