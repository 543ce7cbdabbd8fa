"""Posterior draws in runs and comparisons (``--draws N``): pairing, provenance, errors.

Most tests write a small calibration folder
(``draws.csv`` with strongly different draws of two real parameters and territory constants
of the synthetic map, and ``calibrated.json``) and points ``TERRINUM_CALIBRATION_DIR`` (or the
``calibration_dir`` argument) at it; the last ones use the draws shipped with the package.

The folder's ``calibrated.json`` fits zero constants and no parameter values, so a worker
process that happened to see the folder would run the calibrated defaults exactly as without
it: draws reach the workers as :class:`~simulation.engine.calibrated.Draw` objects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.cli.main import main
from simulation.engine import calibrated
from simulation.engine.calibrated import DrawError
from simulation.engine.params import PARAMS, Parameters
from simulation.scenarios.compare import compare, write_outputs
from simulation.scenarios.files import load_scenario
from simulation.scenarios.runner import replication_draw_list, run_many, run_results

SYNTH_MAP = "synthetic-core-periphery-seed1"   # teaching scenarios: map "synthetic", map_seed 1
CODES = ["M01", "C01", "C02", "C03", "C04", *[f"T0{i}" for i in range(1, 9)],
         *[f"R{i:02d}" for i in range(1, 13)]]
MOVE_RATE = [0.001, 0.06, 0.002, 0.05, 0.003, 0.04]     # 1/month: far apart
BETA_INCOME = [0.5, 4.0, 1.0, 3.5, 1.5, 3.0]
SMALL = ["--years", "1", "--households", "1500", "--quiet", "--no-plots"]


def write_calibration(folder: Path, n: int = 6, *, constants: bool = True) -> Path:
    """A small calibration: ``n`` draws of move_rate and beta_income (+ constants)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n):
        row = {"draw": k, "move_rate": MOVE_RATE[k % 6], "beta_income": BETA_INCOME[k % 6]}
        if constants:
            row |= {f"constant:{c}": round(float(v), 3)
                    for c, v in zip(CODES, rng.normal(0.0, 0.8, len(CODES)), strict=True)}
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / calibrated.DRAWS_FILE, index=False)
    (folder / calibrated.CALIBRATED_FILE).write_text(json.dumps(
        {"location_constants": {"map": SYNTH_MAP, "values": {c: 0.0 for c in CODES}},
         "provenance": {"note": "test calibration"}}), encoding="utf-8")
    return folder


@pytest.fixture
def calib(tmp_path, monkeypatch):
    folder = write_calibration(tmp_path / "calibration")
    monkeypatch.setenv(calibrated.DIR_ENV, str(folder))
    monkeypatch.delenv(calibrated.OFF_ENV, raising=False)
    calibrated.clear_cache()
    yield folder
    calibrated.clear_cache()


# ============================================================================ the module
def test_calibration_folder_from_the_environment(calib, monkeypatch, tmp_path):
    assert calibrated.data_dir() == calib
    assert calibrated.n_draws() == 6
    d = calibrated.draw(3)
    assert d.index == 3 and d.map == SYNTH_MAP
    assert d.params == {"move_rate": 0.05, "beta_income": 3.5}
    assert set(d.constants) == set(CODES)
    # clear_cache forgets a file rewritten in the same folder
    write_calibration(calib, n=2)
    assert calibrated.n_draws() == 6
    calibrated.clear_cache()
    assert calibrated.n_draws() == 2
    monkeypatch.setenv(calibrated.DIR_ENV, str(tmp_path / "empty"))
    assert calibrated.n_draws() == 0
    monkeypatch.delenv(calibrated.DIR_ENV)
    assert calibrated.data_dir() == calibrated.DATA_DIR


def test_draws_are_spread_evenly_and_cycled_over_replications(calib):
    assert calibrated.spread(3, 6) == [0, 2, 4]
    assert calibrated.spread(6, 6) == list(range(6))
    assert calibrated.spread(1, 6) == [0]
    assert [d.index for d in calibrated.select_draws(3)] == [0, 2, 4]
    reps = replication_draw_list(2, 5)
    assert [d.index for d in reps] == [0, 3, 0, 3, 0]   # replication k: draw k mod 2
    assert replication_draw_list(0, 4) is None


