"""``/fonts/{fontstack}/{range}.pbf``: the SDF glyphs our styles label with, from our own npm copy."""

from __future__ import annotations

from pathlib import Path as FsPath

from fastapi import APIRouter
from starlette.responses import FileResponse

from api.errors import ApiError
from api.tiles.dependencies import CtxDep

GLYPH_PACKAGE = "tileserver-gl-styles"
FALLBACK_FONT = "Noto Sans Regular"
router = APIRouter(tags=["styles"])


class GlyphsNotFound(ApiError):
    """404: the font range is malformed or not installed."""

    status = 404
    type_slug = "glyphs-not-found"
    title = "No such glyph range"


def _check_range(fontrange: str) -> None:
    parts = fontrange.split("-")
    if (
        len(parts) != 2
        or not all(p.isdigit() for p in parts)
        or int(parts[0]) % 256
        or int(parts[1]) != int(parts[0]) + 255
        or int(parts[1]) > 65535
    ):
        raise GlyphsNotFound(f"{fontrange!r} is not a 256-glyph range such as 0-255")


@router.get("/fonts/{fontstack}/{fontrange}.pbf", summary="SDF glyphs for map labels", include_in_schema=False)
async def glyphs(fontstack: str, fontrange: str, ctx: CtxDep) -> FileResponse:
    """One 256-glyph range of the first font of ``fontstack`` we have (browsers draw CJK themselves)."""
    root = (FsPath(ctx.settings.api.node_modules_dir) / GLYPH_PACKAGE / "fonts").resolve()
    _check_range(fontrange)
    # A stack names fallbacks; serve the first font we have (CJK is drawn by the browser's own fonts).
    for font in [*fontstack.split(","), FALLBACK_FONT]:
        path = (root / font.strip() / f"{fontrange}.pbf").resolve()
        if path.is_relative_to(root) and path.is_file():
            return FileResponse(
                path, media_type="application/x-protobuf", headers={"Cache-Control": "public, max-age=604800"}
            )
    raise GlyphsNotFound(f"no glyphs for {fontstack!r}; run scripts/bootstrap.sh to install them")
