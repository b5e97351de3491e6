"""Paths of OGC API Processes: the process list and descriptions, execution, and jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.ogc.openapi.common import JSON, READ_SECURITY, SIGNED_IN, errors, ok, param

ANY_JSON: dict[str, Any] = {}
JOB_STATUS: dict[str, Any] = {"type": "string", "enum": ["accepted", "running", "successful", "failed", "dismissed"]}
STATUS_INFO: dict[str, Any] = {
    "type": "object",
    "required": ["jobID", "status", "links"],
    "properties": {
        "type": {"type": "string", "enum": ["process"]},
        "processID": {"type": "string"},
        "jobID": {"type": "string"},
        "status": JOB_STATUS,
        "message": {"type": "string"},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "created": {"type": "string", "format": "date-time"},
        "started": {"type": "string", "format": "date-time"},
        "finished": {"type": "string", "format": "date-time"},
        "updated": {"type": "string", "format": "date-time"},
        "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
    },
}
EXECUTE_BODY = {
    "type": "object",
    "properties": {
        "inputs": {"type": "object", "description": "input name → value (see the process description)"},
        "outputs": {"type": "object", "description": "the outputs wanted (default: all)"},
        "response": {"type": "string", "enum": ["raw", "document"], "default": "raw"},
    },
}
# A raw result is sent as itself: JSON, GeoJSON, SVG, CSV or text; several outputs as multipart/related.
RAW_MEDIA = (JSON, "application/geo+json", "image/svg+xml", "text/csv", "text/plain", "multipart/related")


def processes_paths(process_ids: Sequence[str]) -> dict[str, Any]:
    """``/processes``, ``/processes/{processId}``, ``…/execution``, ``/jobs``, ``/jobs/{jobId}`` and its results."""
    ids = sorted(process_ids)
    process_id = param("processId", "Process id", {"type": "string", "enum": ids} if ids else {"type": "string"},
                       where="path", required=True)
    job_id = param("jobId", "Job id (as returned by an asynchronous execution)",
                   {"type": "string", "format": "uuid"}, where="path", required=True)
    f = param("f", "Output format", {"type": "string", "enum": ["json"]})
    lang = param("lang", "Language of titles", {"type": "string", "enum": ["zh", "en"]})
    prefer = param("Prefer", "respond-async runs the process as a job (201 and its status)",
                   {"type": "string", "enum": ["respond-async", "respond-sync", "wait"]}, where="header")
    status_doc = ok("Job status", (JSON, {"$ref": "#/components/schemas/StatusInfo"}))
    return {
        "/processes": {"get": {
            "summary": "The processes offered", "operationId": "getProcesses", "tags": ["processes"],
            "parameters": [f, lang], "security": READ_SECURITY,
            "responses": {"200": ok("Process list", (JSON, ANY_JSON)), **errors(400, 406)},
        }},
        "/processes/{processId}": {"get": {
            "summary": "A process description", "operationId": "getProcessDescription", "tags": ["processes"],
            "parameters": [process_id, f, lang], "security": READ_SECURITY,
            "responses": {"200": ok("Process description", (JSON, ANY_JSON)), **errors(400, 404, 406)},
        }},
        "/processes/{processId}/execution": {"post": {
            "summary": "Execute a process", "operationId": "execute", "tags": ["processes"],
            "parameters": [process_id, prefer], "security": READ_SECURITY,
            "requestBody": {"required": True, "content": {JSON: {"schema": EXECUTE_BODY}}},
            "responses": {
                "200": {"description": "Results (raw or document)",
                        "content": {m: {"schema": ANY_JSON} for m in RAW_MEDIA}},
                "201": {**status_doc, "description": "Job created (Prefer: respond-async)",
                        "headers": {"Location": {"schema": {"type": "string"}}}},
                **errors(400, 401, 404, 413, 422, 503),
            },
        }},
        "/jobs": {"get": {
            "summary": "Your jobs", "operationId": "getJobs", "tags": ["processes"], "security": SIGNED_IN,
            "parameters": [
                f, param("type", "Job type", {"type": "array", "items": {"type": "string", "enum": ["process"]}}),
                param("processID", "Only jobs of these processes", {"type": "array", "items": {"type": "string"}}),
                param("status", "Only jobs in these states", {"type": "array", "items": JOB_STATUS},
                      explode=False, style="form"),
                param("datetime", "Created at or within (RFC 3339 instant or interval)", {"type": "string"}),
                param("minDuration", "Run at least this many seconds", {"type": "integer", "minimum": 0}),
                param("maxDuration", "Run at most this many seconds", {"type": "integer", "minimum": 0}),
                param("limit", "Jobs per page", {"type": "integer", "minimum": 1, "maximum": 1000}),
                param("offset", "Jobs to skip", {"type": "integer", "minimum": 0}),
            ],
            "responses": {"200": ok("Job list", (JSON, ANY_JSON)), **errors(400, 401, 406)},
        }},
        "/jobs/{jobId}": {
            "get": {"summary": "A job's status", "operationId": "getStatus", "tags": ["processes"],
                    "parameters": [job_id, f], "security": SIGNED_IN,
                    "responses": {"200": status_doc, **errors(400, 401, 404, 406)}},
            "delete": {"summary": "Dismiss a job", "operationId": "dismiss", "tags": ["processes"],
                       "parameters": [job_id], "security": SIGNED_IN,
                       "responses": {"200": status_doc, **errors(400, 401, 404)}},
        },
        "/jobs/{jobId}/results": {"get": {
            "summary": "A job's results", "operationId": "getResult", "tags": ["processes"],
            "parameters": [job_id, f], "security": SIGNED_IN,
            "responses": {"200": {"description": "Results, as the execute request asked",
                                  "content": {m: {"schema": ANY_JSON} for m in RAW_MEDIA}},
                          **errors(400, 401, 404, 422, 503)},
        }},
    }
