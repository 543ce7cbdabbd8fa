"""The history scenario: start on 1 January 2019 and replay the observed series."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import TerritoryModel
from simulation.engine.policies import ObservedHistory, make_policy
from simulation.scenarios.files import load_scenario, validate
from simulation.world import dept_data


def test_history_scenario_is_valid_and_starts_in_2019():
    sc = validate("history")
    assert sc.map_options == {"start_year": 2019}
    assert [p.type for p in sc.policies] == ["observed_history"]


@pytest.fixture(scope="module")
def history_model():
    m = load_scenario("history").build_model(n_households=4_000)
    for _ in range(16):  # January 2019 .. April 2020
        m.step()
    return m


def test_fibre_coverage_replays_arcep_quarter_by_quarter(history_model):
    """In April 2020 coverage is the one observed at the end of 2020Q1, higher than at the
    start (end of 2018) on average and in most départements (ARCEP revised a few down)."""
    m = history_model
    ftth = dept_data.ftth_quarterly().loc[m.tmap.codes]
    np.testing.assert_allclose(m.terr.broadband, ftth["2020Q1"] / 100.0)
    assert (m.terr.broadband > m.tmap.broadband).mean() > 0.9
    assert m.terr.broadband.mean() > m.tmap.broadband.mean() + 0.05


def test_france_services_open_as_labelled(history_model):
    fs = dept_data.france_services_quarterly().loc[history_model.tmap.codes]
    np.testing.assert_allclose(history_model.terr.france_services, fs["2020-03-31"])
    assert history_model.tmap.france_services.sum() == 0  # none labelled before 2020


def _telework(path, months=2):
    pol = {"type": "observed_history", "ftth": False, "france_services": False,
           "telework_path": path}
    m = TerritoryModel(map="france-departements", seed=3, n_households=6_000, policies=[pol])
    for _ in range(months):
        m.step()
    return m


def test_telework_share_follows_the_path_when_it_can():
    """A target below what remote-able jobs with access allow lowers the uptake and the
    share of employed households teleworking is the target; a target above it leaves the
    uptake at 1 (the share is what jobs and connections allow, below the target)."""
    base = TerritoryModel(map="france-departements", seed=3, n_households=6_000)
    for _ in range(2):
        base.step()
    possible = base.map_measures["telework_share"]
    low = _telework([[2019.0, 0.05]])
    assert low.p.telework_uptake < 1.0
    assert low.map_measures["telework_share"] == pytest.approx(0.05, abs=0.015)
    assert low.map_measures["telework_share"] < possible - 0.05
    # between two points the target is linear in the calendar date (2023 + 1/12 here)
    mid = _telework([[2022.0, 0.04], [2024.0, 0.12]])
    target = 0.04 + 0.08 * (1 + 1 / 12) / 2
    assert mid.map_measures["telework_share"] == pytest.approx(target, abs=0.015)
    high = _telework([[2019.0, 0.9]])
    assert high.p.telework_uptake == 1.0
    assert high.map_measures["telework_share"] == pytest.approx(possible, abs=1e-12)


def test_observed_history_needs_the_departements_map():
    m = TerritoryModel(map="synthetic", seed=1, n_households=500,
                       policies=[{"type": "observed_history"}])
    with pytest.raises(ValueError, match="france-departements"):
        m.step()
    with pytest.raises(ValueError, match="increasing"):
        make_policy({"type": "observed_history", "telework_path": [[2021, 0.3], [2019, 0.1]]})
    assert isinstance(make_policy({"type": "observed_history"}), ObservedHistory)
