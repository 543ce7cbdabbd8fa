"""Paired comparison: common random numbers, effects with intervals, runner, and the report."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.scenarios.compare import (
    compare,
    effect_numbers,
    effect_sentence,
    paired_effect,
    write_outputs,
)
from simulation.scenarios.files import load_scenario
from simulation.scenarios.runner import replication_seed_list, run_many, run_replication

SMALL = dict(years=1.0, n_households=1_500)


@pytest.fixture(scope="module")
def teaching():
    return load_scenario("teaching_synthetic")


# ============================================================================ statistics
def test_paired_effect_matches_scipy_paired_t_interval():
    from scipy import stats

    rng = np.random.default_rng(0)
    b = rng.normal(size=(5, 4))
    s = b + rng.normal(0.5, 1.0, size=(5, 4))
    e = paired_effect(b, s)
    ci = stats.ttest_rel(s, b, axis=0).confidence_interval(0.95)
    np.testing.assert_allclose(e["diff"], (s - b).mean(axis=0))
    np.testing.assert_allclose(e["ci_low"], ci.low)
    np.testing.assert_allclose(e["ci_high"], ci.high)
    assert (e["n"] == 5).all()


def test_paired_effect_degenerate_cases():
    same = np.arange(6.0).reshape(3, 2)
    e = paired_effect(same, same)
    assert (e["diff"] == 0).all() and (e["ci_low"] == 0).all() and (e["ci_high"] == 0).all()
    one = paired_effect(np.ones((1, 2)), np.full((1, 2), 3.0))
    assert (one["diff"] == 2).all() and np.isnan(one["ci_low"]).all()


def test_effect_sentences_in_plain_words():
    row = {"measure": "local_value_captured", "diff": 0.021, "ci_low": 0.015,
           "ci_high": 0.027, "n": 3, "baseline_mean": 0.6, "scenario_mean": 0.621}
    assert effect_sentence(row) == ("Local value captured: +2.1 points (95 % CI +1.5 to "
                                    "+2.7); distinguishable from noise, for the better.")
    assert effect_sentence(row, "fr") == ("Valeur captée localement : +2,1 points (IC à "
                                          "95 % +1,5 à +2,7) ; effet distinguable du hasard, "
                                          "dans le bon sens.")
    # the same interval, but not kept by the false-discovery-rate control of its table
    assert "false-discovery-rate" in effect_sentence(row | {"distinguishable": False})
    # a rise of a measure whose good direction is "lower" is worse
    assert effect_sentence(row | {"measure": "unemployment_rate"}).endswith("for the worse.")
    # a measure with no good direction gets no judgement
    assert effect_sentence(row | {"measure": "global_platform_share"}).endswith(
        "distinguishable from noise.")
    row.update(diff=0.001, ci_low=-0.004, ci_high=0.006)
    assert "no effect distinguishable" in effect_sentence(row)
    inc = {"measure": "mean_income", "diff": 12.34, "ci_low": 10.0, "ci_high": 14.68, "n": 3,
           "baseline_mean": 2000.0, "scenario_mean": 2012.34}
    assert effect_sentence(inc).startswith("Mean disposable income: +12 EUR/month per "
                                           "household (95 % CI +10 to +15)")
    # French units in French sentences
    assert "€/mois par ménage" in effect_sentence(inc, "fr")
    assert "EUR" not in effect_sentence(inc, "fr")


def test_fdr_calls_no_null_effect_distinguishable():
    """Hundreds of null effects (scenario = baseline + noise) with 5 replications: about 5 %
    of raw intervals exclude zero, none survives Benjamini-Hochberg; a real effect does."""
    from simulation.reports import style

    rng = np.random.default_rng(0)
    base = rng.normal(size=(5, 400))
    scen = base + rng.normal(scale=1.0, size=(5, 400))
    scen[:, 0] += 10.0                                   # one real effect
    e = paired_effect(base, scen)
    p = style.paired_p_values(e["diff"], e["sd"], e["n"])
    raw = (e["ci_low"] > 0) | (e["ci_high"] < 0)
    assert raw[1:].sum() >= 5                            # the uncorrected calls
    q = style.fdr(p)
    assert (q[1:] > style.FDR_LEVEL).all() and q[0] <= style.FDR_LEVEL
    assert np.isnan(style.fdr(np.array([np.nan, 0.01])))[0]


def test_colours_follow_the_good_direction():
    from simulation.reports import style

    assert style.change_colour("unemployment_rate", -0.01) == style.BETTER
    assert style.change_colour("unemployment_rate", +0.01) == style.WORSE
    assert style.change_colour("service_access", +0.01) == style.BETTER
    assert style.change_colour("global_platform_share", +0.01) == style.RISE
    assert style.change_colour("service_access", +0.01, distinguishable=False) == style.UNCLEAR
    cm = style.effect_cmap("non_take_up")     # lower is better: the top of the scale is worse
    top, bottom = cm(1.0), cm(0.0)
    assert top[0] > top[2] and bottom[2] > bottom[0]   # orange (red > blue) vs blue
    # robust limits: one outlier among 96 territories does not set the scale
    v = np.r_[np.linspace(-1, 1, 95), 50.0]
    assert style.robust_limit(v) < 2.0 and style.robust_limit(np.array([0.0, 3.0])) == 3.0


# ============================================================================ runner
def test_replication_seeds():
    assert replication_seed_list(7, 1) == [7]
    seeds = replication_seed_list(7, 3)
    assert len(set(seeds)) == 3 and seeds == replication_seed_list(7, 3)


def test_run_replication_is_tidy_and_deterministic(teaching):
    a = run_replication(teaching, 3, years=0.5, n_households=1_000)
    b = run_replication(teaching.to_dict(), 3, years=0.5, n_households=1_000)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["scenario", "seed", "step", "year", "territory", "measure",
                               "value"]
    assert set(a["scenario"]) == {"teaching_synthetic"} and set(a["seed"]) == {3}
    m = run_replication("teaching_synthetic", 3, years=0.5, n_households=1_000,
                        territories=False)
    assert set(m["territory"]) == {"_map"}


def test_run_many_identical_for_one_or_two_workers(teaching):
    tasks = [dict(scenario=teaching, seed=s, years=0.5, n_households=1_000,
                  params={"platform_push": 0.3}, policies=[{"type": "telework_norm",
                                                            "days": 2.0}])
             for s in (11, 12, 13)]
    one = run_many(tasks, workers=1, progress=False)
    two = run_many(tasks, workers=2, progress=False)
    assert [int(d["seed"].iloc[0]) for d in two] == [11, 12, 13], "results in task order"
    for a, b in zip(one, two, strict=True):
        pd.testing.assert_frame_equal(a, b)


# ============================================================================ comparison
def test_scenario_compared_with_itself_gives_exactly_zero(teaching):
    cmp = compare(teaching, [teaching], reps=2, workers=1, progress=False, **SMALL)
    assert cmp.labels == ["teaching_synthetic", "teaching_synthetic#2"]
    for name in ("effects_map", "effects_territory", "effects_time",
                 "effects_time_territory", "effects_groups"):
        df = getattr(cmp, name)
        assert len(df), name
        for col in ("diff", "ci_low", "ci_high"):
            v = df[col].to_numpy(float)
            v = v[np.isfinite(v)]
            assert v.size and (v == 0.0).all(), f"{name}.{col} must be exactly zero"
        assert not df["excludes_zero"].any()


def test_common_random_numbers_and_effect_tables(teaching):
    base = teaching.with_overrides(replace_policies=True, name="no_policy")
    cmp = compare(base, [teaching], reps=2, seed=5, workers=1, progress=False, **SMALL)
    assert cmp.seeds == replication_seed_list(5, 2)
    for label in cmp.labels:
        assert [r.seed for r in cmp.results[label]] == cmp.seeds
    em = cmp.effects_map.set_index("measure")
    # the roll-out raises map-level coverage; the window is the last 12 months
    assert em.loc["broadband_coverage", "diff"] > 0
    assert em.loc["broadband_coverage", "window"] == "mean of the last 12 months"
    et = cmp.effects_territory
    cov = et[et["measure"] == "broadband_coverage"].set_index("territory")["diff"]
    rural = [c for c in cov.index if c.startswith("R")]
    others = [c for c in cov.index if not c.startswith("R")]
    assert (cov[rural] > 0).all() and (cov[others] == 0).all()
    g = cmp.effects_groups
    tg = g[(g["group"] == "targeted") & (g["measure"] == "broadband_coverage")]
    assert len(tg) == 1 and tg["diff"].iloc[0] > 0 and tg["n_territories"].iloc[0] == 12
    # differences equal the paired replications' mean difference, recomputed by hand
    j = cmp.results[cmp.labels[0]][0].map_values.columns.get_loc("gini")
    d = [np.nanmean(s.map_values.iloc[-12:, j]) - np.nanmean(b.map_values.iloc[-12:, j])
         for b, s in zip(cmp.results[cmp.labels[0]], cmp.results[cmp.labels[1]], strict=True)]
    assert em.loc["gini", "diff"] == pytest.approx(np.mean(d), rel=1e-12, abs=1e-15)


def test_compare_rejects_another_map(teaching):
    from simulation.scenarios.files import ScenarioError

    with pytest.raises(ScenarioError, match="run.map"):
        compare(teaching, ["baseline"], reps=1, workers=1, progress=False, **SMALL)


# ============================================================================ report
class _Report(HTMLParser):
    """Collects resource references, images, effect rows and plain-words sentences."""

    def __init__(self):
        super().__init__()
        self.refs, self.imgs, self.rows, self.sentences = [], [], [], []
        self._row = None
        self._cell = None
        self._li = None
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k in ("src", "href", "data", "poster", "action"):
            if k in a:
                self.refs.append(a[k])
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "tr" and "effect" in (a.get("class") or "").split():
            self._row = {"attrs": a, "cells": {}}
        if tag == "td" and self._row is not None:
            self._cell = ((a.get("class") or "").split(), a, [])
        if tag == "li" and "data-measure" in a:
            self._li = (a["data-measure"], [], a.get("data-scenario"))

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            cls, a, text = self._cell
            for c in cls:
                if c in ("base", "scen", "diff", "ci"):
                    self._row["cells"][c] = (a, "".join(text))
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        if tag == "li" and self._li is not None:
            self.sentences.append((self._li[0], "".join(self._li[1]), self._li[2]))
            self._li = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2].append(data)
        if self._li is not None:
            self._li[1].append(data)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, teaching):
    base = teaching.with_overrides(replace_policies=True, name="no_policy")
    taxed = teaching.with_overrides(policies=[{"type": "platform_tax", "rate": 0.1}],
                                    name="rollout+tax")
    cmp = compare(base, [teaching, taxed], reps=2, workers=1, progress=False, **SMALL)
    out = tmp_path_factory.mktemp("report")
    path = write_outputs(cmp, out, command="pytest")
    return cmp, out, path


def test_report_files(report_dir):
    cmp, out, path = report_dir
    for f in ("runs.parquet", "runs_map.csv", "effects_map.parquet", "effects_map.csv",
              "effects_territory.parquet", "effects_territory.csv", "effects_time.parquet",
              "effects_time_territory.parquet", "effects_groups.csv", "manifest.json",
              "report.html", "scenarios/no_policy.toml", "effects_headline.png"):
        assert (out / f).is_file(), f
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs["scenario"]) == set(cmp.labels)
    assert runs.groupby("scenario")["seed"].nunique().eq(2).all()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "effects_map.parquet"),
                                  cmp.effects_map)
    man = json.loads((out / "manifest.json").read_text())
    assert man["seeds"] == cmp.seeds and man["terrinum_version"]
    assert man["command"] == "pytest" and man["window_months"] == 12
    sc = {s["label"]: s for s in man["scenarios"]}
    assert sc["teaching_synthetic"]["files"][0]["sha256"] == \
        cmp.scenarios[0].file_hashes[str(cmp.scenarios[0].files[0])]
    for f in man["files"]:
        assert (out / f).is_file(), f
    # the scenario copies replay: same policies
    back = load_scenario(out / "scenarios" / "rollout_tax.toml")
    assert back.policy_dicts() == cmp.scenarios[1].policy_dicts()


def test_effect_tables_are_fdr_controlled_and_coloured_by_direction(report_dir):
    from simulation.reports import style

    cmp, out, path = report_dir
    for name in ("effects_map", "effects_territory", "effects_groups"):
        df = getattr(cmp, name)
        assert {"p_value", "q_value", "distinguishable"} <= set(df.columns), name
        ok = df["q_value"].notna()
        assert (df.loc[ok, "q_value"] >= df.loc[ok, "p_value"] - 1e-12).all()
        # distinguishable only where the raw interval also excludes zero
        assert not (df["distinguishable"] & ~df["excludes_zero"]).any()
        # one family per scenario: the q-values are BH of that scenario's p-values
        for _, g in df[ok].groupby("scenario"):
            np.testing.assert_allclose(g["q_value"], style.fdr(g["p_value"].to_numpy()))
    text = path.read_text(encoding="utf-8")
    em = cmp.effects_map
    for _, r in em.iterrows():
        v = style.verdict(r["measure"], float(r["diff"]), bool(r["distinguishable"]))
        assert (f'<tr class="effect {v}' in text)
    # each distinguishable row's verdict cell carries the colour of its direction
    for _, r in em[em["distinguishable"]].iterrows():
        colour = style.change_colour(r["measure"], float(r["diff"]))
        pat = (rf'data-measure="{r["measure"]}"[^>]*>(?:(?!</tr>).)*class="verdict" '
               rf'style="color:{colour}"')
        assert re.search(pat, text, re.S), r["measure"]
    assert "#b2182b" not in text  # the old "red = significant" colour is gone


def test_report_is_self_contained(report_dir):
    _, out, path = report_dir
    text = path.read_text(encoding="utf-8")
    p = _Report()
    p.feed(text)
    external = [r for r in p.refs if re.match(r"\s*(https?:)?//", r, re.I)]
    assert external == [], f"external resources: {external[:3]}"
    assert not {"script", "link", "iframe", "object", "embed"} & p.tags
    assert "url(" not in text and "@import" not in text
    pngs = sorted(out.glob("*.png"))
    assert len(p.imgs) == len(pngs) >= 4
    for src in p.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_contains_the_figures_it_claims(report_dir):
    cmp, _, path = report_dir
    p = _Report()
    p.feed(path.read_text(encoding="utf-8"))
    em = cmp.effects_map.set_index(["scenario", "measure"])
    assert len(p.rows) == len(em), "one table row per scenario and map-level measure"
    for row in p.rows:
        a = row["attrs"]
        r = em.loc[(a["data-scenario"], a["data-measure"])]
        full = r.to_dict() | {"measure": a["data-measure"]}
        nums = effect_numbers(full)
        (dattrs, dtext) = row["cells"]["diff"]
        assert float(dattrs["data-value"]) == r["diff"] or (
            np.isnan(r["diff"]) and dattrs["data-value"] == "nan")
        assert unescape(dtext) == nums["diff"]
        if np.isfinite(r["diff"]):
            scale = float(a["data-scale"])
            dec = int(nums["decimals"])
            assert abs(float(dtext.replace(",", "")) - r["diff"] * scale) \
                <= 0.5 * 10 ** -dec + 1e-12
        cattrs, ctext = row["cells"]["ci"]
        assert float(cattrs["data-low"]) == r["ci_low"] or np.isnan(r["ci_low"])
        assert unescape(ctext) == f"{nums['ci_low']} to {nums['ci_high']}"
    # plain-words sentences match the effects table, in each report's language
    label = cmp.labels[1]
    sub = em.loc[label]
    found = [(m, s) for m, s, sc in p.sentences if m in sub.index and sc == label]
    assert found
    for m, s in found[:5]:
        row = sub.loc[m].to_dict() | {"measure": m}
        assert effect_sentence(row) in unescape(s)
    fr = _Report()
    fr.feed((path.parent / "report.fr.html").read_text(encoding="utf-8"))
    for m, s in [(m, s) for m, s, sc in fr.sentences if m in sub.index and sc == label][:5]:
        row = sub.loc[m].to_dict() | {"measure": m}
        assert effect_sentence(row, "fr") in unescape(s)


def test_report_has_question_levers_assumptions_provenance(report_dir):
    cmp, _, path = report_dir
    text = unescape(path.read_text(encoding="utf-8"))
    s = cmp.scenarios[0]
    assert s.question_en in text and s.question_fr not in text
    fr = unescape((path.parent / "report.fr.html").read_text(encoding="utf-8"))
    assert s.question_fr in fr and s.question_en not in fr
    assert "Broadband roll-out to 100% of premises" in text      # Policy.describe()
    assert "Tax the global platform's local turnover at 10.0%" in text
    assert "agglomeration_elasticity" in text and "Combes" in text   # assumptions + source
    assert s.file_hashes[str(s.files[0])] in text                  # provenance
    assert str(cmp.seeds) in text and "terrinum compare" in text


def test_write_outputs_is_atomic_and_rewrites(report_dir, tmp_path):
    cmp, _, _ = report_dir
    out = tmp_path / "again"
    write_outputs(cmp, out, plots=False)
    assert not list(out.glob(".*")), "no temporary files left behind"
    assert "<img" not in (out / "report.html").read_text()
    first = (out / "effects_map.csv").read_bytes()
    write_outputs(cmp, out, plots=False)
    assert (out / "effects_map.csv").read_bytes() == first
    assert Path(out / "runs.parquet").stat().st_size > 0


def test_report_copies_replay_exactly(report_dir):
    cmp, out, _ = report_dir
    files = [out / "scenarios" / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', lab).strip('_')}.toml"
             for lab in cmp.labels]
    again = compare(files[0], files[1:], reps=len(cmp.seeds), seed=cmp.master_seed,
                    workers=1, progress=False)
    assert again.labels == cmp.labels and again.seeds == cmp.seeds
    cols = ["scenario", "measure", "diff", "ci_low", "ci_high", "baseline_mean"]
    pd.testing.assert_frame_equal(again.effects_map[cols], cmp.effects_map[cols])


def test_few_replications_warn_in_notes_report_and_csv(report_dir):
    cmp, out, path = report_dir
    assert len(cmp.seeds) == 2
    warn = [n for n in cmp.notes if n.startswith("WARNING")]
    assert len(warn) == 1 and "2 replication(s) (fewer than 5)" in warn[0]
    assert list(pd.read_csv(out / "notes.csv")["note"]) == list(cmp.notes)
    assert json.loads((out / "manifest.json").read_text())["notes"] == cmp.notes
    text = path.read_text(encoding="utf-8")
    assert '<li class="warning">WARNING: 2 replication(s)' in text
    assert "ATTENTION : 2 réplication(s)" in (out / "report.fr.html").read_text("utf-8")


def test_effect_over_time_is_the_paired_difference(report_dir, monkeypatch):
    """The per-scenario over-time figure draws scenario - baseline with its paired interval
    (not two overlapping level bands): its curves are the effects_time table's."""
    from matplotlib.figure import Figure

    from simulation.scenarios import compare as cmp_mod

    cmp, out, _ = report_dir
    label = cmp.labels[1]
    saved = {}
    monkeypatch.setattr(Figure, "savefig", lambda self, p, **k: saved.setdefault("fig", self))
    cmp_mod._plot_effect_over_time(cmp, label, out / "x.png", smooth=1)
    fig = saved["fig"]
    meas = [m for m in cmp_mod.OVER_TIME_MEASURES if m in cmp_mod.MAP_MEASURES]
    ax = fig.axes[meas.index("local_value_captured")]
    et = cmp.effects_time
    g = et[(et["scenario"] == label) & (et["measure"] == "local_value_captured")
           & (et["step"] > 0)].sort_values("step")
    line = [ln for ln in ax.lines if ln.get_label() == "effect / effet"][0]
    np.testing.assert_allclose(line.get_ydata(), g["diff"].to_numpy() * 100.0)
    assert ax.get_ylim()[0] < 0 < ax.get_ylim()[1]       # centred on zero


