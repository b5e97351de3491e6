"""OGC API Processes Part 1 routes: ``/processes``, ``/processes/{id}``, ``/processes/{id}/execution``,
``/jobs``, ``/jobs/{jobId}`` (status, dismiss) and ``/jobs/{jobId}/results``.

One factory, generic over a catalogue of :class:`~analysis.contract.ProcessDefinition` (by default
``analysis.catalogue.PROCESSES``, read at each request). Access follows the layers a request
reads: :meth:`ProcessDefinition.reads` names them before anything runs, and a layer the caller
may not read answers 404 exactly as ``/collections/{id}`` does. Jobs are their owner's (and
admins'); anyone else gets 404 for them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from analysis.catalogue import PROCESSES
from analysis.contract import InvalidInput, ProcessDefinition
from api.audit import note_read
from api.auth import PrincipalDep, readable_layer
from api.context import AppContext, get_context
from api.errors import ApiError, NotAuthenticated
from api.negotiation import negotiate
from api.ogc.bodies import read_json_body
from api.ogc.links import JSON, base_url, link, self_url
from api.ogc.params import check_known
from api.processes.descriptions import description, process_list
from api.processes.execute_request import InvalidExecuteRequest, parse_execute_request
from api.processes.job_list import job_filter
from api.processes.results import results_response, status_info
from api.processes.runner import JobRunner, run_sync
from layers.jobs import Job, get_job, list_jobs
from layers.principals import Principal

PLAIN = frozenset({"f", "lang"})
Ctx = Annotated[AppContext, Depends(get_context)]


class NoSuchProcess(ApiError):
    """404: no process with this id."""

    status = 404
    type_slug = "no-such-process"
    title = "No such process"


class NoSuchJob(ApiError):
    """404: no job with this id that the caller may see."""

    status = 404
    type_slug = "no-such-job"
    title = "No such job"


class ResultNotReady(ApiError):
    """404: the job has not finished yet."""

    status = 404
    type_slug = "result-not-ready"
    title = "The results are not ready"


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON, headers=headers)


def _wants_async(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(part.split(";")[0].strip().lower() == "respond-async" for part in prefer.split(","))


def runner_of(request: Request) -> JobRunner:
    """This app's job runner (made in the lifespan, :func:`api.processes.start_jobs`)."""
    runner: JobRunner = request.app.state.jobs
    return runner


