"""EPANET water network models (``.inp``, or the nodes/links GeoPackage layout) as 给水 points and segments.

Mapping to CJJ 61 (domain.md §1.3):

* junctions → 特征点 by how many pipes meet there: 1 盖堵 GD, 2 直线点 ZXD, 3 三通 ST, 4+ 四通 SIT;
* reservoirs and tanks → 出地 CD (the pipe leaves the ground into the structure), flagged
  ``is_source`` (水源): they feed the network;
* pipes → segments between their two nodes (through any [VERTICES]);
* valves → a 阀门 FM point at the middle of the valve link, with the link split in two
  segments on either side, so the network stays connected point to point;
* pumps → a 泵站 BZ point, likewise.

EPANET has no depth, material or owner: give them with ``--set`` (the report lists what
was set). Diameters become millimetres whatever the model's flow units (US units use inches).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, Point

from ingest.errors import UnreadableSource
from ingest.readers.base import Batch, ReadOptions, SourceLayer, memory_batches

US_UNITS = {"CFS", "GPM", "MGD", "IMGD", "AFD"}
POINT_FIELDS = ["point_no", "category", "subcategory", "feature_point", "appurtenance", "ground_elev_m", "status",
                "is_source", "epanet_type"]
SEGMENT_FIELDS = ["segment_no", "category", "subcategory", "start_point", "end_point", "diameter_mm", "status",
                  "epanet_type", "length_m"]
_DEGREE = {1: "GD", 2: "ZXD", 3: "ST"}


@dataclass
class Network:
    """Nodes and links of a model, coordinates in the model's own CRS and units."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → {type, elevation, xy}
    links: list[dict[str, Any]] = field(default_factory=list)  # {id, type, n1, n2, diameter_mm, coords}
    units: str = "LPS"
    notes: list[str] = field(default_factory=list)


def _sections(text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for raw in text.replace("\0", "").splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1].upper(), [])
            continue
        if current is not None:
            current.append(line.split())
    return out


def parse_inp(path: Path) -> Network:
    """Read an EPANET ``.inp`` file (NUL padding and comments tolerated).

    Raises:
        UnreadableSource: when it has no [COORDINATES], or refers to nodes it does not define.
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UnreadableSource(f"cannot read {path.name}: {exc}") from exc
    s = _sections(text)
    net = Network()
    for row in s.get("OPTIONS", []):
        if row[0].upper() == "UNITS" and len(row) > 1:
            net.units = row[1].upper()
    coords = {r[0]: (float(r[1]), float(r[2])) for r in s.get("COORDINATES", []) if len(r) >= 3}
    if not coords:
        raise UnreadableSource(f"{path.name} has no [COORDINATES]; a schematic model cannot be placed on the map")
    for kind, section in (("junction", "JUNCTIONS"), ("reservoir", "RESERVOIRS"), ("tank", "TANKS")):
        for r in s.get(section, []):
            elevation = float(r[1]) if kind != "reservoir" and len(r) > 1 else None
            net.nodes[r[0]] = {"type": kind, "elevation": elevation, "xy": coords.get(r[0])}
    vertices: dict[str, list[tuple[float, float]]] = {}
    for r in s.get("VERTICES", []):
        vertices.setdefault(r[0], []).append((float(r[1]), float(r[2])))
    inch = 25.4 if net.units in US_UNITS else 1.0
    for kind, section in (("pipe", "PIPES"), ("valve", "VALVES"), ("pump", "PUMPS")):
        for r in s.get(section, []):
            diameter = None
            if kind == "pipe" and len(r) > 4:
                diameter = float(r[4]) * inch
            elif kind == "valve" and len(r) > 3:
                diameter = float(r[3]) * inch
            net.links.append({"id": r[0], "type": kind, "n1": r[1], "n2": r[2], "diameter_mm": diameter,
                              "coords": vertices.get(r[0], [])})
    _place_links(net, path.name)
    return net


def _place_links(net: Network, name: str) -> None:
    for link in net.links:
        ends = [net.nodes.get(link["n1"]), net.nodes.get(link["n2"])]
        if any(e is None or e["xy"] is None for e in ends):
            raise UnreadableSource(f"{name}: link {link['id']} joins nodes without coordinates")
        link["coords"] = [ends[0]["xy"], *link["coords"], ends[1]["xy"]]  # type: ignore[index]


def _borrow_diameters(net: Network) -> None:
    """Pumps (and valves without one) take the largest diameter of the pipes they join."""
    widest: dict[str, float] = {}
    for link in net.links:
        if link["type"] == "pipe" and link["diameter_mm"]:
            for node in (link["n1"], link["n2"]):
                widest[node] = max(widest.get(node, 0.0), link["diameter_mm"])
    for link in net.links:
        if not link["diameter_mm"]:
            found = max(widest.get(link["n1"], 0.0), widest.get(link["n2"], 0.0))
            link["diameter_mm"] = found or None


def to_layers(net: Network, path: Path) -> list[SourceLayer]:
    """Points and segments tables (schema field names) from a network."""
    _borrow_diameters(net)
    degree: Counter[str] = Counter()
    for link in net.links:
        degree[link["n1"]] += 1
        degree[link["n2"]] += 1
    points: list[dict[str, Any]] = []
    point_wkb: list[bytes | None] = []
    for node_id, node in net.nodes.items():
        kind = node["type"]
        feature = "CD" if kind in ("reservoir", "tank") else _DEGREE.get(degree[node_id], "SIT")
        if degree[node_id] == 0:
            net.notes.append(f"node {node_id} is not connected to any link")
        points.append({"point_no": node_id, "category": "JS", "subcategory": "JP", "feature_point": feature,
                       "appurtenance": None, "ground_elev_m": node["elevation"], "status": "0",
                       "is_source": kind in ("reservoir", "tank"), "epanet_type": kind})
        point_wkb.append(shapely.to_wkb(Point(node["xy"])) if node["xy"] else None)
    segments: list[dict[str, Any]] = []
    segment_wkb: list[bytes | None] = []

    def add_segment(seg_id: str, a: str, b: str, coords: list[tuple[float, float]], link: dict[str, Any]) -> None:
        line = LineString(coords)
        segments.append({"segment_no": seg_id, "category": "JS", "subcategory": "JP", "start_point": a,
                         "end_point": b, "diameter_mm": link["diameter_mm"], "status": "0",
                         "epanet_type": link["type"], "length_m": round(line.length, 3)})
        segment_wkb.append(shapely.to_wkb(line))

    for link in net.links:
        if link["type"] == "pipe":
            add_segment(link["id"], link["n1"], link["n2"], link["coords"], link)
            continue
        code, prefix = ("FM", "FM") if link["type"] == "valve" else ("BZ", "BZ")
        point_id = f"{prefix}-{link['id']}"
        line = LineString(link["coords"])
        middle = line.interpolate(0.5, normalized=True)
        points.append({"point_no": point_id, "category": "JS", "subcategory": "JP", "feature_point": None,
                       "appurtenance": code, "ground_elev_m": None, "status": "0", "is_source": False,
                       "epanet_type": link["type"]})
        point_wkb.append(shapely.to_wkb(middle))
        if line.length > 0:
            first, second = _split(line, middle)
            add_segment(f"{link['id']}-1", link["n1"], point_id, first, link)
            add_segment(f"{link['id']}-2", point_id, link["n2"], second, link)
        else:
            net.notes.append(f"{link['type']} {link['id']} has no length; only its point is imported")
    notes = [f"EPANET model in {net.units} units; diameters converted to mm", *net.notes[:20]]
    return [
        SourceLayer(path, "points", "EPANET", POINT_FIELDS, "Point", rows=points, wkb_rows=point_wkb,
                    count=len(points), notes=notes),
        SourceLayer(path, "segments", "EPANET", SEGMENT_FIELDS, "LineString", rows=segments, wkb_rows=segment_wkb,
                    count=len(segments), notes=notes),
    ]


def _split(line: LineString, at: Point) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The two halves of ``line`` either side of ``at`` (a point on it)."""
    coords = list(line.coords)
    target = line.project(at)
    walked = 0.0
    for i in range(1, len(coords)):
        step = math.dist(coords[i - 1], coords[i])
        if walked + step >= target:
            mid = (at.x, at.y)
            return [*coords[:i], mid], [mid, *coords[i:]]
        walked += step
    return coords, [coords[-1], coords[-1]]


