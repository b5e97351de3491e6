"""The pages' own files (ES modules, stylesheets, icons) served from a package folder.

The web map, the 3D viewer and the case pages each keep their files beside their routes; this is
the one guarded lookup they share: only a plain file of a listed type inside the folder, never a
path that resolves outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from fastapi.responses import FileResponse

from api.errors import ApiError

# Pages and their modules change with every release and are small: revalidate, don't cache blindly.
NO_CACHE = {"Cache-Control": "no-cache"}


def page_file(folder: Path, name: str, types: Mapping[str, str], not_found: Callable[[str], ApiError]) -> FileResponse:
    """``folder/name`` with its media type from ``types`` (by suffix), or ``not_found(name)`` raised."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder) or not path.is_file() or path.suffix not in types:
        raise not_found(name)
    return FileResponse(path, media_type=types[path.suffix] + "; charset=utf-8", headers=NO_CACHE)
