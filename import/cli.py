"""Dispatch ``<job>`` to ``import.jobs.<job>``. Each job module has ``main(argv) -> int``."""

from __future__ import annotations

import importlib
import pkgutil
import sys


def available_jobs() -> list[str]:
    """The job names: the modules of ``import.jobs``."""
    package = importlib.import_module("import.jobs")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    """Run ``onemap import <job> …``; returns the job's exit code (2 for an unknown job)."""
    jobs = available_jobs()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: onemap import <job> [options]\n\njobs:\n  " + "\n  ".join(jobs or ["(none yet)"]))
        return 0 if argv else 2
    job, rest = argv[0], argv[1:]
    if job not in jobs:
        print(f"error: unknown import job {job!r}; available: {', '.join(jobs) or 'none'}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"import.jobs.{job}")
    code: int = module.main(rest)
    return code
