"""folium maps with every asset local: /vendor links (served) or embedded files (inline)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import folium
import folium.folium
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from folium.plugins import MarkerCluster

from api.vendor import vendor_router
from styles.folium_offline import (
    ASSETS,
    OfflineAssetError,
    default_node_modules,
    external_references,
    render_offline,
)
from tests.chromium import probe, with_probe

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = default_node_modules()


def _map(*, icons: bool = True) -> folium.Map:
    m = folium.Map(location=[28.2, 112.97], zoom_start=13, tiles=None)
    folium.CircleMarker([28.2, 112.97], radius=6, popup="<b>检修井</b> JCJ-001").add_to(m)
    folium.PolyLine([[28.195, 112.96], [28.205, 112.98]], color="#00ffff").add_to(m)
    folium.Marker([28.22, 112.95]).add_to(m)
    if icons:
        folium.Marker([28.21, 112.98], icon=folium.Icon(icon="info-sign", angle=30)).add_to(m)
        folium.Marker([28.19, 112.96], icon=folium.Icon(icon="cloud", prefix="fa")).add_to(m)
    return m


def test_folium_by_itself_would_reach_the_internet() -> None:
    hosts = external_references(folium.Map(location=[28.2, 112.97]).get_root().render())
    assert "cdn.jsdelivr.net" in hosts and "code.jquery.com" in hosts and "tile.openstreetmap.org" in hosts


def test_served_mode_links_only_vendor_files_of_packages_we_ship() -> None:
    html = render_offline(_map(), mode="served")
    links = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)
    shipped = set(json.loads((ROOT / "package.json").read_text())["dependencies"])
    assert len(links) == len(ASSETS)
    for link in links:
        assert link.startswith("/vendor/")
        rel = link.removeprefix("/vendor/")
        assert (NODE_MODULES / rel).is_file(), rel
        assert any(rel.startswith(pkg + "/") for pkg in shipped), rel
    assert ".fa-rotate-30{" in html
    assert external_references(html) == []


def test_inline_mode_embeds_everything_and_links_nothing() -> None:
    html = render_offline(_map(), mode="inline")
    assert re.findall(r"<script[^>]*\ssrc=|<link[^>]*\shref=", html) == []
    urls = [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", html) if u != "#default#VML"]
    assert urls and all(u.startswith("data:") for u in urls)
    assert "Leaflet 1.9" in html and "jQuery v3" in html
    assert "font/woff2" in html and "font/ttf" not in html  # woff2 only, each font once
    assert "Bootstrap  v5" not in html  # lean: folium itself never needs it


def test_lean_inline_map_without_icons_leaves_icon_libraries_out() -> None:
    with_icons = render_offline(_map(), mode="inline")
    plain = render_offline(_map(icons=False), mode="inline")
    assert "AwesomeMarkers" in with_icons and "AwesomeMarkers" not in plain
    assert "Font Awesome" not in plain
    assert len(plain) < 400_000 < len(with_icons)


def test_localising_twice_switches_modes_and_leaves_folium_untouched() -> None:
    before = list(folium.folium.Map.default_js)
    m = _map()
    render_offline(m, mode="served")
    html = render_offline(m, mode="inline")
    assert "/vendor/" not in html
    assert folium.folium.Map.default_js == before
    assert external_references(folium.Map(location=[28.2, 112.97], tiles=None).get_root().render())


def test_unmapped_plugin_and_internet_tiles_are_refused() -> None:
    m = _map()
    MarkerCluster().add_to(m)
    with pytest.raises(OfflineAssetError, match="no local copy"):
        render_offline(m, mode="served")
    with pytest.raises(OfflineAssetError, match=r"tile\.openstreetmap\.org"):
        render_offline(folium.Map(location=[28.2, 112.97]), mode="served")


@pytest.mark.browser
def test_inline_file_works_from_disk_with_no_network(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(with_probe(render_offline(_map(), mode="inline")), encoding="utf-8")
    found = probe(page.as_uri())
    assert found["errors"] == []
    assert found["resources"] == []  # nothing fetched at all, not even from disk
    assert found["leaflet"].startswith("1.9") and found["jquery"].startswith("3.")
    assert found["markers"] == 3 and found["vector_paths"] == 2
    assert found["fa_solid"] is True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def vendor_server() -> Iterator[tuple[str, dict[str, str]]]:
    pages: dict[str, str] = {}
    app = FastAPI()
    app.include_router(vendor_router(NODE_MODULES))

    @app.get("/page/{name}")
    async def page(name: str) -> HTMLResponse:
        return HTMLResponse(pages[name])

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", pages
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.browser
def test_served_page_loads_every_asset_from_our_vendor_route(
    vendor_server: tuple[str, dict[str, str]],
) -> None:
    base, pages = vendor_server
    pages["map"] = with_probe(render_offline(_map(), mode="served"))
    found = probe(f"{base}/page/map")
    assert found["errors"] == []
    fetched = found["resources"]
    # The browser asks our server for /favicon.ico by itself; everything else must be a vendor file.
    others = [r for r in fetched if not r.startswith(f"{base}/vendor/")]
    assert fetched and others in ([], [f"{base}/favicon.ico"])
    assert any(r.endswith("fa-solid-900.woff2") for r in fetched)
    assert found["markers"] == 3 and found["fa_solid"] is True
