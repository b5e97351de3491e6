"""Every tile we make is valid: Khronos glTF validator on glb, 3D Tiles 1.1 JSON schema on tilesets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cityfixtures import City  # noqa: F401 - the service fixture needs the city
from tests.tiles.threed_checks import glb_json, leaf_address, leaves, schema_errors, validate_glbs
from tiles.service import TileService
from tiles.threed_service import ThreeDService

LAYERS = ["buildings", "pipeline_water_segments", "pipeline_water_points"]
SAMPLE = 6  # content tiles per layer


@pytest.mark.parametrize("layer_id", LAYERS)
async def test_tileset_and_tiles_validate(service: TileService, tmp_path: Path, layer_id: str) -> None:
    threed = ThreeDService(service)
    layer = service.registry.get(layer_id)
    doc = await threed.tileset(layer)
    assert schema_errors(doc, "tileset.schema.json") == []
    tiles = leaves(doc["root"])
    assert tiles
    files = []
    for leaf in tiles[:SAMPLE]:
        z, x, y = leaf_address(leaf)
        data = (await threed.content(layer, z, x, y)).data
        meta = glb_json(data)["extensions"]["EXT_structural_metadata"]
        # The glTF validator does not know EXT_structural_metadata: check it against the 3D Metadata schema.
        assert schema_errors(meta["schema"], "Schema/schema.schema.json") == []
        for table in meta["propertyTables"]:
            assert schema_errors(table, "PropertyTable/propertyTable.schema.json") == []
        path = tmp_path / f"{layer_id}-{z}-{x}-{y}.glb"
        path.write_bytes(data)
        files.append(path)
    for report in validate_glbs(files):
        assert report["errors"] == 0, report["messages"]
        assert report["warnings"] == 0, report["messages"]


def test_the_schema_check_can_fail() -> None:
    bad = {"asset": {"version": "1.1"}, "geometricError": -1, "root": {"boundingVolume": {"region": [0, 0, 1]}}}
    errors = schema_errors(bad, "tileset.schema.json")
    assert any("geometricError" in e for e in errors) and any("region" in e for e in errors)


async def test_the_gltf_validator_can_fail(service: TileService, tmp_path: Path) -> None:
    threed = ThreeDService(service)
    layer = service.registry.get("buildings")
    z, x, y = leaf_address(leaves((await threed.tileset(layer))["root"])[0])
    data = bytearray((await threed.content(layer, z, x, y)).data)
    broken = tmp_path / "broken.glb"
    broken.write_bytes(bytes(data[: len(data) - 64]))  # cut the binary chunk short
    (report,) = validate_glbs([broken])
    assert report["errors"] > 0


async def test_an_empty_layer_has_a_valid_empty_tileset(service: TileService) -> None:
    threed = ThreeDService(service)
    doc = await threed.tileset(service.registry.get("pipeline_sewage_segments"))  # no sewers in the fixture city
    assert schema_errors(doc, "tileset.schema.json") == []
    assert leaves(doc["root"]) == [] and doc["geometricError"] == 0
