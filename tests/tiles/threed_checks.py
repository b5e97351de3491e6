"""Validators the 3D tile tests share: Khronos glTF validator (npm) and the 3D Tiles 1.1 JSON schema."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = Path(__file__).parent / "data" / "3d-tiles-schema"
VALIDATE_JS = Path(__file__).parent / "gltf_validate.mjs"


def validate_glbs(files: list[Path]) -> list[dict[str, Any]]:
    """One Khronos gltf-validator report per file: {"file", "errors", "warnings", "messages"}."""
    node = shutil.which("node")
    assert node, "node is needed for the glTF validator (scripts/bootstrap.sh installs it)"
    done = subprocess.run([node, str(VALIDATE_JS), *map(str, files)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=True)
    reports: list[dict[str, Any]] = json.loads(done.stdout)
    return reports


@cache
def _registry() -> referencing.Registry[Any]:
    resources = []
    for path in SCHEMA_DIR.rglob("*.schema.json"):
        doc = json.loads(path.read_text())
        uri = path.relative_to(SCHEMA_DIR).as_posix()
        resources.append((f"https://onemap.test/3dtiles/{uri}", DRAFT202012.create_resource({**doc, "$id": uri})))
    return referencing.Registry().with_resources(resources)


def schema_errors(doc: Any, schema: str) -> list[str]:
    """Messages of every violation of the 3D Tiles schema file ``schema`` (e.g. "tileset.schema.json")."""
    root = json.loads((SCHEMA_DIR / schema).read_text())
    root["$id"] = f"https://onemap.test/3dtiles/{schema}"
    validator = jsonschema.Draft202012Validator(root, registry=_registry(),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a glb."""
    magic, version, _ = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    out: dict[str, Any] = json.loads(data[20:20 + length])
    return out


def glb_property(data: bytes, name: str) -> list[Any]:
    """The values of property ``name`` in a glb's first property table (numbers or strings)."""
    doc = glb_json(data)
    json_len = struct.unpack_from("<I", data, 12)[0]
    bin_start = 20 + json_len + 8
    meta = doc["extensions"]["EXT_structural_metadata"]
    table = meta["propertyTables"][0]
    cls = meta["schema"]["classes"][table["class"]]["properties"][name]
    views = doc["bufferViews"]

    def view(i: int) -> bytes:
        v = views[i]
        start = bin_start + v.get("byteOffset", 0)
        return data[start:start + v["byteLength"]]

    prop = table["properties"][name]
    count = table["count"]
    if cls["type"] == "STRING":
        offsets = struct.unpack(f"<{count + 1}I", view(prop["stringOffsets"]))
        raw = view(prop["values"])
        return [raw[offsets[i]:offsets[i + 1]].decode() for i in range(count)]
    fmt = {"INT32": "i", "FLOAT64": "d"}[cls["componentType"]]
    return list(struct.unpack(f"<{count}{fmt}", view(prop["values"])))


def leaves(tile: dict[str, Any]) -> list[dict[str, Any]]:
    """The full-detail content tiles under ``tile`` (itself included): those without children."""
    if "children" not in tile:
        return [tile] if "content" in tile else []
    return [leaf for child in tile["children"] for leaf in leaves(child)]


def coarse_tiles(tile: dict[str, Any]) -> list[dict[str, Any]]:
    """The city-scale content tiles under ``tile``: those with content and children."""
    own = [tile] if "content" in tile and "children" in tile else []
    return own + [c for child in tile.get("children", []) for c in coarse_tiles(child)]


def leaf_address(leaf: dict[str, Any]) -> tuple[int, int, int]:
    """(z, x, y) of a leaf's content URI ``z/x/y.glb[?…]``."""
    z, x, y = leaf["content"]["uri"].split("?")[0].removesuffix(".glb").split("/")
    return int(z), int(x), int(y)
