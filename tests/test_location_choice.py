"""Location choice (ODD 7.9): size term and territory constants, directional tests."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import TerritoryModel
from simulation.engine import kernels
from simulation.engine.agents import household as hh_mod
from simulation.engine.params import ParameterError

N = 2_000


def _expected_in(m: TerritoryModel) -> np.ndarray:
    """Expected number of choosers moving into each territory (all households choose)."""
    idx = np.flatnonzero(m.hh.alive)
    return kernels.expected_choices(hh_mod.location_utility(m, idx), m.hh.home[idx])


def test_a_bigger_housing_stock_draws_more_movers_all_else_equal():
    m = TerritoryModel(map="synthetic", seed=2, n_households=N)
    k = 3
    before = _expected_in(m)
    m.terr.housing_stock[k] *= 2.0
    after = _expected_in(m)
    assert after[k] > before[k] * 1.5   # log-size coefficient 1: about twice as many
    others = np.arange(m.K) != k
    assert (after[others] <= before[others] + 1e-9).all()


def test_without_the_size_term_stock_does_not_matter():
    m = TerritoryModel(map="synthetic", seed=2, n_households=N, beta_size=0.0)
    before = _expected_in(m)
    m.terr.housing_stock[3] *= 2.0
    assert np.allclose(_expected_in(m), before)


def test_a_higher_territory_constant_draws_more_movers():
    base = TerritoryModel(map="synthetic", seed=2, n_households=N)
    code = base.tmap.codes[5]
    hi = TerritoryModel(map="synthetic", seed=2, n_households=N,
                        location_constants={code: 0.5})
    assert hi.terr.location_constant[5] == 0.5
    assert (np.delete(hi.terr.location_constant, 5) == 0).all()
    assert _expected_in(hi)[5] > _expected_in(base)[5]


def test_location_constants_default_to_zero_and_are_checked():
    m = TerritoryModel(map="synthetic", seed=2, n_households=500)
    assert (m.terr.location_constant == 0).all()
    with pytest.raises(ParameterError):
        TerritoryModel(map="synthetic", seed=2, n_households=500,
                       location_constants={"nowhere": 1.0})
    with pytest.raises(ParameterError):
        TerritoryModel(map="synthetic", seed=2, n_households=500, location_constants=[1.0])
    arr = np.linspace(-1, 1, m.K)
    m2 = TerritoryModel(map="synthetic", seed=2, n_households=500, location_constants=arr)
    assert np.allclose(m2.terr.location_constant, arr)


def _stay_utility_gap(telework_days: float) -> float:
    """Mean utility of the farthest job-reachable territory minus home, for commuters."""
    m = TerritoryModel(map="synthetic", seed=2, n_households=N, telework_days=telework_days,
                       telework_uptake=1.0)
    h = m.hh
    idx = np.flatnonzero(h.alive & (h.employer >= 0) & h.remote_capable)
    v = hh_mod.location_utility(m, idx)
    work = m.firms.terr[h.employer[idx]]
    far = np.where(m.reach[:, work].T, m.travel_eff[:, work].T, -1.0).argmax(axis=1)
    near = work  # living where one works: the shortest commute
    rows = np.arange(idx.size)
    return float((v[rows, far] - v[rows, near]).mean())


def test_more_telework_days_lower_the_weight_of_distance_to_the_job():
    # commuting cost falls with telework days: a far home (within reach) loses less utility
    assert _stay_utility_gap(4.0) > _stay_utility_gap(0.0)


def _non_take_up(m: TerritoryModel) -> tuple[float, float]:
    """Non-take-up among eligible households below / above the illiteracy threshold."""
    h = m.hh
    el = h.alive & h.eligible
    low = h.literacy < m.p.illiteracy_threshold
    return (float(1 - h.taken_up[el & low].mean()), float(1 - h.taken_up[el & ~low].mean()))


def _after(years: float, close: bool, seed: int = 4) -> TerritoryModel:
    m = TerritoryModel(map="synthetic", seed=seed, n_households=40_000)
    if close:
        m.terr.counters_funded[:] = 0.0
        m.terr.fs_funded[:] = 0.0
        m.terr.mediators_funded[:] = 0.0
    for _ in range(int(12 * years)):
        if close:
            m.terr.counters_funded[:] = 0.0
            m.terr.fs_funded[:] = 0.0
            m.terr.mediators_funded[:] = 0.0
        m.step()
    return m


def test_low_literacy_gives_higher_non_take_up():
    pairs = [_non_take_up(_after(1.0, close=False, seed=s)) for s in (4, 5, 6)]
    low, high = np.mean(pairs, axis=0)
    assert low > high + 0.02


def test_closing_counters_without_mediators_raises_low_literacy_non_take_up_most():
    low0, high0 = _non_take_up(_after(1.0, close=False))
    low1, high1 = _non_take_up(_after(1.0, close=True))
    assert low1 > low0 and high1 >= high0 - 0.02
    assert low1 - low0 > high1 - high0


def test_closing_counters_acts_on_location_through_lost_income_only():
    m = TerritoryModel(map="synthetic", seed=2, n_households=N)
    m.step()
    h = m.hh
    idx = np.flatnonzero(h.alive)
    old = idx[h.age[idx] >= m.p.retirement_age]
    h.pretransfer[old[::2]] = 0.3 * m.p.minimum_income   # half the retirees made poor
    before = hh_mod.location_utility(m, idx)
    m.terr.counters_funded[:] = 0.0
    m.terr.fs_funded[:] = 0.0
    m.service_access = hh_mod.counter_access(m)
    after = hh_mod.location_utility(m, idx)
    assert (after <= before + 1e-12).all()
    retired = h.age[idx] >= m.p.retirement_age
    poor = retired & (h.pretransfer[idx] < 0.8 * m.p.minimum_income)
    assert poor.sum() > 5
    assert (after[poor] < before[poor] - 1e-6).mean() > 0.5   # the poor lose expected top-up
    rich = retired & (h.pretransfer[idx] > 2 * m.p.minimum_income)
    assert np.allclose(after[rich], before[rich])             # no direct counter term
