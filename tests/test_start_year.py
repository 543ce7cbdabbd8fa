"""Real inputs by département, the start year, calendar years and the INSEE-like measures."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import TerritoryModel
from simulation.engine import measures
from simulation.world.dept_data import StartYearError

N = 12_000


@pytest.fixture(scope="module")
def m2019():
    return TerritoryModel(map="france-departements", seed=2, n_households=N, start_year=2019)


@pytest.fixture(scope="module")
def m2023():
    return TerritoryModel(map="france-departements", seed=2, n_households=N)


def _col(name):
    return measures.TERRITORY_MEASURES.index(name)


def test_default_start_is_the_latest_year(m2023):
    assert m2023.start_year == 2023 and m2023.tmap.start_year == 2023
    assert m2023.tmap.population.sum() == 66_165_815


def test_start_year_2019_uses_that_years_data(m2019, m2023):
    """Fibre coverage at the end of 2018 was far below that of the end of 2022; no France
    services house was labelled before 2020; the 2019 census counts fewer people."""
    assert m2019.start_year == 2019
    assert m2019.terr.broadband.mean() < m2023.terr.broadband.mean() - 0.3
    assert m2019.terr.france_services.sum() == 0 < m2023.terr.france_services.sum()
    assert m2019.tmap.population.sum() == 65_096_768


def test_bad_start_year_is_one_clear_error():
    with pytest.raises(StartYearError, match="start_year must be one of 2019, 2023"):
        TerritoryModel(map="france-departements", n_households=500, start_year=2021)
    with pytest.raises(StartYearError, match="calendar year"):
        TerritoryModel(map="synthetic", n_households=500, start_year="2019")


def test_initial_unemployment_follows_the_observed_rates(m2023):
    """Territories with higher observed unemployment start with more unemployed residents."""
    u_obs = m2023.tmap.unemployment
    u_model = np.stack(m2023._history_terr)[0, :, _col("unemployment_rate")]
    big = m2023.households_agents >= 150  # enough agents for the rate to be measured
    assert np.corrcoef(u_obs[big], u_model[big])[0, 1] > 0.5
    assert abs(u_model.mean() - u_obs.mean()) < 0.02


def test_skills_follow_observed_incomes(m2023):
    """Richer départements (Filosofi D9) have more high-skill households: Paris and
    Hauts-de-Seine against Creuse and Seine-Saint-Denis; the national share is kept."""
    h = m2023.hh
    codes = m2023.tmap.codes

    def high(code):
        k = codes.index(code)
        return float((h.skill[h.alive & (h.home == k)] == 2).mean())

    assert high("75") > 2 * high("23")
    assert high("92") > 2 * high("93")
    assert (h.skill[h.alive] == 2).mean() == pytest.approx(m2023.p.share_high_skill, abs=0.02)


def test_ages_follow_the_observed_age_structure(m2023):
    """Creuse (the oldest département) has more reference persons over 75 than Haute-Garonne."""
    h = m2023.hh
    codes = m2023.tmap.codes

    def old(code):
        k = codes.index(code)
        return float((h.age[h.alive & (h.home == k)] >= 75).mean())

    assert old("23") > old("31") + 0.04


def test_results_carry_calendar_years():
    m = TerritoryModel(map="synthetic", seed=1, n_households=1_000, start_year=2019)
    df = m.run(years=1).to_df(territories=False)
    assert df["year"].min() == 2019.0 and df["year"].max() == 2020.0
    assert m.results().manifest()["start_year"] == 2019


def test_migration_and_natural_rates_add_up_to_growth():
    """Over 12 months, a territory's growth in % equals its net migration rate plus its
    natural balance rate (INSEE's decomposition), up to the mean-population denominator."""
    m = TerritoryModel(map="france-departements", seed=4, n_households=N)
    m.run(years=1.5)
    hist = np.stack(m._history_terr)
    hh = hist[:, :, _col("households")]
    # INSEE's rates are per mean population of the year: growth on the same denominator
    growth = (hh[-1] - hh[-13]) / hh[-13:].mean(axis=0) * 100.0
    rates = hist[-1, :, _col("net_migration_rate")] + hist[-1, :, _col("natural_balance_rate")]
    assert np.corrcoef(growth, rates)[0, 1] > 0.98
    assert np.abs(growth - rates).max() < 0.15 * np.abs(growth).max() + 0.5
    # the map is closed: migration only moves households between territories
    assert m.map_measures["net_migration_rate"] == 0.0
    w = hh[-1]
    assert abs(float((hist[-1, :, _col("net_migration_rate")] * w).sum() / w.sum())) < 0.5
