"""Case settings (env prefix ``ONEMAP_CASES_``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CaseSettings(BaseSettings):
    """Limits on what a report may carry, and the live feed's rhythm.

    Attributes:
        max_photo_bytes: Largest photo accepted (bytes, before EXIF is stripped).
        max_photos: Photos one request may carry.
        max_photo_pixels: Largest decoded image (width × height); guards against decompression bombs.
        heartbeat_s: Seconds between the live feed's comment heartbeats.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_CASES_", extra="ignore")

    max_photo_bytes: Annotated[int, Field(gt=0)] = 10 * 1024 * 1024
    max_photos: Annotated[int, Field(gt=0, le=50)] = 6
    max_photo_pixels: Annotated[int, Field(gt=0)] = 50_000_000
    heartbeat_s: Annotated[float, Field(gt=0)] = 15.0
