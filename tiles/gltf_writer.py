"""One glTF 2.0 binary (.glb) per 3D tile, written with pygltflib.

A tile is one triangle primitive: positions, normals, vertex colours (the CJJ 61 / building-use
colour of each feature) and a feature id per vertex. Positions and normals are quantized
(``KHR_mesh_quantization``, required): positions are int16 steps of one uniform size around the
mesh's centre, the node's ``translation`` and ``scale`` turning them back into metres of the tile's
ENU frame (glTF y-up) — a step is the mesh's largest extent / 65534, ≈ 9 mm for a 600 m pipe tile;
normals are normalized int8. One scale on all three axes keeps the normals right (a non-uniform
node scale would bend them). A tile whose features share one colour (a pipe layer) has it in its
material, not per vertex: 16 instead of 36 bytes per vertex (24 with vertex colours). ``EXT_mesh_features`` ties the ids
to an ``EXT_structural_metadata`` property table holding each feature's identity (``id`` as in
``/collections/{layer}/items/{id}``, ``layer``) and key attributes, so a click in a viewer names
the feature and can link to its page and versions.

pygltflib writes the GLB container; the buffer views are numpy arrays laid end to end, each
padded to 8 bytes (the largest component, FLOAT64 metadata, needs that alignment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib as g

from tiles.threed_frame import enu_to_gltf
from tiles.threed_mesh import Mesh

NUMBER_NO_DATA = -9999.0
QUANTIZATION = "KHR_mesh_quantization"
INT16_STEPS = 32767  # positions are rounded to -32767 … 32767 steps from the centre
FEATURE_ID = "_FEATURE_ID_0"
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


@dataclass(frozen=True, slots=True)
class Prop:
    """One metadata property: name, type ("STRING", "FLOAT64", "INT32") and a description."""

    name: str
    type: str
    description: str = ""


@dataclass
class TileContent:
    """What one tile holds: the merged mesh, per-vertex feature index and colour, and the table."""

    mesh: Mesh
    feature_index: npt.NDArray[np.uint32]
    colours: npt.NDArray[np.uint8]  # n × 4
    class_id: str
    class_name: str
    props: Sequence[Prop]
    rows: list[dict[str, Any]] = field(default_factory=list)


class _Buffer:
    """Buffer views appended to one binary blob."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.views: list[g.BufferView] = []
        self.size = 0

    def add(self, data: bytes, target: int | None = None, stride: int | None = None) -> int:
        pad = (-self.size) % 8
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        self.views.append(g.BufferView(buffer=0, byteOffset=self.size, byteLength=len(data),
                                       target=target, byteStride=stride))
        self.chunks.append(data)
        self.size += len(data)
        return len(self.views) - 1

    def blob(self) -> bytes:
        data = b"".join(self.chunks)
        return data + b"\0" * ((-len(data)) % 4)



