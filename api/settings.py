"""API settings (env prefix ``ONEMAP_``) and the composite settings ``create_app`` takes."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cases.settings import CaseSettings
from feed.settings import FeedSettings
from layers.query.limits import DEFAULT_MAX_CHARS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_TERMS, DEPTH_CEILING, FilterLimits
from layers.settings import AuditSettings, DatabaseSettings
from tiles.settings import TileSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ApiSettings(BaseSettings):
    """How the web service behaves.

    Attributes:
        env: ``dev`` generates and keeps a local secret; ``prod`` refuses to start without one.
        secret_key: Signs session tokens (JWT). Required outside dev/test.
        data_dir: The sample data folder with the real Changsha data (``sample/data`` in the repository).
        node_modules_dir: Where npm installed MapLibre and friends; served under /vendor.
        sign_in_max_failures: Failed password checks (sign-in form and HTTP Basic alike) within
            ``sign_in_failure_window_minutes`` that lock a name; 0 turns lock-out off.
        sign_in_failure_window_minutes: The window those failures are counted in.
        sign_in_lockout_minutes: How long a first lock lasts; each further lock without a successful
            sign-in in between lasts twice as long, up to ``sign_in_max_lockout_minutes``.
        sign_in_max_lockout_minutes: The longest lock the backoff reaches.
        password_min_length: The shortest password ``onemap user create``/``password`` accept.
        basic_auth_cache_seconds: How long a verified HTTP Basic name and password skips Argon2
            (QGIS sends them with every page and tile); 0 verifies every request.
        workers: Worker processes ``onemap serve`` and ``onemap demo`` run under uvicorn's
            supervisor, which replaces a worker that dies (a crash in a native library).
        filter_max_chars / filter_max_depth / filter_max_terms: Bounds on a CQL2 filter (items,
            tiles), checked before it is parsed; see :class:`layers.query.limits.FilterLimits`.
            Depth is capped at 16: cql2's parser backtracks exponentially in brackets on a bad filter.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    public_url: str | None = None
    secret_key: SecretStr | None = None
    token_ttl_minutes: int = 480
    default_limit: int = 10
    max_limit: int = 10_000
    max_body_bytes: int = 10 * 1024 * 1024
    exact_count_max_rows: int = 200_000
    data_dir: Path = PROJECT_ROOT / "sample" / "data"
    node_modules_dir: Path = PROJECT_ROOT / "node_modules"
    log_level: str = "info"
    sign_in_max_failures: Annotated[int, Field(ge=0)] = 5
    sign_in_failure_window_minutes: Annotated[int, Field(ge=1)] = 15
    sign_in_lockout_minutes: Annotated[int, Field(ge=1)] = 15
    basic_auth_cache_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    sign_in_max_lockout_minutes: Annotated[int, Field(ge=1)] = 24 * 60
    password_min_length: Annotated[int, Field(ge=8, le=128)] = 12
    filter_max_chars: Annotated[int, Field(ge=100, le=1_000_000)] = DEFAULT_MAX_CHARS
    filter_max_depth: Annotated[int, Field(ge=4, le=DEPTH_CEILING)] = DEFAULT_MAX_DEPTH
    filter_max_terms: Annotated[int, Field(ge=10, le=50_000)] = DEFAULT_MAX_TERMS

    @model_validator(mode="after")
    def _safe(self) -> ApiSettings:
        """Refuse a production start without a real secret, and a default page above the maximum."""
        if self.env == "prod" and (self.secret_key is None or len(self.secret_key.get_secret_value()) < 32):
            raise ValueError("ONEMAP_SECRET_KEY must be set (32+ characters) when ONEMAP_ENV=prod")
        if self.default_limit > self.max_limit:
            raise ValueError("default_limit cannot exceed max_limit")
        return self

    def filter_limits(self) -> FilterLimits:
        """The CQL2 filter bounds, for :func:`layers.query.cql2.parse`."""
        return FilterLimits(self.filter_max_chars, self.filter_max_depth, self.filter_max_terms)

    def signing_key(self, var_dir: Path) -> str:
        """The JWT key: configured, or (dev/test) a random one kept in ``var/secret_key``.

        Several workers start at once and must agree on the key (a token signed by one is checked
        by another), so the file is created whole and exactly once: written under a private name,
        then linked into place, which fails if another worker got there first; then read back.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another worker's key won; use it
            finally:
                draft.unlink()
        return path.read_text().strip()


@dataclass
class Settings:
    """Everything ``create_app`` needs; tests build their own instead of touching the environment."""

    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    tiles: TileSettings = field(default_factory=TileSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    cases: CaseSettings = field(default_factory=CaseSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)


def load_settings() -> Settings:
    """Settings from the environment (``ONEMAP_*``), one class per package."""
    return Settings(db=DatabaseSettings(), api=ApiSettings(), tiles=TileSettings(), audit=AuditSettings(),
                    cases=CaseSettings(), feed=FeedSettings())
