"""ASGI entry for uvicorn workers: ``uvicorn --factory api.asgi:app``."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app


def app() -> FastAPI:
    return create_app()
