"""The command line for scenarios: validate (malformed files), run, compare, list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli import main
from simulation.scenarios.files import SCENARIO_DIR

DATA = Path(__file__).parent / "data" / "scenarios"
ROOT = Path(__file__).resolve().parents[1]

# (file, file the message must name, key path it must name, words it must contain)
MALFORMED = [
    ("bad_unknown_top_key", None, "colour", "unknown key"),
    ("bad_unknown_run_key", None, "run.yaers", "did you mean 'years'"),
    ("bad_unknown_description_key", None, "description.summary", "unknown key"),
    ("bad_run_years_type", None, "run.years", "wrong type"),
    ("bad_run_years_range", None, "run.years", "(0, 200]"),
    ("bad_run_households_range", None, "run.n_households", "out of range"),
    ("bad_run_seed_negative", None, "run.seed", "non-negative"),
    ("bad_unknown_map", None, "run.map", "unknown map 'atlantis'"),
    ("bad_unknown_param", None, "parameters.move_rat", "did you mean 'move_rate'"),
    ("bad_param_type", None, "parameters.move_rate", "must be a number"),
    ("bad_param_range", None, "parameters.move_rate", "[0, 0.2] 1/month"),
    ("bad_behaviour_under_levers", None, "levers.move_rate", "put it under [parameters]"),
    ("bad_lever_under_uncertainties", None, "uncertainties.platform_tax",
     "put it under [levers]"),
    ("bad_param_twice", None, "levers.platform_push", "also set in [parameters]"),
    ("bad_bool_param", None, "levers.allow_debt", "true or false"),
    ("bad_households_in_parameters", None, "parameters.n_households", "run.n_households"),
    ("bad_skill_shares", None, "share_mid_skill", "must not exceed 1"),
    ("bad_policy_unknown_type", None, "policies[0].type", "did you mean 'broadband_rollout'"),
    ("bad_policy_missing_type", None, "policies[0].type", "missing policy type"),
    ("bad_policy_unknown_key", None, "policies[0].tarrget", "did you mean 'target'"),
    ("bad_policy_out_of_range", None, "policies[0].target", "[0, 1]"),
    ("bad_policy_wrong_type", None, "policies[0].places", "a number in [0, 1000]"),
    ("bad_policy_unknown_territory", None, "policies[0].territories.codes[1]",
     "unknown territory code '99'"),
    ("bad_policy_unknown_kind", None, "policies[0].territories.kinds[0]", "'rural'"),
    ("bad_policy_unknown_region", None, "policies[0].territories.regions[0]",
     "unknown region '99'"),
    ("bad_policy_territories_string", None, "policies[0].territories", "kinds = [...]"),
    ("bad_policy_start_after_end", None, "policies[0].end", "must be after start"),
    ("bad_policy_start_after_run", None, "policies[0].start", "after the end of the run"),
    ("bad_policy_payer", None, "policies[0].payer", "'state', 'authority', 'region'"),
    ("bad_policy_missing_required", None, "policies[0].change", "required"),
    ("bad_policy_which", None, "policies[0].which[1]", "'tax', 'social', 'post'"),
    ("bad_second_policy", None, "policies[1].rate", "[0, 0.3]"),
    ("bad_policies_not_table", None, "policies[0]", "[[policies]] tables"),
    ("bad_extends_missing", None, "extends", "not found"),
    ("bad_extends_cycle_a", "bad_extends_cycle_b", "extends", "cycle of extends"),
    ("bad_in_parent", "bad_param_range", "parameters.move_rate", "bad_in_parent.toml"),
    ("bad_not_toml", None, "line 2, column 5", "not a valid TOML file"),
    ("bad_replace_policies_type", None, "replace_policies", "true or false"),
    ("bad_name_type", None, "name", "a string"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_validate_malformed_file(capsys, case):
    stem, named, key, words = case
    path = DATA / f"{stem}.toml"
    assert path.is_file()
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in err and "validation error" not in err.lower()
    assert err.count("\n") == 1, f"one message: {err!r}"
    assert f"{named or stem}.toml" in err, "the message names the file at fault"
    assert f": {key}: " in err or f": {key} " in err or f"{key}:" in err, \
        f"the message names the key {key!r}: {err}"
    assert words in err, err
    assert "allowed: " in err, "the message says what is allowed"
    assert "OK" not in out


def test_at_least_twenty_malformed_cases():
    assert len(MALFORMED) >= 20


def test_validate_good_files(capsys):
    files = [str(p) for p in sorted(SCENARIO_DIR.glob("*.toml"))]
    files += [str(DATA / "good_child.toml"), str(DATA / "good_grandchild.toml"), "baseline"]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert out.count("OK ") == len(files)


def test_validate_mixed_files_reports_each(capsys):
    status = main(["validate", str(DATA / "good_child.toml"),
                   str(DATA / "bad_param_range.toml"), str(DATA / "bad_not_toml.toml")])
    out, err = capsys.readouterr()
    assert status == 2 and out.count("OK ") == 1 and err.count("terrinum: error:") == 2


def test_validate_subprocess_has_no_traceback():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = DATA / "bad_policy_unknown_territory.toml"
    p = subprocess.run([sys.executable, "-m", "simulation.cli", "validate", str(bad)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "bad_policy_unknown_territory.toml" in p.stderr
    assert "policies[0].territories.codes[1]" in p.stderr
    p = subprocess.run([sys.executable, "-m", "simulation.cli", "validate", "no_such.toml"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "no_such.toml" in p.stderr


def test_run_with_bad_scenario_exits_2(capsys, tmp_path):
    assert main(["run", str(DATA / "bad_policy_payer.toml"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "policies[0].payer" in err and "Traceback" not in err
    assert main(["run", "teaching_synthetic", "--set", "move_rate=9", "--out",
                 str(tmp_path)]) == 2
    assert "move_rate" in capsys.readouterr().err


def test_list_scenarios_and_policies(capsys):
    assert main(["list", "scenarios"]) == 0
    out = capsys.readouterr().out
    assert "office_closures_with_mediators" in out and "Broadband" not in out.split("\n")[0]
    assert main(["list", "policies"]) == 0
    out = capsys.readouterr().out
    assert "new_deal" in out and "offers_per_year" in out and "required" in out


# ============================================================================ run
RUN_ARGS = ["teaching_synthetic", "--reps", "2", "--years", "1", "--households", "1500",
            "--seed", "9", "--quiet"]


@pytest.fixture(scope="module")
def run_outputs(tmp_path_factory):
    a = tmp_path_factory.mktemp("run1")
    b = tmp_path_factory.mktemp("run2")
    assert main(["run", *RUN_ARGS, "--workers", "1", "--out", str(a)]) == 0
    assert main(["run", *RUN_ARGS, "--workers", "2", "--no-plots", "--out", str(b)]) == 0
    return a, b


def test_run_writes_results_plots_and_manifest(run_outputs):
    from simulation.engine.results import package_version
    from simulation.scenarios.runner import replication_seed_list

    a, _ = run_outputs
    for f in ("results.parquet", "results.csv", "summary.csv", "ledger.csv", "scenario.toml",
              "manifest.json", "measures_over_time.png", "map_attractiveness.png",
              "map_local_value.png"):
        assert (a / f).is_file(), f
    man = json.loads((a / "manifest.json").read_text())
    assert man["scenario"] == "teaching_synthetic"
    assert man["seed"] == 9 and man["seeds"] == replication_seed_list(9, 2)
    assert man["terrinum_version"] == package_version()
    assert man["scenario_files"][0]["sha256"] and man["replications"] == 2
    assert man["command"].startswith("terrinum run teaching_synthetic")
    df = pd.read_parquet(a / "results.parquet")
    assert sorted(df["seed"].unique()) == sorted(man["seeds"])
    assert list(df.columns) == ["scenario", "seed", "step", "year", "territory", "measure",
                                "value"]
    assert df["step"].max() == 12
    csv = pd.read_csv(a / "results.csv", dtype={"territory": str})
    assert len(csv) == len(df)


def test_run_is_identical_with_one_or_two_workers(run_outputs):
    a, b = run_outputs
    pd.testing.assert_frame_equal(pd.read_parquet(a / "results.parquet"),
                                  pd.read_parquet(b / "results.parquet"))
    assert not (b / "measures_over_time.png").exists()


def test_run_single_replication_replays_the_scenario_seed(tmp_path):
    from simulation.scenarios.files import load_scenario

    assert main(["run", "teaching_synthetic", "--years", "0.5", "--households", "1000",
                 "--quiet", "--no-plots", "--workers", "1", "--out", str(tmp_path)]) == 0
    df = pd.read_parquet(tmp_path / "results.parquet")
    s = load_scenario("teaching_synthetic")
    assert set(df["seed"]) == {s.seed}
    ref = s.build_model(n_households=1000).run(years=0.5).to_df()
    pd.testing.assert_frame_equal(df, ref)
    # the saved scenario replays to the same numbers
    again = load_scenario(tmp_path / "scenario.toml").build_model().run(years=0.5).to_df()
    pd.testing.assert_frame_equal(df, again)


def test_compare_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "cmp"
    status = main(["compare", "teaching_synthetic", str(DATA / "good_synthetic_tax.toml"),
                   "--reps", "2", "--years", "1", "--households", "1500", "--workers", "1",
                   "--no-plots", "--quiet", "--out", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert (out / "report.html").is_file() and (out / "manifest.json").is_file()
    assert "Report:" in text and "report.fr.html" in text and "95 % CI" in text
    man = json.loads((out / "manifest.json").read_text())
    assert man["command"].startswith("terrinum compare teaching_synthetic")
    assert [s["label"] for s in man["scenarios"]] == ["teaching_synthetic",
                                                      "good_synthetic_tax"]
    assert man["notes"] and "years = 1 in this comparison" in man["notes"][0]
