"""Style API tests run the real app on the fixture city."""

from tests.cityfixtures import app, city, client  # noqa: F401 - fixtures
