"""What a job adds to the generic engine, registered by job name (pygeoapi-style: name → dotted paths).

Most jobs import into one layer and need nothing here.

Check hooks run after the generic set-based checks, on the same :class:`~ingest.staged.CheckView`;
each is an ``async`` function taking the view and putting what it rejects in ``view.found``
(through :meth:`~ingest.staged.CheckView.drop`). Adding a job's checks is one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from ingest.staged import CheckView

CheckHook = Callable[[CheckView], Awaitable[None]]

CHECK_HOOKS: dict[str, tuple[str, ...]] = {
    "pipelines": ("ingest.topology.check_topology",),
}
# Jobs whose tables are pipeline parts (points, segments), each row routed to its category's layer
# (:mod:`ingest.routing`) instead of one target layer.
ROUTED_JOBS: frozenset[str] = frozenset({"pipelines"})


def check_hooks(job: str) -> list[CheckHook]:
    """The check hooks of ``job``, imported by their dotted paths (none for most jobs)."""
    out: list[CheckHook] = []
    for dotted in CHECK_HOOKS.get(job, ()):
        module, _, name = dotted.rpartition(".")
        out.append(getattr(importlib.import_module(module), name))
    return out
