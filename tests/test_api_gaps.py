"""Public API gaps of issue 9 §2: agent classes exported, Mesa's batch_run without seeds."""

from __future__ import annotations

import multiprocessing

import pandas as pd
import pytest

import simulation
from simulation import TerritoryModel

TINY = {"map": "synthetic", "n_households": 300,
        "map_options": {"n_cities": 2, "n_towns": 2, "n_rural": 3}}


def test_agent_classes_exported_from_the_package():
    from simulation import Authority, Firm, Household, Platform
    from simulation.engine.agents import authority, firm, household, platform

    assert (Household, Firm, Authority, Platform) == (
        household.Household, firm.Firm, authority.Authority, platform.Platform)
    assert {"Household", "Firm", "Authority", "Platform"} <= set(simulation.__all__)
    m = TerritoryModel(seed=1, **TINY)
    assert len(m.agents_by_type[Household]) > 0


def test_seed_none_takes_mesas_seed_and_is_reproducible():
    a = TerritoryModel(seed=None, **TINY)
    b = TerritoryModel(seed=None, **TINY)
    assert isinstance(a.seed, int) and a.seed >= 0
    assert a.seed != b.seed  # fresh entropy each time (probability of a tie ~ 1e-9)
    again = TerritoryModel(seed=a.seed, **TINY)
    pd.testing.assert_frame_equal(a.run(years=0.25).to_df(), again.run(years=0.25).to_df())
    assert a.rng.random() == again.rng.random() and a.random.random() == again.random.random()


def test_explicit_seed_is_exact_and_still_validated():
    from simulation.engine.params import ParameterError

    assert TerritoryModel(seed=5, **TINY).seed == 5
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ParameterError):
            TerritoryModel(seed=bad, **TINY)


@pytest.fixture
def restore_start_method():
    """batch_run sets the 'spawn' start method globally: put the old one back."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_mesa_batch_run_with_iterations_and_no_seed(restore_start_method):
    import mesa

    with pytest.warns(DeprecationWarning):  # Mesa deprecates iterations= (prefers rng=)
        # a dict value would be read as a list of values to sweep: wrap the map options
        params = TINY | {"map_options": [TINY["map_options"]]}
        out = mesa.batch_run(TerritoryModel, parameters=params, iterations=3,
                             max_steps=2, number_processes=1, display_progress=False)
    df = pd.DataFrame(out)
    assert len(df) == 3 and df["gini"].between(0, 1).all()
    assert df["iteration"].tolist() == [0, 1, 2]
