"""Small things a new user tries first (issue 9, sections 2 and 4): each one as they type it."""

from __future__ import annotations

import json
import warnings

import pytest

from simulation.cli import main


def test_agent_classes_are_exported_from_the_package():
    import simulation
    from simulation import Authority, Firm, Household, Platform, TerritoryModel

    assert {"Household", "Firm", "Authority", "Platform"} <= set(simulation.__all__)
    m = TerritoryModel(map="synthetic", seed=3, n_households=300)
    assert len(m.agents_by_type[Household]) == 300
    assert len(m.agents_by_type[Firm]) > 0
    assert len(m.agents_by_type[Authority]) == m.K
    assert len(m.agents_by_type[Platform]) >= 1


def test_no_seed_draws_a_fresh_one_and_records_it():
    from simulation import TerritoryModel

    a = TerritoryModel(map="synthetic", seed=None, n_households=200)
    b = TerritoryModel(map="synthetic", seed=None, n_households=200)
    assert isinstance(a.seed, int) and a.seed >= 0
    assert a.seed != b.seed                       # fresh entropy each time
    again = TerritoryModel(map="synthetic", seed=a.seed, n_households=200)
    for _ in range(3):
        a.step()
        again.step()
    assert a.datacollector.get_model_vars_dataframe().equals(
        again.datacollector.get_model_vars_dataframe())   # the recorded seed repeats the run
    assert TerritoryModel(map="synthetic", seed=5, n_households=200).seed == 5  # exact


def test_mesa_batch_run_with_iterations_and_no_seed():
    import multiprocessing

    import mesa

    from simulation import TerritoryModel

    before = multiprocessing.get_start_method(allow_none=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # Mesa deprecates iterations=
        rows = mesa.batch_run(TerritoryModel, parameters={"map": "synthetic",
                                                          "n_households": 200},
                              iterations=2, max_steps=2, number_processes=1,
                              display_progress=False)
    multiprocessing.set_start_method(before, force=True)  # batch_run forces "spawn" globally
    assert len(rows) == 2
    assert {r["iteration"] for r in rows} == {0, 1}
    assert all(r["Step"] == 2 for r in rows)


def test_list_experiments(capsys):
    assert main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    assert "broadband_coverage" in out and "design grid" in out
    assert "terrinum sweep NAME" in out


@pytest.mark.parametrize("typed, suggested", [("baselin", "baseline"),
                                              ("tiers_lieu", "tiers_lieux")])
def test_mistyped_scenario_name_gets_did_you_mean(typed, suggested, capsys, tmp_path):
    assert main(["run", typed, "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"did you mean {suggested}" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind, says", [("comparison", "a comparison folder"),
                                        ("run", "a run folder")])
def test_analyse_on_a_folder_that_is_not_a_sweep(kind, says, capsys, tmp_path):
    man = ({"kind": "terrinum comparison", "scenarios": ["a", "b"]} if kind == "comparison"
           else {"scenario": "baseline", "seed": 1})
    (tmp_path / "manifest.json").write_text(json.dumps(man))
    assert main(["analyse", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and "terrinum sweep" in err
    assert "unknown sweep format" not in err


def test_readme_command_table_lists_demo_and_lists():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `terrinum")]
    assert any(line.startswith("| `terrinum demo") for line in table)
    assert any("list" in line and "experiments" in line for line in table)
