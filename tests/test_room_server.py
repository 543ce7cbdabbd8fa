"""The room takes part, end to end: the facilitator in Chromium, 50 phones over HTTP, one
phone in a phone-sized Chromium, and participants' attempts at the facilitator's controls.

The server is started as ``terrinum dashboard --host`` starts it: with a facilitator key
(here on 127.0.0.1, so the test never opens a port to the network). Screenshots of the phone
page and of the facilitator's room panel are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.bench_votes import Phone as BenchPhone

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("TERRINUM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY = "test-facilitator-key"
PHONES = 50
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium() -> str:
    if not CHROMIUM:
        pytest.skip("TERRINUM_CHROMIUM is empty: browser tests disabled")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium binary at {CHROMIUM}: install Debian's chromium "
                    "(apt-get install -y chromium) or set TERRINUM_CHROMIUM")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium: str) -> Iterator[str]:
    """The dashboard with a facilitator key; yields the base address (no key)."""
    from simulation.dashboard import cli

    try:
        with cli.running_server("baseline", households=3_000, map_name="france-regions",
                                key=KEY) as url:
            assert url.endswith(f"?key={KEY}")
            yield url.split("?")[0]
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Phone(BenchPhone):
    """One participant's phone as an HTTP client with its own cookies (the benchmark's)."""

    def state(self) -> dict:
        code, data = self.get("v/api/state?lang=fr")
        assert code == 200
        return data


def all_at_once(phones: list[Phone], fn) -> list:
    """Run ``fn(phone, k)`` for every phone in its own thread, together."""
    out: list = [None] * len(phones)
    go = threading.Barrier(len(phones))

    def run(k: int) -> None:
        go.wait()
        out[k] = fn(phones[k], k)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(phones))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def facilitator(browser: object, base: str) -> tuple[object, object]:
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}?key={KEY}", wait_until="domcontentloaded")
    page.locator(".tn-step").wait_for(state="visible", timeout=120_000)
    page.locator("svg.tn-map [data-territory]").first.wait_for()
    return ctx, page


def test_the_room_votes_from_50_phones_and_the_facilitator_applies_the_winner(server, browser):
    ctx, page = facilitator(browser, server)
    try:
        # before the facilitator links the workshop, phones are told to wait
        lonely = Phone(server)
        assert lonely.state()["attached"] is False
        page.locator(".tn-room-attach").click()
        page.locator("[data-testid=room-url]").wait_for()
        assert page.locator("[data-testid=room-url]").inner_text().endswith("/v")
        assert page.locator(".tn-room-qr svg").count() == 1
        # the ready question (rural counters, a prediction of the access to counters first)
        page.locator(".tn-room-ask").click()
        page.wait_for_selector(".tn-room-status[data-phase=predict]")
        phones = [Phone(server) for _ in range(PHONES)]
        st = phones[0].state()
        q = st["question"]
        assert q["phase"] == "predict" and len(q["options"]) == 3
        assert st["view"]["map"]["fills"] and st["view"]["date"]
        # the projected screen (presentation mode, another window) invites the room to vote
        from test_dashboard_browser import PROJECTOR, layout_problems

        href = page.locator("a.tn-present-tab").get_attribute("href")
        screen = ctx.new_page()
        screen.set_viewport_size(PROJECTOR)
        screen.goto(server + href)
        screen.wait_for_selector(".tn-present-room[data-phase=predict] svg")
        assert "/v" in screen.locator(".tn-present-room-join").inner_text()
        assert screen.locator(".tn-present svg.tn-chart").count() == 1
        screen.wait_for_timeout(300)
        assert not layout_problems(screen)["problems"]
        ARTIFACTS.mkdir(exist_ok=True)
        screen.screenshot(path=str(ARTIFACTS / "room_presentation.png"))
        preds = ["down", "none", "up"]
        res = all_at_once(phones, lambda p, k: p.post("v/api/predict", {
            "question": q["id"], "outcome": preds[k % 3]}))
        assert all(code == 200 for code, _ in res), res
        page.locator(".tn-room-open-vote").click()
        page.wait_for_selector(".tn-room-status[data-phase=vote]")
        # 50 phones vote together: 25 / 15 / 10
        choice = [0] * 25 + [1] * 15 + [2] * 10
        res = all_at_once(phones, lambda p, k: p.post("v/api/vote", {
            "question": q["id"], "option": choice[k]}))
        assert all(code == 200 for code, _ in res), res
        # one phone, one vote: every second vote is refused, counts unchanged
        res = all_at_once(phones[:10], lambda p, k: p.post("v/api/vote", {
            "question": q["id"], "option": 2}))
        assert all(code == 409 for code, _ in res), res
        assert "déjà voté" in phones[0].post("v/api/vote?lang=fr", {
            "question": q["id"], "option": 2})[1]["error"]
        # the facilitator sees the counts live
        page.wait_for_selector(f".tn-room-status[data-voters='{PHONES}']")
        counts = page.locator(".tn-room-count").evaluate_all(
            "els => els.map(e => +e.dataset.count)")
        assert counts == [25, 15, 10]
        page.locator(".tn-room-close").click()
        page.wait_for_selector(".tn-room-status[data-phase=closed]")
        screen.wait_for_selector(".tn-present-room[data-phase=closed]")
        assert screen.locator(".tn-present-room-count b").all_inner_texts() == ["25", "15", "10"]
        q = phones[3].state()["question"]
        assert q["counts"] == [25, 15, 10] and q["winner"] == 0 and q["my_vote"] == 0
        step = int(page.locator("[data-testid=step-counter]").get_attribute("data-step"))
        page.locator(".tn-room-apply").click()
        page.wait_for_selector(".tn-room-status[data-phase=applied]")
        page.wait_for_function(
            "document.querySelectorAll('.tn-log-row[data-log-kind=policy]').length >= 1")
        assert phones[7].state()["question"]["applied"] == "fermer les guichets ruraux"
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".tn-room").screenshot(path=str(ARTIFACTS / "room_facilitator.png"))
        # a month later the phones see the new month on the shared view
        page.locator(".tn-step").click()
        page.wait_for_selector(f"[data-testid=step-counter][data-step='{step + 1}']")
        assert phones[0].state()["view"]["step"] == step + 1
        page.locator(".tn-room-result-btn").click()
        page.wait_for_selector(".tn-room-status[data-phase=result]")
        q = phones[1].state()["question"]
        assert q["result"]["measure"] == "service_access" and q["result"]["months"] == 1
        assert q["predictions"] == {"down": 17, "none": 17, "up": 16}
    finally:
        ctx.close()


def test_participants_cannot_use_the_facilitators_controls(server, browser):
    phone = Phone(server)
    # the facilitator's page and Solara's endpoints need the key
    for path in ("", "?present=abc", "static/assets/x.js", "jupyter/api/kernels/x"):
        req = urllib.request.Request(server + path)
        with pytest.raises(urllib.error.HTTPError) as err:
            phone.opener.open(req, timeout=30)
        assert err.value.code == 403, path
        body = err.value.read().decode()
        assert "réservée à l'animateur" in body and "/v" in body
    with pytest.raises(urllib.error.HTTPError) as err:
        phone.opener.open(server + "?key=wrong", timeout=30)
    assert err.value.code == 403
    # the websocket that drives a run is refused without the key, in a real browser too
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(server + "v", wait_until="domcontentloaded")
        closed = page.evaluate("""() => new Promise(res => {
            const ws = new WebSocket(location.origin.replace('http', 'ws') +
                                     '/jupyter/api/kernels/x/channels?session_id=y');
            ws.onopen = () => res('open'); ws.onclose = e => res('closed');
            setTimeout(() => res('timeout'), 10000); })""")
        assert closed == "closed"
        page.goto(server, wait_until="domcontentloaded")
        assert "réservée à l'animateur" in page.content()
        assert page.locator(".tn-step").count() == 0
    finally:
        ctx.close()
    # inputs are validated: bad JSON, a huge body, an unknown option, no phone cookie
    assert phone.post("v/api/vote", b"{not json")[0] == 400
    assert phone.post("v/api/vote", b"[1, 2]")[0] == 400
    assert phone.post("v/api/vote", b"x" * 5000)[0] == 413
    assert phone.post("v/api/predict", {"question": 1, "outcome": "<script>"})[0] in (400, 409)
    anon = urllib.request.Request(server + "v/api/vote", data=b'{"question": 1, "option": 0}',
                                  method="POST", headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(anon, timeout=30)
    assert err.value.code in (400, 409)
    # what a phone can reach only reads: GET never changes the run, POST elsewhere is refused
    before = phone.state()
    for path in ("v/api/state?step=1", "v/api/geo", "v/api/step", "v/api/apply"):
        phone.get(path)
    assert phone.post("v/api/apply", {"option": 0})[0] in (403, 404, 405)
    after = phone.state()
    if before.get("attached"):
        assert after["version"] == before["version"]


def test_a_phone_sees_the_map_and_votes_in_a_phone_layout(server, browser):
    ctx, page = facilitator(browser, server)
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844},
                                    device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        if page.locator(".tn-room-attach").count():
            page.locator(".tn-room-attach").click()
        if page.locator(".tn-room-end").count():
            page.locator(".tn-room-end").click()
        page.locator(".tn-room-measure").click()
        page.get_by_role("option", name="pas de prédiction").click()
        page.locator(".tn-room-ask").click()
        page.wait_for_selector(".tn-room-status[data-phase=vote]")
        ph = phone_ctx.new_page()
        ph.set_default_timeout(TIMEOUT_MS)
        ph.goto(server + "v", wait_until="domcontentloaded")
        ph.locator("svg.map path").first.wait_for()
        ph.locator("button.opt[data-option='1']").wait_for()
        assert ph.locator("svg.map path").count() >= 13  # the regions of France
        assert ph.locator("#charts svg.tn-chart").count() == 2
        # nothing wider than the phone's screen
        wide = ph.evaluate("""() => [...document.querySelectorAll('body *')].filter(
            e => e.getBoundingClientRect().right > window.innerWidth + 1).length""")
        assert wide == 0
        assert ph.evaluate("document.documentElement.scrollWidth") <= 390
        ph.locator("button.opt[data-option='1']").tap()
        ph.wait_for_selector("[data-testid=voted]")
        assert "ouvrir des France services" in ph.locator("[data-testid=voted]").inner_text()
        assert ph.locator("button.opt[data-option='0']").is_disabled()
        ARTIFACTS.mkdir(exist_ok=True)
        ph.screenshot(path=str(ARTIFACTS / "room_phone.png"), full_page=True)
        page.wait_for_selector(".tn-room-status[data-voters='1']")
        # English on the phone: the page's own words switch, the facilitator's question stays
        ph.locator("#lang").tap()
        ph.wait_for_function("document.documentElement.lang === 'en'")
        ph.wait_for_selector("text=Thank you, your vote is recorded")
    finally:
        phone_ctx.close()
        ctx.close()
