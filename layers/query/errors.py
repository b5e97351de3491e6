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


class FilterTooComplex(InvalidFilter):
    """400: the filter is longer, deeper or has more terms than the configured limits allow.

    ``limit`` names the setting (``ONEMAP_FILTER_MAX_DEPTH`` …) and ``maximum`` its value, so a
    client sees what to shorten and an operator what to raise.
    """

    type_slug = "filter-too-complex"
    title = "Filter too large or too complex"

    def __init__(self, message: str, *, limit: str, maximum: int) -> None:
        super().__init__(message, parameter="filter")
        self.limit = limit
        self.maximum = maximum
