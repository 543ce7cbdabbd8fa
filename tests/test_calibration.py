"""Calibration (issue 12): file validation, the fixed point's direction, the distance, seeds,
and the shipped calibration as the defaults."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.calibration import constants as fp
from simulation.calibration import smc
from simulation.calibration import targets as tg
from simulation.calibration.files import CalibrationError, load_calibration, parse_calibration

BASE = """
[calibration]
scenario = "history"
years = 5
n_households = 2000
[constants]
target = "net_migration"
[screening]
keep = 1
[[parameters]]
name = "move_rate"
range = [0.003, 0.012]
[[targets]]
name = "net_migration"
kind = "net_migration_rate"
sd = 0.5
"""


def test_builtin_calibration_loads_full_and_quick():
    full = load_calibration("calibration_france")
    quick = load_calibration("calibration_france", quick=True)
    assert full.years == 20 and full.n_households == 20000 and full.abc.population == 48
    assert quick.years == 5 and quick.abc.population == 6 and quick.constants.iterations == 2
    assert len(full.priors) == 12 and full.screening.keep == 5
    # the plausibility ensemble: 8 runs at the constants' size (50,000 households)
    assert full.abc.plausibility_replications == 8 and full.abc.plausibility_households == 0
    assert full.constants.n_households == 50_000
    assert {t.kind for t in full.targets} >= {"net_migration_rate", "unemployment_rate",
                                              "log_median_income", "d9_d1", "zipf_change"}


@pytest.mark.parametrize("edit, key, words", [
    (("[calibration]", "[calibraton]\n[calibration]"), "calibraton", "unknown key"),
    (('name = "move_rate"', 'name = "move_rat"'), "parameters[0].name", "did you mean"),
    (("range = [0.003, 0.012]", "range = [0.003, 0.5]"), "parameters[0].range", "out of range"),
    (("range = [0.003, 0.012]", "range = [0.01, 0.005]"), "parameters[0].range", "below"),
    (('kind = "net_migration_rate"', 'kind = "net_migraton"'), "targets[0].kind",
     "unknown kind"),
    (("sd = 0.5", "weight = 1"), "targets[0].sd", "missing"),
    (('target = "net_migration"', 'target = "nope"'), "constants.target", "not a target"),
])
def test_bad_calibration_files_say_where_and_what(edit, key, words, tmp_path):
    text = BASE.replace(*edit)
    with pytest.raises(CalibrationError) as e:
        parse_calibration(text, path=tmp_path / "c.toml")
    msg = str(e.value)
    assert "c.toml" in msg and key in msg and words in msg


def test_screening_cannot_keep_more_than_the_candidates(tmp_path):
    with pytest.raises(CalibrationError, match="screening.keep"):
        parse_calibration(BASE.replace("keep = 1", "keep = 5"), path=tmp_path / "c.toml")


def test_explicit_observed_needs_a_source(tmp_path):
    text = BASE + '\n[[targets]]\nname = "u"\nkind = "unemployment_national"\nyear = 2019\n' \
                  'sd = 1\nobserved = 8.0\n'
    with pytest.raises(CalibrationError, match="source"):
        parse_calibration(text, path=tmp_path / "c.toml")


def _run(rate_in, rate_out, n=1000.0, var=50.0):
    K = len(rate_in)
    r = tg.RunSummary(codes=[str(i) for i in range(K)], start_year=2019, years=5)
    r.flows = {"expected_in": np.asarray(rate_in, float), "expected_out":
               np.asarray(rate_out, float), "expected_stay_var": np.full(K, var),
               "households": np.full(K, n), "years": np.array([5.0])}
    return r


def test_fixed_point_raises_constants_where_migration_is_too_low():
    run = _run([100, 100, 100], [100, 100, 100])        # net 0 everywhere
    target = np.array([1.0, 0.0, -1.0])                 # %/year
    c = fp.update(np.zeros(3), run, target)
    assert c[0] > c[1] > c[2]
    assert abs(c.mean()) < 1e-12                        # household-weighted mean 0
    assert fp.rms_gap(run, target) == pytest.approx(np.sqrt(2 / 3))


def test_distance_is_zero_at_the_data_and_grows_with_the_residual():
    t = tg.Target("x", "online_retail_share", "national", "%", "", "", 2023, 2.0, 1.0, 12.5,
                  "online_share_2023")
    r = tg.RunSummary(codes=[], start_year=2019, years=5, national={"online_share_2023": 12.5})
    assert tg.distance([t], r) == 0.0
    r.national["online_share_2023"] = 14.5
    d1 = tg.distance([t], r)
    r.national["online_share_2023"] = 16.5
    assert d1 == pytest.approx(1.0) and tg.distance([t], r) == pytest.approx(4.0)


def test_task_seeds_are_stable_and_distinct():
    assert smc.task_seed(2026, 0, 1) == smc.task_seed(2026, 0, 1)
    seeds = {smc.task_seed(2026, t, i) for t in range(-1, 4) for i in range(50)}
    assert len(seeds) == 250


def test_observed_targets_are_the_data_files():
    from simulation.world import dept_data

    codes = list(dept_data.names().index)
    cal = load_calibration("calibration_france")
    res = {t.name: t for t in tg.resolve(cal.targets, codes, cal.years)}
    df = dept_data.read("population_change_components_dept_2008_2019.csv")
    r = df["annual_growth_apparent_net_migration_pct_per_year_2014-2019"]
    w = df["pop_estimate_1jan_2019_inhabitants_ed2021"]
    i = codes.index("75")
    assert res["net_migration"].observed[i] == pytest.approx(r["75"] - (r * w).sum() / w.sum())
    u = dept_data.unemployment_quarterly()
    assert res["unemployment_2019"].observed[i] == pytest.approx(
        u.loc["75", [f"2019Q{q}" for q in range(1, 5)]].mean())


def test_shipped_calibration_gives_the_defaults_and_constants():
    import json

    from simulation import TerritoryModel
    from simulation.engine import calibrated
    from simulation.engine.params import PARAMS

    cal = json.loads((calibrated.DATA_DIR / calibrated.CALIBRATED_FILE).read_text())
    for name, value in cal["parameters"].items():
        assert PARAMS[name].calibrated and PARAMS[name].default == pytest.approx(value)
        assert PARAMS[name].lo <= value <= PARAMS[name].hi
    assert calibrated.n_draws() >= 50
    m = TerritoryModel(n_households=1000, seed=1)
    consts = cal["location_constants"]["values"]
    got = dict(zip(map(str, m.tmap.codes), m.terr.location_constant, strict=True))
    assert got["75"] == pytest.approx(consts["75"])
    syn = TerritoryModel(map="synthetic", n_households=500, seed=1)
    assert not np.any(syn.terr.location_constant)      # fitted on France only
    prov = cal["provenance"]
    assert prov["model_code_sha256"] and prov["data"] and prov["command"].startswith(
        "terrinum calibrate")


def test_plausibility_ensemble_settings_are_validated(tmp_path):
    """[abc] plausibility_replications (2-100) and plausibility_households (500-2,000,000)."""
    text = BASE + "\n[abc]\nplausibility_replications = 4\nplausibility_households = 3000\n"
    cal = parse_calibration(text, path=tmp_path / "c.toml")
    assert cal.abc.plausibility_replications == 4 and cal.abc.plausibility_households == 3000
    for key, bad in (("plausibility_replications", 1), ("plausibility_households", 100)):
        with pytest.raises(CalibrationError) as e:
            parse_calibration(BASE + f"\n[abc]\n{key} = {bad}\n", path=tmp_path / "c.toml")
        assert "c.toml" in str(e.value) and f"abc.{key}" in str(e.value)
