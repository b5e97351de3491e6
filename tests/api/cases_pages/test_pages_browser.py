"""The 数字城管 pages in real headless Chromium (Debian's), against the real cases API and PostGIS.

A report sent from a phone reaches another browser's console live (no reload); the case is
accepted and dispatched from the console, completed from the department's task list and closed
from the inspector's verify list; a failed send keeps a draft; the dashboard draws its charts and
its table adds up to /cases/stats. No request may leave our server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from api.settings import PROJECT_ROOT
from layers.db import connect
from layers.principals import create_principal, issue_api_key
from tests.api.cases_pages.conftest import CaseServer
from tests.api.cases_pages.pages import (
    DESK,
    PHONE,
    TABLET,
    act,
    choose_class,
    jpeg,
    open_case,
    open_page,
    photo_file,
    signed_in,
    wait_state,
)
from tests.browser import Watch, chromium
from tests.citydata import CENTRE

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OUTPUT = PROJECT_ROOT / "test-output"
LIVE_MS = 30_000  # a busy machine: the tests check that it comes, not how fast (benchmarks/ does)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


def _clean(*watches: Watch) -> None:
    for watch in watches:
        assert watch.foreign() == [], watch.foreign()
        assert watch.errors == [], watch.errors


async def _file_report(server: CaseServer, key: str, kind: str = "event", offset: float = 0.0) -> dict[str, Any]:
    """File a report through the API (as another system would), at the grid's centre + ``offset``."""
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
        codes = (await c.get("/cases/codes")).json()
        cls = next(x for x in codes["classes"] if x["kind"] == kind)
        report = {"kind": kind, "big_class": cls["big_class"], "small_class": cls["small_class"],
                  "description": "测试上报", "geometry": {"type": "Point",
                                                      "coordinates": [CENTRE[0] + offset, CENTRE[1] - offset]}}
        r = await c.post("/cases/reports", data={"report": json.dumps(report, ensure_ascii=False)},
                         files={"photo": ("p.jpg", jpeg(), "image/jpeg")})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


async def _handler_key(server: CaseServer, department: str) -> str:
    conn = await connect(server.city.url)
    try:
        pid = await create_principal(conn, name=f"chuzhi-{department}", kind="user", roles=["handler"],
                                     department=department)
        return await issue_api_key(conn, principal_id=pid)
    finally:
        await conn.close()


def reason(text: str) -> Callable[[Page], Awaitable[None]]:
    """A dialog filler that gives ``text`` as the reason."""
    async def fill(page: Page) -> None:
        await page.fill("#action-fields textarea[name=reason]", text)
    return fill


async def _reloads(page: Page) -> int:
    return int(await page.evaluate("performance.getEntriesByType('navigation').length + (window.__stay ? 0 : 100)"))