def test_parameters_from_draw(calib):
    p = Parameters.from_draw(1)
    assert p.move_rate == 0.06 and p.beta_income == 4.0
    assert p.attachment == PARAMS["attachment"].default   # not drawn: the default
    q = Parameters.from_draw(1, {"move_rate": 0.01})
    assert q.move_rate == 0.01 and q.beta_income == 4.0   # overrides on top of the draw
    with pytest.raises(DrawError, match="from 0 to 5"):
        Parameters.from_draw(6)


def test_model_uses_the_draw_and_its_constants_on_their_map_only(calib):
    from simulation import TerritoryModel
    from simulation.world.maps import load_map

    d = calibrated.draw(1)
    tmap = load_map("synthetic", seed=1)
    m = TerritoryModel(map=tmap, seed=2, n_households=800, draw=1)
    assert m.tmap.name == SYNTH_MAP and m.draw == 1
    assert m.p.move_rate == 0.06 and m.p.beta_income == 4.0
    np.testing.assert_allclose(m.terr.location_constant,
                               [d.constants[c] for c in m.tmap.codes])
    # a Draw object (what workers receive) gives the same model
    m2 = TerritoryModel(map=tmap, seed=2, n_households=800, draw=d)
    assert m2.draw == 1 and m2.p.to_dict() == m.p.to_dict()
    np.testing.assert_array_equal(m2.terr.location_constant, m.terr.location_constant)
    # explicit values and explicit constants win over the draw's
    m3 = TerritoryModel(map=tmap, seed=2, n_households=800, draw=1, move_rate=0.02,
                        location_constants={"M01": 1.5})
    assert m3.p.move_rate == 0.02 and m3.p.beta_income == 4.0
    assert m3.terr.location_constant[0] == 1.5 and (m3.terr.location_constant[1:] == 0).all()
    # another map: the draw's parameter values, not its constants
    other = TerritoryModel(map="synthetic", seed=2, n_households=800, draw=1)   # map seed 2
    assert other.tmap.name != SYNTH_MAP
    assert other.p.move_rate == 0.06 and (other.terr.location_constant == 0).all()
    # without a draw: the calibrated defaults (this calibration's constants are zero)
    plain = TerritoryModel(map=tmap, seed=2, n_households=800)
    assert plain.draw is None and plain.p.move_rate == PARAMS["move_rate"].default
    assert (plain.terr.location_constant == 0).all()


def test_scenario_values_and_levers_override_the_draw(calib):
    teaching = load_scenario("teaching_synthetic")
    lever = next(n for n, p in PARAMS.items() if p.group == "lever" and p.kind != "bool")
    value = PARAMS[lever].hi
    scen = teaching.with_overrides(params={"move_rate": 0.02, lever: value})
    d = calibrated.draw(1)
    d = calibrated.Draw(d.index, {**d.params, lever: PARAMS[lever].lo}, d.map, d.constants)
    m = scen.build_model(5, n_households=800, draw=d)
    assert m.p.move_rate == 0.02        # the scenario's value
    assert m.p.beta_income == 4.0       # the draw's
    assert m.p[lever] == value          # a lever stays a lever
    assert m.draw == 1


def test_malformed_draws_file_is_a_clear_error(calib):
    f = calib / calibrated.DRAWS_FILE
    cases = [("move_rate,beta_income\n0.01,2\n", "no 'draw' column"),
             ("draw,move_rate\n0,abc\n", "column 'move_rate', row 1: 'abc' is not a finite"),
             ("draw,move_rate\n0,0.01\n0,0.02\n", "distinct whole numbers"),
             ("draw,move_rat\n0,0.01\n", "unknown parameter 'move_rat'"),
             ("draw,move_rate\n0,0.9\n", "move_rate")]
    for text, message in cases:
        f.write_text(text, encoding="utf-8")
        calibrated.clear_cache()
        with pytest.raises(DrawError, match=message) as exc:
            replication_draw_list(1, 1)
        assert str(f) in str(exc.value)


