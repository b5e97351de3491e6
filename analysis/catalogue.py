"""Every process One Map offers, by id (the plugin table: one module, one line)."""

from __future__ import annotations

from analysis.contract import ProcessDefinition

PROCESSES: dict[str, ProcessDefinition] = {}