async def test_a_phone_report_reaches_the_console_live_and_goes_to_closure(
    browser: Browser, case_server: CaseServer
) -> None:
    s, keys = case_server, case_server.keys
    console_ctx = await signed_in(browser, s.url, keys["shouli"], **DESK)
    console, console_watch = await open_page(console_ctx, s.url, "/cases/console")
    await console.evaluate("window.__stay = 1")  # gone if the page reloads
    await console.wait_for_function("window.onemap.live === true", timeout=LIVE_MS)

    phone_ctx = await signed_in(browser, s.url, keys["jiandu"], **PHONE, permissions=["geolocation"],
                                geolocation={"longitude": CENTRE[0], "latitude": CENTRE[1], "accuracy": 5})
    phone, phone_watch = await open_page(phone_ctx, s.url, "/cases/report")
    await phone.click("#locate")
    await phone.wait_for_function("window.onemap.report.point !== null")
    assert await phone.evaluate("window.onemap.report.point") == [pytest.approx(CENTRE[0]), pytest.approx(CENTRE[1])]
    chosen = await choose_class(phone, "event")
    await phone.set_input_files("#photo", files=[photo_file()])
    await phone.fill("#description", "人行道上堆放建筑垃圾")
    OUTPUT.mkdir(exist_ok=True)
    await phone.screenshot(path=str(OUTPUT / "cases-report-phone.png"), full_page=True)
    await phone.click("#send")
    await phone.wait_for_function("window.onemap.report.lastResult", timeout=LIVE_MS)
    sent = await phone.evaluate("window.onemap.report.lastResult")
    assert sent["status"] == 201, sent
    case_id, case_no = sent["body"]["id"], sent["body"]["case_no"]
    # The result is kept before it is drawn: wait for the page to show the number rather than race it.
    await phone.wait_for_function(f"document.getElementById('result').innerText.includes('{case_no}')",
                                  timeout=LIVE_MS)

    # Live: the console lists it without a reload, from the event stream.
    await console.wait_for_selector(f"#queue-table tr[data-id='{case_id}']", timeout=LIVE_MS)
    assert await _reloads(console) == 1
    events = await console.evaluate("window.onemap.events")
    assert any(e["id"] == case_id and e["state"] == "reported" for e in events)

    # 受理 and 派遣 from the console, one click each (the dispatch asks for a department and deadline).
    await open_case(console, case_id)
    detail = await console.evaluate("window.onemap.detail.props")
    assert detail["small_class"] == chosen["small_class"] and detail["grid_code"]
    assert await console.locator("#detail-photos img").count() == 1
    assert (await act(console, "accept"))["status"] == 200
    await wait_state(console, "accepted")
    department = detail["department"] or await console.evaluate("window.onemap.detail.props.department")

    async def fill_dispatch(page: Page) -> None:
        await page.select_option("#action-fields select[name=department]", department)
        await page.fill("#action-fields input[name=deadline_hours]", "8")

    dispatched = await act(console, "dispatch", fill_dispatch)
    assert dispatched["status"] == 200 and dispatched["body"]["state"] == "dispatched", dispatched
    await wait_state(console, "dispatched")
    await console.screenshot(path=str(OUTPUT / "cases-console.png"))

    # 处置: the department's handler completes it from the task list, with a photo.
    handler_ctx = await signed_in(browser, s.url, await _handler_key(s, department), **TABLET)
    tasks, tasks_watch = await open_page(handler_ctx, s.url, "/cases/tasks")
    await open_case(tasks, case_id)

    async def fill_complete(page: Page) -> None:
        await page.set_input_files("#action-fields input[name=photos]", files=[photo_file("done.jpg")])
        await page.fill("#action-fields textarea[name=reason]", "已清理")

    await tasks.screenshot(path=str(OUTPUT / "cases-tasks-tablet.png"))
    completed = await act(tasks, "complete", fill_complete)
    assert completed["status"] == 200 and completed["body"]["state"] == "completed", completed

    # 核查 and 结案 by the inspector, from the verify list on the phone.
    verify, verify_watch = await open_page(phone_ctx, s.url, "/cases/verify")
    await verify.wait_for_selector(f"#queue-table tr[data-id='{case_id}']")
    await open_case(verify, case_id)
    assert (await act(verify, "verify"))["status"] == 200
    await wait_state(verify, "verifying")
    closed = await act(verify, "close")
    assert closed["status"] == 200 and closed["body"]["state"] == "closed", closed

    # The console heard every move live; the case's history holds them all.
    await console.wait_for_function(
        "(id) => window.onemap.events.some((e) => e.id === id && e.state === 'closed')", arg=case_id, timeout=LIVE_MS)
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {keys['zhiban']}"}) as c:
        body = (await c.get(f"/cases/{case_id}")).json()
    assert body["case"]["properties"]["state"] == "closed"
    actions = [h["action"] for h in body["history"]]
    assert actions[-5:] == ["accept", "dispatch", "complete", "verify", "close"], actions
    _clean(console_watch, tasks_watch, verify_watch)
    assert phone_watch.foreign() == []
    for context in (console_ctx, phone_ctx, handler_ctx):
        await context.close()