class EpanetReader:
    """EPANET ``.inp`` models: a points table and a segments table, built in memory."""

    def open(self, path: Path, fmt: str, options: ReadOptions) -> list[SourceLayer]:
        """The model's points and segments (``options`` do not apply to a model).

        Raises:
            UnreadableSource: when the model cannot be placed on the map.
        """
        return to_layers(parse_inp(path), path)

    def batches(self, src: SourceLayer, size: int) -> Iterator[Batch]:
        """Stream one of the model's tables, which live in memory."""
        return memory_batches(src, size)


def is_network_gpkg(layers: dict[str, list[str]]) -> bool:
    """The nodes/links GeoPackage layout (node_id, node_type …; link_id, from_node, to_node …)."""
    nodes, links = layers.get("nodes", []), layers.get("links", [])
    return {"node_id", "node_type"} <= set(nodes) and {"link_id", "link_type", "from_node", "to_node"} <= set(links)


def from_tables(path: Path, nodes: SourceLayer, links: SourceLayer) -> list[SourceLayer]:
    """A network from the GeoPackage layout; coordinates stay in that file's CRS."""
    net = Network()
    for batch in nodes.batches():
        for i, wkb in enumerate(batch.wkb):
            geom = shapely.from_wkb(wkb) if wkb else None
            net.nodes[str(batch.columns["node_id"][i])] = {
                "type": str(batch.columns["node_type"][i] or "junction").lower(),
                "elevation": batch.columns.get("elevation", [None] * len(batch))[i],
                "xy": (geom.x, geom.y) if geom is not None else None,
            }
    for batch in links.batches():
        for i, wkb in enumerate(batch.wkb):
            geom = shapely.from_wkb(wkb) if wkb else None
            kind = str(batch.columns["link_type"][i] or "pipe").lower()
            diameter = batch.columns.get("diameter", [None] * len(batch))[i]
            net.links.append({
                "id": str(batch.columns["link_id"][i]), "type": kind, "n1": str(batch.columns["from_node"][i]),
                "n2": str(batch.columns["to_node"][i]),
                "diameter_mm": float(diameter) if diameter is not None else None,
                "coords": list(geom.coords) if geom is not None else [],
            })
    for link in net.links:
        if not link["coords"]:
            link["coords"] = []
            _place_links(Network(nodes=net.nodes, links=[link]), path.name)
    out = to_layers(net, path)
    for layer in out:
        layer.declared_crs = nodes.declared_crs
        layer.format = "EPANET (GeoPackage)"
    return out
