"""ASGI entry for uvicorn workers: ``uvicorn --factory api.asgi:app``."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app


def app() -> FastAPI:
    """The app built from the environment's settings (for `uvicorn --factory api.asgi:app`)."""
    return create_app()
