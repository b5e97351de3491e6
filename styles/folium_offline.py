"""folium maps that load nothing from the internet.

folium links its JavaScript and CSS (Leaflet, jQuery, Bootstrap, Font Awesome,
Leaflet.awesome-markers …) from public CDNs, which a city intranet cannot reach.
This module swaps every such asset, by folium's own asset *name*, for our npm copy:

* ``mode="served"``: ``<script src="/vendor/<npm-package>/<path>">`` links, answered
  by ``api/vendor.py`` from ``node_modules`` (pages served by One Map).
* ``mode="inline"``: the file text itself, with every ``url(…)`` a CSS file refers
  to (fonts, marker sprites) turned into a ``data:`` URI, so an HTML file opened
  from disk — an import report — needs nothing else at all.

An asset name we do not know (a folium plugin we have not mapped) is refused
rather than left pointing at a CDN, and :func:`render_offline` re-checks the
finished HTML for any reference to another host.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from branca.element import CssLink, Element, Figure, JavascriptLink
from markupsafe import Markup

Mode = Literal["served", "inline"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENDOR_URL = "/vendor"


@dataclass(frozen=True, slots=True)
class Asset:
    """One front-end file from an npm package listed in package.json."""

    package: str
    path: str
    kind: Literal["js", "css"]

    @property
    def rel(self) -> str:
        """The asset's path under ``node_modules`` (and ``/vendor``)."""
        return f"{self.package}/{self.path}"


# folium's asset names (folium.folium._default_js/_default_css, folium.map.Icon …) → our npm copies.
ASSETS: dict[str, Asset] = {
    "leaflet": Asset("leaflet", "dist/leaflet.js", "js"),
    "leaflet_css": Asset("leaflet", "dist/leaflet.css", "css"),
    "jquery": Asset("jquery", "dist/jquery.min.js", "js"),
    "bootstrap": Asset("bootstrap", "dist/js/bootstrap.bundle.min.js", "js"),
    "bootstrap_css": Asset("bootstrap", "dist/css/bootstrap.min.css", "css"),
    "glyphicons_css": Asset("glyphicons-only-bootstrap", "css/bootstrap.min.css", "css"),
    "awesome_markers": Asset("leaflet.awesome-markers", "dist/leaflet.awesome-markers.js", "js"),
    "awesome_markers_css": Asset("leaflet.awesome-markers", "dist/leaflet.awesome-markers.css", "css"),
    "awesome_markers_font_css": Asset("@fortawesome/fontawesome-free", "css/all.min.css", "css"),
}
# Inline, Font Awesome's all.min.css would embed every font up to three times (its v4/v5
# aliases); the core stylesheet plus the one style per icon prefix in use is enough.
_FA_CORE = "css/fontawesome.min.css"
_FA_STYLES = {
    "fa": "css/solid.min.css",
    "fas": "css/solid.min.css",
    "far": "css/regular.min.css",
    "fab": "css/brands.min.css",
}
# folium's rotate stylesheet is a folium file, not an npm package; we write the few rules ourselves.
ROTATE_CSS = "awesome_rotate_css"
_DEFAULT_ICON = "leaflet_default_icon"
ICON_ASSETS = frozenset(
    {"awesome_markers", "awesome_markers_css", "awesome_markers_font_css", "glyphicons_css", ROTATE_CSS}
)
# No folium core feature needs Bootstrap; lean pages leave it out (popups may still use its classes).
BOOTSTRAP_ASSETS = frozenset({"bootstrap", "bootstrap_css"})

