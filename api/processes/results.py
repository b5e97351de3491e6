"""Status documents of jobs and the two shapes of results, per OGC API Processes Part 1 1.0.

- ``response: "document"``: a JSON object from output name to a qualified value
  (``{"value": …, "mediaType": …}``), so every output's type travels with it.
- ``response: "raw"`` (the default): one output is sent as itself (GeoJSON, SVG, CSV, JSON …);
  several are sent as ``multipart/related``, one part per output, its ``Content-ID`` the output name.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

import orjson
from starlette.responses import Response

from analysis.contract import ProcessDefinition
from api.ogc.links import JSON, link
from api.processes.descriptions import output_media_type
from layers.jobs import Job

RESULTS_REL = "http://www.opengis.net/def/rel/ogc/1.0/results"
STATUS_REL = "http://www.opengis.net/def/rel/ogc/1.0/job-list"


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def status_info(job: Job, base: str) -> dict[str, Any]:
    """The job's ``statusInfo`` document with its links (results once it succeeded)."""
    url = f"{base}/jobs/{job.id}"
    links = [link(url, "self", JSON, "job status"), link(f"{base}/jobs", "up", JSON, "your jobs"),
             link(f"{base}/processes/{job.process_id}", "process", JSON, "the process")]
    if job.status == "successful":
        links.append(link(f"{url}/results", RESULTS_REL, JSON, "job results"))
    doc: dict[str, Any] = {
        "type": "process",
        "processID": job.process_id,
        "jobID": str(job.id),
        "status": job.status,
        "message": job.message,
        "progress": job.progress,
        "created": _iso(job.created),
        "started": _iso(job.started),
        "finished": _iso(job.finished),
        "updated": _iso(job.updated),
        "links": links,
    }
    return {k: v for k, v in doc.items() if v is not None}


def selected(definition: ProcessDefinition, results: dict[str, Any], wanted: dict[str, Any] | None) -> list[str]:
    """The output names to send, in the description's order (all of them unless some were asked for)."""
    names = [n for n in definition.outputs if n in results] + [n for n in results if n not in definition.outputs]
    return [n for n in names if wanted is None or n in wanted]


def _encode(value: Any, media: str, schema: dict[str, Any] | None = None) -> bytes:
    # A binary output (XLSX …) travels as base64 text in JSON and in stored job results;
    # a raw response sends the bytes themselves.
    if isinstance(value, str) and (schema or {}).get("contentEncoding") == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            return value.encode()
    if isinstance(value, str) and not media.endswith("json"):
        return value.encode()
    return orjson.dumps(value)


def _schema(definition: ProcessDefinition, name: str) -> dict[str, Any]:
    schema = definition.outputs.get(name, {}).get("schema", {})
    return schema if isinstance(schema, dict) else {}


def results_document(definition: ProcessDefinition, results: dict[str, Any],
                     wanted: dict[str, Any] | None) -> dict[str, Any]:
    """``response: document``: output name → ``{"value", "mediaType"}``."""
    return {name: {"value": results[name], "mediaType": output_media_type(definition, name)}
            for name in selected(definition, results, wanted)}


def results_response(definition: ProcessDefinition, results: dict[str, Any], *, response: str,
                     wanted: dict[str, Any] | None, headers: dict[str, str] | None = None) -> Response:
    """The HTTP answer carrying ``results`` as the execute request asked (raw or document)."""
    headers = headers or {}
    if response == "document":
        return Response(orjson.dumps(results_document(definition, results, wanted)), media_type=JSON,
                        headers=headers)
    names = selected(definition, results, wanted)
    if len(names) == 1:
        media = output_media_type(definition, names[0])
        return Response(_encode(results[names[0]], media, _schema(definition, names[0])), media_type=media,
                        headers=headers)
    boundary = "onemap-" + secrets.token_hex(12)
    body = bytearray()
    for name in names:
        media = output_media_type(definition, name)
        body += (f"--{boundary}\r\nContent-Type: {media}\r\nContent-ID: <{name}>\r\n\r\n").encode()
        body += _encode(results[name], media, _schema(definition, name)) + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return Response(bytes(body), headers=headers,
                    media_type=f'multipart/related; boundary="{boundary}"; type="{JSON}"')
