"""Building blocks every path family shares: parameters, responses and security requirements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.ogc.collections import CRS_LIST

PROBLEM = {"$ref": "#/components/responses/Problem"}
JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
# Reads: anonymous (public layers) or signed in, by bearer token/API key or HTTP Basic.
READ_SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"basicAuth": []}]
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"basicAuth": []}]


def param(
    name: str,
    description: str,
    schema: dict[str, Any],
    *,
    where: str = "query",
    required: bool = False,
    style: str | None = None,
    explode: bool | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.0 Parameter Object."""
    out: dict[str, Any] = {
        "name": name,
        "in": where,
        "description": description,
        "required": required,
        "schema": schema,
    }
    if style:
        out["style"] = style
    if explode is not None:
        out["explode"] = explode
    return out


def ok(description: str, *media: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A success Response Object with one schema per media type."""
    return {"description": description, "content": {m: {"schema": s} for m, s in media}}


def errors(*codes: int) -> dict[str, Any]:
    """problem+json responses for ``codes``."""
    return {str(c): PROBLEM for c in codes}


def json_or_html(description: str, schema: dict[str, Any], media: str = JSON) -> dict[str, Any]:
    """A 200 that is ``schema`` in ``media`` or an HTML page."""
    return ok(description, (media, schema), (HTML, {"type": "string"}))


@dataclass(frozen=True)
class Params:
    """The parameters several families reuse, built once per document."""

    collection_id: dict[str, Any]
    feature_id: dict[str, Any]
    f: dict[str, Any]
    lang: dict[str, Any]
    crs: dict[str, Any]
    datetime: dict[str, Any]


def shared_params(collection_ids: Sequence[str]) -> Params:
    """Path and query parameters shared by the Features paths.

    Args:
        collection_ids: The collections the caller may read, listed as the ``collectionId`` enum.
            Only these: a layer the caller may not read must not be named in their document.
    """
    ids = sorted(collection_ids)
    return Params(
        collection_id=param(
            "collectionId",
            "Collection (layer) id; restricted layers you may not read answer 404",
            {"type": "string", "enum": ids} if ids else {"type": "string"},
            where="path",
            required=True,
        ),
        feature_id=param(
            "featureId",
            "Feature id (stable across versions)",
            {"type": "string", "pattern": "^[0-9]{1,18}$"},
            where="path",
            required=True,
        ),
        f=param("f", "Output format (overrides Accept)", {"type": "string", "enum": ["json", "html"]}),
        lang=param("lang", "Language of HTML pages", {"type": "string", "enum": ["zh", "en"]}),
        crs=param("crs", "Output CRS (Part 2); default CRS84", {"type": "string", "enum": CRS_LIST}),
        datetime=param(
            "datetime",
            "Valid-time instant (as-of) or interval (a/b, ../b, a/..)",
            {"type": "string", "pattern": r"^\S+$"},
        ),
    )
