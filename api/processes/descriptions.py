"""Process summaries (``/processes``) and descriptions (``/processes/{id}``), OGC API Processes Part 1 1.0.

Built from :class:`analysis.contract.ProcessDefinition` data alone: a new analysis appears here
by being listed in ``analysis.catalogue.PROCESSES``, with no code in ``api/``.
"""

from __future__ import annotations

from typing import Any

from analysis.contract import ProcessDefinition
from api.ogc.links import JSON, link

EXECUTE_REL = "http://www.opengis.net/def/rel/ogc/1.0/execute"
JOB_LIST_REL = "http://www.opengis.net/def/rel/ogc/1.0/job-list"
PROCESSES_REL = "http://www.opengis.net/def/rel/ogc/1.0/processes"
JOB_CONTROL = ["sync-execute", "async-execute", "dismiss"]
# What each output's value is sent as, by the JSON Schema its description gives.
MEDIA_BY_FORMAT = {"geojson-feature-collection": "application/geo+json", "svg": "image/svg+xml",
                   "csv": "text/csv"}


def _text(definition: ProcessDefinition, zh: bool) -> tuple[str, str]:
    if zh:
        return definition.title_zh or definition.title, definition.description_zh or definition.description
    return definition.title, definition.description


def summary(definition: ProcessDefinition, base: str, *, zh: bool) -> dict[str, Any]:
    """The process summary: id, version, title, job control options and links."""
    title, description = _text(definition, zh)
    url = f"{base}/processes/{definition.id}"
    return {
        "id": definition.id,
        "version": definition.version,
        "title": title,
        "description": description,
        "keywords": list(definition.keywords),
        "jobControlOptions": JOB_CONTROL,
        "outputTransmission": ["value"],
        "links": [
            link(url, "self", JSON, "process description"),
            link(f"{url}/execution", EXECUTE_REL, JSON, "execute"),
        ],
    }


def description(definition: ProcessDefinition, base: str, *, zh: bool) -> dict[str, Any]:
    """The full description: the summary plus inputs, outputs and example execute requests."""
    doc = summary(definition, base, zh=zh)
    doc["inputs"] = {name: _with_occurs(spec) for name, spec in definition.inputs.items()}
    doc["outputs"] = dict(definition.outputs)
    if definition.examples:
        doc["examples"] = list(definition.examples)
    doc["links"].append(link(f"{base}/processes", "up", JSON, "all processes"))
    return doc


def _with_occurs(spec: dict[str, Any]) -> dict[str, Any]:
    # Part 1 defaults (minOccurs 1, maxOccurs 1) written out, so clients need not know them.
    return {"minOccurs": 1, "maxOccurs": 1, **spec}


def output_media_type(definition: ProcessDefinition, name: str) -> str:
    """The media type an output is sent as in a raw response (from its schema's ``contentMediaType``/format)."""
    schema = definition.outputs.get(name, {}).get("schema", {})
    media = schema.get("contentMediaType")
    if isinstance(media, str):
        return media
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in MEDIA_BY_FORMAT:
        return MEDIA_BY_FORMAT[fmt]
    return "text/plain" if schema.get("type") == "string" else JSON


def process_list(definitions: list[ProcessDefinition], base: str, *, zh: bool) -> dict[str, Any]:
    """``/processes``: every process's summary."""
    return {
        "processes": [summary(d, base, zh=zh) for d in definitions],
        "links": [link(f"{base}/processes", "self", JSON, "this document")],
    }
