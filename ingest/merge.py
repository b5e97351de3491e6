"""Merging the checked staging tables into their versioned layers, and the changed sample for the report map.

All merges go through :mod:`layers.bulk` in the import's transaction: append inserts,
upsert versions what changed by key, replace-extent also retires what the delivery's
extent no longer holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from ingest.report import MAP_SAMPLE, Report
from ingest.staged import Stage
from layers import bulk, initial_load
from layers.model import Layer
from layers.registry import Registry
from layers.sql import quote_ident


async def merge_stages(
    conn: asyncpg.Connection, *, stages: dict[str, Stage], skipped: dict[str, int], report: Report, mode: str,
    valid_from: dt.datetime | None, changeset_id: int, loads: dict[str, initial_load.InitialLoad] | None = None,
) -> None:
    """Merge every staging table into its layer and fill the report's per-layer counts.

    ``skipped`` counts, by layer, the rows known unchanged by their fingerprint (never staged);
    ``loads`` are the initial loads already written while read, which only need finishing.
    """
    for target_id, count in skipped.items():
        if target_id not in stages:  # every row was unchanged
            counts = report.layer(target_id)
            counts.valid = counts.unchanged = counts.skipped = count
    for stage in stages.values():
        counts = report.layer(stage.layer.id)
        unchanged = skipped.get(stage.layer.id, 0)
        counts.valid = stage.rows + unchanged
        counts.unchanged = counts.skipped = unchanged
        load = (loads or {}).get(stage.layer.id)
        if load is not None:
            done = await initial_load.finish(conn, load)
            report.warnings.append(_rebuilt(stage))
        elif stage.rows == 0:
            continue
        else:
                done = await _merge_one(conn, stage, report=report, mode=mode, valid_from=valid_from,
                                    changeset_id=changeset_id)
        counts.inserted, counts.new_versions = done.inserted, done.new_versions
        counts.unchanged, counts.retired = done.unchanged + unchanged, done.retired


async def _merge_one(conn: asyncpg.Connection, stage: Stage, *, report: Report, mode: str,
                     valid_from: dt.datetime | None, changeset_id: int) -> bulk.MergeCounts:
    key = stage.layer.attributes.key
    async with bulk.indexes_rebuilt_after(conn, stage.layer, staged_rows=stage.rows) as rebuilt:
        if rebuilt:
            report.warnings.append(_rebuilt(stage))
        if mode == "append":
            done = await bulk.insert_all(conn, stage.staging, changeset_id=changeset_id, valid_from=valid_from)
        else:
            done = await bulk.upsert_by_key(conn, stage.staging, key=key, changeset_id=changeset_id,
                                            valid_from=valid_from)
    if mode == "replace-extent":
        retired = await bulk.retire_missing_in_extent(conn, stage.staging, key=key, changeset_id=changeset_id,
                                                      valid_to=valid_from)
        done = done + bulk.MergeCounts(retired=retired)
    return done


def _rebuilt(stage: Stage) -> str:
    return (f"{stage.layer.id}: initial load of {stage.rows} rows; its indexes were rebuilt after "
            "the load (readers of this layer waited for the commit)")


async def changed_sample(conn: asyncpg.Connection, *, registry: Registry, changeset_id: int) -> list[dict[str, Any]]:
    """Up to :data:`MAP_SAMPLE` changed features per layer and operation, as GeoJSON, for the report map.

    Inserts and replacements come from the versions the changeset wrote (found by the layer's
    ``changeset`` index; a bulk merge keeps no per-feature audit row), retirements from their audit rows.
    """
    layers = await conn.fetch(
        "SELECT layer_id FROM onemap.bulk_changes WHERE changeset_id = $1 "
        "UNION SELECT layer_id FROM onemap.changes WHERE changeset_id = $1", changeset_id)
    out: list[dict[str, Any]] = []
    for row in layers:
        layer: Layer = registry.get(row["layer_id"])
        label = f"t.{quote_ident(layer.attributes.label)}" if layer.attributes.label else "NULL"
        rows = await conn.fetch(
            f"""
            (SELECT 'insert' AS op, t.fid, t.version, {label}::text AS label, ST_AsGeoJSON(t.geom, 7)::json AS geometry
             FROM {layer.table} t WHERE t.changeset_id = $1 AND t.version = 1 LIMIT $3)
            UNION ALL
            (SELECT 'replace', t.fid, t.version, {label}::text, ST_AsGeoJSON(t.geom, 7)::json
             FROM {layer.table} t WHERE t.changeset_id = $1 AND t.version > 1 LIMIT $3)
            UNION ALL
            (SELECT c.op, c.fid, c.version_after, {label}::text, ST_AsGeoJSON(t.geom, 7)::json
             FROM onemap.changes c JOIN {layer.table} t ON t.fid = c.fid AND t.version = c.version_after
             WHERE c.changeset_id = $1 AND c.layer_id = $2 AND c.op = 'retire' ORDER BY c.id LIMIT $3)
            """,  # noqa: S608
            changeset_id, layer.id, MAP_SAMPLE,
        )
        out += [{"layer": layer.id, "op": r["op"], "fid": r["fid"], "version": r["version"], "label": r["label"],
                 "geometry": r["geometry"]} for r in rows]
    return out
