"""The 数字城管 JSON API (issue 11): reports, actions, queue, detail, codes, statistics, live feed.

Pages live in ``api/cases_pages``; the domain (and every statement) in :mod:`cases`.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.cases.errors import install_case_error_handler
from api.cases.events import router as events_router
from api.cases.events import stop_case_feed
from api.cases.reports import router as reports_router
from api.cases.routes import router as routes_router
from api.cases.stats import router as stats_router

__all__ = ["cases_routers", "install_case_error_handler", "stop_case_feed"]


def cases_routers() -> list[APIRouter]:
    """Every /cases router; mount them before the Features routers (Part 4 POST to city_cases is here)."""
    return [reports_router, routes_router, stats_router, events_router]
