"""The interface between an analysis and the Processes API that runs it.

An analysis module describes itself with a :class:`ProcessDefinition` (its OGC API
Processes description, as plain JSON-able data, plus an async ``run``), and
``analysis.catalogue.PROCESSES`` lists them by id. ``api/`` turns a definition into
``/processes/{id}``, runs it synchronously or as a job, and checks access with
:meth:`ProcessDefinition.reads` *before* running: a caller who may not read one of the
layers a request reads gets 404, exactly as for ``/collections/{id}``.

Geometry inputs and outputs are GeoJSON in CRS84 (lon/lat degrees); lengths, depths and
distances are metres.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

JSON = dict[str, Any]


class InvalidInput(ValueError):
    """Bad input: answered as 400 problem+json naming the input (``input``) and what was wrong."""

    def __init__(self, input_name: str, detail: str) -> None:
        super().__init__(f"{input_name}: {detail}")
        self.input_name = input_name
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ProcessContext:
    """What a running analysis may use.

    ``readable(layer_id)`` says whether the caller may read a layer: results must never
    contain features of a layer it may not read. ``progress(percent, message)`` reports
    progress of an asynchronous job (a no-op when synchronous).
    """

    pool: asyncpg.Pool
    readable: Callable[[str], bool]
    progress: Callable[[int, str], Awaitable[None]]
    settings: Mapping[str, Any] = field(default_factory=dict)


Run = Callable[[ProcessContext, JSON], Awaitable[JSON]]


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """One process: its OGC API Processes description and how to run it.

    ``inputs``/``outputs`` map names to the Part 1 input/output descriptions (``title``,
    ``description``, ``schema``, ``minOccurs``/``maxOccurs`` …). ``examples`` are
    execute-request bodies shown in the description and used by the tests.
    ``reads(inputs)`` names the layer ids one request reads (for the access check);
    it must not touch the database and raises :class:`InvalidInput` on bad input.
    ``run`` returns a dict from output name to value (GeoJSON, numbers, text, SVG).
    """

    id: str
    title: str
    description: str
    version: str
    inputs: JSON
    outputs: JSON
    reads: Callable[[JSON], list[str]]
    run: Run
    examples: list[JSON] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    title_zh: str = ""
    description_zh: str = ""
