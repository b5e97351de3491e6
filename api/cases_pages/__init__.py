"""The 数字城管 pages (issue 11): report, console, task and verify lists, dashboard.

Only pages and their static files live here; they talk to the JSON API in ``api/cases``.
"""

from api.cases_pages.routes import cases_pages_router

__all__ = ["cases_pages_router"]
