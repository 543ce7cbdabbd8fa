"""Calibration runs end to end (issue 12): determinism, kill and resume, recovery of known values.

Every test calibrates ``tests/data/calibration/tiny_synthetic.toml`` (or a variant of it): the
five stages of ``terrinum calibrate`` on the synthetic map with a few hundred runs of one year
(about half a minute on one core), with explicit observed values.

* The same calibration with 1 and with 2 workers gives the same results, file for file.
* A calibration SIGKILLed in stage 1, in stage 2, inside ABC generation 1 (before pyabc stored
  any generation) and inside generation 2 resumes each time, ends with the results of an
  uninterrupted one, and re-runs none of the runs it had stored. The kills use the test hook
  ``TERRINUM_TEST_KILL_AT`` (``simulation.experiments.store.kill_point``, as in
  ``tests/test_sweep_kill.py``): ``between-runs:N`` kills the command's process group just
  after its N-th result file is stored. With one worker the order of the result files is fixed,
  so N is read off the uninterrupted calibration's sequence of stored files.
* Recovery: targets made by the model itself with known parameter values are calibrated back;
  the posterior covers the known values and is narrower than the prior.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulation.calibration import calibrate as cal_mod
from simulation.calibration import smc
from simulation.calibration.calibrate import calibrate
from simulation.calibration.files import CalibrationError, load_calibration, parse_calibration
from simulation.calibration.runs import ResultCache, SimTask, base_params, run_summary
from simulation.experiments.store import KILL_ENV

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "calibration" / "tiny_synthetic.toml"
CSV_FILES = ("screening.csv", "posterior.csv", "draws.csv", "fit.csv", "plausibility.csv")
JSON_FILES = ("constants_reference.json", "calibrated_stage.json")
POPULATION = 12                      # [abc] population of the fixture


def _results(out: Path) -> dict[str, Any]:
    """What a calibration folder holds, without its timings and provenance.

    The stage files' text; ``generations.csv`` without its ``seconds``; ``calibrated.json``
    without ``provenance`` (command, run time, creation time); the names of the stored runs
    and ABC tasks (their content holds each run's wall time).
    """
    res: dict[str, Any] = {name: (out / name).read_text() for name in CSV_FILES}
    res.update({name: json.loads((out / name).read_text()) for name in JSON_FILES})
    gens = pd.read_csv(out / "generations.csv")
    res["generations.csv"] = gens.drop(columns="seconds").to_dict("records")
    final = json.loads((out / "calibrated.json").read_text())
    final.pop("provenance")
    res["calibrated.json"] = final
    res["runs"] = sorted(p.name for p in (out / "runs").glob("*.pkl"))
    res["abc_tasks"] = sorted(p.name for p in (out / "abc_tasks").glob("*.pkl"))
    return res


def _assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs from the reference calibration's"


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> tuple[Path, list[str]]:
    """An uninterrupted calibration of the fixture with one worker, in this process.

    Returns its folder and the sequence of what it stored (``runs/KEY.pkl`` and
    ``abc_tasks/tT_I.pkl`` as each result file is written, ``file:NAME`` as each stage file
    is).
    """
    out = tmp_path_factory.mktemp("calib") / "uninterrupted"
    seq: list[str] = []
    put, write_json, write_csv = ResultCache.put, cal_mod._atomic_json, cal_mod._atomic_csv

    def recording_put(self: ResultCache, key: str, value: Any) -> None:
        put(self, key, value)
        seq.append(f"{self.folder.name}/{key}.pkl")

    def recording(write):
        def w(path: Path, obj: Any) -> None:
            write(path, obj)
            seq.append(f"file:{Path(path).name}")
        return w

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ResultCache, "put", recording_put)
        mp.setattr(cal_mod, "_atomic_json", recording(write_json))
        mp.setattr(cal_mod, "_atomic_csv", recording(write_csv))
        calibrate(load_calibration(FIXTURE), out, workers=1, progress=False, log=io.StringIO())
    return out, seq


@pytest.fixture(scope="module")
def reference(reference_run) -> tuple[dict[str, Any], list[str]]:
    """The results of :func:`reference_run` and the sequence of what it stored."""
    out, seq = reference_run
    res = _results(out)
    # the fixture is a calibration, not a degenerate one: every stage ran, ABC moved
    post = pd.read_csv(out / "posterior.csv")
    assert len(post) == POPULATION and post["weight"].sum() == pytest.approx(1.0)
    assert post["global_convenience"].nunique() == POPULATION
    assert [g["t"] for g in res["generations.csv"]] == [0, 1]
    eps = [g["epsilon"] for g in res["generations.csv"]]
    assert eps[1] < eps[0]                                # the tolerance shrank
    assert len(pd.read_csv(out / "draws.csv")) == 6
    assert len(res["runs"]) == sum(1 for s in seq if s.startswith("runs/"))  # one file a run
    return res, seq


# ============================================================================ determinism
@pytest.mark.slow
def test_two_workers_give_the_one_worker_calibration(reference, tmp_path):
    want, _ = reference
    out = tmp_path / "two"
    calibrate(load_calibration(FIXTURE), out, workers=2, progress=False, log=io.StringIO())
    _assert_same(_results(out), want)


# ============================================================================ kill and resume
def _cli(out: Path, kill: str | None) -> tuple[int, str]:
    """``terrinum calibrate FIXTURE --out OUT --workers 1`` in a fresh process in a new session.

    Returns its exit status (``-SIGKILL`` when the hook killed it) and its standard error.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(KILL_ENV, None)
    if kill:
        env[KILL_ENV] = kill
    argv = [sys.executable, "-m", "simulation.cli", "calibrate", str(FIXTURE), "--out",
            str(out), "--workers", "1", "--quiet"]
    try:   # a whole calibration takes about 30 s: 180 s means it went round in circles
        r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=180, start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"terrinum calibrate (kill hook {kill}) did not end in 180 s: "
                    f"{(exc.stderr or b'')[-2000:]!r}")
    return r.returncode, r.stderr


