"""Errors raised by :mod:`layers`. Each carries an HTTP status, a type slug and a safe title."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class LayerError(Exception):
    """Base class. ``str(exc)`` is safe to show to the caller; it never holds SQL."""

    status: int = 400
    type_slug: str = "layer-error"
    title: str = "Layer error"


class DatabaseUnavailable(LayerError):
    """The database cannot be reached; the API answers 503."""
    status = 503
    type_slug = "database-unavailable"
    title = "The database is not reachable"


class PostgisMissing(LayerError):
    """The database server lacks the PostGIS extension; the API answers 503."""
    status = 503
    type_slug = "postgis-missing"
    title = "PostGIS is not installed on the database server"


class ClusterError(LayerError):
    """The private PostgreSQL cluster cannot be created, started or stopped."""
    status = 500
    type_slug = "cluster-error"
    title = "The private PostgreSQL cluster cannot be used"


class UnknownLayer(LayerError):
    """No layer has this id; the API answers 404."""
    status = 404
    type_slug = "unknown-collection"
    title = "No such collection"


class LayerExists(LayerError):
    """A layer with this id is already registered; the API answers 409."""
    status = 409
    type_slug = "layer-exists"
    title = "A layer with this id already exists"


class InvalidLayerDefinition(LayerError):
    """A layer definition breaks the registry's rules; the API answers 422."""
    status = 422
    type_slug = "invalid-layer-definition"
    title = "The layer definition is not valid"


class FeatureNotFound(LayerError):
    """No feature has this id in the layer, in any version; the API answers 404."""
    status = 404
    type_slug = "feature-not-found"
    title = "No such feature"


class FeatureRetired(LayerError):
    """The feature existed but has been retired; the API answers 410 Gone."""

    status = 410
    type_slug = "feature-retired"
    title = "The feature has been retired"


class VersionConflict(LayerError):
    """The caller's expected version is not the current one (lost-update guard)."""

    status = 412
    type_slug = "version-conflict"
    title = "The feature has changed since you read it"

    def __init__(self, detail: str, *, conflicts: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        # What a conflict view needs: per edit, the ETag sent and the current version (a changeset fills it).
        self.conflicts = conflicts or []


class OvertakenByNewerWrite(LayerError):
    """Our transaction began before the version it must replace was written (a concurrent edit).

    Its ``now()`` (valid and transaction time by default) would end that version before it
    began, so the whole transaction must run again; :func:`layers.versioning.in_own_transaction`
    does that. The API answers 409 only if the feature stays that busy through every retry.
    """

    status = 409
    type_slug = "concurrent-edits"
    title = "The feature is being edited by others; try again"


class InvalidValidTime(LayerError):
    """A write would end or start a version before its predecessor began; the API answers 409."""
    status = 409
    type_slug = "invalid-valid-time"
    title = "The valid time would rewrite history"


class TopologyConflict(LayerError):
    """A pipe point cannot be retired (or renumbered) while current segments end at it; 409."""

    status = 409
    type_slug = "topology"
    title = "The pipe network would lose a connection"

    def __init__(self, detail: str, *, segments: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.segments = segments  # [{"collection", "id", "point": "start"|"end"}]


class UndoConflict(LayerError):
    """Undoing a changeset would discard later edits of the same features (unless forced); 409."""

    status = 409
    type_slug = "undo-conflict"
    title = "Features were edited again after this changeset"

    def __init__(self, detail: str, *, features: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.features = features  # [{"collection", "id", "version", "changeset"}]


class ChangesetNotFound(LayerError):
    """No changeset has this id (or none the caller may see); 404."""

    status = 404
    type_slug = "changeset-not-found"
    title = "No such changeset"


class InvalidEdit(LayerError):
    """A changeset or bulk edit request that is malformed (not a validation failure); 400."""

    status = 400
    type_slug = "invalid-edit"
    title = "The edit request is malformed"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one attribute (or the geometry, with ``field='geometry'``).

    ``location`` is the lon/lat (EPSG:4490 ≈ CRS84 degrees) of a geometry defect when known;
    ``index`` is the position of the edit in a changeset.
    """

    field: str
    code: str
    message: str
    location: tuple[float, float] | None = None
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The error as the JSON object problem+json responses list."""
        out: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.location is not None:
            out["location"] = list(self.location)
        if self.index is not None:
            out["index"] = self.index
        return out


@dataclass
class ValidationFailed(LayerError):
    """Feature attributes or geometry failed the registry schema; holds every field error."""

    errors: list[FieldError] = field(default_factory=list)
    status = 422
    type_slug = "validation-failed"
    title = "The feature does not match the layer schema"

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors) or "validation failed"
