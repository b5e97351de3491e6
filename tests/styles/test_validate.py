"""Every style we serve passes the MapLibre style specification (validator from npm, run here)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from api.settings import PROJECT_ROOT
from tests.cityfixtures import City

VALIDATOR = PROJECT_ROOT / "node_modules" / ".bin" / "gl-style-validate"


async def _validate(paths: list[Path]) -> list[dict]:
    assert VALIDATOR.exists(), "run scripts/bootstrap.sh test to install @maplibre/maplibre-gl-style-spec"
    problems = []
    for path in paths:
        proc = await asyncio.create_subprocess_exec(
            "node", str(VALIDATOR), "--json", str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            problems.append({"file": path.name, "errors": json.loads(out or b"[]") or err.decode()})
    return problems


async def test_the_validator_catches_a_broken_style(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 8, "sources": {}, "layers": [{"id": "x", "type": "fill", "source": "nope"}]}))
    problems = await _validate([bad])
    assert problems and "nope" in json.dumps(problems)


async def test_every_style_validates(client: httpx.AsyncClient, city: City, tmp_path: Path) -> None:
    admin = {"Authorization": f"Bearer {city.admin_key}"}
    listing = (await client.get("/styles", headers=admin)).json()
    ids = [s["id"] for s in listing["styles"]]
    assert "onemap" in ids and "pipeline_water" in ids and "buildings" in ids and "ghsl_built_age" in ids
    paths = []
    for sid in ids:
        r = await client.get(f"/styles/{sid}", headers=admin)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.mapbox.style+json")
        path = tmp_path / f"{sid}.json"
        path.write_text(r.text)
        paths.append(path)
    collections = ["buildings", "grid_cells", "pipeline_gas_points", "roads", "ghsl_built_volume", "landuse"]
    for cid in collections:
        entry = (await client.get(f"/collections/{cid}/styles", headers=admin)).json()
        r = await client.get(f"/collections/{cid}/styles/{entry['default']}", headers=admin)
        assert r.status_code == 200
        path = tmp_path / f"collection-{cid}.json"
        path.write_text(r.text)
        paths.append(path)
    r = await client.get("/styles/onemap?datetime=2000-06-30T00:00:00Z", headers=admin)
    (tmp_path / "asof.json").write_text(r.text)
    paths.append(tmp_path / "asof.json")
    assert await _validate(paths) == []


@pytest.mark.parametrize("who", ["anonymous", "viewer", "admin"])
async def test_styles_only_draw_layers_the_caller_may_read(client: httpx.AsyncClient, city: City, who: str) -> None:
    headers = (
        {}
        if who == "anonymous"
        else {"Authorization": f"Bearer {city.admin_key if who == 'admin' else city.viewer_key}"}
    )
    style = (await client.get("/styles/onemap", headers=headers)).json()
    drawn = {layer["metadata"]["onemap:collection"] for layer in style["layers"] if "metadata" in layer}
    assert "buildings" in drawn
    assert ("grid_cells" in drawn) == (who != "anonymous")  # internal
    assert ("pipeline_water_segments" in drawn) == (who == "admin")  # restricted
    sources = json.dumps(style["sources"])
    assert ("pipeline_" in sources) == (who == "admin")
    r = await client.get("/styles/pipeline_water", headers=headers)
    assert r.status_code == (200 if who == "admin" else 404)


async def test_styles_name_only_our_server_and_serve_glyphs(client: httpx.AsyncClient) -> None:
    style = (await client.get("/styles/onemap")).json()
    urls = [style["glyphs"], *[u for s in style["sources"].values() for u in s.get("tiles", [])]]
    assert urls and all(u.startswith("http://testserver/") for u in urls)
    fonts = {f for layer in style["layers"] for f in layer.get("layout", {}).get("text-font", [])}
    assert fonts == {"Noto Sans Regular"}
    glyph_url = style["glyphs"].replace("http://testserver", "").replace("{fontstack}", "Noto Sans Regular")
    r = await client.get(glyph_url.replace("{range}", "0-255"))
    assert r.status_code == 200 and len(r.content) > 10_000
    assert (await client.get(glyph_url.replace("{range}", "0-100"))).status_code == 404
    fallback = await client.get("/fonts/Open Sans Bold,Noto Sans Regular/256-511.pbf")
    assert fallback.status_code == 200
    assert (await client.get("/fonts/..%2F..%2Fetc/0-255.pbf")).status_code == 404
