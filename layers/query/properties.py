"""What a layer lets callers filter, sort and select on, derived from its registry schema.

System columns appear under stable names: ``geometry`` (the stored ``geom``),
``valid_from``/``valid_to`` (valid time) and ``version``. Everything else is a
schema field. Only names found here ever reach SQL, and only through quote_ident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from layers.json_schema import VALID_FROM, VALID_TO, VERSION, geometry_schema, system_schema
from layers.model import Layer
from layers.query.errors import UnknownProperty
from layers.query.output import TIME_PROPERTIES
from layers.schema import FieldDef
from layers.sql import quote_ident

Kind = Literal["text", "integer", "number", "boolean", "date", "datetime", "geometry"]

_FIELD_KIND: dict[str, Kind] = {
    "string": "text",
    "code": "text",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
SQL_CAST: dict[Kind, str] = {
    "text": "text",
    "integer": "bigint",
    "number": "float8",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
    "geometry": "geometry",
}
GEOMETRY_NAMES = ("geometry", "geom")
SYSTEM_PROPERTIES = {p.name: p for p in (VALID_FROM, VALID_TO, VERSION)}


@dataclass(frozen=True, slots=True)
class Queryable:
    """A property usable in filters or sorting: its SQL column, kind and schema field."""

    name: str
    column: str
    kind: Kind
    field: FieldDef | None = None
    nullable: bool = True

    def json_schema(self, *, layer: Layer) -> dict[str, Any]:
        """This property's JSON Schema for /queryables and /sortables (built by :mod:`layers.json_schema`)."""
        if self.field is not None:
            return self.field.json_schema()
        if self.kind == "geometry":
            return geometry_schema(layer)
        return system_schema(SYSTEM_PROPERTIES[self.name])


def _system(layer: Layer) -> list[Queryable]:
    return [
        Queryable("geometry", "geom", "geometry", nullable=False),
        Queryable("valid_from", "valid_from", "datetime", nullable=False),
        Queryable("valid_to", "valid_to", "datetime"),
        Queryable("version", "version", "integer", nullable=False),
    ]


def queryables(layer: Layer) -> dict[str, Queryable]:
    """Every filterable property of ``layer`` by name (schema fields first, then system ones)."""
    out = {
        f.name: Queryable(f.name, quote_ident(f.name), _FIELD_KIND[f.type], f, not f.required)
        for f in layer.attributes.fields
    }
    for q in _system(layer):
        out.setdefault(q.name, q)
    return out


def resolve(layer: Layer, name: str, *, parameter: str = "filter") -> Queryable:
    """The queryable called ``name`` (``geom`` is accepted for ``geometry``).

    Raises:
        UnknownProperty: listing the valid names.
    """
    table = queryables(layer)
    if name in GEOMETRY_NAMES:
        return table["geometry"]
    found = table.get(name)
    if found is None:
        raise UnknownProperty(
            f"{name!r} is not a queryable of {layer.id}; see /collections/{layer.id}/queryables "
            f"(known: {', '.join(sorted(table))})",
            parameter=parameter,
        )
    return found


def sortables(layer: Layer) -> dict[str, Queryable]:
    """Properties ``sortby`` accepts: every scalar one (OGC Part 5 forbids spatial ones)."""
    return {name: q for name, q in queryables(layer).items() if q.kind != "geometry"}


def returnables(layer: Layer) -> list[str]:
    """Names ``properties`` may select: the schema fields, then valid time."""
    return [f.name for f in layer.attributes.fields] + list(TIME_PROPERTIES)


def parse_properties(layer: Layer, text: str) -> tuple[str, ...]:
    """The ``properties`` parameter: a comma list of properties to return (empty: none).

    Raises:
        UnknownProperty: for a name the layer does not have.
    """
    names = [p.strip() for p in text.split(",") if p.strip()]
    known = set(returnables(layer))
    bad = [n for n in names if n not in known]
    if bad:
        raise UnknownProperty(
            f"properties: {', '.join(repr(b) for b in bad)} not in {layer.id} "
            f"(known: {', '.join(sorted(known))})",
            parameter="properties",
        )
    return tuple(dict.fromkeys(names))
