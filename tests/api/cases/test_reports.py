"""Filing reports: multipart with photos, EXIF GPS for the point, refused photos leave nothing,
Part 4 POST for other systems, and who may see photos."""

from __future__ import annotations

import hashlib
import io
import json

import httpx
from PIL import Image

from layers.db import connect
from tests.api.cases.conftest import CaseSeed, jpeg, png
from tests.api.cases.test_workflow import EVENT_AT
from tests.cases.city import cell_code

REPORT = {"kind": "event", "big_class": "01", "small_class": "0101", "description": "暴露垃圾"}


async def _count_cases(seed: CaseSeed) -> tuple[int, int]:
    conn = await connect(seed.url)
    try:
        cases = await conn.fetchval("SELECT count(*) FROM data.city_cases")
        photos = await conn.fetchval("SELECT count(*) FROM onemap.case_attachments")
    finally:
        await conn.close()
    return int(cases), int(photos)


Files = list[tuple[str, tuple[str, bytes, str]]]
FAR = {"type": "Point", "coordinates": [113.5, 28.5]}


async def _post(c: httpx.AsyncClient, seed: CaseSeed, report: dict[str, object], files: Files,
                who: str = "inspector") -> httpx.Response:
    return await c.post("/cases/reports", headers=seed.auth(who), data={"report": json.dumps(report)}, files=files)


async def test_exif_gps_locates_a_report_without_a_point(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    gps = jpeg(gps=(112.9505, 28.2005))
    r = await _post(cases_client, case_seed, REPORT, [("photo", ("gps.jpg", gps, "image/jpeg"))])
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == cell_code(4)  # 112.9505, 28.2005: the south-west cell


async def test_served_photo_has_no_exif_and_matches_its_checksum(cases_client: httpx.AsyncClient,
                                                                 case_seed: CaseSeed) -> None:
    r = await _post(cases_client, case_seed, {**REPORT, "geometry": EVENT_AT},
                    [("photo", ("gps.jpg", jpeg(gps=(112.9505, 28.2005)), "image/jpeg")),
                     ("photo", ("b.png", png(), "image/png"))])
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert r.json()["grid_code"] == cell_code(3)  # the point wins over the photo's GPS
    detail = (await cases_client.get(f"/cases/{fid}", headers=case_seed.auth("operator"))).json()
    first, second = detail["attachments"]
    assert (first["media_type"], second["media_type"]) == ("image/jpeg", "image/png")
    served = await cases_client.get(first["url"], headers=case_seed.auth("operator"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(served.content).hexdigest() == first["sha256"]
    image = Image.open(io.BytesIO(served.content))
    assert not image.getexif() and b"TestCam" not in served.content
    assert (await cases_client.get(first["url"], headers=case_seed.auth("water"))).status_code == 404
    assert (await cases_client.get(first["url"], headers=case_seed.auth("viewer"))).status_code == 404
    assert (await cases_client.get(first["url"])).status_code == 401


async def test_bad_photos_are_refused_and_leave_no_case(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    before = await _count_cases(case_seed)
    good = ("photo", ("ok.jpg", jpeg(), "image/jpeg"))
    cases = [
        (("photo", ("x.gif", b"GIF89a" + b"\0" * 40, "image/gif")), 415, "invalid-attachment"),
        (("photo", ("fake.jpg", b"%PDF-1.4 not a photo", "image/jpeg")), 415, "invalid-attachment"),
        (("photo", ("broken.jpg", jpeg()[:60], "image/jpeg")), 400, "corrupt-attachment"),
        (("photo", ("big.jpg", jpeg() + b"\0" * (11 * 1024 * 1024), "image/jpeg")), 413, "attachment-too-large"),
    ]
    for bad, status, slug in cases:
        r = await _post(cases_client, case_seed, {**REPORT, "geometry": EVENT_AT}, [good, bad])
        assert r.status_code == status, (bad[1][0], r.text)
        assert r.headers["content-type"] == "application/problem+json" and r.json()["type"].endswith(slug)
    outside = await _post(cases_client, case_seed, {**REPORT, "geometry": FAR}, [good])
    assert outside.status_code == 400 and outside.json()["type"].endswith("outside-grid")
    nowhere = await _post(cases_client, case_seed, REPORT, [good])  # no point, no GPS in the photo
    assert nowhere.status_code == 400 and "point" in nowhere.json()["detail"]
    bad_class = await _post(cases_client, case_seed, {**REPORT, "small_class": "9999", "geometry": EVENT_AT}, [good])
    assert bad_class.status_code == 400
    assert await _count_cases(case_seed) == before


async def test_viewer_may_not_report(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    r = await _post(cases_client, case_seed, {**REPORT, "geometry": EVENT_AT}, [], who="viewer")
    assert r.status_code == 403


async def test_part4_post_files_a_reported_case(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    feature = {"type": "Feature", "geometry": EVENT_AT,
               "properties": {**REPORT, "state": "closed", "source": "hotline"}}
    r = await cases_client.post("/collections/city_cases/items", headers=case_seed.auth("editor"), json=feature)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "reported" and r.json()["grid_code"] == cell_code(3)
    assert r.headers["location"].endswith(f"/collections/city_cases/items/{r.json()['id']}")
    got = await cases_client.get(f"/cases/{r.json()['id']}", headers=case_seed.auth("operator"))
    assert got.json()["case"]["properties"]["source"] == "hotline"
    assert got.json()["history"][0]["actor"] == "editor"


async def test_heic_photo_is_taken_and_served_as_jpeg(cases_client: httpx.AsyncClient, case_seed: CaseSeed) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(out, format="HEIF")
    r = await _post(cases_client, case_seed, {**REPORT, "geometry": EVENT_AT},
                    [("photo", ("iphone.heic", out.getvalue(), "image/heic"))])
    assert r.status_code == 201, r.text
    detail = (await cases_client.get(f"/cases/{r.json()['id']}", headers=case_seed.auth("admin"))).json()
    (only,) = detail["attachments"]
    assert only["media_type"] == "image/jpeg" and (only["width"], only["height"]) == (40, 30)
