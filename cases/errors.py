"""Errors raised by :mod:`cases`. They are :class:`~layers.errors.LayerError` subclasses, so the API
maps them to problem+json in the one place it maps every layer error."""

from __future__ import annotations

from layers.errors import LayerError


class CaseError(LayerError):
    """Base class; ``str(exc)`` is safe to show."""

    status = 400
    type_slug = "case-error"
    title = "Case error"


class CaseNotFound(CaseError):
    """No such case, or one the caller may not see (404 either way, so existence does not leak)."""

    status = 404
    type_slug = "case-not-found"
    title = "No such case"


class IllegalTransition(CaseError):
    """The action is not allowed from the case's current state."""

    status = 409
    type_slug = "illegal-transition"
    title = "This action is not allowed in the case's current state"


class ActionForbidden(CaseError):
    """The caller's roles may not take this action."""

    status = 403
    type_slug = "action-forbidden"
    title = "Your role may not take this action"


class InvalidReport(CaseError):
    """A report or an action body that cannot become a case (bad class, no point …)."""

    status = 400
    type_slug = "invalid-report"
    title = "The report cannot be filed"


class OutsideGrid(CaseError):
    """The report's point lies outside every unit grid cell."""

    status = 400
    type_slug = "outside-grid"
    title = "The point is outside every unit grid cell"


class InvalidAttachment(CaseError):
    """A photo of a type we do not take, or one that cannot be decoded."""

    status = 415
    type_slug = "invalid-attachment"
    title = "The photo cannot be accepted"


class AttachmentTooLarge(CaseError):
    """A photo over the size limit."""

    status = 413
    type_slug = "attachment-too-large"
    title = "The photo is too large"


class CaseChanged(CaseError):
    """If-Match named a version that is no longer current."""

    status = 412
    type_slug = "case-changed"
    title = "The case changed since you read it"
