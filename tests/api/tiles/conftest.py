"""Tile, style and map API tests share one fixture city and one app per module."""

from tests.cityfixtures import app, city, client  # noqa: F401 - fixtures
