"""The building statistics rollup's cells and triggers (the table and rules: migration 0014).

``onemap.building_rollup`` holds signed deltas of ``data.buildings`` per cell of a power-of-two
degree grid (EPSG:4490 lon/lat): level 0 cells are ``1 / CELLS_PER_DEGREE`` degrees a side (about
190 m × 220 m at Changsha), level l cells ``2**l`` level-0 cells, up to ``TOP_LEVEL``. A point's
level-0 cell is (floor(lon × 512), floor(lat × 512)); its level-l cell shifts both right by l.
Statement triggers keep it exact on every write (see the migration's docstring).
"""

from __future__ import annotations

import asyncpg

from layers.model import DATA_SCHEMA
from layers.sql import qualified

CELLS_PER_DEGREE = 512  # the migration's trigger uses the same number
TOP_LEVEL = 7
LAYER_ID = "buildings"
ROLLUP_TABLE = "onemap.building_rollup"
_TRIGGERS = (
    ("insert", "INSERT", "NEW TABLE AS new_rows"),
    ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "DELETE", "OLD TABLE AS old_rows"),
)


def cell_size(level: int) -> float:
    """A level's cell side in degrees (a power of two: cell corners are exact doubles)."""
    return float(2**level) / CELLS_PER_DEGREE


def trigger_statements(layer_id: str = LAYER_ID) -> list[str]:
    """CREATE OR REPLACE TRIGGER statements that keep the rollup current (idempotent); none for other layers."""
    if layer_id != LAYER_ID:
        return []
    table = qualified(DATA_SCHEMA, layer_id)
    return [f"CREATE OR REPLACE TRIGGER building_rollup_{name} AFTER {event} ON {table} REFERENCING {tables} "
            "FOR EACH STATEMENT EXECUTE FUNCTION onemap.building_rollup_apply()"
            for name, event, tables in _TRIGGERS]


async def defer(conn: asyncpg.Connection, layer_id: str) -> bool:
    """Switch the rollup's triggers off for the rest of this transaction; True when ``layer_id`` has them.

    For an initial load only (it holds the layer locked against other writers): capturing each COPY
    batch's rows in a transition table costs the load's one backend more than adding them all once
    at the end. It must call :func:`add_changeset` before it commits; a rollback undoes both.
    """
    if layer_id != LAYER_ID:
        return False
    await conn.execute(_alter_triggers("DISABLE"))
    return True


async def add_changeset(conn: asyncpg.Connection, changeset_id: int) -> None:
    """Add the versions ``changeset_id`` wrote while the triggers were off, and switch them on again."""
    await conn.execute("SELECT onemap.building_rollup_add_changeset($1)", changeset_id)
    await conn.execute(_alter_triggers("ENABLE"))


def _alter_triggers(action: str) -> str:
    table = qualified(DATA_SCHEMA, LAYER_ID)
    return f"ALTER TABLE {table} " + ", ".join(f"{action} TRIGGER building_rollup_{name}" for name, _, _ in _TRIGGERS)