def _stored(out: Path) -> dict[str, tuple[int, int]]:
    """Result files in ``runs/`` and ``abc_tasks/``: name -> (inode, mtime in ns)."""
    return {f"{p.parent.name}/{p.name}": (p.stat().st_ino, p.stat().st_mtime_ns)
            for sub in ("runs", "abc_tasks") if (out / sub).is_dir()
            for p in (out / sub).glob("*.pkl")}


def _nth_put(seq: list[str], stored: dict[str, Any], target: str) -> int:
    """N of ``between-runs:N`` for a kill just after ``target`` is stored, by a command
    resuming a folder that holds ``stored`` (it stores what is missing, in the same order)."""
    todo = [s for s in seq if not s.startswith("file:") and s not in stored]
    return todo.index(target) + 1


def _puts_between(seq: list[str], after: str, before: str) -> list[str]:
    i, j = seq.index(f"file:{after}") if after else -1, seq.index(f"file:{before}")
    return [s for s in seq[i + 1:j] if not s.startswith("file:")]


@pytest.mark.slow
def test_a_killed_calibration_resumes_to_the_same_results(reference, tmp_path):
    want, seq = reference
    out = tmp_path / "killed"
    stage1 = _puts_between(seq, "", "constants_reference.json")
    stage2 = _puts_between(seq, "constants_reference.json", "screening.csv")
    assert len(stage1) == 3 and len(stage2) >= 8         # (2 + 1) fixed-point runs; Morris

    def kill_after(target: str) -> dict[str, tuple[int, int]]:
        before = _stored(out)
        rc, err = _cli(out, f"between-runs:{_nth_put(seq, before, target)}")
        assert rc == -signal.SIGKILL, err[-3000:]
        after = _stored(out)
        # killed just after the target (not before: it redid none of the stored runs), and
        # every file it stored is one the uninterrupted calibration stored
        assert target in after, f"killed before {target}: runs were redone"
        assert set(after) <= set(seq)
        assert all(after[k] == v for k, v in before.items())   # nothing stored was redone
        return after

    # stage 1: after the second of the three fixed-point runs
    kill_after(stage1[1])
    assert not (out / "constants_reference.json").exists()
    # stage 2: half-way through the Morris points
    kill_after(stage2[len(stage2) // 2])
    assert json.loads((out / "constants_reference.json").read_text()) == \
        want["constants_reference.json"]
    assert not (out / "screening.csv").exists()
    # ABC generation 1: the calibration sample done, 4 of its 12 tasks done, abc.db holds
    # pyabc's run but no generation (the state whose resume used to loop)
    stored = kill_after("abc_tasks/t0_3.pkl")
    assert (out / "screening.csv").read_text() == want["screening.csv"]
    assert (out / "abc.db").is_file() and smc.history_generations(out / "abc.db") == 0
    assert sorted(k for k in stored if k.startswith("abc_tasks/")) == sorted(
        [f"abc_tasks/t-1_{i}.pkl" for i in range(POPULATION)]
        + [f"abc_tasks/t0_{i}.pkl" for i in range(4)])
    # ABC generation 2: generation 1 in abc.db (resumed with pyabc's load), 6 tasks done
    kill_after("abc_tasks/t1_5.pkl")
    assert smc.history_generations(out / "abc.db") == 1
    assert not (out / "posterior.csv").exists()

    before = _stored(out)
    rc, err = _cli(out, None)
    assert rc == 0, err[-3000:]
    for line in ("1/5 reference constants: done", "2/5 screening: done",
                 "continuing after generation 1"):
        assert line in err
    _assert_same(_results(out), want)
    after = _stored(out)
    assert all(after[k] == v for k, v in before.items())     # none of the stored runs redone
    n_fresh = len(want["runs"])
    n_last = sum(1 for k in after if k.startswith("runs/") and k not in before)
    assert n_last == n_fresh - sum(1 for k in before if k.startswith("runs/"))
    assert 0 < n_last < n_fresh / 2               # the resumed command made only what was left
    assert not list(out.rglob(".*.*")) and not (out / ".lock").exists()  # no temporaries


# ============================================================================ recovery
TRUTH = {"separation_rate": 0.010, "global_convenience": -2.0}
PRIORS = {"separation_rate": (0.006, 0.02), "global_convenience": (-3.5, -1.0)}


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Weighted quantile ``q`` of ``x`` (inverse of the weighted empirical distribution)."""
    order = np.argsort(x)
    cw = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(np.searchsorted(cw, q), len(x) - 1)])


def _recovery_file(tmp_path: Path, replications: int = 4) -> Path:
    """The fixture with two parameters and targets made by the model at :data:`TRUTH`.

    Observed values: the mean of ``replications`` runs (seeds 101..) with the true values,
    every other parameter at its declared value and zero territory constants.
    Each target's sd is about the spread of one run's value (1,500 households, one year):
    0.8 points of unemployment, 2 points of online share.
    """
    cal = load_calibration(FIXTURE)
    sd = cal.scenario.to_dict()
    codes = [str(c) for c in cal.scenario.load_map(cal.seed).codes]
    runs = [run_summary(SimTask(f"truth{r}", sd, 101 + r, {**base_params(), **TRUTH},
                                tuple(np.zeros(len(codes))), cal.years, cal.n_households,
                                cal.constants.years)) for r in range(replications)]
    rate = np.mean([r.territory["expected_net_migration_rate"] for r in runs], axis=0)
    unemployment = float(np.mean([r.national["unemployment_2023"] for r in runs]))
    online = float(np.mean([r.national["online_share_2023"] for r in runs]))
    table = ", ".join(f"{c} = {v:.6f}" for c, v in zip(codes, rate, strict=True))
    text = FIXTURE.read_text()
    head = text[: text.index("[[parameters]]")]
    head = head.replace("population = 12", "population = 16").replace(
        "inner_iterations = 1", "inner_iterations = 0")
    params = "".join(f'[[parameters]]\nname = "{k}"\nrange = [{lo}, {hi}]\n'
                     for k, (lo, hi) in PRIORS.items())
    src = 'source = "the model at known parameter values (tests/test_calibration_runs.py)"'
    # net migration: the constants' target only (weight 0): at 1,500 households the rates of
    # the small territories are too noisy to tell the parameters apart
    targets = (f'[[targets]]\nname = "net_migration"\nkind = "net_migration_rate"\nsd = 0.5\n'
               f'weight = 0.0\n{src}\nobserved = {{ {table} }}\n'
               f'[[targets]]\nname = "unemployment"\nkind = "unemployment_national"\n'
               f'year = 2023\nsd = 0.8\n{src}\nobserved = {unemployment:.6f}\n'
               f'[[targets]]\nname = "online"\nkind = "online_retail_share"\nyear = 2023\n'
               f'sd = 2.0\n{src}\nobserved = {online:.6f}\n')
    path = tmp_path / "recovery.toml"
    path.write_text(head + params + targets)
    return path


@pytest.mark.slow
def test_calibration_recovers_known_parameter_values(tmp_path):
    cal = load_calibration(_recovery_file(tmp_path))
    assert [p.name for p in cal.priors] == list(PRIORS)
    out = tmp_path / "recovery"
    calibrate(cal, out, workers=1, progress=False, log=io.StringIO())
    post = pd.read_csv(out / "posterior.csv")
    w = post["weight"].to_numpy(float)
    narrowing = {}
    for name, truth in TRUTH.items():
        lo, hi = PRIORS[name]
        x = post[name].to_numpy(float)
        q5, q95 = _wquantile(x, w, 0.05), _wquantile(x, w, 0.95)
        assert q5 <= truth <= q95, (name, q5, truth, q95)
        narrowing[name] = (q95 - q5) / (hi - lo)
    # the online share identifies the platforms' convenience: its 90 % interval spans under
    # half its prior (a uniform prior's spans 90 %); unemployment tells less about the
    # separation rate at one year of 1,500 households (measured: 60 % of its prior)
    assert narrowing["global_convenience"] < 0.5, narrowing
    med = json.loads((out / "calibrated.json").read_text())["parameters"]
    assert abs(med["global_convenience"] - TRUTH["global_convenience"]) < 0.25 * 2.5


# ============================================================================ target years
def _online_year(text: str, year: int, observed: bool) -> str:
    """The fixture's text with the online target's year ``year`` (and without observed)."""
    old = 'year = 2023\nsd = 1.5\nsource = "invented for the tests"\nobserved = 15.0\n'
    assert old in text
    new = f'year = {year}\nsd = 1.5\n' + (
        'source = "invented for the tests"\nobserved = 15.0\n' if observed else "")
    return text.replace(old, new)


def test_a_year_outside_the_data_needs_an_observed_value(tmp_path):
    text = FIXTURE.read_text()
    path = tmp_path / "years.toml"
    with pytest.raises(CalibrationError) as e:
        parse_calibration(_online_year(text, 2024, observed=False), path=path)
    msg = str(e.value)
    assert "years.toml" in msg and "targets[2].year" in msg and "2024" in msg
    assert "online_retail_share for 2023" in msg and "`observed`" in msg and "source" in msg
    # with observed and its source the year is accepted, and the value is the one given
    cal = parse_calibration(_online_year(text, 2024, observed=True), path=path)
    t = cal.target("online_2023")
    assert (t.year, t.observed, t.source) == (2024, 15.0, "invented for the tests")
    # the runs must reach the year: one year from 2023 does not
    path.write_text(_online_year(text, 2024, observed=True))
    with pytest.raises(CalibrationError, match="a target needs 2024, but runs of 1 years "
                                               "from 2023 end in 2023"):
        calibrate(load_calibration(path), tmp_path / "out", workers=1, progress=False,
                  log=io.StringIO())
    assert not list((tmp_path / "out" / "runs").glob("*.pkl"))        # before any run
    # a year of the data without observed: the data's value (online share 2023: 12.5 %)
    cal = parse_calibration(_online_year(text, 2023, observed=False), path=path)
    assert cal.target("online_2023").observed is None


# ============================================================================ the report
SECTIONS = ["Provenance", "Screening: why these parameters", "ABC-SMC generations",
            "Posterior: what the data pin down", "Targets: observed vs simulated",
            "Plausibility figures (issue 11 bounds, 20 years)", "Territory constants",
            "What is still off, and why"]


def test_analyse_writes_the_calibration_report(reference_run, tmp_path, capsys):
    """terrinum analyse on a calibration folder: a self-contained HTML report and its
    Markdown, with every section and figure issue 12 names, from the folder's own files."""
    from simulation.cli.main import main

    src, _ = reference_run
    out = tmp_path / "calib"
    shutil.copytree(src, out)
    assert main(["analyse", str(out)]) == 0
    assert "Calibration report" in capsys.readouterr().out
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    md = (out / "report" / "CALIBRATION.md").read_text(encoding="utf-8")
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == SECTIONS
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in html.replace("&#x27;", "'"), title
    # self-contained: every figure embedded, nothing fetched
    assert "src='http" not in html and 'src="http' not in html and "<link" not in html
    captions = ["Observed vs simulated by", "Posterior marginals", "Pairwise posterior "
                "correlations", "Map of the residuals", "Fixed point of the territory constants"]
    for cap in captions:
        assert f"alt='{cap}" in html, cap
    assert html.count("src='data:image/png;base64,") == len(captions)
    # the tables hold the folder's numbers
    fit = pd.read_csv(out / "fit.csv")
    calib = json.loads((out / "calibrated.json").read_text())
    for name, value in calib["parameters"].items():
        assert name in md and f"{value:.4g}" in md.replace(",", ""), name
    for target in fit["target"].unique():
        assert target in md, target
    plaus = pd.read_csv(out / "plausibility.csv")
    for figure in plaus["figure"]:
        assert figure in md, figure


def test_what_is_still_off_gives_each_failing_figure_its_own_reason():
    from simulation.calibration import report

    tt = pd.DataFrame({"target": [], "fits": [], "mean_z2": [], "observed": [], "simulated": [],
                       "unit": []})
    fit = pd.DataFrame({"target": [], "kind": []})
    plaus = pd.DataFrame([
        {"figure": "growth_min_pct", "passes": False, "mean": -30.0, "france": -12.2,
         "lo": -25.0, "hi": float("nan")},
        {"figure": "zipf_change", "passes": False, "mean": 0.2, "france": -0.06, "lo": -0.12,
         "hi": 0.03},
        {"figure": "growth_sd_pct", "passes": True, "mean": 9.0, "france": 9.7,
         "lo": float("nan"), "hi": 13.5},
    ])
    lines = report._still_off(tt, fit, plaus)
    minimum = next(x for x in lines if "growth_min_pct" in x)
    zipf = next(x for x in lines if "zipf_change" in x)
    assert "retirement migration" in minimum and "retirement" not in zipf
    assert "not diagnosed yet" in zipf
    assert not any("growth_sd_pct" in x for x in lines), "a passing figure is not listed"


def test_plausibility_verdict_is_on_the_ensemble_of_runs(reference_run):
    """plausibility.csv: the figures of the mean trajectory of 8 runs at the constants' size
    (the fixture's [constants] n_households), each run's figure beside it, and the verdict
    on the ensemble; a run-by-run extreme is never less extreme than the ensemble's."""
    out, _ = reference_run
    cal = load_calibration(FIXTURE)
    plaus = pd.read_csv(out / "plausibility.csv").set_index("figure")
    seeds = [c for c in plaus.columns if c.startswith("seed_")]
    assert len(seeds) == 8 and (plaus["runs"] == 8).all()
    assert (plaus["households"] == cal.constants.n_households).all()
    for fig, r in plaus.iterrows():
        lo = r["lo"] if r["lo"] == r["lo"] else -np.inf
        hi = r["hi"] if r["hi"] == r["hi"] else np.inf
        assert bool(r["passes"]) == bool(lo <= r["ensemble"] <= hi), fig
        runs = r[seeds].astype(float)
        assert int(r["runs_out"]) == int(((runs < lo) | (runs > hi)).sum()), fig
        assert r["mean"] == pytest.approx(runs.mean())
    # the smallest growth of the mean trajectory is above the mean of the runs' smallest
    # (min of means >= mean of mins, up to the runs' slightly different first months)
    assert plaus.loc["growth_min_pct", "ensemble"] >= plaus.loc["growth_min_pct", "mean"] - 0.5
    assert plaus.loc["growth_max_pct", "ensemble"] <= plaus.loc["growth_max_pct", "mean"] + 0.5
