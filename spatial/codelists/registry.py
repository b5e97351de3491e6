"""Every code list by name, for layer schemas to refer to."""

from __future__ import annotations

from spatial.codelists import admin, buildings, cjj61, grid, landuse
from spatial.codelists.base import CodeList

CODELISTS: dict[str, CodeList] = {
    cl.name: cl
    for cl in [
        *cjj61.ALL,
        admin.CHANGSHA,
        grid.COMPONENT_MAJOR,
        grid.COMPONENT_MINOR,
        grid.COMPONENT_STATE,
        landuse.YDYH_2023,
        landuse.GBT21010_2017,
        landuse.SCHEME,
        buildings.USE,
    ]
}


def get_codelist(name: str) -> CodeList:
    """The code list called ``name``; KeyError names the known lists."""
    try:
        return CODELISTS[name]
    except KeyError:
        raise KeyError(f"unknown code list {name!r}; known: {', '.join(sorted(CODELISTS))}") from None
