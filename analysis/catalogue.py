"""Every process One Map offers, by id (the plugin table: one module, one line)."""

from __future__ import annotations

from analysis.contract import ProcessDefinition
from analysis.processes import building_stats, clearance, excavation, isolation, profile, section, trace

PROCESSES: dict[str, ProcessDefinition] = {
    p.id: p
    for p in (
        trace.PROCESS,
        isolation.PROCESS,
        excavation.PROCESS,
        section.PROCESS,
        profile.PROCESS,
        clearance.PROCESS,
        building_stats.PROCESS,
    )
}