async def test_a_refused_action_is_shown_and_a_leader_gets_no_buttons(
    browser: Browser, case_server: CaseServer
) -> None:
    s, keys = case_server, case_server.keys
    filed = await _file_report(s, keys["jiandu"], offset=0.002)
    context = await signed_in(browser, s.url, keys["shouli"], **DESK)
    console, watch = await open_page(context, s.url, "/cases/console")
    await console.wait_for_selector(f"#queue-table tr[data-id='{filed['id']}']")
    await open_case(console, filed["id"])
    supervisor = {"Authorization": f"Bearer {keys['zhiban']}"}
    async with httpx.AsyncClient(base_url=s.url, headers=supervisor) as c:
        # Someone else accepts it: the open detail follows live, its buttons with it.
        assert (await c.post(f"/cases/{filed['id']}/actions/accept", json={})).status_code == 200
        await wait_state(console, "accepted")
        assert await console.locator("#detail-actions button[data-action=dispatch]").count() == 1
        # A console whose feed dropped misses the next move; its click then meets a changed case.
        await console.evaluate("window.onemap.eventSource.close()")
        assert (await c.post(f"/cases/{filed['id']}/actions/cancel", json={"reason": "重复"})).status_code == 200

    async def fill_dispatch(page: Page) -> None:
        await page.fill("#action-fields input[name=deadline_hours]", "4")

    refused = await act(console, "dispatch", fill_dispatch)
    assert refused["status"] in (409, 412), refused
    alert = console.locator("#action-error")
    assert await alert.is_visible()
    assert (await alert.inner_text()).startswith(str(refused["status"]))

    # A leader reads the console but is offered no action (the API would answer 403).
    other = await _file_report(s, keys["jiandu"], offset=-0.002)
    leader_ctx = await signed_in(browser, s.url, keys["lingdao"], **TABLET)
    leader, leader_watch = await open_page(leader_ctx, s.url, "/cases/console")
    await leader.wait_for_selector(f"#queue-table tr[data-id='{other['id']}']")
    await open_case(leader, other["id"])
    assert await leader.locator("#detail-actions button").count() == 0
    _clean(leader_watch)
    assert watch.foreign() == []
    await context.close()
    await leader_ctx.close()


async def test_a_failed_send_keeps_a_draft_that_survives_a_reload(browser: Browser, case_server: CaseServer) -> None:
    s = case_server
    context = await signed_in(browser, s.url, s.keys["jiandu"], **PHONE, permissions=["geolocation"],
                              geolocation={"longitude": CENTRE[0] + 0.001, "latitude": CENTRE[1] + 0.001})
    page, watch = await open_page(context, s.url, "/cases/report")
    await page.click("#locate")
    await page.wait_for_function("window.onemap.report.point !== null")
    chosen = await choose_class(page, "component")
    await page.set_input_files("#photo", files=[photo_file()])
    await page.fill("#description", "井盖缺失（草稿）")
    await page.route("**/cases/reports", lambda route: route.abort("internetdisconnected"))
    await page.click("#send")
    await page.wait_for_selector("#draft:not([hidden])")
    assert "error" in (await page.get_attribute("#status", "class") or "")

    await page.unroute("**/cases/reports")
    await page.reload(wait_until="domcontentloaded")
    await page.wait_for_function("document.body.dataset.ready === '1'")
    assert await page.locator("#draft").is_visible()
    assert await page.input_value("#description") == "井盖缺失（草稿）"
    assert await page.input_value("#small-class") == chosen["small_class"]
    assert await page.evaluate("window.onemap.report.draft.photo.size") > 1000
    await page.click("#draft-resend")
    await page.wait_for_function("window.onemap.report.lastResult && window.onemap.report.lastResult.status === 201",
                                 timeout=LIVE_MS)
    # The answer is kept before the draft is cleared and hidden (report.js send()): wait for that, then check.
    await page.wait_for_selector("#draft", state="hidden", timeout=LIVE_MS)
    assert await page.locator("#draft").is_hidden()
    await page.reload(wait_until="domcontentloaded")
    await page.wait_for_function("document.body.dataset.ready === '1'")
    assert await page.locator("#draft").is_hidden()
    assert watch.foreign() == []
    await context.close()