# ============================================================================ command line
def test_compare_with_draws_end_to_end(calib, tmp_path, capsys):
    out = tmp_path / "cmp"
    status = main(["compare", "teaching_baseline", "teaching_synthetic", "--draws", "3",
                   "--workers", "1", *SMALL, "--out", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert "posterior draws [0, 2, 4]" in text
    assert "randomness and parameter uncertainty" in text
    man = json.loads((out / "manifest.json").read_text())
    assert man["replications"] == 3, "--reps left out: one replication per draw"
    by = man["draws"]["by_replication"]
    assert [r["draw"] for r in by] == [0, 2, 4]
    assert [r["seed"] for r in by] == man["seeds"]
    assert [r["params"]["move_rate"] for r in by] == [MOVE_RATE[0], MOVE_RATE[2], MOVE_RATE[4]]
    assert man["draws"]["n"] == 3 and "spread evenly" in man["draws"]["selection"]
    files = {Path(f["path"]).name: f["sha256"] for f in man["calibration"]["files"]}
    for name in (calibrated.DRAWS_FILE, calibrated.CALIBRATED_FILE):
        assert files[name] == hashlib.sha256((calib / name).read_bytes()).hexdigest()
    assert man["uncertainty"] == ("replications paired with 3 posterior draw(s): randomness "
                                  "and parameter uncertainty")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert ("Uncertainty in the intervals:</b> replications paired with 3 posterior draw(s): "
            "randomness and parameter uncertainty.") in html
    fr = (out / "report.fr.html").read_text(encoding="utf-8")
    assert ("Incertitude des intervalles :</b> réplications appariées à 3 tirage(s) a "
            "posteriori : hasard et incertitude sur les paramètres.") in fr
    assert "--draws 3" in html, "the re-run command keeps the draws"
    assert files[calibrated.DRAWS_FILE] in html, "the report's provenance has the hash"
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["seed"].unique()) == sorted(man["seeds"])


def test_run_with_draws_records_them_per_replication(calib, tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["run", "teaching_synthetic", "--reps", "4", "--draws", "2", "--workers",
                   "1", *SMALL, "--out", str(out)])
    assert status == 0
    assert "posterior draws 0, 3, 0, 3" in capsys.readouterr().out
    man = json.loads((out / "manifest.json").read_text())
    assert man["replications"] == 4 and len(man["seeds"]) == 4
    assert [r["draw"] for r in man["draws"]["by_replication"]] == [0, 3, 0, 3]
    assert man["draws"]["by_replication"][1]["params"]["beta_income"] == BETA_INCOME[3]
    assert "draw" not in man, "one draw per replication, not one for the run"
    assert {Path(f["path"]).name for f in man["calibration"]["files"]} == {
        calibrated.DRAWS_FILE, calibrated.CALIBRATED_FILE}


def test_no_draws_is_todays_behaviour(calib, tmp_path):
    args = ["run", "teaching_synthetic", "--reps", "2", "--workers", "1", "--years", "0.5",
            "--households", "1000", "--quiet", "--no-plots"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--draws", "0", "--out", str(tmp_path / "b")]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "results.parquet"),
                                  pd.read_parquet(tmp_path / "b" / "results.parquet"))
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["draws"] is None
    assert man["uncertainty"] == "replications only (calibrated defaults)"
    assert man["parameters"]["move_rate"] == PARAMS["move_rate"].default


def test_report_without_draws_says_replications_only(calib, tmp_path):
    cmp = compare("teaching_synthetic", ["teaching_synthetic"], reps=2, years=0.5,
                  n_households=1000, workers=1, progress=False)
    assert cmp.draws is None and cmp.n_draws == 0
    html = write_outputs(cmp, tmp_path, plots=False).read_text(encoding="utf-8")
    assert ("Uncertainty in the intervals:</b> replications only (calibrated "
            "defaults).") in html
    fr = (tmp_path / "report.fr.html").read_text(encoding="utf-8")
    assert "réplications seules (valeurs calibrées par défaut)." in fr
    assert "--draws" not in html
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["draws"] is None


@pytest.mark.parametrize(("argv", "message"), [
    (["compare", "teaching_baseline", "teaching_synthetic", "--draws", "7"],
     "--draws 7: only 6 posterior draw(s) are shipped"),
    (["compare", "teaching_baseline", "teaching_synthetic", "--draws", "4", "--reps", "2"],
     "--draws 4 is more than the 2 replication(s)"),
    (["run", "teaching_synthetic", "--draws", "-1"], "--draws must be 0"),
    (["run", "teaching_synthetic", "--draws", "3", "--reps", "2"],
     "--draws 3 is more than the 2 replication(s)"),
])
def test_draws_errors(calib, tmp_path, capsys, argv, message):
    assert main([*argv, *SMALL, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists(), "nothing written"


def test_no_draws_shipped_says_how_to_get_them(calib, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(calibrated.DIR_ENV, str(tmp_path / "nothing"))
    assert main(["run", "teaching_synthetic", "--draws", "2", *SMALL,
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no posterior draws are shipped" in err and "draws.csv does not exist" in err
    assert "terrinum calibrate" in err and calibrated.DIR_ENV in err
    monkeypatch.setenv(calibrated.DIR_ENV, str(calib))
    monkeypatch.setenv(calibrated.OFF_ENV, "1")
    assert main(["compare", "teaching_baseline", "teaching_synthetic", "--draws", "2",
                 *SMALL, "--out", str(tmp_path / "out")]) == 2
    assert f"{calibrated.OFF_ENV} is set" in capsys.readouterr().err


# ============================================================================ what draws do
def test_local_pool_and_one_worker_give_the_same_numbers(tmp_path):
    """No environment variable: the folder is an argument, and workers get Draw objects."""
    folder = write_calibration(tmp_path / "calibration")
    kw = dict(reps=3, draws=3, years=0.5, n_households=1000, progress=False,
              calibration_dir=folder)
    one = compare("teaching_baseline", ["teaching_synthetic"], workers=1, **kw)
    two = compare("teaching_baseline", ["teaching_synthetic"], workers=2, **kw)
    assert [d.index for d in one.draws] == [d.index for d in two.draws] == [0, 2, 4]
    pd.testing.assert_frame_equal(one.effects_map, two.effects_map)
    for label in one.labels:
        for a, b in zip(one.results[label], two.results[label], strict=True):
            pd.testing.assert_frame_equal(a.to_df(), b.to_df())
            assert a.draw == b.draw and a.params == b.params
    # draw k's values are the ones the runs used, in every scenario
    for label in one.labels:
        assert [r.params["move_rate"] for r in one.results[label]] == [
            MOVE_RATE[0], MOVE_RATE[2], MOVE_RATE[4]]
        assert [r.draw for r in one.results[label]] == [0, 2, 4]
    # run_many with Draw objects, one or two workers
    draws = calibrated.select_draws(2, folder)
    tasks = [dict(scenario="teaching_synthetic", seed=7, years=0.25, n_households=800,
                  draw=d) for d in draws]
    a = run_many(tasks, workers=1, progress=False, func=run_results)
    b = run_many(tasks, workers=2, progress=False, func=run_results)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x.to_df(), y.to_df())
    assert [r.params["beta_income"] for r in a] == [BETA_INCOME[0], BETA_INCOME[3]]


def test_draws_widen_the_spread_between_replications(tmp_path):
    """Draws far apart (move_rate 0.001 to 0.06 a month) spread the replications more."""
    folder = write_calibration(tmp_path / "calibration")
    kw = dict(reps=4, years=1.0, n_households=1500, workers=1, progress=False,
              calibration_dir=folder)
    plain = compare("teaching_baseline", ["teaching_synthetic"], **kw)
    drawn = compare("teaching_baseline", ["teaching_synthetic"], draws=4, **kw)
    assert plain.seeds == drawn.seeds, "same seeds: only the draws differ"

    def spread(cmp, measure):
        vals = [float(np.nanmean(r.map_values[measure].iloc[-12:]))
                for r in cmp.results[cmp.labels[0]]]
        return float(np.std(vals, ddof=1))

    for measure in ("attractiveness", "housing_price"):
        assert spread(drawn, measure) > 1.5 * spread(plain, measure), measure


# ============================================================================ bad calibration
def test_malformed_calibrated_json_is_a_clear_error(calib):
    f = calib / calibrated.CALIBRATED_FILE
    for text, message in [("{not json", "not a readable JSON file"),
                          ("[1, 2]", "not a JSON object"),
                          ('{"parameters": [1]}', "key 'parameters' is not an object"),
                          ('{"location_constants": {"map": 3}}', "'location_constants' is "
                                                                 "malformed"),
                          ('{"parameters": {"move_rate": "x"}}',
                           "parameters.move_rate: 'x' is not a finite number")]:
        f.write_text(text, encoding="utf-8")
        calibrated.clear_cache()
        with pytest.raises(DrawError, match=message) as exc:
            calibrated.calibrated()
        assert str(f) in str(exc.value)


def test_unusable_calibration_folder_stops_the_command_without_traceback(tmp_path):
    """Read when the package is imported: the import succeeds, the command says why not."""
    import os
    import subprocess
    import sys

    folder = write_calibration(tmp_path / "calibration")
    (folder / calibrated.CALIBRATED_FILE).write_text('{"parameters": {"move_rat": 0.01}}',
                                                     encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, calibrated.DIR_ENV: str(folder), "PYTHONPATH": str(root)}
    env.pop(calibrated.OFF_ENV, None)
    proc = subprocess.run([sys.executable, "-m", "simulation.cli", "run", "teaching_synthetic",
                           *SMALL, "--out", str(tmp_path / "out")], env=env, cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{calibrated.DIR_ENV}: {folder / calibrated.CALIBRATED_FILE}: unknown parameters " \
           "['move_rat']" in proc.stderr
    assert not (tmp_path / "out").exists()


# ============================================================================ shipped draws
@pytest.fixture
def shipped(monkeypatch):
    """The calibration shipped in simulation/data/calibration (no test folder)."""
    monkeypatch.delenv(calibrated.DIR_ENV, raising=False)
    monkeypatch.delenv(calibrated.OFF_ENV, raising=False)
    calibrated.clear_cache()
    yield calibrated.DATA_DIR
    calibrated.clear_cache()


def test_every_shipped_draw_loads_with_declared_parameters_only(shipped):
    """The shipped draws.csv has a 'particle' provenance column: it is not a parameter."""
    df = pd.read_csv(shipped / calibrated.DRAWS_FILE)
    assert "particle" in df.columns
    n = calibrated.n_draws()
    assert n >= 50
    declared = set(PARAMS)
    fitted = set(calibrated.calibrated()["parameters"])
    for k in range(n):
        d = calibrated.draw(k)
        assert set(d.params) == fitted and set(d.params) <= declared, k
        assert "particle" not in d.params
        assert len(d.constants) == 96 and d.map == "france-departements"
    p = Parameters.from_draw(n - 1)
    last = calibrated.draw(n - 1)
    assert all(p[name] == pytest.approx(v) for name, v in last.params.items())


def test_a_particle_column_is_provenance_not_a_parameter(calib):
    df = pd.read_csv(calib / calibrated.DRAWS_FILE)
    df.insert(1, "particle", [5, 3, 0, 1, 4, 2])
    df.to_csv(calib / calibrated.DRAWS_FILE, index=False)
    calibrated.clear_cache()
    assert calibrated.draw(1).params == {"move_rate": MOVE_RATE[1],
                                         "beta_income": BETA_INCOME[1]}


def test_compare_with_the_shipped_draws_end_to_end(shipped, tmp_path, capsys):
    """The issue's command, small: compare baseline broadband_rollout --draws N."""
    out = tmp_path / "cmp"
    status = main(["compare", "baseline", "broadband_rollout", "--draws", "2", "--workers",
                   "1", "--years", "1", "--households", "2000", "--quiet", "--no-plots",
                   "--out", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    man = json.loads((out / "manifest.json").read_text())
    n = calibrated.n_draws()
    by = man["draws"]["by_replication"]
    assert [r["draw"] for r in by] == [0, n // 2]
    for r in by:
        assert r["params"] == pytest.approx(calibrated.draw(r["draw"]).params)
        assert "particle" not in r["params"]
