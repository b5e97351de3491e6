"""layers.reads.layer_counts: what ``onemap db status`` prints for each layer."""

from __future__ import annotations

import asyncpg
from shapely.geometry import Point

from layers.model import Layer
from layers.reads import layer_counts
from layers.registry import Registry
from layers.versioning import FeatureIn, insert_feature, replace_feature, retire_feature


async def test_counts_current_features_and_every_version(db: asyncpg.Connection, sites: Layer,
                                                         changeset: int) -> None:
    refs = [await insert_feature(db, layer=sites, feature=FeatureIn(Point(112.9 + i / 100, 28.2), {"code": f"c{i}"}),
                                 changeset_id=changeset) for i in range(3)]
    await replace_feature(db, layer=sites, fid=refs[0].fid, changeset_id=changeset,
                          feature=FeatureIn(Point(112.95, 28.2), {"code": "c0", "n": 5}))
    await retire_feature(db, layer=sites, fid=refs[1].fid, changeset_id=changeset)

    counts = await layer_counts(db)
    by_id = {c.layer_id: c for c in counts}
    assert (by_id["test_sites"].current, by_id["test_sites"].versions) == (2, 4)
    registry = await Registry.load(db)
    assert [c.layer_id for c in counts] == [layer.id for layer in registry.all()]  # the registry's order
    rasters = [layer.id for layer in registry.all() if not layer.is_vector]
    assert rasters and all(by_id[r].current is None and by_id[r].versions is None for r in rasters)
