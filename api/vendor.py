"""Front-end libraries installed by npm, served from our own server under ``/vendor``.

Government intranets have no internet, so no page may load a CDN. Only packages
listed in package.json are exposed, and only their files (no directory listing,
no path escapes).
"""

from __future__ import annotations

import json
import mimetypes
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import FileResponse

from api.errors import ApiError

mimetypes.add_type("application/javascript", ".mjs")
mimetypes.add_type("application/x-protobuf", ".pbf")
_SKIP = {"package.json"}


class VendorNotFound(ApiError):
    status = 404
    type_slug = "vendor-file-not-found"
    title = "No such front-end file"


@cache
def allowed_packages(project_root: Path) -> frozenset[str]:
    """The npm packages package.json names: the only ones /vendor serves."""
    manifest = json.loads((project_root / "package.json").read_text())
    return frozenset(manifest.get("dependencies", {}))


def vendor_router(node_modules: Path) -> APIRouter:
    """Routes serving the npm front-end libraries from ``node_modules`` under ``/vendor``, offline."""
    router = APIRouter(include_in_schema=False)
    root = node_modules.resolve()

    @router.get("/vendor/{path:path}")
    async def vendor_file(path: str, request: Request) -> FileResponse:
        packages = allowed_packages(root.parent)
        parts = path.split("/")
        package = "/".join(parts[:2]) if parts and parts[0].startswith("@") else parts[0]
        if package not in packages:
            raise VendorNotFound(f"{package!r} is not a front-end package One Map ships")
        target = (root / path).resolve()
        if not target.is_relative_to(root / package) or not target.is_file() or target.name in _SKIP:
            raise VendorNotFound(f"no file {path!r}")
        return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})

    return router
