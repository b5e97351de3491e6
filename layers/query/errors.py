"""Errors for bad query parameters; the API answers them with problem+json 400."""

from __future__ import annotations

from layers.errors import LayerError


class InvalidQuery(LayerError):
    """A query parameter cannot be used as given. ``parameter`` names it for the caller."""

    status = 400
    type_slug = "invalid-parameter"
    title = "Invalid query parameter"

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class InvalidFilter(InvalidQuery):
    """400: the CQL2 filter cannot be parsed or does not type-check against the queryables."""

    type_slug = "invalid-filter"
    title = "Invalid filter expression"


class UnknownProperty(InvalidQuery):
    """400: a filter, sortby or properties name the layer does not have."""

    type_slug = "unknown-property"
    title = "Unknown property"


class InvalidCursor(InvalidQuery):
    """400: a cursor that is forged, damaged or belongs to another query."""

    type_slug = "invalid-cursor"
    title = "Invalid or expired paging cursor"