def linear_colours(srgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint16]:
    """8-bit sRGB(A) colours → 16-bit normalized *linear* RGBA, which is what glTF's COLOR_0 holds.

    Styles give sRGB; a viewer converts COLOR_0 from linear to sRGB on output, so writing the
    style's bytes as they are brightened every colour that is not 0 or 255 (sewage's dark brown
    came out tan). 16 bits keep dark colours exact through the round trip; alpha is not gamma-coded.
    """
    c = np.asarray(srgb, dtype=np.float64) / 255.0
    rgb = c[:, :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    out = np.concatenate([linear, c[:, 3:4]], axis=1)
    return np.ascontiguousarray(np.rint(out * 65535.0), dtype=np.uint16)

def quantized_positions(points: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float64],
                                                                    float]:
    """Positions (n × 3 metres) → (n × 4 int16 steps, last one padding; centre; step in metres)."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    step = max(float((high - low).max()) / (2 * INT16_STEPS), 1e-6)
    out = np.zeros((len(points), 4), dtype=np.int16)
    out[:, :3] = np.clip(np.rint((points - centre) / step), -INT16_STEPS, INT16_STEPS)
    return out, centre, step


def quantized_normals(normals: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """Unit normals (n × 3) → n × 4 normalized int8 (last one padding)."""
    out = np.zeros((len(normals), 4), dtype=np.int8)
    out[:, :3] = np.clip(np.rint(normals * 127), -127, 127)
    return out


def empty_glb() -> bytes:
    """A valid glTF with a scene and nothing in it (an empty tile)."""
    gltf = g.GLTF2(asset=g.Asset(version="2.0", generator="One Map"), scene=0, scenes=[g.Scene(nodes=[])])
    return b"".join(gltf.save_to_bytes())


def write_glb(content: TileContent, *, compact: bool = True) -> bytes:
    """The tile as GLB bytes (an empty scene when the mesh has no triangles).

    ``compact=False`` writes the layout before quantization and material colours (float32 positions
    and normals, a colour per vertex): the benchmark's "before".
    """
    mesh = content.mesh
    if mesh.indices.size == 0:
        return empty_glb()
    buf = _Buffer()
    accessors: list[g.Accessor] = []

    def vertex_accessor(values: npt.NDArray[Any], component: int, kind: str, *, normalized: bool = False,
                        bounds: bool = False) -> int:
        # 3-component int16/int8 vertices carry one padding component: each vertex starts 4-byte aligned.
        padded = kind == g.VEC3 and values.shape[1] == 4
        stride = values.strides[0] if padded else None
        view = buf.add(values.tobytes(), ARRAY_BUFFER, stride)
        acc = g.Accessor(bufferView=view, componentType=component, count=int(values.shape[0]), type=kind,
                         normalized=normalized or None)
        if bounds:
            acc.min = [float(v) for v in values[:, :3].min(axis=0)]
            acc.max = [float(v) for v in values[:, :3].max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    if compact:
        positions, centre, step = quantized_positions(enu_to_gltf(mesh.positions))
        position = vertex_accessor(positions, g.SHORT, g.VEC3, bounds=True)
        normal = vertex_accessor(quantized_normals(enu_to_gltf(mesh.normals)), g.BYTE, g.VEC3, normalized=True)
        node = g.Node(mesh=0, translation=[float(v) for v in centre], scale=[step, step, step])
    else:
        position = vertex_accessor(enu_to_gltf(mesh.positions).astype(np.float32), g.FLOAT, g.VEC3, bounds=True)
        normal = vertex_accessor(enu_to_gltf(mesh.normals).astype(np.float32), g.FLOAT, g.VEC3)
        node = g.Node(mesh=0)
    # One colour for the whole tile (a pipe layer's CJJ 61 colour): the material carries it and the
    # vertices none, a third of the vertex bytes; several colours (buildings by use): per vertex.
    colours = content.colours
    uniform = compact and bool(len(colours)) and bool((colours == colours[0]).all())
    base = [float(v) / 65535 for v in linear_colours(colours[:1])[0]] if uniform else [1.0, 1.0, 1.0, 1.0]
    attributes = g.Attributes(
        POSITION=position,
        NORMAL=normal,
        COLOR_0=None if uniform else vertex_accessor(linear_colours(colours), g.UNSIGNED_SHORT, g.VEC4,
                                                     normalized=True),
    )
    setattr(attributes, FEATURE_ID, vertex_accessor(content.feature_index.astype(np.float32), g.FLOAT, g.SCALAR))
    wide = mesh.vertex_count > 65535
    index_data = mesh.indices.astype(np.uint32 if wide else np.uint16)
    view = buf.add(index_data.tobytes(), ELEMENT_ARRAY_BUFFER)
    accessors.append(g.Accessor(bufferView=view, componentType=g.UNSIGNED_INT if wide else g.UNSIGNED_SHORT,
                                count=int(index_data.size), type=g.SCALAR))
    table = _property_table(content, buf)
    primitive = g.Primitive(
        attributes=attributes, indices=len(accessors) - 1, material=0, mode=g.TRIANGLES,
        extensions={"EXT_mesh_features": {"featureIds": [
            {"featureCount": len(content.rows), "attribute": 0, "propertyTable": 0}
        ]}},
    )
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0", generator="One Map"),
        scene=0,
        scenes=[g.Scene(nodes=[0])],
        nodes=[node],
        meshes=[g.Mesh(primitives=[primitive])],
        materials=[g.Material(
            pbrMetallicRoughness=g.PbrMetallicRoughness(baseColorFactor=base, metallicFactor=0.0,
                                                        roughnessFactor=0.8),
            doubleSided=True,
        )],
        accessors=accessors,
        bufferViews=buf.views,
        extensionsUsed=["EXT_mesh_features", "EXT_structural_metadata", *([QUANTIZATION] if compact else [])],
        extensionsRequired=[QUANTIZATION] if compact else None,
        extensions={"EXT_structural_metadata": table},
    )
    blob = buf.blob()
    gltf.buffers = [g.Buffer(byteLength=len(blob))]
    gltf.set_binary_blob(blob)
    return b"".join(gltf.save_to_bytes())


def class_schema(props: Sequence[Prop], *, descriptions: bool) -> dict[str, Any]:
    """The 3D Metadata class properties of ``props`` (types and no-data values; descriptions if asked)."""
    out: dict[str, Any] = {}
    for prop in props:
        entry: dict[str, Any] = {"name": prop.name}
        if descriptions and prop.description:
            entry["description"] = prop.description
        if prop.type == "STRING":
            entry.update(type="STRING", noData="")
        else:
            entry.update(type="SCALAR", componentType=prop.type,
                         noData=NUMBER_NO_DATA if prop.type == "FLOAT64" else -1)
        out[prop.name] = entry
    return out


def _property_table(content: TileContent, buf: _Buffer) -> dict[str, Any]:
    """The ``EXT_structural_metadata`` object: a one-class schema and one property table.

    The tile's schema leaves out the descriptions (the tileset's ``schema`` has them): repeated in
    every tile they would weigh more than a small tile's geometry.
    """
    schema_props = class_schema(content.props, descriptions=False)
    table_props: dict[str, Any] = {}
    for prop in content.props:
        values = [row.get(prop.name) for row in content.rows]
        if prop.type == "STRING":
            if all(v is None for v in values):
                continue  # a table may leave out a property; an empty buffer view would be invalid
            encoded = [("" if v is None else str(v)).encode() for v in values]
            offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.uint32)
            table_props[prop.name] = {
                "values": buf.add(b"".join(encoded)),
                "stringOffsets": buf.add(offsets.tobytes()),
                "stringOffsetType": "UINT32",
            }
        else:
            no_data = schema_props[prop.name]["noData"]
            dtype = {"FLOAT64": np.float64, "INT32": np.int32}[prop.type]
            array = np.array([no_data if v is None else v for v in values], dtype=dtype)
            table_props[prop.name] = {"values": buf.add(array.tobytes())}
    return {
        "schema": {"id": "onemap", "classes": {content.class_id: {"name": content.class_name,
                                                                  "properties": schema_props}}},
        "propertyTables": [{"class": content.class_id, "count": len(content.rows), "properties": table_props}],
    }
