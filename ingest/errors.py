"""Errors that stop a delivery before any row is judged (unreadable file, unknown profile …)."""

from __future__ import annotations

from layers.errors import LayerError


class IngestError(LayerError):
    """Base class: the delivery cannot be read or mapped as asked. ``str()`` says how to fix it."""

    status = 422
    type_slug = "ingest-error"
    title = "The delivery cannot be imported"


class UnreadableSource(IngestError):
    """A delivery file is missing, of an unknown format, or cannot be read."""

    type_slug = "unreadable-source"
    title = "The delivery file cannot be read"


class ProfileError(IngestError):
    """A mapping profile is invalid, unknown, or names fields or columns that do not exist."""

    type_slug = "mapping-profile"
    title = "The mapping profile does not fit the delivery"


class TargetError(IngestError):
    """No layer can take the delivery (none given, a raster layer, a category nobody can tell …)."""

    type_slug = "import-target"
    title = "The delivery has no layer to go to"
