"""Property test: after any random sequence of edits, as-of every past instant returns exactly
what was current then, and no stored version is ever altered except for being closed once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from layers.errors import FeatureRetired, InvalidValidTime
from layers.model import Layer
from layers.reads import list_features
from layers.temporal import AsOf, Current
from layers.versioning import FeatureIn, insert_feature, replace_feature, retire_feature, update_feature

T0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

op_strategy = st.tuples(
    st.sampled_from(["insert", "replace", "update", "retire"]),
    st.integers(0, 3),  # which feature (insert ignores it)
    st.integers(-3, 40),  # days after that feature's last change (negative: back-dated, must be refused)
    st.integers(0, 99),  # new value of n
)


@dataclass
class ModelVersion:
    n: int
    x: float
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None


@dataclass
class ModelFeature:
    versions: list[ModelVersion] = field(default_factory=list)

    @property
    def last_change(self) -> dt.datetime:
        last = self.versions[-1]
        return last.valid_to or last.valid_from

    def at(self, t: dt.datetime) -> ModelVersion | None:
        for v in self.versions:
            if v.valid_from <= t and (v.valid_to is None or t < v.valid_to):
                return v
        return None


async def _snapshot(db: asyncpg.Connection, fids: list[int]) -> dict[tuple[int, int], tuple[object, ...]]:
    rows = await db.fetch(
        "SELECT fid, version, valid_from, valid_to, n, ST_X(geom) AS x, recorded_at, changeset_id "
        "FROM data.test_sites WHERE fid = ANY($1)", fids)
    return {(r["fid"], r["version"]): tuple(r) for r in rows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_strategy, min_size=1, max_size=18))
async def test_as_of_every_instant_matches_model(
    db: asyncpg.Connection, sites: Layer, changeset: int, ops: list[tuple[str, int, int, int]]
) -> None:
    tx = db.transaction()  # each example in its own savepoint, so examples never see each other
    await tx.start()
    try:
        await _run_example(db, sites, changeset, ops)
    finally:
        await tx.rollback()


async def _run_example(db: asyncpg.Connection, sites: Layer, changeset: int,
                       ops: list[tuple[str, int, int, int]]) -> None:
    model: dict[int, ModelFeature] = {}
    order: list[int] = []
    clock = T0
    instants: set[dt.datetime] = set()
    for kind, which, days, n in ops:
        x = 112.9 + n / 1000
        if kind == "insert" or not order:
            clock += dt.timedelta(days=max(days, 0))
            ref = await insert_feature(db, layer=sites, feature=FeatureIn(Point(x, 28.2), {"code": f"c{n}", "n": n}),
                                       changeset_id=changeset, valid_from=clock)
            model[ref.fid] = ModelFeature([ModelVersion(n, x, clock)])
            order.append(ref.fid)
            instants.add(clock)
            continue
        fid = order[which % len(order)]
        feature = model[fid]
        when = feature.last_change + dt.timedelta(days=days)
        retired = feature.versions[-1].valid_to is not None
        before = await _snapshot(db, order)
        try:
            if kind == "retire":
                await retire_feature(db, layer=sites, fid=fid, changeset_id=changeset, valid_to=when)
            elif kind == "replace":
                await replace_feature(db, layer=sites, fid=fid, changeset_id=changeset, valid_from=when,
                                      feature=FeatureIn(Point(x, 28.2), {"code": f"c{n}", "n": n}))
            else:
                await update_feature(db, layer=sites, fid=fid, patch={"n": n}, geometry=None,
                                     changeset_id=changeset, valid_from=when)
        except FeatureRetired:
            assert retired
            assert await _snapshot(db, order) == before, "a refused edit changed stored versions"
            continue
        except InvalidValidTime:
            assert days < 0
            assert await _snapshot(db, order) == before, "a refused edit changed stored versions"
            continue
        assert not retired and days >= 0, "the write path accepted an edit it should have refused"
        feature.versions[-1].valid_to = when
        if kind != "retire":
            keep_x = feature.versions[-1].x if kind == "update" else x
            feature.versions.append(ModelVersion(n, keep_x, when))
        instants.add(when)
        after = await _snapshot(db, order)
        for key, row in before.items():
            old = after[key]
            # Only valid_to may change, and only from open to closed.
            assert old[:3] == row[:3] and old[4:] == row[4:]
            assert row[3] is None or old[3] == row[3]

    probes = set()
    for t in instants:
        probes |= {t - dt.timedelta(seconds=1), t, t + dt.timedelta(hours=12)}
    for t in sorted(probes):
        got = {r.fid: (r.properties["n"], round(r.geometry["coordinates"][0], 9))
               for r in await list_features(db, layer=sites, selection=AsOf(t)) if r.fid in model}
        want = {fid: (v.n, round(v.x, 9)) for fid, f in model.items() if (v := f.at(t)) is not None}
        assert got == want, f"as-of {t.isoformat()}"
    current = {r.fid: r.properties["n"] for r in await list_features(db, layer=sites, selection=Current())
               if r.fid in model}
    assert current == {fid: f.versions[-1].n for fid, f in model.items() if f.versions[-1].valid_to is None}
    total = await db.fetchval("SELECT count(*) FROM data.test_sites WHERE fid = ANY($1)", order)
    assert total == sum(len(f.versions) for f in model.values()), "a version went missing"