def test_level_bands_are_clipped_and_flat_lines_not_zoomed(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from simulation.reports import plots

    rows = []
    for seed, noise in ((1, 0.05), (2, -0.05)):    # a share near 0 with a wide spread
        for step in range(24):
            for name, v in (("non_take_up", 0.01 + noise), ("broadband_coverage", 0.8258)):
                rows.append({"territory": "_map", "scenario": "s", "seed": seed,
                             "year": step / 12, "measure": name, "value": v})
    df = pd.DataFrame(rows)
    monkeypatch.setattr(plt, "close", lambda *a: None)
    plots.timeseries(df, ["non_take_up", "broadband_coverage"], tmp_path / "t.png", smooth=1)
    fig = plt.gcf()
    band = fig.axes[0].collections[0]
    ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
    assert ys.min() >= 0.0                       # a share's band never below 0 %
    lo, hi = fig.axes[1].get_ylim()
    assert hi - lo >= 2.0                        # a flat 82.58 % is drawn flat (2-point span)
    assert fig.axes[0].get_ylabel() == "%"
    plt.close(fig)


def test_reports_are_in_one_language_each(report_dir):
    """The English report holds no French label of a measure, parameter or heading, and
    the French report no English one (labels that are the same word in both are skipped)."""
    from simulation.engine.measures import MEASURES
    from simulation.engine.params import PARAMS
    from simulation.scenarios.report import W

    cmp, out, _ = report_dir
    en = unescape((out / "report.html").read_text(encoding="utf-8"))
    fr = unescape((out / "report.fr.html").read_text(encoding="utf-8"))
    pairs = [(m.label_en, m.label_fr) for m in MEASURES.values()]
    pairs += [(p.label_en, p.label_fr) for p in PARAMS.values()]
    pairs += [(w["en"], w["fr"]) for k, w in W.items() if "{" not in w["en"]]
    checked = 0
    for a, b in pairs:
        if a.lower() == b.lower() or len(a) < 6 or len(b) < 6 or a in b or b in a:
            continue
        assert b not in en, f"French {b!r} in the English report"
        assert a not in fr, f"English {a!r} in the French report"
        checked += 1
    assert checked > 100
    assert '<html lang="fr">' in fr and "La réponse en bref" in fr
    assert "The answer in brief" in en
    assert "Pour citer" in fr and "How to cite" not in fr
    assert "How to cite" in en and "Pour citer" not in en


def test_first_section_answers_the_question_with_its_measures(teaching, tmp_path):
    """A scenario naming [question] measures gets them first, in the answer section, and
    on its effect maps; source texts are named as such, not as seeds."""
    from simulation.scenarios.report import source_label

    scen = teaching.with_overrides(name="with_question")
    scen = dataclasses.replace(scen, question_measures=("service_access", "non_take_up"),
                               title_en="Counters test", title_fr="Essai guichets",
                               source="seed 001 (dematerialisation).")
    base = teaching.with_overrides(replace_policies=True, name="no_policy")
    cmp = compare(base, [scen], reps=2, workers=1, progress=False, **SMALL)
    path = write_outputs(cmp, tmp_path, plots=False)
    text = unescape(path.read_text(encoding="utf-8"))
    answer = text[text.index('id="answer"'):text.index('id="overview"')]
    lis = re.findall(r'<li data-measure="(\w+)"', answer)
    assert lis[:2] == ["service_access", "non_take_up"]
    assert "Counters test" in answer
    fr = unescape((tmp_path / "report.fr.html").read_text(encoding="utf-8"))
    assert "Essai guichets" in fr and "Texte source 1" in fr and "seed 001" not in fr
    assert "Source text 1 (dematerialisation)" in text and "seed 001" not in text
    assert source_label("seeds 001 and 003", "fr") == "Textes source 1 et 3" or \
        source_label("seeds 001 and 003", "fr").startswith("Texte source 1 et 3")
    assert "@media print" in text


def test_numbers_have_thousands_separators():
    from simulation.scenarios.compare import fmt_num

    assert fmt_num(30522709.101231, 0) == "+30,522,709"
    assert fmt_num(30522709.101231, 0, "fr") == "+30\u202f522\u202f709"
    assert fmt_num(-1234.5, 1, "fr") == "-1\u202f234,5"


def test_territories_with_few_agents_are_never_called_distinguishable(report_dir):
    from simulation.reports import style

    cmp, _, _ = report_dir
    et = cmp.effects_territory
    assert {"agents", "few_agents"} <= set(et.columns)
    # agents add up to the run's household agents (SMALL: 1,500), up to births and deaths
    per = et.drop_duplicates(["scenario", "territory"]).groupby("scenario")["agents"].sum()
    assert ((per > 1_200) & (per < 1_800)).all()
    few = et[et["few_agents"]]
    assert len(few) and not few["distinguishable"].any()
    assert (et.loc[et["few_agents"], "agents"] < style.MIN_AGENTS).all()
    assert (et.loc[~et["few_agents"], "agents"] >= style.MIN_AGENTS).all()


def test_group_means_skip_territories_where_a_measure_has_no_value():
    """A territory where a share is undefined (NaN: no eligible household) is left out of the
    group's household-weighted mean, not counted as 0 with its weight."""
    from types import SimpleNamespace

    from simulation.engine.measures import TERRITORY_MEASURES as TM
    from simulation.scenarios import compare as cmp_mod

    S, K, M = 14, 3, len(TM)
    j, hh = TM.index("non_take_up"), TM.index("households")

    def result(seed, shift):
        tv = np.full((S, K, M), 0.5)
        tv[:, :, hh] = [100.0, 300.0, 600.0]
        tv[:, :, j] = [0.2 + shift, np.nan, 0.4 + shift]     # territory 1: no eligible
        mv = pd.DataFrame({m: np.full(S, 0.5) for m in cmp_mod.MAP_MEASURES})
        return SimpleNamespace(seed=seed, codes=["A", "B", "C"], names=["a", "b", "c"],
                               territory_values=tv, map_values=mv,
                               params={"n_households": 1000})

    class Scen:
        def load_map(self, seed):
            return SimpleNamespace(n=3)

    res = {"base": [result(1, 0.0), result(2, 0.0)], "s": [result(1, 0.1), result(2, 0.1)]}
    orig = cmp_mod._targets
    cmp_mod._targets = lambda scen, tmap: np.array([True, True, True])
    try:
        out = cmp_mod.effects_from_results(res, ["base", "s"], [Scen(), Scen()])
    finally:
        cmp_mod._targets = orig
    g = out["effects_groups"]
    row = g[(g["group"] == "targeted") & (g["measure"] == "non_take_up")].iloc[0]
    assert row["baseline_mean"] == pytest.approx((100 * 0.2 + 600 * 0.4) / 700)
    assert row["diff"] == pytest.approx(0.1)
