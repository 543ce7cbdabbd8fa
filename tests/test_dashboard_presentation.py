"""Presentation mode, before / after and the room's French, without a browser.

The browser side (1280 x 720, font sizes, a second tab) is in test_dashboard_browser.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from simulation.dashboard import beforeafter as ba
from simulation.dashboard import charts as ch
from simulation.dashboard import i18n
from simulation.dashboard import mapdraw as md
from simulation.dashboard import state as st
from simulation.dashboard import view as vw
from simulation.engine.measures import MAP_MEASURES
from simulation.world.maps import KINDS

CLOSE_RURAL_TAX = {"type": "public_counters", "change": -1.0, "which": ["tax"],
                   "territories": {"kinds": ["rural"]}}


@pytest.fixture(scope="module")
def closed() -> st.Session:
    """Baseline on départements at the dashboard's default households; rural tax counters
    closed at month 14, then 8 more months."""
    s = st.Session("baseline")
    s.step(14)
    s.pull(CLOSE_RURAL_TAX)
    s.step(8)
    return s


@pytest.fixture(scope="module")
def tiny() -> st.Session:
    """3,000 household agents on 96 départements: almost every territory has too few."""
    s = st.Session("office_closures", households=3_000)
    s.step(2)
    return s


# ------------------------------------------------------------------ dates
@pytest.mark.parametrize(("step", "lang", "text"), [
    (0, "fr", "janvier 2023"), (78, "fr", "juillet 2029"), (11, "en", "December 2023"),
    (12, "fr", "janvier 2024"), (7, "fr", "août 2023")])
def test_month_year_counts_months_from_january_of_the_start_year(step, lang, text):
    assert ba.month_year(step, 2023, lang) == text


def test_month_year_refuses_a_negative_month():
    with pytest.raises(ValueError, match="months of a run are >= 0"):
        ba.month_year(-1, 2023, "fr")


def test_the_session_date_follows_the_model_start_year(closed):
    assert ba.start_year(closed) == closed.live.model.start_year
    y = closed.live.model.start_year
    assert ba.month_year(closed.steps, ba.start_year(closed), "fr") == f"novembre {y + 1}"


# ------------------------------------------------------------------ the uncertainty rule
def test_verdict_rule_zero_early_noise_and_effect():
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 1.0, 12)
    sd = float(np.std(noise, ddof=1))
    assert ba.verdict(0.0, noise, 1)[0] == "none"
    assert ba.verdict(5.0, noise[:2], 1)[0] == "early"
    assert ba.verdict(float("nan"), noise, 1)[0] == "uncertain"
    v, s, thr = ba.verdict(1.9 * sd, noise, 1)
    assert v == "uncertain" and s == pytest.approx(sd) and thr == pytest.approx(2 * sd)
    assert ba.verdict(2.1 * sd, noise, 1)[0] == "effect"
    assert ba.verdict(-2.1 * sd, noise, 1)[0] == "effect"
    # a 12-month mean is less noisy: the same difference becomes an effect
    assert ba.verdict(0.7 * sd, noise, 12)[0] == "effect"
    assert ba.verdict(0.5 * sd, noise, 12)[0] == "uncertain"


def test_too_few_agents_is_always_uncertain(tiny):
    idx = np.flatnonzero(tiny.few_agents())
    assert idx.size > 80
    c = ba.measure_change(tiny, "service_access", idx)
    assert c.verdict == "uncertain" and c.n == 0 and c.n_few == idx.size


# ------------------------------------------------------------------ what changed since a decision
def test_closing_rural_tax_counters_is_reported_as_a_fall_of_access(closed):
    (d,) = ba.decision_summaries(closed, ["service_access", "non_take_up"], "fr")
    rural = int((closed.tmap.kind == KINDS.index("rural")).sum())
    acc = d.changes[0]
    assert acc.measure == "service_access" and acc.verdict == "effect"
    assert acc.diff < 0 and abs(acc.diff) > acc.threshold
    assert acc.n + acc.n_few == rural
    assert d.text.startswith(f"Depuis la fermeture des guichets (impôts) (mois 14), dans "
                             f"{rural} départements ruraux : accès aux guichets −")
    pts = re.search(r"accès aux guichets −(\d+(?:,\d)?) points", d.text)
    assert pts, d.text
    assert float(pts.group(1).replace(",", ".")) == pytest.approx(-100 * acc.diff, abs=0.51)
    ntu = d.changes[1]
    assert ntu.verdict in ("effect", "uncertain", "none", "early")
    word = {"effect": "non-recours aux droits +", "uncertain": "non-recours aux droits : "
            "effet incertain", "none": "pas de changement", "early": "trop tôt"}[ntu.verdict]
    assert word in d.text or (ntu.verdict == "effect" and "non-recours aux droits −" in d.text)


def test_the_same_summary_in_english_with_a_decimal_point(closed):
    (d,) = ba.decision_summaries(closed, ["service_access"], "en")
    assert d.text.startswith("Since the closure of counters (tax) (month 14), in 32 rural "
                             "départements: access to public counters −")
    assert "," not in d.text.split("−", 1)[1].split(" ")[0]


def test_default_measures_are_the_scenario_question(closed):
    (d,) = ba.decision_summaries(closed, None, "fr")
    assert [c.measure for c in d.changes] == [
        m for m in ba.question_measures(closed) if m in st.TERRITORY_MEASURES]


def test_a_decision_not_yet_in_effect_says_from_when():
    s = st.Session("baseline", households=3_000, map_name="france-regions")
    s.step(2)
    s.pull({"type": "tiers_lieux", "places": 5.0, "territories": "all"})
    (d,) = ba.decision_summaries(s, ["service_access"], "fr")
    assert d.text == ("Depuis l'ouverture de tiers-lieux (mois 2), sur toute la carte : "
                      "effet à partir du mois 3")
    s.step(1)
    (d,) = ba.decision_summaries(s, ["service_access"], "fr")
    assert "effet à partir" not in d.text and d.changes


def test_overlapping_later_decisions_are_said_to_be_included():
    s = st.Session("baseline", households=3_000, map_name="france-regions")
    s.step(1)
    s.pull({"type": "tiers_lieux", "places": 5.0, "territories": "all"})
    s.step(1)
    s.pull({"type": "digital_mediators", "per_10k_households": 1.0, "territories": "all"})
    s.step(2)
    first, second = ba.decision_summaries(s, ["service_access"], "fr")
    assert first.later and first.text.endswith("(avec les choix suivants)")
    assert not second.later


# ------------------------------------------------------------------ before / after maps
def test_before_after_maps_share_a_scale_and_draw_the_fall_in_the_worse_colour(closed):
    maps = ba.before_after(closed, "service_access", "fr")
    assert [m.key for m in maps] == ["reference", "live", "difference"]
    assert maps[0].legend["lo"] == maps[1].legend["lo"]
    assert maps[0].legend["hi"] == maps[1].legend["hi"]
    diff = closed.map_values("service_access", mode="diff")
    few = closed.few_agents()
    i = int(np.argmin(np.where(few, np.inf, diff)))
    assert diff[i] < 0 and not few[i]
    worse = md.effect_lut("service_access")[0]
    assert maps[2].fills[i] == worse
    assert maps[2].legend["left"] == "moins bien" and maps[2].legend["right"] == "mieux"
    untouched = [k for k in range(closed.tmap.n) if diff[k] == 0 and not few[k]]
    assert untouched and {maps[2].fills[k] for k in untouched} == \
        {md.effect_lut("service_access")[128]}


def test_before_any_choice_the_difference_is_zero_everywhere(tiny):
    maps = ba.before_after(tiny, "service_access", "fr")
    assert maps[0].fills == maps[1].fills
    few = tiny.few_agents()
    assert {f for f, u in zip(maps[2].fills, few, strict=True) if u} == {md.FEW_AGENTS}
    assert {f for f, u in zip(maps[2].fills, few, strict=True) if not u} == \
        {md.effect_lut("service_access")[128]}


def test_difference_map_greys_only_uncertain_territories(closed):
    unc = ba.territory_uncertain(closed, "service_access")
    few = closed.few_agents()
    rural = closed.tmap.kind == KINDS.index("rural")
    assert (unc[few]).all(), "too few agents is always uncertain"
    assert not unc[rural & ~few].any(), "a closure of every rural tax counter is an effect"
    maps = ba.before_after(closed, "service_access", "fr")
    assert all((f == md.FEW_AGENTS) == bool(u) for f, u in zip(maps[2].fills, unc,
                                                                strict=True))
    assert "effet incertain" in maps[2].legend["note"]


# ------------------------------------------------------------------ presentation
def test_presentation_charts_are_the_question_measures_padded_to_three():
    s = st.Session("office_closures", households=2_000, map_name="france-regions")
    q = [m for m in s.scenario.question_measures if m in MAP_MEASURES]
    assert ba.present_charts(s) == q[:3] == ["service_access", "non_take_up",
                                              "non_take_up_low_literacy"]
    assert ba.map_measures(s)[0] == "service_access"
    pv = ba.present_view(s, "service_access", "value", "fr")
    assert pv.title == "Fermeture des guichets publics" and pv.date == "janvier 2023"
    assert [m for m, _ in pv.charts] == q[:3]
    assert all("tn-chart-big" in svg for _, svg in pv.charts)
    assert len(pv.maps) == 1 and not pv.texts


def test_presentation_with_a_decision_shows_its_text_and_two_charts(closed):
    pv = ba.present_view(closed, "service_access", "diff", "fr")
    assert len(pv.charts) == 2 and pv.texts and pv.texts[0].startswith("Depuis la fermeture")
    assert pv.maps[0].legend["title"].endswith("écart au scénario de référence")
    pv3 = ba.present_view(closed, "service_access", "beforeafter", "fr")
    assert [m.key for m in pv3.maps] == ["reference", "live", "difference"] and not pv3.charts


def test_first_screen_is_never_grey_a_flow_at_month_0_asks_for_month_1():
    s = st.Session("baseline", households=2_000, map_name="france-regions")
    assert not np.isfinite(s.map_values("attractiveness")).any()
    assert ba.first_screen_needs_a_month(s, "attractiveness")
    assert not ba.first_screen_needs_a_month(s, "service_access")
    s.step()
    assert not ba.first_screen_needs_a_month(s, "attractiveness")
    assert np.isfinite(s.map_values("attractiveness")).all()


def test_big_charts_keep_18px_text_and_wrap_long_titles():
    series = {"live": np.linspace(0.01, 0.02, 30)}
    svg = ch.chart_svg("theil_between", series, [], "fr", width=ba.PRESENT_CHART_WIDTH,
                       height=178, big=True)
    titles = re.findall(r'class="tn-chart-title"[^>]*>([^<]*)<', svg)
    assert titles == ["Écart de revenus entre", "territoires"]
    assert "font-size" not in svg.split("tn-chart-title", 1)[1].split(">", 1)[0]
    small = ch.chart_svg("theil_between", series, [], "fr")
    assert "tn-chart-big" not in small


def test_sharing_a_session_with_a_second_tab():
    s = st.Session("baseline", households=2_000, map_name="france-regions")
    rec = ba.share(s)
    assert ba.share(s) is rec and len(rec.token) >= 16
    assert ba.find_shared(rec.token) is s
    assert ba.find_shared("not-a-token") is None and ba.find_shared("") is None
    assert ba.token_from_search(f"present={rec.token}") == rec.token
    assert ba.token_from_search(None) == "" and ba.token_from_search("x=1") == ""
    fp = ba.fingerprint(s)
    s.step()
    assert ba.fingerprint(s) != fp
    fp = ba.fingerprint(s)
    rec.set("gini", "diff", "en")
    assert ba.fingerprint(s) != fp and (rec.measure, rec.mode, rec.lang) == ("gini", "diff",
                                                                             "en")


# ------------------------------------------------------------------ French for the room
def test_room_words_replace_the_jargon():
    assert i18n.measure_label("theil_between", "fr") == "Écart de revenus entre territoires"
    assert "fracture numérique" in i18n.measure_label("illectronism", "fr")
    assert "Fracture numérique" in i18n.measure_label("coverage_gap", "fr")
    for m in st.CHART_CHOICES:
        assert "Theil inter" not in i18n.measure_label(m, "fr")


def test_scenario_picker_shows_french_titles_not_file_names():
    assert vw.scenario_title("office_closures", "fr") == "Fermeture des guichets publics"
    assert vw.scenario_title("office_closures", "en") == "Public counters close"
    for name in st.scenario_names():
        sc = st.load_scenario(name)
        assert vw.scenario_title(name, "fr") == (sc.title_fr or sc.title_en or name)
    assert vw.scenario_title("baseline", "fr") != "baseline"


def test_change_text_uses_french_decimal_commas():
    c = ba.Change("service_access", 0.0534, 0.001, 0.002, 10, 0, "effect")
    assert ba.change_text(c, "share 0-1", "fr") == "+5,3 points"
    assert ba.change_text(c, "share 0-1", "en") == "+5.3 points"
    c = ba.Change("service_access", -0.134, 0.001, 0.002, 10, 0, "effect")
    assert ba.change_text(c, "share 0-1", "fr") == "−13 points"


def test_departement_names_are_drawn_on_the_map():
    from simulation.world.maps import load_map

    tm = load_map("france-departements")
    lay = md.map_layout(tm)
    texts = [lab["text"] for lab in lay.labels] + [lab["text"] for lab in lay.inset["labels"]]
    assert len(texts) == tm.n
    names = set(tm.names)
    assert sum(x in names for x in texts) >= 0.95 * tm.n
    for lab in lay.labels:
        assert md.LABEL_MIN <= lab["size"] <= md.LABEL_MAX
        assert "".join(lab["lines"]).replace(" ", "") == lab["text"].replace(" ", "")
    creuse = next(lab for lab in lay.labels if lab["text"] == "Creuse")
    assert creuse["lines"] == ["Creuse"]


def test_name_label_splits_long_names_and_falls_back_to_the_code():
    lab = md.name_label("Alpes-de-Haute-Provence", "04", 80.0)
    assert lab["lines"] == ["Alpes-de-Haute-", "Provence"] and lab["size"] >= md.LABEL_MIN
    assert md.name_label("Seine-Saint-Denis", "93", 5.0) == {
        "text": "93", "lines": ["93"], "size": md.LABEL_MAX}
    assert md.name_label("Ain", "01", 200.0)["size"] == md.LABEL_MAX


@pytest.mark.parametrize(("text", "value"), [
    ("0,7", 0.7), ("0.7", 0.7), ("−1", -1.0), ("-1", -1.0), ("1 000", 1000.0),
    ("1\u202f000,5", 1000.5), ("1,234.5", 1234.5), ("12,5 %", 12.5)])
def test_lever_boxes_read_french_and_english_numbers(text, value):
    assert i18n.parse_number(text) == pytest.approx(value)
    assert i18n.parse_number(i18n.fmt_plain(value, "fr")) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "1,2,3", "nan", "inf"])
def test_lever_boxes_refuse_what_is_not_a_number(text):
    with pytest.raises(ValueError, match="not a (finite )?number"):
        i18n.parse_number(text)


def test_regions_are_feminine_in_the_generated_text():
    s = st.Session("baseline", households=3_000, map_name="france-regions")
    s.step(1)
    s.pull(CLOSE_RURAL_TAX)
    (d,) = ba.decision_summaries(s, ["service_access"], "fr")
    assert d.text.startswith("Depuis la fermeture des guichets (impôts) (mois 1), dans 1 "
                             "région rurale : effet à partir du mois 2")
