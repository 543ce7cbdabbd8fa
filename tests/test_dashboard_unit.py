"""Dashboard session logic without a browser: levers, branches, log, export, map, charts, i18n."""

from __future__ import annotations

import argparse
import math
import re

import numpy as np
import pytest

from simulation.dashboard import charts as ch
from simulation.dashboard import i18n
from simulation.dashboard import levers as lv
from simulation.dashboard import mapdraw as md
from simulation.dashboard import state as st
from simulation.dashboard import view as vw
from simulation.engine.measures import MAP_MEASURES, MEASURES
from simulation.engine.params import PARAMS, ParameterError
from simulation.engine.policies import DATA_DRIVERS, POLICY_CLASSES, Policy
from simulation.scenarios.files import load_scenario

HH = 2_000  # household agents: small and fast


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_measures(a: dict, b: dict, where: str = "") -> None:
    bad = {k: (a[k], b[k]) for k in MAP_MEASURES if not same(a[k], b[k])}
    assert not bad, f"{where}: map-level measures differ: {bad}"


@pytest.fixture(scope="module")
def session() -> st.Session:
    return st.Session("baseline", households=HH)


def fresh(scenario: str = "baseline", **kw) -> st.Session:
    return st.Session(scenario, households=HH, **kw)


# ------------------------------------------------------------------ lever declarations
def test_policy_specs_cover_every_policy_field_with_declared_ranges():
    specs = lv.policy_specs()
    common = set(Policy.model_fields)
    assert set(specs) == set(POLICY_CLASSES) - set(DATA_DRIVERS)
    for ptype, cls in POLICY_CLASSES.items():
        if ptype in DATA_DRIVERS:
            continue
        names = {f.name for f in specs[ptype].fields}
        assert names == set(cls.model_fields) - common, ptype
        for f in specs[ptype].fields:
            if f.kind in ("float", "int", "optional"):
                info = cls.model_fields[f.name]
                lo = [m for m in info.metadata if hasattr(m, "ge") or hasattr(m, "gt")]
                hi = [m for m in info.metadata if hasattr(m, "le")]
                assert lo and hi, f"{ptype}.{f.name} has no declared range"
                assert f.lo == float(getattr(lo[0], "ge", getattr(lo[0], "gt", None)))
                assert f.hi == float(hi[0].le)
                if f.default is not None:
                    assert f.lo <= f.default <= f.hi, (ptype, f.name, f.default)
            # every default value is accepted by the policy itself
        values = {f.name: f.default for f in specs[ptype].fields if f.default is not None}
        POLICY_CLASSES[ptype](**values)


def test_every_policy_type_and_field_is_translated():
    for ptype, spec in lv.policy_specs().items():
        assert ptype in i18n.POLICY_LABELS, f"no label for policy {ptype}"
        for f in spec.fields:
            if f.name == "payer":
                continue
            assert (ptype, f.name) in i18n.FIELD_LABELS, f"no label for {ptype}.{f.name}"
            for lang in i18n.LANGS:
                assert i18n.field_label(ptype, f.name, lang)[0]
        for f in spec.fields:
            for c in f.choices:
                assert c in i18n.CHOICE_LABELS, f"no label for the choice {c!r} of {ptype}"


def test_every_string_exists_in_both_languages():
    for key, entry in i18n.STRINGS.items():
        assert set(entry) == set(i18n.LANGS), key
        placeholders = {lang: set(re.findall(r"{(\w+)}", entry[lang])) for lang in i18n.LANGS}
        assert placeholders["fr"] == placeholders["en"], key


def test_param_levers_come_from_declared_groups():
    levers = lv.param_levers()
    names = {pl.name for pl in levers}
    expected = {p.name for p in PARAMS.values() if p.group in ("lever", "uncertainty")}
    assert names == expected
    for pl in levers:
        assert pl.mid_run == (pl.name in lv.PARAM_POLICY)


def test_field_check_rejects_out_of_range_values():
    f = next(x for x in lv.policy_specs()["platform_tax"].fields if x.name == "rate")
    assert f.check("0.05") == 0.05
    with pytest.raises(lv.LeverError):
        f.check(0.9)
    with pytest.raises(lv.LeverError):
        f.check("abc")
    m = next(x for x in lv.policy_specs()["public_counters"].fields if x.name == "which")
    with pytest.raises(lv.LeverError):
        m.check([])


# ------------------------------------------------------------------ display units
def _spec(ptype: str, name: str) -> lv.FieldSpec:
    return next(f for f in lv.policy_specs()[ptype].fields if f.name == name)


