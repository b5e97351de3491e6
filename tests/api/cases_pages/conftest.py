"""Fixtures of the case page tests: the fixture city (grid cells, components), its app and client."""

from tests.cityfixtures import app, city, client  # noqa: F401 - fixtures