async def test_the_dashboard_draws_its_charts_and_adds_up_to_the_statistics(
    browser: Browser, case_server: CaseServer
) -> None:
    s, keys = case_server, case_server.keys
    for i in range(3):
        await _file_report(s, keys["jiandu"], offset=0.004 * (i - 1))
    today = dt.date.today()
    query = f"from={today - dt.timedelta(days=7)}&to={today + dt.timedelta(days=1)}&by=district"
    context = await signed_in(browser, s.url, keys["lingdao"], **DESK)
    page, watch = await open_page(context, s.url, f"/cases/dashboard?{query}")
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {keys['lingdao']}"}) as c:
        stats = (await c.get(f"/cases/stats?{query}")).json()
        spots = (await c.get(f"/cases/hotspots?{query.rsplit('&', 1)[0]}")).json()
        csv = await c.get(f"/cases/stats?{query}&format=csv")
    assert stats["totals"]["reported"] >= 3

    # The table's totals row is /cases/stats' totals.
    for column in ("reported", "accepted", "closed", "overdue"):
        shown = await page.inner_text(f"#stats-table tfoot td[data-col={column}]")
        assert shown == str(stats["totals"][column]), column
    assert await page.locator("#stats-table tbody tr").count() == len(stats["rows"])

    # The charts: ECharts instances with series, and canvases that are not blank.
    series = await page.evaluate("""() => Object.fromEntries(Object.entries(window.onemap.charts)
        .map(([id, c]) => [id, c.getOption().series.map((s) => s.data.reduce((a, b) => a + (+b || 0), 0))]))""")
    assert series["chart-counts"][0] == sum(r["reported"] for r in stats["rows"][:20])
    assert series["chart-classes"][0] == sum(c["count"] for c in stats["top_classes"][:15])
    for chart in ("chart-counts", "chart-rates", "chart-classes"):
        colours = await page.evaluate("""(id) => { const c = document.querySelector('#' + id + ' canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();
            for (let i = 0; i < d.length; i += 16) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
            return seen.size; }""", chart)
        assert colours > 5, chart

    OUTPUT.mkdir(exist_ok=True)
    await page.screenshot(path=str(OUTPUT / "cases-dashboard.png"), full_page=True)
    # Hotspots: every cell of /cases/hotspots, as a choropleth and as a heatmap.
    assert await page.evaluate("window.onemap.hotspots.data.features.length") == len(spots["features"]) > 0
    assert await page.evaluate("window.onemap.hotspotMap.getLayoutProperty('hotspots-fill', 'visibility')") == "visible"
    await page.check("input[name=hotspot-mode][value=heatmap]")
    assert await page.evaluate("window.onemap.hotspotMap.getLayoutProperty('hotspots-heat', 'visibility')") == "visible"
    assert await page.evaluate("window.onemap.hotspotMap.getLayoutProperty('hotspots-fill', 'visibility')") == "none"

    # An area picked: the table narrows to it, the street picker opens, the export follows.
    key = stats["rows"][0]["key"]
    loads = await page.evaluate("window.onemap.dashboard.loads")
    await page.select_option("#district", key)
    await page.wait_for_function(f"window.onemap.dashboard.loads > {loads}")
    assert await page.locator("#stats-table tbody tr").count() == 1
    # The picker opens before its streets arrive: wait for them rather than race them on a busy machine.
    await page.wait_for_function("!document.getElementById('street').disabled"
                                 " && document.querySelectorAll('#street option').length > 1")
    assert f"district={key}" in (await page.get_attribute("#export-xlsx", "href") or "")

    # English on request (remembered for the web map too), the charts redrawn in it.
    await page.click("#lang")
    assert await page.inner_text("#stats-table thead th[data-i18n=reported]") == "Reported"
    assert await page.evaluate("window.onemap.charts['chart-classes'].getOption().title[0].text") == "Top classes"
    assert await page.evaluate("localStorage.getItem('onemap.lang')") == "en"
    await page.click("#lang")

    # The export links ask the same question in CSV and XLSX.
    href = await page.get_attribute("#export-csv", "href")
    assert href is not None and "format=csv" in href and "by=district" in href
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    _clean(watch)
    await context.close()