def test_counters_change_is_shown_as_a_percent_change_with_quick_choices():
    f = _spec("public_counters", "change")
    assert f.shown(-1.0) == -100.0 and f.shown_lo == -100.0 and f.shown_hi == 500.0
    assert f.readout(-1.0, "fr") == "−100\u202f%" and f.readout(-1.0, "en") == "−100 %"
    assert f.readout(1.0, "fr") == "+100\u202f%", "a change is written with its sign"
    quick = dict(f.presets)
    assert quick == {"close_all": -1.0, "close_half": -0.5, "double": 1.0}
    assert f.check(quick["close_half"]) == -0.5
    assert i18n.quick_label("public_counters", "close_half", "fr") == "Fermer la moitié"
    assert i18n.quick_label("public_counters", "close_all", "en") == "Close all"
    assert i18n.quick_label("digital_mediators", "double", "fr") == "Doubler"
    m = _spec("digital_mediators", "change")
    assert m.presets == f.presets and m.signed and m.shown(-0.5) == -50.0


def test_a_shown_percentage_gives_the_model_share():
    f = _spec("platform_tax", "rate")
    assert f.from_shown(3) == 0.03 and f.check(f.from_shown(3)) == 0.03
    assert f.shown(0.03) == 3.0 and f.shown_hi == 30.0
    assert f.from_shown(i18n.parse_number("2,5")) == 0.025
    with pytest.raises(lv.LeverError, match=r"rate = 40 % is above its range \(0 % to 30 %\)"):
        f.check(f.from_shown(40))
    assert _spec("broadband_rollout", "pace").readout(0.1, "fr") == "10 points"
    assert _spec("equalisation", "level").shown(0.6) == 60.0
    assert _spec("telework_norm", "days").shown(2.5) == 2.5, "days are shown as declared"


def _is_share(info) -> bool:
    """A numeric field declared as a share (range within [0, 1])."""
    lo = [float(getattr(m, "ge", None) if getattr(m, "ge", None) is not None else m.gt)
          for m in info.metadata if getattr(m, "ge", None) is not None
          or getattr(m, "gt", None) is not None]
    hi = [float(m.le) for m in info.metadata if getattr(m, "le", None) is not None]
    return bool(lo and hi) and 0.0 <= lo[0] and hi[0] <= 1.0


def test_every_share_field_of_every_policy_type_has_a_percent_display():
    """Read from the pydantic declarations: a new share field without a display fails here."""
    common = set(Policy.model_fields)
    shares = []
    for ptype, cls in POLICY_CLASSES.items():
        if ptype in DATA_DRIVERS:
            continue
        for name, info in cls.model_fields.items():
            if name in common or not _is_share(info):
                continue
            shares.append((ptype, name))
            f = _spec(ptype, name)
            assert f.scale == 100.0 and f.unit in ("%", "pt"), f"{ptype}.{name} shown raw"
            for lang in i18n.LANGS:
                label, unit = i18n.field_label(ptype, name, lang)
                assert unit.startswith(("%", "point")), (ptype, name, lang, unit)
                assert not re.search(r"0-1|\b(part|share) of\b", unit), (ptype, name, unit)
    assert {("platform_tax", "rate"), ("equalisation", "level"),
            ("broadband_rollout", "target"), ("broadband_rollout", "pace"),
            ("platform_dependence", "commission"), ("local_platform", "commission")} \
        <= set(shares)
    # the relative changes too, and nothing else is scaled
    scaled = {(p, f.name) for p, s in lv.policy_specs().items() for f in s.fields
              if f.scale != 1.0}
    assert scaled == set(shares) | {("public_counters", "change"),
                                    ("digital_mediators", "change")}
    assert scaled == set(lv.FIELD_DISPLAY)


def test_french_readout_uses_a_decimal_comma():
    f = _spec("platform_tax", "rate")
    assert f.readout(0.025, "fr") == "2,5\u202f%"
    assert f.readout(0.025, "en") == "2.5 %"
    assert _spec("broadband_rollout", "target").readout(0.925, "fr") == "92,5\u202f%"
    assert i18n.fmt_plain(f.shown(0.025), "fr") == "2,5", "the box shows the comma too"
    assert "." not in _spec("platform_dependence", "commission").readout(0.125, "fr")


