"""End-to-end tests of the workshop dashboard in headless Chromium (Playwright).

The server is started once for the module, exactly as ``terrinum dashboard`` starts it
(``solara run`` with offline assets and telemetry off), on a free port of 127.0.0.1. Every test
opens its own browser context, so it gets its own session on the server. Every request the
browser makes is recorded and the test fails if one leaves 127.0.0.1.

Chromium is Debian's (``apt-get install chromium``) or ``$TERRINUM_CHROMIUM``; Playwright never
downloads a browser. The tests are skipped only when no Chromium binary exists.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("TERRINUM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOUSEHOLDS = 3_000
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:", "about:")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def chromium() -> str:
    if not CHROMIUM:
        pytest.skip("TERRINUM_CHROMIUM is empty: browser tests disabled (TERRINUM_SKIP_BROWSER)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium binary at {CHROMIUM}: install Debian's chromium "
                    "(apt-get install -y chromium) or set TERRINUM_CHROMIUM")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium: str) -> Iterator[str]:
    """The dashboard server on a free port of 127.0.0.1; always stopped at the end."""
    from simulation.dashboard import cli

    try:
        with cli.running_server("baseline", households=HOUSEHOLDS, lang="fr") as url:
            yield url
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


class Tab:
    """One browser context with the dashboard open, and every URL it asked for."""

    def __init__(self, browser: object, url: str, viewport: dict | None = None) -> None:
        self.urls: list[str] = []
        self.context = browser.new_context(viewport=viewport or {"width": 1600, "height": 1000},
                                           accept_downloads=True)
        self.context.on("request", lambda r: self.urls.append(r.url))
        self.page = self.context.new_page()
        self.page.on("websocket", lambda ws: self.urls.append(ws.url))
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.goto(url, wait_until="domcontentloaded")
        self.page.locator(".tn-step").wait_for(state="visible", timeout=120_000)
        self.page.locator("svg.tn-map [data-territory]").first.wait_for()
        self.page.locator("svg.tn-chart").first.wait_for()

    # --------------------------------------------------------------- reading
    def counter(self) -> int:
        return int(self.page.locator("[data-testid=step-counter]").get_attribute("data-step"))

    def figure(self, measure: str, kind: str = "measure") -> float:
        return float(self.page.locator(f"td[data-{kind}='{measure}']").get_attribute("data-value"))

    def line(self, measure: str, series: str = "live") -> str:
        return self.page.locator(f"svg.tn-chart[data-chart='{measure}'] "
                                 f"polyline.tn-line-{series}").evaluate_all(
            "els => els.map(e => e.getAttribute('points')).join('|')")

    def log_kinds(self) -> list[str]:
        return self.page.locator(".tn-log-row").evaluate_all(
            "els => els.map(e => e.dataset.logKind)")

    # --------------------------------------------------------------- acting
    def step(self, n: int = 1) -> None:
        for _ in range(n):
            target = self.counter() + 1
            self.page.locator(".tn-step").click()
            self.page.wait_for_selector(f"[data-testid=step-counter][data-step='{target}']")
            self.page.wait_for_selector(f"svg.tn-map[data-map-step='{target}']")
            self.page.wait_for_selector(f"svg.tn-chart[data-step='{target}']")
            self.page.wait_for_selector(f"table.tn-figures[data-step='{target}']")
            self.page.wait_for_selector(f".tn-log[data-step='{target}']")

    def pull_preset(self, key: str) -> None:
        before = self.log_kinds().count("policy")
        self.page.locator(f".tn-preset-{key}").click()
        self.page.locator(".tn-apply").click()
        self.page.wait_for_function(
            f"document.querySelectorAll('.tn-log-row[data-log-kind=policy]').length > {before}")

    def foreign(self) -> list[str]:
        return [u for u in self.urls if not u.startswith(LOCAL)]

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def tab(browser: object, server: str) -> Iterator[Tab]:
    t = Tab(browser, server)
    try:
        yield t
        assert not t.foreign(), f"requests left 127.0.0.1: {t.foreign()[:5]}"
    finally:
        t.close()


# ------------------------------------------------------------------------------- tests
def test_page_loads_with_every_territory_and_no_outside_request(tab: Tab) -> None:
    from simulation.world.maps import load_map

    tmap = load_map("france-departements")
    page = tab.page
    assert page.locator("svg.tn-map [data-territory]").count() == tmap.n
    codes = set(page.locator("svg.tn-map path[data-territory]").evaluate_all(
        "els => els.map(e => e.dataset.territory)"))
    assert codes == set(tmap.codes)
    assert tab.counter() == 0
    assert page.locator("svg.tn-chart").count() == 6
    tab.step(3)
    page.locator("[data-territory='23']").hover()
    page.locator(".tn-hover-box").wait_for()
    assert "Creuse" in page.locator(".tn-hover-box").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert tab.urls and all(u.startswith(LOCAL) for u in tab.urls), tab.foreign()


def test_step_advances_counter_and_changes_the_charts(tab: Tab) -> None:
    tab.step(1)
    before = {m: tab.line(m) for m in ("gini", "unemployment_rate")}
    tab.step(2)
    assert tab.counter() == 3
    assert "Mois 3" in tab.page.locator("[data-testid=step-counter]").inner_text()
    for m, pts in before.items():
        after = tab.line(m)
        assert after != pts and len(after.split()) > len(pts.split()), m


def test_lever_is_reflected_in_next_steps_and_in_the_log(tab: Tab) -> None:
    tab.step(2)
    tab.pull_preset("close_rural_tax_offices")
    row = tab.page.locator(".tn-log-row[data-log-kind=policy]").first
    assert row.get_attribute("data-log-step") == "2"
    text = row.inner_text()
    assert "ruraux" in text and "impôts" in text and "mois 3" in text and "✓" not in text
    tab.step(3)
    assert "✓" in tab.page.locator(".tn-log-row[data-log-kind=policy]").first.inner_text()
    assert tab.line("gini", "baseline"), "the baseline is drawn beside the run"
    diffs = [abs(tab.figure(m) - tab.figure(m, "base-measure"))
             for m in ("gini", "non_take_up", "unemployment_rate", "local_value_captured")]
    assert max(diffs) > 0, "the lever changed nothing in the three following months"
    assert tab.page.locator(".tn-chart .tn-mark").count() >= 6, "choice marked on every chart"


def test_branching_shows_two_runs_side_by_side(tab: Tab) -> None:
    page = tab.page
    tab.step(1)
    page.locator(".tn-save-branch").click()
    page.wait_for_selector("svg.tn-map[data-run='branch']")
    tab.pull_preset("platform_tax_3")
    tab.step(2)
    maps = page.locator("svg.tn-map")
    assert maps.count() == 2
    assert [maps.nth(i).get_attribute("data-run") for i in range(2)] == ["live", "branch"]
    assert all(maps.nth(i).get_attribute("data-map-step") == "3" for i in range(2))
    assert page.locator("svg.tn-map[data-run='branch'] [data-territory]").count() == 96
    assert tab.line("gini", "branch") and tab.line("gini", "live")
    live = [tab.figure(m) for m in ("gini", "local_value_captured", "unemployment_rate")]
    branch = [tab.figure(m, "branch-measure")
              for m in ("gini", "local_value_captured", "unemployment_rate")]
    assert live != branch, "the two branches made different choices"
    page.locator(".tn-back-A").click()
    page.wait_for_selector("[data-testid=step-counter][data-step='1']")
    assert "branch_back" in tab.log_kinds()


def test_exported_scenario_replays_to_the_numbers_shown(tab: Tab, tmp_path: Path) -> None:
    from simulation.engine.measures import MAP_MEASURES
    from simulation.scenarios.files import load_scenario

    page = tab.page
    tab.step(1)
    tab.pull_preset("tiers_lieux_creuse")
    tab.step(2)
    field = page.locator(".tn-settings .tn-number input")
    field.fill("0.7")
    field.press("Enter")
    page.locator(".tn-apply-setting").click()
    page.wait_for_function(
        "document.querySelectorAll('.tn-log-row[data-log-kind=policy]').length >= 2")
    tab.step(2)
    shown = {m: tab.figure(m) for m in ("local_value_captured", "theil_between", "gini",
                                         "non_take_up", "global_platform_share",
                                         "unemployment_rate")}
    with page.expect_download() as dl:
        page.locator(".tn-export-toml").click()
    path = tmp_path / "session.toml"
    dl.value.save_as(str(path))
    sc = load_scenario(path)
    assert [p.type for p in sc.policies] == ["tiers_lieux", "equalisation"]
    model = sc.build_model()
    for _ in range(tab.counter()):
        model.step()
    assert model.steps == 5
    for m, v in shown.items():
        got = model.map_measures[m]
        assert (math.isnan(v) and math.isnan(got)) or got == v, (m, got, v)
    assert set(shown) <= set(MAP_MEASURES)
    with page.expect_download() as dl:
        page.locator(".tn-export-png").click()
    png = tmp_path / "charts.png"
    dl.value.save_as(str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_language_switch_changes_the_labels(tab: Tab) -> None:
    page = tab.page
    assert page.locator(".tn-step").inner_text().strip().lower() == "mois suivant"
    title = "svg.tn-chart[data-chart='gini'] .tn-chart-title"
    assert page.locator(title).text_content() == "Inégalités de revenus (Gini)"
    page.locator(".tn-lang-en").click()
    page.wait_for_function(
        "document.querySelector('.tn-step').innerText.trim().toLowerCase() === 'step'")
    for selector, text in ((title, "Income inequality (Gini)"),
                           (".tn-map-measure", "Attractiveness (net migration)"),
                           ("[data-testid=step-counter]", "Month 0"),
                           ("[data-testid=date]", "January 2023"),
                           (".tn-levers h3", "Levers")):
        page.wait_for_function("([s, t]) => document.querySelector(s).textContent.trim() === t",
                               arg=[selector, text])
    page.locator(".tn-lang-fr").click()
    page.wait_for_function(
        "document.querySelector('.tn-step').innerText.trim().toLowerCase() === 'mois suivant'")


def test_two_browser_contexts_do_not_see_each_others_choices(browser: object,
                                                             server: str) -> None:
    a, b = Tab(browser, server), Tab(browser, server)
    try:
        a.step(2)
        a.pull_preset("platform_tax_3")
        assert b.counter() == 0
        assert "policy" not in b.log_kinds()
        b.step(1)
        assert b.counter() == 1 and a.counter() == 2
        assert a.log_kinds().count("policy") == 1 and "policy" not in b.log_kinds()
        assert not b.line("gini", "baseline"), "no baseline in B: B made no choice"
        for t in (a, b):
            assert not t.foreign(), t.foreign()[:5]
    finally:
        a.close()
        b.close()


@pytest.fixture(scope="module")
def closures_server(chromium: str) -> Iterator[str]:
    """A dashboard server on scenario office_closures (its phased closure runs months 1-36)."""
    from simulation.dashboard import cli

    try:
        with cli.running_server("office_closures", households=HOUSEHOLDS, lang="fr") as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


def test_lever_held_by_a_scenario_policy_is_refused_with_its_name_and_month(
        browser: object, closures_server: str) -> None:
    tab = Tab(browser, closures_server)
    try:
        page = tab.page
        tab.step(1)
        error = page.locator(".tn-levers .tn-message.tn-error")
        page.locator(".tn-preset-close_rural_tax_offices").click()
        page.locator(".tn-apply").click()
        error.wait_for()
        text = error.inner_text()
        assert text.startswith("Levier refusé")
        assert "« Closure of tax and social counters »" in text
        assert "guichets des impôts" in text and "jusqu'au mois 36" in text
        assert "dès le mois 35" in text and "✓" not in text
        assert "policy" not in tab.log_kinds(), "a refused lever is not logged"
        tab.step(1)
        assert tab.counter() == 2 and "policy" not in tab.log_kinds()
        assert not tab.line("gini", "baseline"), "no choice: no separate reference run"
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".tn-levers").screenshot(path=str(ARTIFACTS / "lever_refused.png"))
        page.locator(".tn-lang-en").click()
        page.wait_for_function(
            "document.querySelector('.tn-step').innerText.trim().toLowerCase() === 'step'")
        page.locator(".tn-preset-close_rural_tax_offices").click()
        page.locator(".tn-apply").click()
        page.wait_for_function(
            "document.querySelector('.tn-levers .tn-error')?.innerText.startsWith('Lever "
            "refused')")
        text = error.inner_text()
        assert "“Closure of tax and social counters”" in text and "the tax counters" in text
        assert "until month 36" in text and "from month 35 on" in text
        assert not tab.foreign(), tab.foreign()[:5]
    finally:
        tab.close()


# ------------------------------------------------------------------------------- the room
PROJECTOR = {"width": 1280, "height": 720}

LAYOUT_PROBLEMS = """(root) => {
  // every visible text at >= 18 px on screen (SVG text: font size x the SVG's scale),
  // every element inside the viewport, no text cut off, the blocks never overlapping
  const W = window.innerWidth, H = window.innerHeight, out = [];
  const visible = (el) => {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || +cs.opacity === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const hidden = (el) => { for (let e = el; e && e !== document; e = e.parentElement)
    if (!visible(e)) return true; return false; };
  let texts = 0;
  for (const el of root.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || hidden(el) || el.closest('title')) continue;
    texts++;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      size *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    }
    if (size < 17.95) out.push('small ' + size.toFixed(1) + 'px: ' + el.textContent.trim());
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5)
      out.push('outside the viewport: ' + el.textContent.trim().slice(0, 40));
    if (!(el instanceof SVGElement) && el.scrollWidth > el.clientWidth + 1 &&
        getComputedStyle(el).overflow !== 'visible')
      out.push('cut off: ' + el.textContent.trim().slice(0, 40));
  }
  if (document.documentElement.scrollWidth > W || document.documentElement.scrollHeight > H)
    out.push('page scrolls: ' + document.documentElement.scrollWidth + 'x' +
             document.documentElement.scrollHeight);
  const blocks = [...root.querySelectorAll('.tn-present-top, .tn-map-head, svg.tn-map, ' +
      '.tn-map-note, .tn-legend-bar, .tn-legend-words, .tn-chart-cell, .tn-present-charts ' +
      '.tn-legend, .tn-present-text, .tn-present-foot')].filter(e => !hidden(e));
  for (let i = 0; i < blocks.length; i++) for (let j = i + 1; j < blocks.length; j++) {
    const a = blocks[i].getBoundingClientRect(), b = blocks[j].getBoundingClientRect();
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    const name = (e) => (typeof e.className === 'string' ? e.className : e.className.baseVal);
    if (w > 1 && h > 1) out.push('overlap: ' + name(blocks[i]) + ' / ' + name(blocks[j]));
  }
  return {problems: out, texts: texts, blocks: blocks.length};
}"""


def layout_problems(page: object) -> dict:
    return page.evaluate(LAYOUT_PROBLEMS, page.locator(".tn-present").element_handle())


@pytest.fixture(scope="module")
def regions_server(chromium: str) -> Iterator[str]:
    """Baseline on france-regions: 3,000 household agents are enough for every region."""
    from simulation.dashboard import cli

    try:
        with cli.running_server("baseline", households=HOUSEHOLDS, lang="fr",
                                map_name="france-regions") as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


def test_presentation_mode_fits_a_projector_and_follows_the_run_from_another_tab(
        browser: object, regions_server: str) -> None:
    from simulation.dashboard.mapdraw import FEW_AGENTS, NO_DATA

    tab = Tab(browser, regions_server, viewport=PROJECTOR)
    try:
        page = tab.page
        assert tab.counter() == 0
        page.keyboard.press("p")
        page.locator(".tn-present").wait_for()
        # month 0 of attractiveness (a flow) has no value: month 1 is computed, never grey
        page.wait_for_selector("[data-testid=present-date][data-step='1']")
        page.wait_for_selector("svg.tn-map[data-map-step='1']")
        assert page.locator("[data-testid=present-date]").inner_text() == "février 2023"
        fills = page.locator("svg.tn-map path[data-territory]").evaluate_all(
            "els => els.map(e => e.getAttribute('fill'))")
        # no "no data yet" grey; light grey only for Corse (under 100 of the 3,000 agents)
        assert len(fills) == 13 and NO_DATA not in fills and fills.count(FEW_AGENTS) <= 1, fills
        assert page.locator(".tn-step, .tn-apply, .tn-side").count() == 0, "controls hidden"
        assert page.locator(".tn-present svg.tn-map").count() == 1
        assert page.locator(".tn-present svg.tn-chart").count() == 3
        assert page.locator(".tn-present .tn-legend-bar").is_visible()
        page.wait_for_timeout(300)
        res = layout_problems(page)
        assert res["texts"] > 20 and res["blocks"] >= 8, res
        assert not res["problems"], res["problems"][:10]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "presentation.png"))
        # the facilitator keeps the controls in another window driving the same run
        page.keyboard.press("Escape")
        page.locator(".tn-step").wait_for()
        href = page.locator("a.tn-present-tab").get_attribute("href")
        assert href.startswith("?present=")
        screen = tab.context.new_page()
        screen.set_viewport_size(PROJECTOR)
        screen.goto(regions_server + href)
        screen.wait_for_selector(".tn-present[data-step='1']")
        assert screen.locator(".tn-step, .tn-apply, .tn-present-exit").count() == 0
        tab.step(2)
        screen.wait_for_selector(".tn-present[data-step='3']")
        screen.wait_for_selector("svg.tn-map[data-map-step='3']")
        assert screen.locator("[data-testid=present-date]").inner_text() == "avril 2023"
        assert not layout_problems(screen)["problems"]
        # an unknown token shows a message, never somebody's session
        other = tab.context.new_page()
        other.goto(regions_server + "?present=not-a-token")
        other.wait_for_selector(".tn-present-gone")
        assert other.locator(".tn-step, .tn-present").count() == 0
        assert not tab.foreign(), tab.foreign()[:5]
    finally:
        tab.close()


def _pick_mode(page: object, text: str) -> None:
    page.locator(".tn-mode .v-input__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text=text).first.click()


def test_before_after_shows_three_maps_and_what_changed_since_the_decision(
        browser: object, regions_server: str) -> None:
    tab = Tab(browser, regions_server)
    try:
        page = tab.page
        tab.step(2)
        tab.pull_preset("close_rural_tax_offices")
        tab.step(3)
        _pick_mode(page, "avant / après")
        page.wait_for_selector("svg.tn-map[data-run='difference']")
        runs = page.locator("svg.tn-map").evaluate_all("els => els.map(e => e.dataset.run)")
        assert runs == ["reference", "live", "difference"]
        line = page.locator(".tn-ba-line").first
        text = line.inner_text()
        assert text.startswith("Depuis la fermeture des guichets (impôts) (mois 2), dans 1 "
                               "région rurale : "), text
        assert "attractivité" in text.lower() and ";" in text
        assert "deux fois le bruit" in page.locator(".tn-ba-rule").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "before_after.png"), full_page=True)
        page.locator(".tn-lang-en").click()
        page.wait_for_function("document.querySelector('.tn-ba-line')?.innerText"
                               ".startsWith('Since the closure of counters (tax) (month 2), "
                               "in 1 rural region: ')")
        page.locator(".tn-lang-fr").click()
        page.wait_for_function("document.querySelector('.tn-ba-line')?.innerText"
                               ".startsWith('Depuis')")
        # the same three maps in presentation mode, on a projector
        page.set_viewport_size(PROJECTOR)
        page.keyboard.press("p")
        page.wait_for_selector(".tn-present svg.tn-map[data-run='difference']")
        assert page.locator(".tn-present svg.tn-map").count() == 3
        assert page.locator(".tn-present .tn-present-text").inner_text().startswith("Depuis")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "presentation_before_after.png"))
        res = layout_problems(page)
        assert not res["problems"], res["problems"][:10]
        assert not tab.foreign(), tab.foreign()[:5]
    finally:
        tab.close()


def test_french_for_the_room_titles_names_commas_and_messages(tab: Tab) -> None:
    page = tab.page
    assert page.locator(".tn-subtitle").inner_text().startswith("Au fil de l'eau — ")
    assert page.locator("svg.tn-map text[data-label='Creuse']").count() == 1
    assert page.locator("svg.tn-map text[data-label='Seine-Saint-Denis']").count() == 1
    titles = page.locator("svg.tn-chart .tn-chart-title").all_text_contents()
    assert "Écart de revenus entre territoires" in titles
    assert not any("Theil" in x for x in titles), titles
    tab.step(1)
    body = page.locator(".tn-main").inner_text()
    assert re.search(r"\d,\d", body) and not re.search(r"\d\.\d", body), \
        re.findall(r".{12}\d\.\d.{6}", body)[:5]
    tab.pull_preset("platform_tax_3")
    # the tax rate is shown in % (3 for 0.03), with its unit next to the box
    assert page.locator(".tn-levers .tn-number input").first.input_value() == "3"
    assert page.locator(".tn-levers .tn-readout").first.inner_text() == "3\u202f%"
    msg = page.locator(".tn-levers .tn-message.tn-ok")
    assert msg.inner_text().startswith("mois 1 · Taxe sur le chiffre d'affaires")
    page.locator(".tn-lang-en").click()
    page.wait_for_function("document.querySelector('.tn-levers .tn-message')?.innerText"
                           ".startsWith('month 1 · Tax on platform turnover')")
    page.wait_for_function("document.querySelector('.tn-subtitle').innerText"
                           ".startsWith('Business as usual — ')")
    # the header's button opens presentation mode in this tab, in the page's language
    page.locator(".tn-present-btn").click()
    page.wait_for_selector(".tn-present")
    assert page.locator(".tn-present-title").inner_text() == "Business as usual"
    assert page.locator("[data-testid=present-date]").inner_text() == "February 2023"
    page.locator(".tn-present-exit").click()
    page.locator(".tn-step").wait_for()


def test_lever_close_half_the_counters_in_plain_units(tab: Tab) -> None:
    """Pick the counters policy, "Fermer la moitié", apply: the log says it in plain words."""
    page = tab.page
    tab.step(1)
    page.locator(".tn-policy-type .v-input__slot").click()
    page.locator(".menuable__content__active .v-list-item",
                 has_text="Guichets publics").first.click()
    box = page.locator(".tn-levers .tn-number input").first
    page.wait_for_function("document.querySelector('.tn-levers .tn-number input')"
                           "?.value === '−100'")
    assert page.locator(".tn-levers .tn-readout").first.inner_text() == "−100\u202f%"
    assert "Variation du nombre de guichets" in page.locator(".tn-levers").inner_text()
    page.locator(".tn-quick-close_half").click()
    page.wait_for_function("document.querySelector('.tn-levers .tn-number input')"
                           "?.value === '−50'")
    assert box.input_value() == "−50"
    assert page.locator(".tn-levers .tn-readout").first.inner_text() == "−50\u202f%"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".tn-levers").screenshot(path=str(ARTIFACTS / "lever_plain_units.png"))
    page.locator("[data-territory='23']").click()  # Creuse
    before = tab.log_kinds().count("policy")
    page.locator(".tn-apply").click()
    page.wait_for_function(
        f"document.querySelectorAll('.tn-log-row[data-log-kind=policy]').length > {before}")
    text = page.locator(".tn-log-row[data-log-kind=policy]").first.inner_text()
    assert "fermeture de la moitié des guichets (−50\u202f%)" in text, text
    assert "Creuse" in text
    ok = page.locator(".tn-levers .tn-message.tn-ok").inner_text()
    assert "fermeture de la moitié des guichets" in ok, ok
    page.locator(".tn-lang-en").click()
    page.wait_for_function("[...document.querySelectorAll('.tn-log-row')].some("
                           "e => e.innerText.includes('closure of half the counters (−50 %)'))")


# ------------------------------------------------------------------------------- workshops
FIGURES = ("local_value_captured", "theil_between", "gini", "non_take_up",
           "global_platform_share", "unemployment_rate")


def _figures(tab: Tab, kind: str = "measure") -> dict[str, float]:
    return {m: tab.figure(m, kind) for m in FIGURES}


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all((math.isnan(a[m]) and math.isnan(b[m])) or a[m] == b[m] for m in a)


def _upload(tab: Tab, path: Path, step: int) -> None:
    tab.page.locator(".tn-upload-input").set_input_files(str(path))
    tab.page.wait_for_selector(f"[data-testid=step-counter][data-step='{step}']")
    tab.page.wait_for_selector(f"table.tn-figures[data-step='{step}']")
    tab.page.locator(".tn-workshop .tn-message.tn-ok").wait_for()


def test_workshop_saved_to_a_file_and_reloaded_in_a_new_tab_shows_the_same_run(
        browser: object, server: str, tmp_path: Path) -> None:
    a = Tab(browser, server)
    b = Tab(browser, server)
    try:
        a.step(1)
        a.pull_preset("tiers_lieux_creuse")
        a.step(1)
        a.page.locator(".tn-branch-name input").fill("tiers-lieux seuls")
        a.page.locator(".tn-save-branch").click()
        a.page.wait_for_selector("svg.tn-map[data-run='branch']")
        a.pull_preset("platform_tax_3")
        a.step(2)
        shown = _figures(a)
        base = _figures(a, "base-measure")
        branch = _figures(a, "branch-measure")
        assert not _same(shown, branch), "the tax after the fork changed the live run"
        with a.page.expect_download() as dl:
            a.page.locator(".tn-save-workshop").click()
        path = tmp_path / "atelier.json"
        dl.value.save_as(str(path))
        assert dl.value.suggested_filename.endswith("_atelier.json")
        _upload(b, path, 4)
        assert "Atelier ouvert" in b.page.locator(".tn-workshop .tn-message").inner_text()
        assert _same(_figures(b), shown) and _same(_figures(b, "base-measure"), base)
        assert _same(_figures(b, "branch-measure"), branch)
        assert b.page.locator(".tn-map-title").nth(1).inner_text() == \
            "Branche tiers-lieux seuls"
        assert b.log_kinds() == a.log_kinds()
        assert b.line("gini") == a.line("gini") and b.line("gini", "baseline")
        b.step(1)
        a.step(1)
        assert _same(_figures(b), _figures(a)), "the reloaded workshop goes on identically"
        # a bad file is refused with its name and key, and the tab keeps its run
        bad = tmp_path / "mauvais.json"
        bad.write_text('{"format": "terrinum-workshop", "version": 7}', encoding="utf-8")
        b.page.locator(".tn-upload-input").set_input_files(str(bad))
        err = b.page.locator(".tn-workshop .tn-message.tn-error")
        err.wait_for()
        assert err.inner_text().startswith("mauvais.json: version: version 7")
        assert b.counter() == 5
        for t in (a, b):
            assert not t.foreign(), t.foreign()[:5]
    finally:
        a.close()
        b.close()


def test_undo_clickable_log_and_reset_confirmation(browser: object, server: str) -> None:
    tab, never = Tab(browser, server), Tab(browser, server)
    try:
        _undo_and_reset(tab, never)
    finally:
        tab.close()
        never.close()


def _undo_and_reset(tab: Tab, never: Tab) -> None:
    page = tab.page
    for t in (tab, never):  # "never": the same session without the platform tax
        t.step(1)
        t.pull_preset("tiers_lieux_creuse")
        t.step(2)
    tab.pull_preset("platform_tax_3")
    tab.step(2)
    never.step(2)
    with_tax = _figures(tab)
    page.locator(".tn-undo").click()
    page.wait_for_selector(".tn-log-row[data-log-kind=undo]")
    page.wait_for_function("document.querySelector('.tn-log-row[data-log-kind=policy] "
                           ".tn-log-status').innerText === 'annulé'")
    assert tab.counter() == 5
    assert "annulation" in page.locator(".tn-log-row[data-log-kind=undo]").inner_text()
    assert _same(_figures(tab), _figures(never)), "undo = the tax never taken"
    assert not _same(with_tax, _figures(never)), "the tax had changed the numbers"
    # click the tiers-lieux decision: back to month 1, where it was taken
    page.locator(".tn-log-row.tn-log-back[data-log-step='1']").click()
    page.wait_for_selector("[data-testid=step-counter][data-step='1']")
    page.wait_for_selector(".tn-log-row[data-log-kind=decision_back]")
    kept = page.locator(".tn-log-row.tn-log-back[data-log-step='1'] .tn-log-status")
    assert kept.inner_text().startswith("effet dès le mois 2"), "the decision is kept"
    assert page.locator(".tn-log-row[data-log-kind=policy]").count() == 2
    assert page.locator(".tn-log-row.tn-log-back").count() == 1, "only it is live"
    tab.step(1)
    assert "✓" in kept.inner_text()
    # reset asks first; "no" keeps the run
    page.locator(".tn-reset").click()
    page.locator(".tn-reset-confirm").wait_for()
    page.locator(".tn-reset-no").click()
    page.locator(".tn-reset-confirm").wait_for(state="detached")
    assert tab.counter() == 2
    page.locator(".tn-reset").click()
    page.locator(".tn-reset-yes").click()
    page.wait_for_selector("[data-testid=step-counter][data-step='0']")
    assert "policy" not in tab.log_kinds()


def test_exported_workshop_replays_with_a_plain_terrinum_run_and_reopens_with_its_log(
        browser: object, server: str, tmp_path: Path) -> None:
    import pandas as pd

    from simulation.cli.main import main

    tab = Tab(browser, server)
    other = Tab(browser, server)
    try:
        page = tab.page
        tab.step(1)
        tab.pull_preset("tiers_lieux_creuse")
        tab.step(2)
        tab.pull_preset("close_rural_tax_offices")
        tab.step(2)
        shown = _figures(tab)
        with page.expect_download() as dl:
            page.locator(".tn-export-toml").click()
        path = tmp_path / "atelier.toml"
        dl.value.save_as(str(path))
        out = tmp_path / "run"
        assert main(["run", str(path), "--quiet", "--no-plots", "--workers", "1",
                     "--out", str(out)]) == 0
        df = pd.read_parquet(out / "results.parquet")
        last = df[(df["territory"] == "_map") & (df["step"] == df["step"].max())]
        assert int(last["step"].iloc[0]) == tab.counter() == 5, "years = the run so far"
        got = dict(last.set_index("measure")["value"])
        assert _same({m: float(got[m]) for m in FIGURES}, shown)
        # reopened in another tab: its decisions in the log, beside the reference run
        _upload(other, path, 5)
        rows = other.page.locator(".tn-log-row[data-log-kind=policy]")
        assert [rows.nth(i).get_attribute("data-log-step") for i in range(rows.count())] == \
            ["3", "1"]
        assert "Creuse" in rows.nth(1).inner_text() and "✓" in rows.nth(1).inner_text()
        assert other.line("gini", "baseline"), "the reference run is drawn beside"
        assert _same(_figures(other), shown)
        assert not tab.foreign() and not other.foreign()
    finally:
        tab.close()
        other.close()
