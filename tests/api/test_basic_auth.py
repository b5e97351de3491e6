"""HTTP Basic for desktop clients: names and passwords, API keys as passwords, the same access rules,
the lock-out shared with sign-in, the cache of Argon2 verifications, and the 401 challenges.

The ASGI tests run against the app in process; the GDAL and OWSLib tests against uvicorn."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import api.auth
from api.app import create_app
from api.auth import VerifiedPasswords
from layers.db import connect
from layers.principals import create_principal, issue_api_key
from tests.api.conftest import Seed, api_settings
from tests.api.test_clients import owslib_headers_restored  # noqa: F401  (autouse: OWSLib leaks headers)

# A Changsha tile at z10 (WebMercatorQuad row 428, column 833) over the seeded power facilities.
TILE = "/tiles/WebMercatorQuad/10/428/833"


@dataclass
class People:
    """Users with passwords (and one system key) made for this module."""

    passwords: dict[str, str]
    keys: dict[str, str]


def basic(name: str, password: str) -> dict[str, str]:
    """The Authorization header a Basic client sends (RFC 7617, UTF-8)."""
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def sql(url: str, statement: str, *args: Any) -> Any:
    """Run one statement on the module's database (committed) and return its first value."""
    conn = await connect(url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def people(seed: Seed) -> People:
    conn = await connect(seed.url)
    try:
        passwords = {
            "li.si": "viewer pass 1",  # viewer: internal layers, no restricted ones
            "wang.wu": "pipes pass 2",  # viewer with a grant on every pipeline layer
            "zhao.liu": "editor pass 3",  # editor
            "陈七": "密码-正确-4",  # a Chinese name and password: Basic is UTF-8 here
            "lock.me": "locked pass 5",  # worn down by the lock-out tests
            "mixed.paths": "mixed pass 6",
            "reset.me": "reset pass 7",
            "cache.me": "cache pass 8",
        }
        roles = {"zhao.liu": ["editor"]}
        grants = {"wang.wu": ["pipeline_*"]}
        for name, password in passwords.items():
            await create_principal(
                conn, name=name, kind="user", roles=roles.get(name, ["viewer"]), grants=grants.get(name),
                password=password,
            )
        pid = await create_principal(conn, name="qgis-desk", kind="system", roles=["viewer"])
        keys = {"qgis-desk": await issue_api_key(conn, principal_id=pid)}
    finally:
        await conn.close()
    return People(passwords=passwords, keys=keys)


@pytest.fixture(scope="module")
async def strict(seed: Seed, var_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a tight lock-out (3 failures in 15 minutes lock a name for 1 minute)."""
    settings = api_settings(
        seed.url, var_dir, sign_in_max_failures=3, sign_in_failure_window_minutes=15, sign_in_lockout_minutes=1
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.get("/auth/me", headers=headers)


# ---- access: the same rules as bearer tokens ---------------------------------------------------------


async def test_basic_with_a_name_and_password_opens_internal_layers(
    client: httpx.AsyncClient, people: People, seed: Seed
) -> None:
    auth = basic("li.si", people.passwords["li.si"])
    who = (await me(client, auth)).json()
    assert who["name"] == "li.si" and who["kind"] == "user" and who["roles"] == ["viewer"]
    assert (await client.get("/collections/power_facilities")).status_code == 404
    assert (await client.get("/collections/power_facilities", headers=auth)).status_code == 200
    items = await client.get("/collections/power_facilities/items", params={"limit": 1000}, headers=auth)
    assert items.status_code == 200 and len(items.json()["features"]) == seed.counts["power_facilities"]
    listed = {c["id"] for c in (await client.get("/collections", headers=auth)).json()["collections"]}
    assert {"power_facilities", "landuse"} <= listed
    # Tiles too: Basic goes past the anonymous fast lane to the route and its access check.
    assert (await client.get(f"/collections/power_facilities{TILE}")).status_code == 404
    assert (await client.get(f"/collections/power_facilities{TILE}", headers=auth)).status_code in (200, 204)


async def test_restricted_layers_stay_absent_without_a_grant(client: httpx.AsyncClient, people: People) -> None:
    viewer = basic("li.si", people.passwords["li.si"])
    piped = basic("wang.wu", people.passwords["wang.wu"])
    assert (await client.get("/collections/pipeline_gas_segments", headers=viewer)).status_code == 404
    assert (await client.get("/collections/pipeline_gas_segments", headers=piped)).status_code == 200
    assert (await client.get("/collections/pipeline_gas_segments/items", headers=piped)).status_code == 200


async def test_an_api_key_as_the_password_with_any_name(client: httpx.AsyncClient, people: People) -> None:
    key = people.keys["qgis-desk"]
    for name in ("qgis-desk", "anything", ""):
        who = (await me(client, basic(name, key))).json()
        assert who["name"] == "qgis-desk" and who["kind"] == "system", name
    assert (await client.get("/collections/power_facilities", headers=basic("x", key))).status_code == 200
    bad = await me(client, basic("qgis-desk", key[:-2] + "xx"))
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"


async def test_editors_write_over_basic_and_are_named_in_the_audit(
    client: httpx.AsyncClient, people: People, seed: Seed
) -> None:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.95, 28.18]},
            "properties": {"code": "BASIC-1"}}
    viewer = await client.post("/collections/test_parcels/items", json=body,
                               headers=basic("li.si", people.passwords["li.si"]))
    assert viewer.status_code == 403
    made = await client.post("/collections/test_parcels/items", json=body,
                             headers=basic("zhao.liu", people.passwords["zhao.liu"]))
    assert made.status_code == 201, made.text
    actor = await sql(
        seed.url,
        "SELECT s.actor FROM onemap.changes c JOIN onemap.changesets s ON s.id = c.changeset_id WHERE c.fid = $1",
        made.json()["id"],
    )
    assert actor == "zhao.liu"


async def test_utf8_names_and_passwords(client: httpx.AsyncClient, people: People) -> None:
    r = await me(client, basic("陈七", people.passwords["陈七"]))
    assert r.status_code == 200 and r.json()["name"] == "陈七"


# ---- refusals and challenges -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (basic("li.si", "wrong"), "wrong name or password"),
        (basic("nobody.here", "whatever"), "wrong name or password"),
        ({"Authorization": "Basic !!!not-base64"}, "base64"),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, "name:password"),
        ({"Authorization": "Digest username=x"}, "Basic"),
    ],
)
async def test_bad_basic_credentials_are_401_never_anonymous(
    client: httpx.AsyncClient, people: People, header: dict[str, str], detail: str
) -> None:
    r = await client.get("/collections/rail_stations", headers=header)  # public, yet refused
    assert r.status_code == 401 and detail in r.json()["detail"]
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer") and 'Basic realm="One Map"' in challenge


async def test_401s_offer_bearer_and_basic(client: httpx.AsyncClient, seed: Seed) -> None:
    write = await client.post("/collections/test_parcels/items", json={})
    assert write.status_code == 401
    assert write.headers["www-authenticate"] == 'Bearer, Basic realm="One Map", charset="UTF-8"'
    changes = await client.get("/collections/test_parcels/changes")
    assert 'Basic realm="One Map"' in changes.headers["www-authenticate"]
    wrong = await client.get("/collections/test_parcels/changes", headers=basic("li.si", "wrong"))
    assert 'Basic realm="One Map"' in wrong.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        # A page's script (Sec-Fetch-Mode: cors) and the map's own bearer token or session cookie.
        ("POST", "/collections/test_parcels/items", {"Sec-Fetch-Mode": "cors"}),
        ("GET", "/auth/me", {"Authorization": "Bearer not.a.jwt"}),
        ("GET", "/auth/me", {"Cookie": "onemap_token=expired.or.forged"}),
    ],
)
async def test_browser_requests_get_no_basic_challenge(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> None:
    """A Basic challenge would make the browser pop its own password dialog over the map."""
    r = await client.request(method, path, headers=headers, json={} if method == "POST" else None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer") and "Basic" not in r.headers["www-authenticate"]


async def test_the_sign_in_forms_401_offers_no_basic(client: httpx.AsyncClient, people: People) -> None:
    r = await client.post("/auth/token", data={"username": "li.si", "password": "wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (await me(client, basic("li.si", people.passwords["li.si"]))).status_code == 200  # clears the failure


# ---- the cache of Argon2 verifications ---------------------------------------------------------------


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the real Argon2 checks the API makes (each still runs)."""
    calls: list[str] = []
    real = api.auth.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(api.auth, "verify_password", counting)
    return calls


async def test_repeated_basic_requests_pay_argon2_once(
    client: httpx.AsyncClient, people: People, argon2_calls: list[str]
) -> None:
    auth = basic("cache.me", people.passwords["cache.me"])
    for _ in range(6):
        assert (await client.get("/collections/power_facilities", headers=auth)).status_code == 200
    assert len(argon2_calls) == 1
    # A wrong password is never answered from the cache.
    assert (await me(client, basic("cache.me", "nope"))).status_code == 401
    assert len(argon2_calls) == 2


async def test_the_cache_yields_at_once_to_a_disabled_user_or_a_new_password(
    client: httpx.AsyncClient, people: People, seed: Seed, argon2_calls: list[str]
) -> None:
    auth = basic("cache.me", people.passwords["cache.me"])
    assert (await me(client, auth)).status_code == 200
    await sql(seed.url, "UPDATE onemap.principals SET disabled = true WHERE name = 'cache.me'")
    try:
        assert (await me(client, auth)).status_code == 401
    finally:
        await sql(seed.url, "UPDATE onemap.principals SET disabled = false WHERE name = 'cache.me'")
    await sql(seed.url, "UPDATE onemap.principals SET roles = '{}' WHERE name = 'cache.me'")
    assert (await client.get("/collections/power_facilities", headers=auth)).status_code == 404
    conn = await connect(seed.url)
    try:
        await create_principal(conn, name="cache.me", kind="user", roles=["viewer"], password="a new one")
    finally:
        await conn.close()
    assert (await me(client, auth)).status_code == 401
    assert (await me(client, basic("cache.me", "a new one"))).status_code == 200


def test_verified_passwords_expire_and_stay_bounded() -> None:
    cache = VerifiedPasswords(ttl_seconds=0.2, max_entries=2)
    cache.remember("a", "pw", "$hash-a")
    assert cache.holds("a", "pw", "$hash-a")
    assert not cache.holds("a", "other", "$hash-a") and not cache.holds("a", "pw", "$hash-changed")
    cache.remember("b", "pw", "$hash-b")
    cache.remember("c", "pw", "$hash-c")
    assert not cache.holds("a", "pw", "$hash-a")  # the oldest went when the third arrived
    time.sleep(0.25)
    assert not cache.holds("c", "pw", "$hash-c")


# ---- lock-out, shared by the sign-in form and Basic ------------------------------------------------


async def test_failures_lock_the_name_for_both_paths(
    strict: httpx.AsyncClient, people: People, seed: Seed
) -> None:
    name, right = "lock.me", people.passwords["lock.me"]
    assert (await strict.post("/auth/token", data={"username": name, "password": "x1"})).status_code == 401
    assert (await me(strict, basic(name, "x2"))).status_code == 401
    third = await strict.post("/auth/token", data={"username": name, "password": "x3"})
    assert third.status_code == 429 and third.json()["type"] == "/problems/sign-in-locked"
    assert 0 < int(third.headers["retry-after"]) <= 60
    # Locked: even the right password is refused, on both paths, without being checked.
    form = await strict.post("/auth/token", data={"username": name, "password": right})
    assert form.status_code == 429
    assert (await me(strict, basic(name, right))).status_code == 429
    page = await strict.post("/auth/token", data={"username": name, "password": right, "cookie": "true"})
    assert page.status_code == 429 and "已暂时锁定" in page.text
    # Other names are untouched, and so are API keys (256-bit secrets; the name is not their identity).
    assert (await me(strict, basic("li.si", people.passwords["li.si"]))).status_code == 200
    assert (await me(strict, basic(name, people.keys["qgis-desk"]))).json()["name"] == "qgis-desk"
    # When the lock ends (moved into the past rather than waiting a minute), the right password works.
    await sql(seed.url, "UPDATE onemap.sign_in_failures SET locked_until = now() - interval '1 second' "
                        "WHERE name = $1", name)
    assert (await me(strict, basic(name, right))).status_code == 200


async def test_the_lock_counts_within_the_window_and_a_success_resets_it(
    strict: httpx.AsyncClient, people: People, seed: Seed
) -> None:
    name, right = "reset.me", people.passwords["reset.me"]
    for _ in range(2):
        assert (await me(strict, basic(name, "wrong"))).status_code == 401
    assert (await me(strict, basic(name, right))).status_code == 200
    assert await sql(seed.url, "SELECT count(*) FROM onemap.sign_in_failures WHERE name = $1", name) == 0
    for _ in range(2):
        assert (await me(strict, basic(name, "wrong"))).status_code == 401
    # Age those two failures past the 15-minute window: they no longer count.
    await sql(seed.url, "UPDATE onemap.sign_in_failures SET failures = ARRAY[now() - interval '20 minutes', "
                        "now() - interval '16 minutes'] WHERE name = $1", name)
    assert (await me(strict, basic(name, "wrong"))).status_code == 401
    assert (await me(strict, basic(name, "wrong"))).status_code == 401
    assert (await me(strict, basic(name, right))).status_code == 200


async def test_concurrent_failures_from_two_paths_are_all_counted(
    strict: httpx.AsyncClient, people: People, seed: Seed
) -> None:
    name = "mixed.paths"
    answers = await asyncio.gather(
        me(strict, basic(name, "a")),
        strict.post("/auth/token", data={"username": name, "password": "b"}),
        me(strict, basic(name, "c")),
        strict.post("/auth/token", data={"username": name, "password": "d"}),
    )
    assert sorted(r.status_code for r in answers) in ([401, 401, 429, 429], [401, 401, 401, 429])
    assert await sql(seed.url, "SELECT locked_until > now() FROM onemap.sign_in_failures WHERE name = $1", name)
    assert (await me(strict, basic(name, people.passwords[name]))).status_code == 429


async def test_lock_out_can_be_turned_off(seed: Seed, var_dir: Path, people: People) -> None:
    app = create_app(api_settings(seed.url, var_dir, sign_in_max_failures=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for _ in range(6):
                assert (await me(c, basic("zhao.liu", "wrong"))).status_code == 401
            assert (await me(c, basic("zhao.liu", people.passwords["zhao.liu"]))).status_code == 200
    assert await sql(seed.url, "SELECT count(*) FROM onemap.sign_in_failures WHERE name = 'zhao.liu'") == 0


# ---- real clients under uvicorn --------------------------------------------------------------------

gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs gdal-bin")


def ogrinfo(server: str, *args: str, userpwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """``ogrinfo -ro`` on the server's OAPIF endpoint, with GDAL_HTTP_USERPWD when given.

    No GDAL_HTTP_AUTH: curl's default (Basic, sent up front) is what GDAL users get out of the box.
    """
    config = ["--config", "GDAL_HTTP_USERPWD", userpwd] if userpwd else []
    return subprocess.run(
        ["ogrinfo", "-ro", *config, f"OAPIF:{server}/", *args], capture_output=True, text=True, timeout=120
    )


@gdal
@pytest.mark.gdal
@pytest.mark.slow
def test_gdal_with_userpwd_opens_internal_layers(server: str, people: People, seed: Seed) -> None:
    anonymous = ogrinfo(server, "-so")
    assert anonymous.returncode == 0, anonymous.stderr
    assert "power_facilities" not in anonymous.stdout and "landuse" not in anonymous.stdout
    for userpwd in (f"li.si:{people.passwords['li.si']}", f"gdal:{people.keys['qgis-desk']}"):
        listed = ogrinfo(server, "-so", userpwd=userpwd)
        assert listed.returncode == 0, listed.stderr
        assert "power_facilities" in listed.stdout and "landuse" in listed.stdout
        assert "pipeline_" not in listed.stdout  # restricted: still absent without a grant
        opened = ogrinfo(server, "-so", "power_facilities", userpwd=userpwd)
        assert opened.returncode == 0, opened.stderr
        assert f"Feature Count: {seed.counts['power_facilities']}" in opened.stdout
    wrong = ogrinfo(server, "-so", "power_facilities", userpwd="li.si:wrong")
    assert wrong.returncode != 0


@pytest.mark.slow
def test_owslib_with_auth_reads_internal_layers(server: str, people: People, seed: Seed) -> None:
    from owslib.ogcapi.features import Features
    from owslib.util import Authentication

    assert "power_facilities" not in {c["id"] for c in Features(server).collections()["collections"]}
    api = Features(server, auth=Authentication(username="li.si", password=people.passwords["li.si"]))
    assert "power_facilities" in {c["id"] for c in api.collections()["collections"]}
    page = api.collection_items("power_facilities", limit=1000)
    assert len(page["features"]) == seed.counts["power_facilities"]
    assert {"name", "power"} <= set(page["features"][0]["properties"])
    editor = Features(server, auth=Authentication(username="zhao.liu", password=people.passwords["zhao.liu"]))
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.951, 28.181]},
               "properties": {"code": "OWS-BASIC"}}
    assert editor.collection_item_create("test_parcels", feature)
    made = httpx.get(f"{server}/collections/test_parcels/items", params={"filter": "code = 'OWS-BASIC'"}).json()
    assert len(made["features"]) == 1