_FONT_MIME = {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_SRC_DECL = re.compile(r"src\s*:[^;}]*;?")
_SOURCE_MAP = re.compile(r"/[/*]#\s*sourceMappingURL=[^\s*]+(\s*\*/)?")
_ROTATE_CLASS = re.compile(r"fa-rotate-(\d{1,3})")
# What a browser fetches by itself: script/img/iframe sources, stylesheet links, CSS urls and
# imports, tile templates. Plain <a href> links are not fetched, so they are not counted.
_EXTERNAL = re.compile(
    r"""(?:<(?:script|img|iframe|source|embed)\b[^>]*?\ssrc\s*=\s*["']?|<link\b[^>]*?\shref\s*=\s*["']?"""
    r"""|url\(\s*["']?|@import\s+(?:url\(\s*)?["']?|tileLayer(?:\.wms)?\(\s*["'])"""
    r"""(?:https?:)?//(?P<host>[^/"')\s>]+)""",
    re.IGNORECASE,
)


class OfflineAssetError(RuntimeError):
    """A map needs a front-end file One Map does not ship, or its HTML still refers to another host."""


def default_node_modules() -> Path:
    """``ONEMAP_NODE_MODULES_DIR`` (as the API reads it) or the project's ``node_modules``."""
    configured = os.environ.get("ONEMAP_NODE_MODULES_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "node_modules"


class _Raw(Element):
    """Literal HTML in the page header (Jinja must not read inlined library code as a template)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = Markup(html)

    def render(self, **kwargs: Any) -> str:
        return str(self.html)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _asset_file(node_modules: Path, asset: Asset) -> Path:
    path = node_modules / asset.package / asset.path
    if not path.is_file():
        raise OfflineAssetError(
            f"{path} is missing; run scripts/bootstrap.sh (npm install) so {asset.package} is installed"
        )
    return path


def _data_uri(path: Path) -> str:
    mime = _FONT_MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    mime = mime or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _woff2_only(css: str) -> str:
    """Keep only the woff2 source of each @font-face that has one (every supported browser reads it)."""

    def one_face(match: re.Match[str]) -> str:
        block = match.group(0)
        woff2 = next((u for _, u in _CSS_URL.findall(block) if u.split("?")[0].endswith(".woff2")), None)
        if woff2 is None:
            return block
        first = True

        def src(_: re.Match[str]) -> str:
            nonlocal first
            keep, first = first, False
            return f'src:url({woff2}) format("woff2");' if keep else ""

        return _SRC_DECL.sub(src, block)

    return _FONT_FACE.sub(one_face, css)


@cache
def _inline_css(path: Path, root: Path) -> str:
    css = _woff2_only(_SOURCE_MAP.sub("", path.read_text(encoding="utf-8")))

    def replace(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        if target.startswith(("data:", "#")):
            return match.group(0)
        if re.match(r"^[a-z]+:|^//", target, re.IGNORECASE):
            raise OfflineAssetError(f"{path.name} refers to {target}, outside this server")
        file = (path.parent / target.split("?")[0].split("#")[0]).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            raise OfflineAssetError(f"{path.name} refers to {target}, which is not in its npm package")
        return f"url({_data_uri(file)})"

    return _CSS_URL.sub(replace, css)


@cache
def _inline_js(path: Path) -> str:
    # A literal "</script" inside the library would end the element early.
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def _default_icon_js(node_modules: Path) -> str:
    """Leaflet finds its marker images through a CSS url(); data: URIs defeat that, so name them."""
    images = node_modules / "leaflet" / "dist" / "images"
    options = {
        "iconUrl": _data_uri(images / "marker-icon.png"),
        "iconRetinaUrl": _data_uri(images / "marker-icon-2x.png"),
        "shadowUrl": _data_uri(images / "marker-shadow.png"),
    }
    pairs = ", ".join(f'{k}: "{v}"' for k, v in options.items())
    return f"<script>L.Icon.Default.imagePath = ''; L.Icon.Default.mergeOptions({{{pairs}}});</script>"


def _rotate_css(angles: set[int]) -> str:
    rules = "".join(f".fa-rotate-{a}{{transform:rotate({a}deg);}}" for a in sorted(angles))
    return f"<style>{rules}</style>"


@dataclass
class _Needs:
    """What the page asked folium for, in folium's order, and which icon styles it uses."""

    js: list[str]
    css: list[str]
    angles: set[int]
    prefixes: set[str]


def _collect(root: Element) -> _Needs:
    needs = _Needs([], [], set(), set())
    for element in _walk(root):
        if hasattr(element, "default_js"):
            # Keep what folium asked for, so the map can be localised again (served, then inline).
            saved = element.__dict__.setdefault(
                "_onemap_assets", (list(element.default_js), list(getattr(element, "default_css", [])))
            )
            wanted_js, wanted_css = saved
            needs.js += [name for name, _url in wanted_js if name not in needs.js]
            needs.css += [name for name, _url in wanted_css if name not in needs.css]
            # Instance attributes shadow folium's class lists, which must stay untouched.
            element.__dict__.update(default_js=[], default_css=[])
        options = getattr(element, "options", None)
        if type(element).__name__ == "Icon" and isinstance(options, dict):
            needs.prefixes.add(str(options.get("prefix", "glyphicon")))
            for cls in str(options.get("extra_classes", "")).split():
                match = _ROTATE_CLASS.fullmatch(cls)
                if match:
                    needs.angles.add(int(match.group(1)) % 360)
    return needs


def _lean(needs: _Needs) -> _Needs:
    drop = set(BOOTSTRAP_ASSETS)
    if not needs.prefixes:
        drop |= ICON_ASSETS
    if not needs.prefixes & set(_FA_STYLES):
        drop.add("awesome_markers_font_css")
    if "glyphicon" not in needs.prefixes:
        drop.add("glyphicons_css")
    if not needs.angles:
        drop.add(ROTATE_CSS)
    return _Needs(
        [n for n in needs.js if n not in drop], [n for n in needs.css if n not in drop], needs.angles, needs.prefixes
    )


def _inline_asset(modules: Path, name: str, asset: Asset, needs: _Needs) -> str:
    pkg_root = (modules / asset.package).resolve()
    if asset.kind == "js":
        return f"<script>{_inline_js(_asset_file(modules, asset).resolve())}</script>"
    parts = [asset]
    if name == "awesome_markers_font_css":
        styles = sorted({_FA_STYLES[p] for p in needs.prefixes if p in _FA_STYLES}) or [_FA_STYLES["fa"]]
        parts = [Asset(asset.package, path, "css") for path in [_FA_CORE, *styles]]
    text = "\n".join(_inline_css(_asset_file(modules, part).resolve(), pkg_root) for part in parts)
    return f"<style>{text}</style>"


def localize(
    root: Element,
    *,
    mode: Mode,
    vendor_url: str = DEFAULT_VENDOR_URL,
    node_modules: Path | None = None,
    lean: bool | None = None,
) -> None:
    """Point every folium asset of ``root``'s page at our own copies. Call it just before rendering.

    Args:
        root: A ``folium.Map`` (or any element) already holding every layer it will show.
        mode: ``"served"`` for ``/vendor`` links, ``"inline"`` to embed the files.
        vendor_url: Where ``api/vendor.py`` is mounted (behind a proxy prefix, say so here).
        node_modules: Where npm installed the packages (default: :func:`default_node_modules`).
        lean: Leave out what the map does not use: marker-icon libraries and fonts when no
            ``folium.Icon`` needs them, and Bootstrap (no folium core feature needs it).
            Default: True inline (a report stays small), False served (browsers cache).

    Raises:
        OfflineAssetError: for an asset One Map does not ship, or a missing npm install.
    """
    figure = root.get_root()
    if not isinstance(figure, Figure):
        raise OfflineAssetError("the map must belong to a folium Figure (a folium.Map always does)")
    modules = (node_modules or default_node_modules()).resolve()
    needs = _collect(figure)
    if mode == "inline" if lean is None else lean:
        needs = _lean(needs)
    unknown = [n for n in [*needs.js, *needs.css] if n not in ASSETS and n != ROTATE_CSS]
    if unknown:
        raise OfflineAssetError(
            f"folium asset(s) {', '.join(unknown)} have no local copy; add the npm package to "
            "package.json and styles.folium_offline.ASSETS"
        )
    for stale in [*ASSETS, ROTATE_CSS, _DEFAULT_ICON]:
        figure.header._children.pop(stale, None)
    for name in [*needs.css, *needs.js]:
        if name == ROTATE_CSS:
            figure.header.add_child(_Raw(_rotate_css(needs.angles)), name=name)
            continue
        asset = ASSETS[name]
        if mode == "served":
            _asset_file(modules, asset)
            link = CssLink if asset.kind == "css" else JavascriptLink
            figure.header.add_child(link(f"{vendor_url}/{asset.rel}"), name=name)
            continue
        figure.header.add_child(_Raw(_inline_asset(modules, name, asset, needs)), name=name)
        if name == "leaflet":
            figure.header.add_child(_Raw(_default_icon_js(modules)), name=_DEFAULT_ICON)


def external_references(html: str) -> list[str]:
    """Hosts that ``html`` would fetch something from (scripts, styles, images, fonts, tiles)."""
    return sorted({m.group("host") for m in _EXTERNAL.finditer(html)})


def render_offline(
    root: Element,
    *,
    mode: Mode,
    vendor_url: str = DEFAULT_VENDOR_URL,
    node_modules: Path | None = None,
    lean: bool | None = None,
) -> str:
    """The page HTML of ``root`` with every asset local (see :func:`localize`).

    Raises:
        OfflineAssetError: when the page would still load anything from another host
            (e.g. a folium.Map created with an internet tile layer: use ``tiles=None``).
    """
    localize(root, mode=mode, vendor_url=vendor_url, node_modules=node_modules, lean=lean)
    html: str = root.get_root().render()
    hosts = external_references(html)
    if hosts:
        raise OfflineAssetError(f"the map would load from {', '.join(hosts)}; One Map pages must stay on this server")
    return html


def save_offline(root: Element, path: Path, *, mode: Mode = "inline", **kwargs: Any) -> Path:
    """Write ``root``'s page to ``path`` (UTF-8); inline by default so the file stands alone."""
    path.write_text(render_offline(root, mode=mode, **kwargs), encoding="utf-8")
    return path
