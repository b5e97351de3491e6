"""JSON Schema documents of a layer: the feature schema (OGC API Features Part 5) and the
queryables/sortables (Part 3), built from one description of each property.

The feature schema is *logical* (Part 5): one flat object whose members are the feature's id,
its geometry, its schema fields and its valid time, each annotated with ``x-ogc-role``,
``x-ogc-unit`` and ``x-ogc-propertySeq``. In GeoJSON the id and geometry are Feature members
and the rest sit in ``properties``; :func:`logical_feature` makes that mapping explicit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layers.model import Layer
from layers.schema import FieldDef

JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"
GEOMETRY_FORMATS = {
    "Point": "geometry-point",
    "LineString": "geometry-linestring",
    "Polygon": "geometry-polygon",
    "MultiPoint": "geometry-multipoint",
    "MultiLineString": "geometry-multilinestring",
    "MultiPolygon": "geometry-multipolygon",
}


@dataclass(frozen=True, slots=True)
class SystemProperty:
    """A property every layer has, outside its registry schema."""

    name: str
    title_zh: str
    title_en: str
    role: str | None
    unit: str | None = None  # HTML tables read ``unit`` the same way as on a FieldDef


ID = SystemProperty("id", "要素标识", "Feature id (stable across versions)", "id")
GEOMETRY = SystemProperty("geometry", "几何", "Geometry", "primary-geometry")
VALID_FROM = SystemProperty("valid_from", "有效期开始", "Valid from", "primary-interval-start")
VALID_TO = SystemProperty("valid_to", "有效期结束", "Valid to (empty while current)", "primary-interval-end")
VERSION = SystemProperty("version", "版本号", "Version number", None)
# Valid time as returned among a feature's properties, in this order after the schema fields.
TIME_COLUMNS = (VALID_FROM, VALID_TO)


def geometry_schema(layer: Layer) -> dict[str, Any]:
    """Schema of the primary geometry: a Part 5 ``geometry-*`` format by the layer's type."""
    return {
        "format": GEOMETRY_FORMATS.get(layer.geometry_type or "", "geometry-any"),
        "title": GEOMETRY.title_zh,
        "x-title-en": GEOMETRY.title_en,
        "x-ogc-role": "primary-geometry",
    }


def system_schema(prop: SystemProperty, *, nullable: bool = False) -> dict[str, Any]:
    """Schema of valid_from, valid_to, version or id (``nullable`` lets valid_to be null)."""
    out: dict[str, Any] = {"title": prop.title_zh, "x-title-en": prop.title_en}
    if prop in TIME_COLUMNS:
        out.update({"type": ["string", "null"] if nullable else "string", "format": "date-time"})
    else:
        out.update({"type": "integer", "minimum": 1 if prop is VERSION else 0})
    if prop.role:
        out["x-ogc-role"] = prop.role
    return out


def nullable_field_schema(field: FieldDef) -> dict[str, Any]:
    """``field.json_schema()``, widened to accept null when the field is optional."""
    out = field.json_schema()
    if field.required:
        return out
    out["type"] = [out["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def feature_schema(layer: Layer, *, schema_id: str) -> dict[str, Any]:
    """The Part 5 logical schema of ``layer``'s features, as served at ``/collections/{id}/schema``.

    Args:
        layer: A vector layer from the registry.
        schema_id: The absolute URL the document is served at (its ``$id``).
    """
    props: dict[str, dict[str, Any]] = {
        "id": {**system_schema(ID), "readOnly": True},
        "geometry": geometry_schema(layer),
    }
    for field in layer.attributes.fields:
        props[field.name] = nullable_field_schema(field)
    props["valid_from"] = {**system_schema(VALID_FROM), "readOnly": True}
    props["valid_to"] = {**system_schema(VALID_TO, nullable=True), "readOnly": True}
    for seq, schema in enumerate(props.values(), start=1):
        schema["x-ogc-propertySeq"] = seq
    required = ["id", "geometry", *(f.name for f in layer.attributes.fields if f.required), "valid_from"]
    return {
        "$schema": JSON_SCHEMA_2020_12,
        "$id": schema_id,
        "type": "object",
        "title": layer.title_zh,
        "x-title-en": layer.title_en,
        "description": layer.description_zh or layer.description_en or layer.title_en,
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def property_list_schema(
    layer: Layer, properties: dict[str, dict[str, Any]], *, schema_id: str, kind: str
) -> dict[str, Any]:
    """A queryables or sortables document (Part 3 / Part 5) around per-property schemas."""
    return {
        "$schema": JSON_SCHEMA_2020_12,
        "$id": schema_id,
        "type": "object",
        "title": f"{layer.title_zh} — {kind}",
        "properties": properties,
        "additionalProperties": False,
    }


def logical_feature(feature: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature as the flat object its Part 5 schema describes (id, geometry, properties)."""
    return {"id": feature.get("id"), "geometry": feature.get("geometry"), **(feature.get("properties") or {})}
