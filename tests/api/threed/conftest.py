"""3D tile API tests share the fixture city and one app per module."""

from tests.cityfixtures import app, city, client  # noqa: F401 - fixtures
