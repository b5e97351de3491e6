"""The ``sortby`` parameter and the keyset (seek) predicates that page through a sort order.

Order: the requested keys, then ``fid`` and ``version`` as tie-breakers, so the
order is total and a cursor names exactly one position. NULLs sort as the
largest value (PostgreSQL's default for ASC and DESC alike), which the keyset
predicates below mirror.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.model import Layer
from layers.query.errors import InvalidQuery, UnknownProperty
from layers.query.properties import SQL_CAST, Kind, sortables
from layers.sql import Params


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ``sortby`` term: the property, its column and kind, and the direction."""

    name: str
    column: str
    kind: Kind
    descending: bool = False

    @property
    def token(self) -> str:
        """The key as ``sortby`` spells it (``+name``/``-name``), for cursor fingerprints."""
        return f"{'-' if self.descending else '+'}{self.name}"


def parse_sortby(layer: Layer, text: str) -> tuple[SortKey, ...]:
    """``sortby=+height_m,-name`` (also ``name:desc``/``name:asc``) → sort keys.

    Raises:
        UnknownProperty: for a name not in ``/sortables``.
        InvalidQuery: for a repeated property.
    """
    table = sortables(layer)
    keys: list[SortKey] = []
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        descending = False
        name = raw
        if raw[0] in "+-":
            descending, name = raw[0] == "-", raw[1:].strip()
        elif ":" in raw:
            name, _, direction = raw.partition(":")
            if direction.lower() not in ("asc", "desc"):
                raise InvalidQuery(
                    f"sortby direction must be asc or desc, not {direction!r}", parameter="sortby"
                )
            descending = direction.lower() == "desc"
        q = table.get(name)
        if q is None:
            raise UnknownProperty(
                f"sortby: {name!r} is not sortable in {layer.id}; see /collections/{layer.id}/sortables",
                parameter="sortby",
            )
        if any(k.name == name for k in keys):
            raise InvalidQuery(f"sortby names {name!r} twice", parameter="sortby")
        keys.append(SortKey(name, q.column, q.kind, descending))
    return tuple(keys)


def order_by(keys: tuple[SortKey, ...], *, with_version: bool, reverse: bool = False) -> str:
    """ORDER BY list: keys, then fid (and version when a feature may appear twice)."""
    parts = [f"{k.column} {'DESC' if k.descending != reverse else 'ASC'}" for k in keys]
    parts.append(f"fid {'DESC' if reverse else 'ASC'}")
    if with_version:
        parts.append(f"version {'DESC' if reverse else 'ASC'}")
    return ", ".join(parts)


def key_columns(keys: tuple[SortKey, ...]) -> str:
    """A JSON array of the sort values, fid and version, to make a cursor from."""
    cols = [k.column for k in keys] + ["fid", "version"]
    return f"json_build_array({', '.join(cols)})::text"


def seek(
    keys: tuple[SortKey, ...],
    values: list[object],
    fid: int,
    version: int,
    params: Params,
    *,
    with_version: bool,
    reverse: bool,
) -> str:
    """SQL true for rows strictly after (``reverse``: before) the cursor position."""
    if not keys:
        f = params.add(fid, "bigint")
        if with_version:
            v = params.add(version, "int")
            return f"(fid, version) {'<' if reverse else '>'} ({f}, {v})"
        return f"fid {'<' if reverse else '>'} {f}"
    terms: list[tuple[str, str]] = []  # (after, equal) per key
    for key, value in zip(keys, values, strict=True):
        descending = key.descending != reverse
        col = key.column
        if value is None:
            after = f"{col} IS NOT NULL" if descending else "FALSE"
            equal = f"{col} IS NULL"
        else:
            p = params.add(value, SQL_CAST[key.kind])
            after = f"{col} < {p}" if descending else f"({col} > {p} OR {col} IS NULL)"
            equal = f"{col} = {p}"
        terms.append((after, equal))
    tie_cmp = "<" if reverse else ">"
    f = params.add(fid, "bigint")
    if with_version:
        v = params.add(version, "int")
        terms.append((f"(fid, version) {tie_cmp} ({f}, {v})", "FALSE"))
    else:
        terms.append((f"fid {tie_cmp} {f}", "FALSE"))
    ors: list[str] = []
    prefix: list[str] = []
    for after, equal in terms:
        ors.append("(" + " AND ".join([*prefix, after]) + ")")
        prefix.append(equal)
    return "(" + " OR ".join(ors) + ")"
