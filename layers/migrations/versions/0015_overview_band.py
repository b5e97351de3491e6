"""Overview band: the ``(tile_zoom, geom)`` GiST of each line/polygon layer keeps only the current
rows that some overview tile (zoom 12 or coarser) can draw, ``tile_zoom <= 12``.

Why: btree_gist's int2 has no sortsupport before PostgreSQL 18, so that index cannot be built
sorted; every row is inserted one by one, during an initial load too. On 1,000,000 synthetic
buildings those inserts cost the import's one backend 6.1 s of 14.5 s of COPY (benchmarks/README.md,
"Batch import"), for an index that finer tiles never needed: from zoom 13 on, a tile's box is small
enough that ``cur_geom`` with the ``tile_zoom`` filter reads about what it draws (measured with
benchmarks/tile_sweep.py: see layers/overview.py). A tile at zoom ``z`` asks for ``tile_zoom <= N``
with ``N <= z`` an integer literal, so the planner proves the new predicate for every overview tile.

Revision ID: 0015_overview_band
Revises: 0014_building_rollup
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_overview_band"
down_revision = "0014_building_rollup"
branch_labels = None
depends_on = None

# Frozen copy of layers/overview.py OVERVIEW_MAX_ZOOM as of this revision.
BAND = 12
POINTS = ("Point", "MultiPoint")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables() -> list[str]:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, geometry_type FROM onemap.layers WHERE kind = 'vector'")).fetchall()
    return [i for i, g in rows if g not in POINTS
            and bind.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f'data."{i}"'}).scalar()]


def _rebuild(predicate: str) -> None:
    for layer_id in _tables():
        name = _q((layer_id + "_cur_zoom_geom")[:63])
        op.execute(f"DROP INDEX IF EXISTS data.{name}")
        op.execute(f"CREATE INDEX {name} ON data.{_q(layer_id)} USING gist (tile_zoom, geom) WHERE {predicate}")


def upgrade() -> None:
    _rebuild(f"valid_to IS NULL AND tile_zoom <= {BAND}::smallint")


def downgrade() -> None:
    _rebuild("valid_to IS NULL")
