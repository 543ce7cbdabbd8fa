"""Experiment files: designs of each kind, run identity, shipped experiments, clear errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simulation.engine.params import PARAMS
from simulation.engine.rng import replication_seeds
from simulation.experiments.design import ExperimentError, run_id
from simulation.experiments.files import (
    EXPERIMENTS_DIR,
    available_experiments,
    load_experiment,
    parse_experiment,
)

DATA = Path(__file__).parent / "data" / "experiments"
ROOT = Path(__file__).resolve().parents[1]
INFO = {"years": 2, "n_households": 1000, "map": "synthetic"}

HEAD = """
[experiment]
name = "t"
scenario = "teaching_synthetic"
years = 2
n_households = 1000
seed = 3
replications = {reps}

[[outcomes]]
measure = "gini"
"""


def _parse(body: str, reps: int = 2, **kw):
    text = HEAD.format(reps=reps) + textwrap.dedent(body)
    return parse_experiment(text, with_scenario=False, scenario_info=INFO, **kw)


def _in_bounds(exp) -> None:
    X = exp.matrix().astype(float)
    for j, f in enumerate(exp.factors):
        lo, hi = f.bounds()
        assert X[:, j].min() >= lo - 1e-12 and X[:, j].max() <= hi + 1e-12, f.name
        p = PARAMS.get(f.name)
        if p is not None:
            for row in exp.points():
                p.check(row[f.name])        # declared type and range hold for every point


# ---------------------------------------------------------------- designs
def test_grid_design_counts_values_and_bounds():
    exp = load_experiment(DATA / "tiny_grid.toml")
    assert exp.design.kind == "grid"
    pts = exp.points()
    assert len(pts) == 4 and exp.n_runs() == 8 == len(exp.runs())
    assert {(p["policy.tiers_lieux.places"], p["global_commission"]) for p in pts} == {
        (0.0, 0.1), (0.0, 0.2), (4.0, 0.1), (4.0, 0.2)}
    _in_bounds(exp)


def test_grid_of_range_with_n_points_and_int_and_bool_factors():
    exp = _parse("""
        [design]
        kind = "grid"
        [[factors]]
        name = "closure_months"
        range = [2, 8]
        n = 4
        [[factors]]
        name = "allow_debt"
        values = [true, false]
        [[factors]]
        name = "equalisation"
        range = [0.0, 1.0]
        n = 3
        """, reps=3)
    assert exp.n_runs() == 4 * 2 * 3 * 3 == len(exp.runs())
    assert sorted({p["closure_months"] for p in exp.points()}) == [2, 4, 6, 8]
    assert all(isinstance(p["closure_months"], int) for p in exp.points())
    assert sorted({p["equalisation"] for p in exp.points()}) == [0.0, 0.5, 1.0]
    _in_bounds(exp)


def test_lhs_design_counts_bounds_and_strata():
    exp = load_experiment(DATA / "lhs_small.toml")
    assert exp.n_runs() == 9 * 2 == len(exp.runs())
    X = exp.matrix()
    assert X.shape == (9, 4)
    _in_bounds(exp)
    for j, f in enumerate(exp.factors):      # one point in each of the 9 strata of each factor
        lo, hi = f.bounds()
        strata = np.floor((X[:, j] - lo) / (hi - lo) * 9).clip(0, 8)
        assert sorted(strata) == list(range(9))
    again = load_experiment(DATA / "lhs_small.toml")
    assert np.array_equal(again.matrix(), X)  # seeded
    assert all(isinstance(p["closure_months"], int) for p in exp.points())


@pytest.mark.parametrize("second", [False, True])
def test_sobol_design_counts_and_bounds(second):
    exp = _parse(f"""
        [design]
        kind = "sobol"
        base_samples = 8
        second_order = {str(second).lower()}
        [[factors]]
        name = "global_commission"
        range = [0.05, 0.3]
        [[factors]]
        name = "telework_days"
        range = [0.5, 3.0]
        [[factors]]
        name = "fuel_price"
        range = [0.08, 0.25]
        """, reps=1)
    D = 3
    assert exp.n_runs() == 8 * ((2 * D + 2) if second else (D + 2)) == len(exp.runs())
    _in_bounds(exp)


def test_morris_design_counts_levels_and_bounds():
    exp = _parse("""
        [design]
        kind = "morris"
        trajectories = 5
        levels = 4
        [[factors]]
        name = "move_rate"
        range = [0.002, 0.015]
        [[factors]]
        name = "attachment"
        range = [1.0, 5.0]
        [[factors]]
        name = "beta_income"
        range = [1.0, 4.0]
        """, reps=2)
    assert exp.n_runs() == 5 * (3 + 1) * 2 == len(exp.runs())
    _in_bounds(exp)
    X = exp.matrix()
    for j, f in enumerate(exp.factors):      # values on the 4-level grid
        lo, hi = f.bounds()
        u = (X[:, j] - lo) / (hi - lo) * 3
        assert np.allclose(u, np.round(u))


def test_quick_variant_is_smaller():
    full = load_experiment("tiers_lieux_commission")
    quick = load_experiment("tiers_lieux_commission", quick=True)
    assert quick.n_runs() < full.n_runs()
    assert quick.quick and quick.sha256 == full.sha256
    assert [r.run_id for r in quick.runs()] != [r.run_id for r in full.runs()]


# ---------------------------------------------------------------- runs
def test_run_ids_stable_unique_and_common_random_numbers():
    exp = load_experiment(DATA / "tiny_grid.toml")
    runs = exp.runs()
    ids = [r.run_id for r in runs]
    assert len(set(ids)) == len(ids)
    assert ids == [r.run_id for r in load_experiment(DATA / "tiny_grid.toml").runs()]
    seeds = replication_seeds(exp.seed, exp.replications)
    for p in range(4):
        assert [r.seed for r in runs if r.point == p] == seeds   # same seeds at every point
    r = runs[3]
    assert r.run_id == run_id(r.point, r.values, r.seed)
    assert run_id(r.point, r.values, r.seed + 1) != r.run_id


def test_run_inputs_apply_params_and_policy_fields():
    exp = load_experiment(DATA / "tiny_grid.toml")
    p = exp.points()[3]
    inp = exp.run_inputs(p)
    assert inp["params"] == {"global_commission": 0.2}
    assert inp["policies"] == [{"type": "tiers_lieux", "territories": {"kinds": ["rural"]},
                                "places": 4.0}]
    assert inp["n_households"] == 1000
    assert exp.policies[0]["places"] == 0          # the experiment's own dict is unchanged


@pytest.mark.parametrize("name", available_experiments())
def test_shipped_experiments_load_and_fit_a_laptop(name):
    for quick in (False, True):
        exp = load_experiment(name, quick=quick)
        assert exp.question, "every shipped experiment states its question"
        assert exp.n_runs() <= (40 if quick else 800)
        assert exp.years * exp.n_households * exp.n_runs() <= (1e5 if quick else 1e7)
    text = (EXPERIMENTS_DIR / f"{name}.toml").read_text()
    assert text.lstrip().startswith("# QUESTION")


def test_shipped_set_covers_the_issue():
    kinds = {n: load_experiment(n).design.kind for n in available_experiments()}
    assert {"grid", "lhs", "sobol", "morris"} <= set(kinds.values())
    bb = load_experiment("broadband_coverage")
    assert [f.name for f in bb.factors] == ["policy.broadband_rollout.target"]
    tl = load_experiment("tiers_lieux_commission")
    assert {f.name for f in tl.factors} == {"policy.tiers_lieux.places", "global_commission"}
    sob = load_experiment("sobol_headline")
    assert {o.measure for o in sob.outcomes} == {"attractiveness", "theil_between",
                                                "local_value_captured"}
    mo = load_experiment("morris_behaviour")
    assert all(PARAMS[f.name].group == "behaviour" for f in mo.factors)
    disc = load_experiment("discovery_levers")
    assert disc.discovery is not None
    roles = {f.role for f in disc.factors}
    assert roles == {"lever", "uncertainty"}
    assert set(disc.discovery.inputs) == {f.name for f in disc.factors if f.role == "lever"}


# ---------------------------------------------------------------- errors
BASE = """
[experiment]
scenario = "teaching_synthetic"
years = 1
n_households = 800
[design]
kind = "grid"
[[factors]]
name = "global_commission"
values = [0.1, 0.2]
[[outcomes]]
measure = "gini"
"""

LHS = BASE.replace('kind = "grid"', 'kind = "lhs"\nsamples = 4').replace(
    "values = [0.1, 0.2]", "range = [0.1, 0.2]")

TL = BASE.replace('[[factors]]\nname = "global_commission"\nvalues = [0.1, 0.2]',
                  '[[policies]]\ntype = "tiers_lieux"\nplaces = 1\n'
                  '[[factors]]\nname = "policy.tiers_lieux.places"\nvalues = [0, 2]')

BAD = [
    # (id, text, [fragments the message must contain])
    ("toml_syntax", BASE + "\nthis is = = not toml\n", ["not valid TOML"]),
    ("unknown_top_key", BASE + "\n[extra]\nx = 1\n", ["extra", "unknown key", "allowed"]),
    ("missing_design", BASE.replace('[design]\nkind = "grid"\n', ""), ["design",
                                                                      "missing"]),
    ("bad_design_kind", BASE.replace('"grid"', '"factorial"'),
     ["design.kind", "grid, lhs, sobol, morris"]),
    ("unknown_parameter", BASE.replace('"global_commission"', '"global_comission"'),
     ["factors[0].name", "unknown parameter", "global_commission"]),
    ("value_out_of_range", BASE.replace("[0.1, 0.2]", "[0.1, 0.9]"),
     ["factors[0].values", "out of range", "[0, 0.6]"]),
    ("range_out_of_range", LHS.replace("[0.1, 0.2]", "[0.1, 0.7]"),
     ["factors[0].range", "out of range"]),
    ("range_reversed", LHS.replace("[0.1, 0.2]", "[0.2, 0.1]"),
     ["factors[0].range", "below"]),
    ("wrong_type", BASE.replace("[0.1, 0.2]", '["low", "high"]'),
     ["factors[0].values", "must be a number"]),
    ("lhs_with_values", LHS.replace("range = [0.1, 0.2]", "values = [0.1, 0.2]"),
     ["factors[0].values", "range"]),
    ("sobol_not_power_of_2", BASE.replace('kind = "grid"', 'kind = "sobol"\nbase_samples = 10')
     .replace("values = [0.1, 0.2]", "range = [0.1, 0.2]")
     + '[[factors]]\nname = "fuel_price"\nrange = [0.1, 0.2]\n',
     ["design.base_samples", "power of 2"]),
    ("grid_range_without_n", BASE.replace("values = [0.1, 0.2]", "range = [0.1, 0.2]"),
     ["factors[0].n", "missing"]),
    ("policy_factor_without_policy",
     BASE.replace('"global_commission"', '"policy.tiers_lieux.places"')
     .replace("[0.1, 0.2]", "[0, 2]"), ["factors[0].name", "[[policies]]"]),
    ("policy_unknown_field", TL.replace("tiers_lieux.places", "tiers_lieux.seats"),
     ["factors[0].name", "not a field of tiers_lieux", "places"]),
    ("policy_value_out_of_range", TL.replace("[0, 2]", "[0, 5000]"),
     ["policy.tiers_lieux.places", "values", "[0, 1000]"]),
    ("bad_policy", TL.replace("places = 1", "places = -1"), ["policies[0]", "places"]),
    ("bool_param_sampled", LHS.replace('"global_commission"', '"allow_debt"')
     .replace("[0.1, 0.2]", "[0, 1]"), ["allow_debt", "true or false"]),
    ("unknown_measure", BASE.replace('measure = "gini"', 'measure = "ginni"'),
     ["outcomes[0].measure", "unknown measure", "gini"]),
    ("unknown_territory", BASE + '[[outcomes]]\nmeasure = "attractiveness"\n'
     'territories = ["ZZ9"]\n', ["outcomes[1].territories", "ZZ9", "allowed"]),
    ("window_beyond_run", BASE + '[[outcomes]]\nmeasure = "theil_between"\nat = "mean"\n'
     "window = [0, 5]\n", ["outcomes[1].window", "years"]),
    ("zero_replications", BASE.replace("n_households = 800",
                                       "n_households = 800\nreplications = 0"),
     ["experiment.replications", "out of range"]),
    ("unknown_scenario", BASE.replace('"teaching_synthetic"', '"no_such_scenario"'),
     ["experiment.scenario", "no_such_scenario"]),
    ("goal_unknown_outcome", BASE + '[discovery]\ninputs = "all"\n[[discovery.goal]]\n'
     'outcome = "theil"\nbelow = 1\n', ["discovery.goal[0].outcome", "gini"]),
    ("households_out_of_range", BASE.replace("n_households = 800", "n_households = 10"),
     ["experiment.n_households", "n_households"]),
]


@pytest.mark.parametrize("case,text,fragments", BAD, ids=[b[0] for b in BAD])
def test_malformed_experiment_files_exit_2_with_file_and_key(case, text, fragments, tmp_path,
                                                              capsys):
    from simulation.cli import main

    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    rc = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("terrinum: error: ") and "Traceback" not in err
    assert str(path) in err, err
    for frag in fragments:
        assert frag in err, (frag, err)
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(ExperimentError):
        load_experiment(path)


def test_quick_without_quick_table_and_missing_file(tmp_path, capsys):
    from simulation.cli import main

    p = tmp_path / "e.toml"
    p.write_text(BASE)
    assert main(["sweep", str(p), "--quick", "--out", str(tmp_path / "o")]) == 2
    assert "[quick]" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "none.toml" in capsys.readouterr().err
    assert main(["sweep", "tiers_lieux_comission"]) == 2
    assert "tiers_lieux_commission" in capsys.readouterr().err


def test_error_exit_status_through_python_dash_m(tmp_path):
    """The real command line (``python -m simulation.cli``) also exits 2 without traceback."""
    p = tmp_path / "bad.toml"
    p.write_text(BASE.replace("[0.1, 0.2]", "[0.1, 0.9]"))
    r = subprocess.run([sys.executable, "-m", "simulation.cli", "sweep", str(p), "--out",
                        str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and str(p) in r.stderr
    assert "factors[0].values" in r.stderr
