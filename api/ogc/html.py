"""HTML pages for people: Jinja2 templates in api/templates, zh/en, every asset from our server."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from api.negotiation import wants_lang
from api.ogc.links import base_url
from layers.json_schema import TIME_COLUMNS, SystemProperty
from layers.model import Layer
from layers.schema import FieldDef

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _tojson(value: Any) -> Markup:
    # Safe inside <script type="application/json">: no "</" can close the element.
    return Markup(orjson.dumps(value).decode().replace("</", "<\\/"))


@cache
def environment() -> Environment:
    """The Jinja2 environment over api/templates (built once per process)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["tojson_script"] = _tojson
    return env


def columns(layer: Layer) -> list[FieldDef | SystemProperty]:
    """Columns of a feature table: the schema fields, then valid time (as the properties carry it)."""
    return [*layer.attributes.fields, *TIME_COLUMNS]


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` in the caller's language with the base URL and principal in scope."""
    lang = wants_lang(request)
    principal = getattr(request.state, "principal", None)
    page = (
        environment()
        .get_template(template)
        .render(
            lang=lang,
            zh=lang == "zh",
            base=base_url(request),
            request=request,
            principal=principal,
            **context,
        )
    )
    return HTMLResponse(page, status_code=status, headers=headers)
