"""The disk tier names 3D tiles ``.glb``; 3D tiles an older version wrote as ``.mvt`` do no harm."""

from __future__ import annotations

from pathlib import Path

from tiles.cache import TileKey
from tiles.disk import DiskTileCache
from tiles.threed_service import PSEUDO_LAYER

BOX = (112.94, 28.18, 112.95, 28.19)


def _key(layers: tuple[str, ...]) -> TileKey:
    return TileKey(layers, "CGCS2000Quad", 15, 53859, 11250, "")


def test_3d_tiles_are_glb_and_vector_tiles_mvt(tmp_path: Path) -> None:
    disk = DiskTileCache(tmp_path)
    threed, vector = _key((PSEUDO_LAYER, "buildings")), _key(("buildings",))
    disk.put(threed, b"glTF...")
    disk.put(vector, b"mvt")
    assert [p.name for p in tmp_path.rglob("*.glb")] == ["11250.glb"]
    assert [p.name for p in tmp_path.rglob("*.mvt")] == ["11250.mvt"]
    assert disk.get(threed) == b"glTF..." and disk.get(vector) == b"mvt"
    assert disk.count() == 2


def test_old_mvt_named_3d_tiles_are_never_read_and_get_dropped(tmp_path: Path) -> None:
    disk = DiskTileCache(tmp_path)
    key = _key((PSEUDO_LAYER, "buildings"))
    disk.put(key, b"glTF new")
    old = tmp_path / "CGCS2000Quad" / f"{PSEUDO_LAYER}+buildings" / "15" / "53859" / "11251.mvt"
    old.write_bytes(b"glTF stale")
    assert disk.get(TileKey(key.layers, key.tms, 15, 53859, 11251, "")) is None
    assert disk.count() == 2
    assert disk.invalidate("buildings", None) == 2
    assert not old.exists() and disk.count() == 0


def test_box_invalidation_drops_old_and_new_names(tmp_path: Path) -> None:
    disk = DiskTileCache(tmp_path)
    key = _key((PSEUDO_LAYER, "buildings"))
    disk.put(key, b"glTF")
    folder = tmp_path / "CGCS2000Quad" / f"{PSEUDO_LAYER}+buildings" / "15" / str(key.x)
    (folder / f"{key.y}.mvt").write_bytes(b"stale")
    far = (100.0, 20.0, 100.01, 20.01)
    assert disk.invalidate("buildings", [far]) == 0
    west, north = -180 + key.x * 180 / 2**15, 90 - key.y * 180 / 2**15
    assert disk.invalidate("buildings", [(west + 0.001, north - 0.002, west + 0.002, north - 0.001)]) == 2
    assert disk.count() == 0