async def test_the_web_map_offers_the_case_pages_by_role(browser: Browser, case_server: CaseServer) -> None:
    s = case_server
    context = await signed_in(browser, s.url, s.keys["shouli"], **DESK)
    page = await context.new_page()
    await page.goto(f"{s.url}/map", wait_until="domcontentloaded")
    await page.wait_for_selector("#cases-menu:not([hidden]) a")
    links = await page.eval_on_selector_all("#cases-menu a", "els => els.map((a) => a.getAttribute('href'))")
    assert "/cases/console" in links and "/cases/tasks" not in links
    await context.close()


async def test_return_extension_and_redispatch_from_the_pages(browser: Browser, case_server: CaseServer) -> None:
    s, keys = case_server, case_server.keys
    filed = await _file_report(s, keys["jiandu"], offset=0.003)
    case_id = filed["id"]
    console_ctx = await signed_in(browser, s.url, keys["shouli"], **DESK)
    console, console_watch = await open_page(console_ctx, s.url, "/cases/console")
    await open_case(console, case_id)
    assert (await act(console, "accept"))["status"] == 200
    await wait_state(console, "accepted")
    department = await console.evaluate("window.onemap.detail.props.department")
    assert department, "the location gave the case no department"
    assert (await act(console, "dispatch", lambda page: page.wait_for_timeout(0)))["status"] == 200
    await wait_state(console, "dispatched")

    # 退回: the department hands it back with a reason; the console sees it live and dispatches again.
    handler_ctx = await signed_in(browser, s.url, await _handler_key(s, department), **TABLET)
    tasks, tasks_watch = await open_page(handler_ctx, s.url, "/cases/tasks")
    assert await tasks.locator("#department-filter").is_hidden()
    await open_case(tasks, case_id)

    assert (await act(tasks, "return", reason("不属于本部门职责")))["status"] == 200
    await wait_state(console, "returned")
    assert (await act(console, "dispatch", lambda page: page.wait_for_timeout(0)))["status"] == 200
    await wait_state(tasks, "dispatched")

    # 延期: the department asks for more time, the 值班长 approves it from the console.
    async def ask_more(page: Page) -> None:
        await page.fill("#action-fields input[name=deadline_hours]", "16")
        await page.fill("#action-fields textarea[name=reason]", "需要协调施工单位")

    assert (await act(tasks, "extend", ask_more))["status"] == 200
    await wait_state(tasks, "extended")
    supervisor_ctx = await signed_in(browser, s.url, keys["zhiban"], **DESK)
    duty, duty_watch = await open_page(supervisor_ctx, s.url, "/cases/console")
    await duty.click("#state-filter button[data-state=extended]")
    await duty.wait_for_selector(f"#queue-table tr[data-id='{case_id}']")
    await open_case(duty, case_id)
    approved = await act(duty, "extend", lambda page: page.check("#action-fields input[name=approve]"))
    assert approved["status"] == 200 and approved["body"]["state"] == "dispatched", approved
    await wait_state(tasks, "dispatched")

    # 处置完成, then the inspector finds it not fixed: 重新派遣.
    async def with_photo(page: Page) -> None:
        await page.set_input_files("#action-fields input[name=photos]", files=[photo_file("after.jpg")])

    assert (await act(tasks, "complete", with_photo))["status"] == 200
    inspector_ctx = await signed_in(browser, s.url, keys["jiandu"], **PHONE)
    verify, verify_watch = await open_page(inspector_ctx, s.url, "/cases/verify")
    await verify.wait_for_selector(f"#queue-table tr[data-id='{case_id}']")
    await open_case(verify, case_id)
    assert (await act(verify, "verify"))["status"] == 200
    await wait_state(verify, "verifying")
    again = await act(verify, "redispatch", reason("垃圾仍未清运"))
    assert again["status"] == 200 and again["body"]["state"] == "dispatched", again

    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {keys['zhiban']}"}) as c:
        history = (await c.get(f"/cases/{case_id}")).json()["history"]
    assert [h["action"] for h in history][1:] == [
        "accept", "dispatch", "return", "dispatch", "extend", "extend", "complete", "verify", "redispatch"]
    assert history[3]["reason"] == "不属于本部门职责"
    _clean(console_watch, tasks_watch, duty_watch, verify_watch)
    for context in (console_ctx, handler_ctx, supervisor_ctx, inspector_ctx):
        await context.close()
