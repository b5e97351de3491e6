"""The real Modena network (268 junctions, 4 reservoirs, 317 pipes), imported through ``onemap import
pipelines`` as tests/import does, traced by One Map and by networkx straight from the ``.inp`` file.

The .inp is read here with a few lines of parsing, not through our tables or our reader, so the
two computations share nothing but the file. tests/deliveries.py moves it to Changsha and turns
pipe 5 into a valve (point FM-V5) and pipe 9 into a pump (point BZ-P9); this test turns every
pipe whose number is a multiple of 7 into a valve too, so that valves bound real zones of the
looped network. The reference graph does the same: each becomes a node between two links.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import asyncpg
import networkx as nx
import pytest

from analysis.catalogue import PROCESSES
from analysis.network.cache import NetworkCache
from analysis.network.categories import resolve_category
from analysis.network.trace import Start, default_sources, trace
from tests import deliveries
from tests.analysis.networks import context

VALVE, PUMP = "FM-V5", "BZ-P9"
EXTRA_VALVES = 7  # pipes numbered a multiple of this become valves


def _with_valves(inp: Path) -> Path:
    """Move pipes numbered a multiple of EXTRA_VALVES from [PIPES] to [VALVES] (as deliveries.py does for one)."""
    lines, section, moved = [], None, []
    for raw in inp.read_text(encoding="utf-8").splitlines():
        stripped = raw.split(";")[0].strip()
        if stripped.startswith("["):
            section = stripped
            lines.append(raw)
            if section == "[VALVES]":
                lines += [f" V{r[0]} {r[1]} {r[2]} {r[4]} TCV 0 0" for r in moved]
            continue
        parts = stripped.split()
        if section == "[PIPES]" and parts and parts[0].isdigit() and int(parts[0]) % EXTRA_VALVES == 0:
            moved.append(parts)
        else:
            lines.append(raw)
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return inp


def _sections(path: Path) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for raw in path.read_bytes().replace(b"\0", b"").decode().splitlines():
        line = raw.split(";")[0].strip()
        if line.startswith("["):
            current = out.setdefault(line, [])
        elif line and current is not None:
            current.append(line.split())
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nx.MultiGraph, set[str]]:
    """(the delivered .inp, its graph keyed by link id, the reservoirs)."""
    inp = _with_valves(deliveries.shifted_inp(tmp_path_factory.mktemp("modena") / "modena_changsha.inp"))
    s = _sections(inp)
    g = nx.MultiGraph()
    for r in s["[PIPES]"]:
        g.add_edge(r[1], r[2], key=r[0])
    for name, prefix in (("[VALVES]", "FM"), ("[PUMPS]", "BZ")):
        for r in s[name]:
            node = f"{prefix}-{r[0]}"  # the reader's point number; the halves are V5-1, V5-2
            g.add_node(node, valve=prefix == "FM")
            g.add_edge(r[1], node, key=f"{r[0]}-1")
            g.add_edge(node, r[2], key=f"{r[0]}-2")
    reservoirs = {r[0] for r in s["[RESERVOIRS]"]} | {r[0] for r in s.get("[TANKS]", [])}
    return inp, g, reservoirs


@pytest.fixture(scope="module")
async def imported(module_db_url: str, reference: tuple[Path, nx.MultiGraph, set[str]],
                   tmp_path_factory: pytest.TempPathFactory) -> None:
    cli = importlib.import_module("import.cli")
    argv = ["pipelines", str(reference[0]), "--set", "material=QM", "--set", "start_depth_m=1.2", "--set",
            "end_depth_m=1.2", "--database-url", module_db_url, "--report-dir",
            str(tmp_path_factory.mktemp("report")), "--progress", "none"]
    assert await asyncio.to_thread(cli.main, argv) == 0


async def test_connected_trace_matches_networkx(
    pool: asyncpg.Pool, imported: None, reference: tuple[Path, nx.MultiGraph, set[str]],
) -> None:
    _, g, _ = reference
    net = await NetworkCache().get(pool, resolve_category("water"), None)
    assert net.segment_count == g.number_of_edges() and len(net.node_by_no) == g.number_of_nodes()
    assert g.number_of_nodes() > 272 + 40  # the extra valves are points of their own
    for start in ("1", "150", "269"):
        segs, nodes = trace(net, Start(node=net.node_by_no[start]))
        expected = nx.node_connected_component(g, start)
        assert {net.node_no[n] for n in nodes} == expected
        theirs = {k for _u, _v, k in g.subgraph(expected).edges(keys=True)}
        assert {net.seg_no[s] for s in segs} == theirs


async def test_reservoirs_are_the_sources(
    pool: asyncpg.Pool, imported: None, reference: tuple[Path, nx.MultiGraph, set[str]],
) -> None:
    net = await NetworkCache().get(pool, resolve_category("water"), None)
    assert {net.node_no[n] for n in default_sources(net)} == reference[2]


def _zone(g: nx.MultiGraph, break_pipe: str) -> tuple[set[str], set[str]]:
    """(isolated links, valves to close) for a break, by networkx: the break's side of every valve."""
    valves = {n for n, d in g.nodes(data=True) if d.get("valve")}
    closed = g.copy()
    closed.remove_nodes_from(valves)
    u, v = next((u, v) for u, v, k in g.edges(keys=True) if k == break_pipe)
    zone = nx.node_connected_component(closed, u if u not in valves else v)
    links = {k for _u, _v, k in closed.subgraph(zone).edges(keys=True)}
    bounding = {n for n in valves if any(o in zone for o in g.neighbors(n))}
    links |= {k for n in bounding for _n, o, k in g.edges(n, keys=True) if o in zone}
    return links, bounding


@pytest.mark.parametrize("break_pipe", ["1", "169", "78", "92", "127", "36"])  # six zones
async def test_valve_isolation_matches_networkx(
    pool: asyncpg.Pool, imported: None, reference: tuple[Path, nx.MultiGraph, set[str]], break_pipe: str,
) -> None:
    _, g, reservoirs = reference
    out = await PROCESSES["valve-isolation"].run(context(pool), {"category": "water", "break": break_pipe})
    isolated, valves = _zone(g, break_pipe)
    assert {f["properties"]["segment_no"] for f in out["isolated"]["features"]} == isolated
    assert {f["properties"]["point_no"] for f in out["valves"]["features"]} == valves and valves
    # Cut off: fed from a reservoir before; not once the valves are closed and the zone is out.
    fed_before = {k for c in nx.connected_components(g) if c & reservoirs
                  for _u, _v, k in g.subgraph(c).edges(keys=True)}
    after = g.copy()
    after.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if k in isolated])
    for n in valves:  # a closed valve passes nothing: split it into one node per link
        for i, (_n, o, k) in enumerate(list(after.edges(n, keys=True))):
            after.remove_edge(n, o, k)
            after.add_edge(f"{n}#{i}", o, key=k)
    fed_after = {k for c in nx.connected_components(after) if c & reservoirs
                 for _u, _v, k in after.subgraph(c).edges(keys=True)}
    assert {f["properties"]["segment_no"] for f in out["cut_off"]["features"]} == fed_before - fed_after - isolated
