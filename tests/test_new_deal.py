"""New Deal (issue 11, cause 4): jobs from real vacancies, a bonus worth an offer's expectation."""

from __future__ import annotations

import numpy as np

from simulation import TerritoryModel
from simulation.engine import kernels
from simulation.engine.agents import household as hh_mod

N = 2_000


def _model() -> TerritoryModel:
    """A model after one month, with 10 open vacancies per firm in the first rural territory."""
    m = TerritoryModel(map="synthetic", seed=3, n_households=N)
    m.step()  # firms have targets and employees
    k = int(np.flatnonzero(m.tmap.kind == 3)[0])
    f = m.firms
    here = f.alive & (f.terr == k)
    f.target[here] = f.employees[here] + 10.0
    return m


def _expected_in(m: TerritoryModel) -> np.ndarray:
    idx = np.flatnonzero(m.hh.alive)
    return kernels.expected_choices(hh_mod.location_utility(m, idx), m.hh.home[idx])


def test_offer_chance_is_zero_without_offers_or_without_vacancies():
    m = _model()
    assert (hh_mod.new_deal_offer_chance(m, 100) == 0).all()     # no offers anywhere
    k = int(np.flatnonzero(m.tmap.kind == 3)[0])
    m.terr.newdeal_offers[k] = 50 * m.household_weight
    with_vac = hh_mod.new_deal_offer_chance(m, 100)
    assert 0 < with_vac[k] <= 1 and (np.delete(with_vac, k) == 0).all()
    m.firms.target[m.firms.terr == k] = 0.0                     # no vacancy in k
    assert hh_mod.new_deal_offer_chance(m, 100)[k] == 0.0


def test_more_offers_raise_the_expected_value_and_draw_more_movers():
    m = _model()
    k = int(np.flatnonzero(m.tmap.kind == 3)[0])
    before = _expected_in(m)[k]
    m.terr.newdeal_offers[k] = 5 * m.household_weight
    few = _expected_in(m)[k]
    m.terr.newdeal_offers[k] = 200 * m.household_weight
    many = _expected_in(m)[k]
    assert before < few < many      # graded by the chance of an offer, not a yes/no term


def test_jobless_takers_are_hired_only_into_vacancies():
    m = TerritoryModel(map="synthetic", seed=3, n_households=N, move_rate=0.2)
    rural = np.flatnonzero(m.tmap.kind == 3)
    m.step()
    m.terr.newdeal_offers[rural] = 1e6            # offers far beyond the jobs
    m.firms.target[np.isin(m.firms.terr, rural)] = 0.0   # and no vacancy there
    m.newdeal_rate[rural] = 0.0
    employed_before = m.hh.employer >= 0
    hh_mod.relocate(m)
    h = m.hh
    new_hires = h.alive & ~employed_before & (h.employer >= 0) & np.isin(h.home, rural)
    assert not new_hires.any()                      # no vacancy, no New-Deal job
    assert not ((h.newdeal_months > 0) & ~employed_before & np.isin(h.home, rural)).any()