async def visible_job(ctx: AppContext, principal: Principal, job_id: str) -> Job:
    """The job if it exists and the caller owns it (or is an admin); 404 otherwise."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise NoSuchJob(f"there is no job {job_id!r}") from None
    async with ctx.pool.acquire() as conn:
        job = await get_job(conn, job_id=key)
    if job is None or (job.owner != principal.name and not principal.is_admin):
        raise NoSuchJob(f"there is no job {job_id!r}")
    return job


def processes_router(processes: Mapping[str, ProcessDefinition] = PROCESSES) -> APIRouter:
    """The Processes routes over ``processes`` (looked up per request, so additions show at once)."""
    router = APIRouter(tags=["processes"])

    def definition_of(process_id: str) -> ProcessDefinition:
        found = processes.get(process_id)
        if found is None:
            raise NoSuchProcess(f"there is no process {process_id!r}")
        return found

    @router.get("/processes", summary="The processes (analyses) offered")
    async def list_processes(request: Request) -> Response:
        """Every process's summary."""
        check_known(request, PLAIN)
        negotiate(request, html=False)
        zh = request.query_params.get("lang") != "en"
        return _json(process_list(list(processes.values()), base_url(request), zh=zh))

    @router.get("/processes/{processId}", summary="A process's description")
    async def describe(processId: str, request: Request) -> Response:
        """Inputs, outputs and examples of one process."""
        check_known(request, PLAIN)
        negotiate(request, html=False)
        zh = request.query_params.get("lang") != "en"
        return _json(description(definition_of(processId), base_url(request), zh=zh))

    @router.post("/processes/{processId}/execution", summary="Execute a process (sync, or async with Prefer)")
    async def execute(processId: str, request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
        """Run the process now, or as a job with ``Prefer: respond-async`` (201 and its status)."""
        check_known(request, frozenset())
        definition = definition_of(processId)
        parsed = parse_execute_request(definition, await read_json_body(request, ctx.settings.api.max_body_bytes))
        try:
            layer_ids = definition.reads(parsed.inputs)
        except InvalidInput as exc:
            raise InvalidExecuteRequest(str(exc), input_name=exc.input_name) from None
        layers = [readable_layer(ctx, principal, layer_id) for layer_id in dict.fromkeys(layer_ids)]
        asynchronous = _wants_async(request)
        if asynchronous and principal.is_anonymous:
            raise NotAuthenticated("asynchronous jobs belong to a signed-in caller; sign in or run synchronously")
        job = await runner_of(request).submit(definition, parsed, principal) if asynchronous else None
        for layer in layers:
            note_read(request, ctx, layer, kind="process.execute", area=None, features=None,
                      detail={"process": definition.id, "job": str(job.id) if job else None,
                              "inputs": orjson.dumps(parsed.inputs).decode()[:500]})
        if job is not None:
            base = base_url(request)
            return _json(status_info(job, base), 201, {"Location": f"{base}/jobs/{job.id}",
                                                       "Preference-Applied": "respond-async"})
        results = await run_sync(ctx, definition, parsed.inputs, principal)
        return results_response(definition, results, response=parsed.response, wanted=parsed.outputs)

    @router.get("/jobs", summary="Your jobs (every job, for admins)")
    async def jobs(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
        """The caller's jobs, newest first, filtered as the job-list parameters say."""
        negotiate(request, html=False)
        where, limit, offset = job_filter(request, principal)
        async with ctx.pool.acquire() as conn:
            found = await list_jobs(conn, where=where, limit=limit + 1, offset=offset)
        base = base_url(request)
        links = [link(self_url(request), "self", JSON, "this document")]
        if len(found) > limit:
            links.append(link(self_url(request, offset=str(offset + limit)), "next", JSON, "next page"))
        return _json({"jobs": [status_info(j, base) for j in found[:limit]], "links": links})

    @router.get("/jobs/{jobId}", summary="A job's status")
    async def job_status(jobId: str, request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
        """Status, progress and links of one of the caller's jobs."""
        check_known(request, frozenset({"f"}))
        negotiate(request, html=False)
        return _json(status_info(await visible_job(ctx, principal, jobId), base_url(request)))

    @router.delete("/jobs/{jobId}", summary="Dismiss a job")
    async def dismiss(jobId: str, request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
        """Cancel the job if it runs, drop its results, and mark it dismissed."""
        check_known(request, frozenset())
        job = await visible_job(ctx, principal, jobId)
        dismissed = await runner_of(request).dismiss(job.id)
        return _json(status_info(dismissed or job, base_url(request)))

    @router.get("/jobs/{jobId}/results", summary="A job's results")
    async def job_results(jobId: str, request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
        """The outputs of a successful job, raw or as a document as its execute request asked."""
        check_known(request, frozenset({"f"}))
        job = await visible_job(ctx, principal, jobId)
        if job.status == "failed":
            failure = dict(job.failure or {"status": 422, "detail": job.message})
            status = int(failure.pop("status", 422))
            raise JobFailed(failure.pop("detail", job.message or "the job failed"), status=status, extra={
                k: v for k, v in failure.items() if k in ("input", "incident")})
        if job.status == "dismissed":
            raise NoSuchJob(f"the job {jobId} was dismissed; its results are gone")
        if job.status != "successful" or job.results is None:
            raise ResultNotReady(f"the job {jobId} is {job.status}; poll /jobs/{jobId} until it is successful")
        definition = processes.get(job.process_id) or ProcessDefinition(
            id=job.process_id, title="", description="", version="", inputs={}, outputs={},
            reads=lambda _i: [], run=_gone)
        return results_response(definition, job.results, response=job.response, wanted=job.outputs)

    return router


async def _gone(*_args: Any) -> dict[str, Any]:
    raise RuntimeError("the process is no longer offered")


class JobFailed(ApiError):
    """The failed job's own problem (400 for bad input, 422 for a failed analysis, 503 for an outage)."""

    type_slug = "job-failed"
    title = "The job failed"

    def __init__(self, detail: str, *, status: int, extra: dict[str, Any]) -> None:
        super().__init__(detail, extra=extra)
        self.status = status