@pytest.mark.parametrize("ptype,name", sorted(lv.FIELD_DISPLAY))
def test_display_units_round_trip_at_the_step(ptype, name):
    f = _spec(ptype, name)
    lo, hi, step = f.shown_lo, f.shown_hi, f.shown_step
    n = round((hi - lo) / step)
    for k in range(0, n + 1, max(1, n // 50)):
        shown = f.snap(lo + k * step)
        model = f.from_shown(shown)
        if f.lo_open and model <= f.lo:
            continue
        assert f.check(model) == model
        assert f.shown(model) == shown, (shown, model, f.shown(model))
        back = i18n.parse_number(i18n.fmt_plain(f.shown(model), "fr"))
        assert back == shown
    for model in (f.lo, f.hi, f.default):
        if model is not None:
            assert f.from_shown(f.shown(model)) == pytest.approx(model, abs=1e-12)


def test_decision_text_in_plain_units():
    tm = fresh_map()
    half = {"type": "public_counters", "change": -0.5, "which": ["tax"],
            "territories": {"kinds": ["rural"]}}
    fr = st.describe_policy(half, tm, "fr")
    assert "fermeture de la moitié des guichets (−50\u202f%)" in fr and "impôts" in fr
    assert "closure of half the counters (−50 %)" in st.describe_policy(half, tm, "en")
    close = st.describe_policy({**half, "change": -1.0}, tm, "fr")
    assert "fermeture de tous les guichets (−100\u202f%)" in close
    assert "doublement" in st.describe_policy({**half, "change": 1.0}, tm, "fr")
    assert "fermeture de 30\u202f% des guichets (−30\u202f%)" in st.describe_policy(
        {**half, "change": -0.3}, tm, "fr")
    tax = {"type": "platform_tax", "rate": 0.025, "territories": "all"}
    assert "taux de la taxe = 2,5\u202f% du chiffre d'affaires local" in st.describe_policy(
        tax, tm, "fr")
    assert "tax rate = 2.5 % of local turnover" in st.describe_policy(tax, tm, "en")
    med = {"type": "digital_mediators", "change": -1.0, "territories": "all"}
    assert "suppression de tous les postes de conseillers numériques" in st.describe_policy(
        med, tm, "fr")


def fresh_map():
    from simulation.world.maps import load_map

    return load_map("france-departements")


# ------------------------------------------------------------------ i18n formatting
def test_number_formatting_per_language():
    assert i18n.fmt_value(0.1234, "share 0-1", "fr") == "12,3\u202f%"
    assert i18n.fmt_value(0.1234, "share 0-1", "en") == "12.3 %"
    assert i18n.fmt_value(2345.6, "EUR/month per household", "fr") == "2\u202f346 €"
    assert i18n.fmt_value(float("nan"), "ratio", "fr") == "–"
    assert i18n.fmt_plain(True, "fr") == "oui"
    assert i18n.fmt_plain(0.250, "en") == "0.25"


# ------------------------------------------------------------------ session: levers and log
def test_lever_takes_effect_next_step_and_is_logged():
    s = fresh()
    s.step(2)
    c = s.pull({"type": "public_counters", "change": -1.0, "which": ["tax"],
                "territories": {"kinds": ["rural"]}})
    assert c.step == 2 and c.policy["start"] == pytest.approx(2 / 12)
    assert s.has_choices() and s.baseline is not None
    assert not s.applied(c), "must not act before the next month"
    rural = np.flatnonzero(s.tmap.kind == vw.KINDS.index("rural"))
    before = s.live.model.terr.counters_tax[rural].copy()
    s.step()
    assert s.applied(c)
    assert np.all(s.live.model.terr.counters_tax[rural] == 0), "rural tax offices closed"
    assert np.all(s.baseline.model.terr.counters_tax[rural] == before), "baseline untouched"
    rows = vw.build_view(s, vw.ViewOptions(lang="en")).log
    pol = [r for r in rows if r["kind"] == "policy"]
    assert pol and pol[0]["step"] == 2 and "✓" in pol[0]["status"]
    assert "rural territories" in pol[0]["text"]


def test_lever_with_unknown_territory_changes_nothing():
    s = fresh()
    with pytest.raises(ValueError):
        s.pull({"type": "tiers_lieux", "places": 3, "territories": {"codes": ["XX"]}})
    assert not s.live.choices and s.baseline is None
    with pytest.raises(lv.LeverError):
        st.Where("codes", ()).to_policy()


def test_map_wide_setting_is_a_policy_mid_run_and_a_start_param_at_month_0():
    s = fresh()
    c0 = s.set_param("platform_growth", 0.08)
    assert c0.is_start_param and s.start_params == {"platform_growth": 0.08}
    assert s.live.model.p.platform_growth == 0.08
    assert s.baseline is not None and s.baseline.model.p.platform_growth != 0.08
    s.step()
    c = s.set_param("equalisation", 0.8)
    assert c.policy == {"type": "equalisation", "territories": "all", "start": 1 / 12,
                        "level": 0.8}
    s.step()
    assert s.live.model.p.equalisation == pytest.approx(0.8)
    with pytest.raises(lv.LeverError):
        s.set_param("platform_growth", 0.1)  # a starting assumption after month 0
    with pytest.raises(ParameterError):
        s.set_param("equalisation", 3.0)
    with pytest.raises(lv.LeverError):
        lv.param_policy("platform_tax", 0.0, 0.1)  # a tax policy can only add a rate


def test_param_policy_mapping():
    assert lv.param_policy("telework_days", 3, 1.5) == {"type": "telework_norm", "days": 3.0}
    assert lv.param_policy("platform_push", 1.0, 0.25)["push"] == pytest.approx(0.75)
    assert lv.param_policy("platform_tax", 0.05, 0.02)["rate"] == pytest.approx(0.03)
    with pytest.raises(lv.LeverError):
        lv.param_policy("fuel_price", 0.2, 0.1)


# ------------------------------------------------------------------ branches and replay
def test_fork_continues_exactly_like_the_original():
    s = fresh()
    s.step(3)
    twin = st.fork_model(s.live.model)
    for _ in range(3):
        s.live.model.step()
        twin.step()
    assert_same_measures(s.live.model.map_measures, twin.map_measures, "fork")
    assert twin.p is s.live.model.p and twin.tmap is s.live.model.tmap


def test_branch_then_back_to_its_starting_point_replays_exactly():
    s = fresh()
    s.step(2)
    s.pull({"type": "tiers_lieux", "places": 5, "territories": {"kinds": ["rural"]}})
    s.step(2)
    br = s.save_branch()
    assert s.compare == 0 and br.fork_step == 4
    at_fork = dict(s.live.model.map_measures)
    s.pull({"type": "platform_tax", "rate": 0.05, "territories": "all"})
    s.step(3)
    assert br.run.steps == 7, "the compared branch follows the live run"
    assert br.run.model.platform_tax_terr.max() == pytest.approx(0.0)
    assert s.live.model.platform_tax_terr.min() == pytest.approx(0.05)
    view = vw.build_view(s, vw.ViewOptions(lang="fr"))
    assert [m.key for m in view.maps] == ["live", "branch"]
    s.back_to(0)
    assert s.steps == 4 and len(s.live.choices) == 1
    assert_same_measures(s.live.model.map_measures, at_fork, "back to fork")
    rows = vw.build_view(s, vw.ViewOptions(lang="en")).log
    dropped = [r for r in rows if r["kind"] == "policy" and "dropped" in r["status"]]
    assert len(dropped) == 1, "the platform tax chosen after the fork is marked as dropped"


def test_branches_are_limited():
    s = fresh("teaching_synthetic")
    for _ in range(st.MAX_BRANCHES):
        s.save_branch()
    with pytest.raises(lv.LeverError):
        s.save_branch()
    s.set_compare(None)
    assert s.compared() is None
    with pytest.raises(lv.LeverError):
        s.set_compare(99)


def test_reset_keeps_start_params_and_drops_choices():
    s = fresh()
    s.set_param("fuel_price", 0.2)
    s.step()
    s.pull({"type": "platform_tax", "rate": 0.02, "territories": "all"})
    s.save_branch()
    s.reset()
    assert s.steps == 0 and not s.branches and s.compare is None
    assert s.start_params == {"fuel_price": 0.2}
    assert s.live.model.p.fuel_price == 0.2
    assert [e.kind for e in s.log] == ["scenario", "start_param"]


# ------------------------------------------------------------------ export
def test_export_replays_to_the_same_numbers(tmp_path):
    s = fresh()
    s.set_param("fuel_price", 0.15)
    s.step(1)
    s.pull({"type": "tiers_lieux", "places": 10, "territories": {"codes": ["23"]}})
    s.step(2)
    s.set_param("telework_days", 2.5)
    s.step(1)
    s.pull({"type": "public_counters", "change": -1.0, "which": ["tax"],
            "territories": {"kinds": ["rural"]}})
    s.step(2)
    path = tmp_path / "session.toml"
    path.write_text(s.export_toml("fr"), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Workshop session")
    sc = load_scenario(path)
    assert sc.seed == s.seed and sc.n_households == HH and sc.params["fuel_price"] == 0.15
    assert [p.type for p in sc.policies] == ["tiers_lieux", "telework_norm", "public_counters"]
    model = sc.build_model()
    for _ in range(s.steps):
        model.step()
    assert_same_measures(model.map_measures, s.live.model.map_measures, "exported file")
    assert np.array_equal(model._history_terr[-1], s.live.model._history_terr[-1])


def test_export_of_other_map(tmp_path):
    s = st.Session("baseline", households=1_000, map_name="france-regions")
    assert s.tmap.n == 13 and s.households == 1_000
    s.step()
    s.pull({"type": "france_services", "per_territory": 3, "territories": {"codes": ["24"]}})
    s.step(2)
    path = tmp_path / "r.toml"
    path.write_text(s.export_toml(), encoding="utf-8")
    sc = load_scenario(path)
    assert sc.map == "france-regions"
    model = sc.build_model()
    for _ in range(3):
        model.step()
    assert_same_measures(model.map_measures, s.live.model.map_measures, "regions export")


def test_charts_png_is_a_png():
    s = fresh("teaching_synthetic")
    s.step(2)
    png = ch.export_charts_png(s, ["gini", "non_take_up"], "fr")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


# ------------------------------------------------------------------ map and charts
def test_map_layout_has_one_shape_per_territory(session):
    lay = md.map_layout(session.tmap)
    assert [x["code"] for x in lay.shapes] == list(session.tmap.codes)
    assert all(x["d"].startswith("M") and x["d"].endswith("Z") for x in lay.shapes)
    assert len(lay.links) == session.tmap.graph.number_of_edges()
    assert lay.inset is not None and {x["code"] for x in lay.inset["shapes"]} == set(
        md.INSET_CODES)
    assert md.map_layout(session.tmap) is lay, "cached"


def test_node_map_layout_for_synthetic_maps():
    s = fresh("teaching_synthetic")
    lay = md.map_layout(s.tmap)
    assert not lay.shapes and len(lay.nodes) == s.tmap.n
    r = [n["r"] for n in lay.nodes]
    big = int(np.argmax(s.tmap.population))
    assert r[big] == max(r), "marker size follows population"


def test_colour_scale():
    cs = md.colour_scale(np.array([0.0, 0.5, 1.0, np.nan]), 0.0, 1.0)
    assert cs.fills[3] == md.NO_DATA and cs.fills[0] != cs.fills[2]
    div = md.colour_scale(np.array([0.5, 1.0, 2.0]), 0.25, 4.0, center=1.0, log=True)
    assert div.diverging and div.lo == pytest.approx(0.25) and div.hi == pytest.approx(4.0)
    assert div.fills[1] == md._lut("RdBu")[128]


def test_view_for_both_languages(session):
    session.step()
    fr = vw.build_view(session, vw.ViewOptions(lang="fr", measure="non_take_up"))
    en = vw.build_view(session, vw.ViewOptions(lang="en", measure="non_take_up"))
    assert fr.counter.startswith("Mois") and en.counter.startswith("Month")
    assert len(fr.maps[0].fills) == session.tmap.n == len(fr.maps[0].rows)
    assert fr.maps[0].legend["title"] == MEASURES["non_take_up"].label_fr
    for (m, svg_fr), (_, svg_en) in zip(fr.charts, en.charts, strict=True):
        label = i18n.measure_label(m, "fr")  # the room's words (i18n.ROOM_LABELS)
        assert f">{ch._esc(label)}<" in svg_fr, (m, label)
        assert f">{ch._esc(i18n.measure_label(m, 'en'))}<" in svg_en
        assert f'data-chart="{m}"' in svg_en and 'data-step="1"' in svg_en
    assert 'data-measure="gini"' in fr.figures


def test_chart_svg_breaks_lines_at_missing_values():
    series = {"live": np.array([np.nan, 0.2, 0.25, 0.3]),
              "baseline": np.array([np.nan, 0.2, 0.22, 0.21])}
    svg = ch.chart_svg("non_take_up", series, [2], "en")
    assert svg.count('class="tn-line-live"') == 1 and 'class="tn-mark"' in svg
    assert 'data-last="0.3"' in svg


def test_presets_valid_on_each_map():
    for name in ("france-departements", "france-regions"):
        s = st.Session("baseline", households=1_000, map_name=name)
        for key, spec in st.presets(s.tmap).items():
            st.make_policy({**spec, "start": 0}).indices(s.live.model)
            assert i18n.preset_label(key, "fr") and i18n.preset_label(key, "en")
        if name == "france-departements":
            assert "tiers_lieux_creuse" in st.presets(s.tmap)


# ------------------------------------------------------------------ command line
def test_dashboard_help_states_the_default_households_of_each_map():
    """The --households help quotes DEFAULT_HOUSEHOLDS (it once said 5,000 / 10,000)."""
    from simulation.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices["dashboard"]._actions if a.dest == "households")
    text = " ".join(action.help.split())
    for map_name, n in st.DEFAULT_HOUSEHOLDS.items():
        assert f"{n:,} on {map_name}" in text, map_name
    assert f"else {st.FALLBACK_HOUSEHOLDS:,}" in text


def test_cli_registers_dashboard_and_sets_offline_env(tmp_path):
    from simulation.cli import build_parser
    from simulation.dashboard import cli

    args = build_parser().parse_args(["dashboard", "tiers_lieux", "--port", "9999",
                                      "--households", "4000", "--lang", "en"])
    assert args.func is cli.cmd_dashboard and args.host == "127.0.0.1"
    env = cli.server_env(args, tmp_path / "cdn", base={"PATH": "/bin"})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY"] == "False"
    assert env["SOLARA_ASSETS_CDN"] == "/static/assets/cdn"
    assert env["TERRINUM_DASHBOARD_HOUSEHOLDS"] == "4000"
    assert env["TERRINUM_DASHBOARD_SCENARIO"] == "tiers_lieux"
    cmd = cli.solara_command("127.0.0.1", 9999)
    assert cmd[1:3] == ["-m", "simulation.dashboard.server"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "9999"
    assert cli.is_local("127.0.0.1") and cli.is_local("localhost")
    assert not cli.is_local("0.0.0.0") and not cli.is_local("192.168.1.20")
    assert cli.new_key() != cli.new_key() and len(cli.new_key()) >= 10
    assert cli.addresses("127.0.0.1", 9999) == ["http://127.0.0.1:9999/"]


def test_cli_rejects_bad_scenario_with_a_clear_message(capsys):
    from simulation.cli import main

    assert main(["dashboard", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert "no_such_scenario" in err and "Traceback" not in err


def test_cli_needs_assets(tmp_path, monkeypatch, capsys):
    from simulation.dashboard import cli

    monkeypatch.setattr(cli, "assets_dir", lambda: tmp_path / "empty" / "cdn")
    ns = argparse.Namespace(scenario="baseline", host="127.0.0.1", port=8765, households=None,
                            seed=None, lang="fr", map=None)
    with pytest.raises(cli.DashboardError, match="fetch_solara_assets"):
        cli.check_startup(ns)
    assert cli.cmd_dashboard(ns) == 2
    assert "fetch_solara_assets" in capsys.readouterr().err


def test_cli_checks_options():
    from simulation.dashboard import cli

    base = dict(scenario="baseline", host="127.0.0.1", port=8765, households=None, seed=None,
                lang="fr", map=None)
    for bad, match in (({"households": 10}, "households"), ({"port": 0}, "port"),
                       ({"map": "no-such-map"}, "no-such-map")):
        with pytest.raises(cli.DashboardError, match=match):
            cli.check_startup(argparse.Namespace(**{**base, **bad}))


# ------------------------------------------------------------------ levers vs running policies
CLOSE_RURAL_TAX = {"type": "public_counters", "change": -1.0, "which": ["tax"],
                   "territories": {"kinds": ["rural"]}}


def _kind(s: st.Session, kind: str) -> np.ndarray:
    return np.flatnonzero(s.tmap.kind == vw.KINDS.index(kind))


def test_phased_closure_overwrites_a_lever_it_is_not_told_about(monkeypatch):
    """Issue 14 reproduced: without the rule the lever acts one month, then is undone."""
    monkeypatch.setattr(st, "held_by", lambda *a, **k: None)  # the rule switched off
    s = fresh("office_closures")
    creuse = s.tmap.index("23")
    s.step(31)
    c = s.pull(CLOSE_RURAL_TAX)
    s.step()
    assert s.live.model.terr.counters_tax[creuse] == 0.0, "month 32: the lever wrote"
    assert s.applied(c)
    s.step()  # month 33: the phased closure writes base x (1 - 0.6 x 33/36) again
    live = s.live.model.terr.counters_tax
    assert live[creuse] > 0.0
    np.testing.assert_array_equal(live, s.baseline.model.terr.counters_tax)
    s.step(30)  # to month 63: still no difference from the reference
    assert s.live.model.terr.counters_tax[creuse] == pytest.approx(
        s.baseline.model.terr.counters_tax[creuse]) and live[creuse] > 8.0
    # the log reads the model: no "✓" for a lever the model no longer shows
    assert not s.applied(c) and s.overwritten(c)
    row = next(r for r in st.log_rows(s, "fr") if r["kind"] == "policy")
    assert "✓" not in row["status"] and "écrasé" in row["status"] and "✗" in row["status"]


def test_lever_held_by_the_phased_closure_is_refused_until_month_36():
    s = fresh("office_closures")
    creuse = s.tmap.index("23")
    s.step(31)
    log_before = len(s.log)
    with pytest.raises(st.LeverConflictError) as err:
        s.pull(CLOSE_RURAL_TAX)
    h = err.value.held
    assert (h.control, h.policy_type, h.until, h.scenario) == (
        "counters_tax", "public_counters", 36, True)
    en, fr = str(err.value), err.value.message("fr")
    assert "“Closure of tax and social counters”" in en and "the tax counters" in en
    assert "until month 36" in en and "from month 35 on (effective from month 36)" in en
    assert "« Closure of tax and social counters »" in fr and "guichets des impôts" in fr
    assert "jusqu'au mois 36" in fr and "Guichets publics" in fr
    assert not s.live.choices and s.baseline is None and len(s.log) == log_before
    s.step(3)  # month 34: the lever would be written at 35, the closure writes at 36
    with pytest.raises(st.LeverConflictError):
        s.pull(CLOSE_RURAL_TAX)
    s.step()  # month 35: written at 36 after the closure's last month
    c = s.pull(CLOSE_RURAL_TAX)
    s.step(4)
    rural = _kind(s, "rural")
    live, ref = s.live.model.terr.counters_tax, s.baseline.model.terr.counters_tax
    assert np.all(live[rural] == 0.0) and np.all(ref[rural] > 0.0)
    assert ref[creuse] == pytest.approx(8.6, abs=0.05), "the reference keeps 40 % of them"
    town = _kind(s, "town")
    np.testing.assert_array_equal(live[town], ref[town])
    assert s.applied(c)
    row = next(r for r in st.log_rows(s, "fr") if r["kind"] == "policy")
    assert row["status"] == "effet dès le mois 36 ✓"


def test_levers_on_other_controls_or_territories_are_not_held():
    s = fresh("office_closures")
    s.step(5)
    post = s.pull({"type": "public_counters", "change": -1.0, "which": ["post"],
                   "territories": {"kinds": ["rural"]}})  # the closure leaves post offices
    social = s.pull({"type": "public_counters", "change": -1.0, "which": ["social"],
                     "territories": {"kinds": ["metropolis"]}})  # outside its territories
    s.step(2)
    rural, metro = _kind(s, "rural"), _kind(s, "metropolis")
    live, ref = s.live.model.terr, s.baseline.model.terr
    assert np.all(live.counters_post[rural] == 0) and np.all(ref.counters_post[rural] > 0)
    assert np.all(live.counters_social[metro] == 0) and np.all(ref.counters_social[metro] > 0)
    assert s.applied(post) and s.applied(social)


def _matrix_scenario(tmp_path, policies: str) -> str:
    path = tmp_path / "held.toml"
    path.write_text('name = "held"\n[run]\nmap = "synthetic"\nyears = 4\nseed = 1\n'
                    'map_seed = 1\n' + policies)
    return str(path)


RAMPED = """
[[policies]]
type = "{type}"
label = "scenario {type}"
ramp = 2
{fields}
"""
SCENARIO_POLICIES = {
    "broadband_rollout": "target = 1.0", "public_counters": "change = -0.5",
    "digital_mediators": "change = -0.5", "new_deal": "offers_per_year = 100.0",
    "local_platform": "", "equalisation": "level = 0.9", "telework_norm": "days = 3.0",
    "platform_dependence": "commission = 0.3", "france_services": "per_territory = 1.0",
    "tiers_lieux": "places = 1.0", "platform_tax": "rate = 0.02",
}
# lever -> the control a ramped scenario policy of each type holds (None: it composes)
LEVERS = {
    "broadband_rollout": ({"pace": 0.2}, "rollout_pace"),
    "public_counters": ({"change": -1.0}, "counters_tax"),
    "digital_mediators": ({"per_territory": 2.0}, "mediators"),
    "new_deal": ({"offers_per_year": 500.0}, "newdeal_rate"),
    "local_platform": ({}, "local_platform_support"),
    "equalisation": ({"level": 0.6}, "param:equalisation"),
    "telework_norm": ({"days": 2.5}, "param:telework_days"),
    "platform_dependence": ({"commission": 0.2}, "param:global_commission"),
    "france_services": ({"per_territory": 2.0}, None),
    "tiers_lieux": ({"places": 10.0}, None),
    "platform_tax": ({"rate": 0.03}, None),
}


def test_every_lever_against_every_policy_kind_holding_the_same_control(tmp_path):
    """A ramped scenario policy of each type: set/relative controls refused, added ones not."""
    assert set(LEVERS) == set(lv.policy_specs()), "a lever type is not checked"
    path = _matrix_scenario(tmp_path, "".join(
        RAMPED.format(type=k, fields=v) for k, v in SCENARIO_POLICIES.items()))
    s = st.Session(path, households=1_000)
    with pytest.raises(st.LeverConflictError) as err:  # a starting value it would overwrite
        s.set_param("equalisation", 0.1)
    assert err.value.held.control == "param:equalisation" and err.value.held.until == 24
    assert "Réglage refusé" in err.value.message("fr")
    s.step(6)
    accepted = {}
    for ptype, (fields, control) in LEVERS.items():
        spec = {"type": ptype, **fields, "territories": "all"}
        if control is None:
            accepted[ptype] = s.pull(spec)
            continue
        with pytest.raises(st.LeverConflictError) as err:
            s.pull(spec)
        h = err.value.held
        assert (h.control, h.policy_type, h.until) == (control, ptype, 24), ptype
        assert f"scenario {ptype}" in str(err.value) and "month 24" in str(err.value)
        assert "mois 24" in err.value.message("fr")
        assert i18n.control_label(control, "fr") in err.value.message("fr")
    accepted["push"] = s.pull({"type": "platform_dependence", "push": 0.5,
                               "territories": "all"})  # the push adds: not held
    # a payer of its own is held too: the ramp writes the scenario's payer every month
    with pytest.raises(st.LeverConflictError) as err:
        s.pull({"type": "france_services", "per_territory": 1.0, "payer": "region",
                "territories": "all"})
    assert err.value.held.control == "payer:france_services"
    assert err.value.held.payer == "authority"
    assert "qui paie" in err.value.message("fr") and "la collectivité" in err.value.message("fr")
    assert "with that payer the lever applies now" in str(err.value)
    s.step(2)
    live, ref = s.live.model, s.baseline.model
    assert all(s.applied(c) for c in accepted.values())
    assert np.all(live.terr.france_services > ref.terr.france_services)
    assert np.all(live.terr.tiers_lieux > ref.terr.tiers_lieux)
    assert np.all(live.platform_tax_terr > ref.platform_tax_terr)
    assert live.platforms.push == pytest.approx(ref.platforms.push + 0.5)
    s.step(15)  # month 23: written at 24, after every ramp's last month
    done = {p: s.pull({"type": p, **f, "territories": "all"})
            for p, (f, c) in LEVERS.items() if c is not None}
    s.step(2)
    live, ref = s.live.model, s.baseline.model
    assert all(s.applied(c) for c in done.values()), [p for p, c in done.items()
                                                      if not s.applied(c)]
    assert np.all(live.terr.counters_tax == 0) and np.all(ref.terr.counters_tax > 0)
    assert np.all(live.terr.mediators > ref.terr.mediators)
    assert np.all(live.terr.rollout_pace == 0.2) and np.all(ref.terr.rollout_pace == 0.1)
    assert np.all(live.newdeal_rate > ref.newdeal_rate)
    assert live.p.equalisation == 0.6 and ref.p.equalisation == pytest.approx(0.9)
    assert live.p.telework_days == 2.5 and ref.p.telework_days == pytest.approx(3.0)
    assert live.p.global_commission == 0.2 and ref.p.global_commission == pytest.approx(0.3)


def test_a_closure_starting_later_composes_with_an_earlier_lever(tmp_path):
    """A relative policy takes its base at its first month: a lever pulled before it stays."""
    path = _matrix_scenario(tmp_path, """
[[policies]]
type = "public_counters"
change = -0.5
which = ["tax"]
start = 1.0
ramp = 1
""")
    s = st.Session(path, households=1_000)
    s.step(2)
    c = s.pull({"type": "public_counters", "change": 1.0, "which": ["tax"],
                "territories": "all"})  # double the tax counters at month 3
    s.step(28)  # the closure runs over months 13-24 on the doubled counters
    live, ref = s.live.model.terr.counters_tax, s.baseline.model.terr.counters_tax
    has = ref > 0
    np.testing.assert_allclose(live[has], 2.0 * ref[has])
    assert s.applied(c), "the closure composes: the lever's doubling is still in the model"


def test_observed_history_holds_coverage_houses_and_telework_uptake():
    from simulation.engine.policies import STEPS_PER_YEAR, _day_end, _quarter_end
    from simulation.world import dept_data

    s = fresh("history")
    with pytest.raises(st.LeverConflictError) as err:
        s.set_param("telework_uptake", 0.5)
    assert math.isinf(err.value.held.until)
    assert "fin de la simulation" in err.value.message("fr")
    start = s.live.model.start_year
    for spec, control, last in (
            ({"type": "broadband_rollout", "pace": 0.3}, "broadband",
             _quarter_end(dept_data.ftth_quarterly().columns[-1])),
            ({"type": "france_services", "per_territory": 2.0}, "france_services",
             _day_end(dept_data.france_services_quarterly().columns[-1]))):
        with pytest.raises(st.LeverConflictError) as err:
            s.pull({**spec, "territories": {"codes": ["23"]}})
        h = err.value.held
        assert (h.control, h.policy_type) == (control, "observed_history")
        assert h.until == math.ceil((last - start) * STEPS_PER_YEAR - 1e-9) + 1
        assert f"jusqu'au mois {int(h.until)}" in err.value.message("fr")
    c = s.pull({"type": "tiers_lieux", "places": 5.0, "territories": {"codes": ["23"]}})
    s.step()
    creuse = s.tmap.index("23")
    assert s.applied(c)
    assert (s.live.model.terr.tiers_lieux[creuse]
            == s.baseline.model.terr.tiers_lieux[creuse] + 5.0)


def test_every_control_has_words_in_both_languages():
    full = {"platform_dependence": {"commission": 0.2, "dominant_commission": 0.2},
            "local_platform": {"commission": 0.1}, "public_counters": {"change": -1.0},
            "new_deal": {"offers_per_year": 10.0}, "equalisation": {"level": 0.5},
            "telework_norm": {"days": 1.0}, "platform_tax": {"rate": 0.01},
            "observed_history": {"telework_path": [[2020.0, 0.1]]}}
    for ptype, cls in POLICY_CLASSES.items():
        for control in cls(**full.get(ptype, {})).controls():
            for lang in i18n.LANGS:
                words = i18n.control_label(control, lang)
                assert words != control and words.strip(), (ptype, control, lang)
