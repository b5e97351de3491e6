"""Tile settings (env prefix ``ONEMAP_TILE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class TileSettings(BaseSettings):
    """How tiles are cut, sized and cached.

    Attributes:
        extent: MVT coordinate extent of one tile (4096 is what MapLibre and GDAL expect).
        buffer: MVT buffer in extent units around each tile, so strokes and labels meet across edges.
        max_tile_bytes: Hard ceiling on one tile; generalisation tightens until a tile fits.
        full_attributes_zoom: From this zoom on, tiles carry every attribute; below it only what
            the layer's style uses (identify fetches the rest from the Features API).
        memory_cache_bytes: Per-process in-memory tile cache size; 0 turns caching off.
        disk_cache: Keep default (current-state) tiles on disk under ``cache_dir``, shared by
            every worker and filled by ``onemap tiles seed``.
        cache_dir: Where the disk tier lives; defaults to ``<var_dir>/tiles``.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_TILE_", extra="ignore")

    extent: int = 4096
    buffer: int = 64
    max_tile_bytes: int = 500_000
    full_attributes_zoom: int = 16
    memory_cache_bytes: int = 256 * 1024 * 1024
    disk_cache: bool = True
    cache_dir: Path | None = None

    def resolved_cache_dir(self, var_dir: Path) -> Path:
        """The disk tier's folder: ``cache_dir``, or ``<var_dir>/tiles``."""
        return self.cache_dir if self.cache_dir is not None else var_dir / "tiles"
