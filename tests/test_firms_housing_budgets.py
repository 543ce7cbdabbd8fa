"""Directional tests of issue 11's firm, wage, housing and local-budget mechanisms.

Each changes one thing, all else equal: tradable demand by unit cost with decreasing
returns, agglomeration from the current density, the wage curve, the housing stock-flow
market and programme payers with state co-funding.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simulation import TerritoryModel
from simulation.engine import markets
from simulation.engine.agents import authority as auth_mod
from simulation.engine.agents import firm as firm_mod
from simulation.engine.agents.firm import INDUSTRY

N = 3_000


@pytest.fixture(scope="module")
def base():
    return TerritoryModel(map="synthetic", seed=6, n_households=N)


def _two_firms(m, sector=INDUSTRY):
    """Two live firms of one sector in one territory (the territory with most of them)."""
    f = m.firms
    live = np.flatnonzero(f.alive & (f.sector == sector))
    k = np.bincount(f.terr[live]).argmax()
    i, j = live[f.terr[live] == k][:2]
    return int(i), int(j)


def test_a_firm_with_lower_unit_cost_gains_share(base):
    """Raising one firm's own productivity lowers its unit cost (wages follow productivity
    only by the rent-sharing elasticity) and raises its share of its sector's sales, at
    home and in exports."""
    m = copy.deepcopy(base)
    i, _ = _two_firms(m)
    cost0 = firm_mod.unit_cost(m)[i]
    share0 = markets.Allocation(m).sector_shares(INDUSTRY)[i]
    w0 = firm_mod.demand_weight(m)
    exp0 = w0[i] / w0[m.firms.sector == INDUSTRY].sum()
    m.firms.prod0[i] *= 1.3
    assert firm_mod.unit_cost(m)[i] < cost0
    assert markets.Allocation(m).sector_shares(INDUSTRY)[i] > share0
    w1 = firm_mod.demand_weight(m)
    assert w1[i] / w1[m.firms.sector == INDUSTRY].sum() > exp0


def test_a_large_firms_sales_grow_less_than_its_workforce(base):
    """Decreasing returns: doubling a firm's employees less than doubles its share of
    demand, so its sales per worker fall and its growth slows; with an elasticity of 1 (the
    old rule) they would double."""
    m = copy.deepcopy(base)
    i, _ = _two_firms(m)
    m.firms.employees[i] = 40
    s_small = markets.Allocation(m).sector_shares(INDUSTRY)[i]
    m.firms.employees[i] = 80
    s_large = markets.Allocation(m).sector_shares(INDUSTRY)[i]
    assert s_small < s_large < 2 * s_small
    m.set_param("scale_elasticity", 0.0)
    assert markets.Allocation(m).sector_shares(INDUSTRY)[i] < s_large


def test_large_firm_grows_slower_over_months():
    """All else equal, a firm started at four times the size of an identical neighbour
    loses workforce relative to it: their sizes converge instead of compounding."""
    m = TerritoryModel(map="synthetic", seed=3, n_households=N)
    i, j = _two_firms(m)
    f = m.firms
    f.prod0[j] = f.prod0[i]
    f.maturity[j] = f.maturity[i]
    f.rev_ewma[i] = 4 * f.rev_ewma[j]
    m.run(years=2)
    ratio = f.rev_ewma[i] / max(f.rev_ewma[j], 1e-9)
    assert ratio < 4 * 0.8


def test_a_growing_territory_becomes_more_productive(base):
    """Agglomeration follows the current density: a territory whose population grows
    faster than the map's gets a higher agglomeration factor and productivity."""
    m = copy.deepcopy(base)
    k = 3
    a0 = m.agglomeration.copy()
    firm_mod.update_agglomeration(m)
    np.testing.assert_allclose(m.agglomeration, a0, rtol=1e-9)  # unchanged population
    prod0 = firm_mod.productivity(m)[m.firms.alive & (m.firms.terr == k)].mean()
    m.households_agents = m.households_agents.copy()
    m.households_agents[k] *= 1.5
    firm_mod.update_agglomeration(m)
    assert m.agglomeration[k] > a0[k]
    assert firm_mod.productivity(m)[m.firms.alive & (m.firms.terr == k)].mean() > prod0


def test_higher_local_unemployment_lowers_wages(base):
    """The wage curve: doubling a territory's unemployment rate lowers its wage factor by
    about 2^-0.1 (Blanchflower-Oswald) and the wages paid there."""
    m = copy.deepcopy(base)
    f = m.firms
    n_firms = np.bincount(f.terr[f.alive], minlength=m.K)
    k = int(np.argmin(np.where(n_firms > 0, m.households_agents, np.inf)))  # a small one
    markets.set_wages(m)
    jobs = m.hh.employer >= 0
    at_k = jobs & (f.terr[np.maximum(m.hh.employer, 0)] == k)
    w0 = m.hh.wage[at_k].mean()
    c0 = markets.wage_curve(m)[k]
    u_k = max(1.0 - m.employment_rate_terr[k], m.p.wage_curve_min_unemployment)
    m.employment_rate_terr = m.employment_rate_terr.copy()
    m.employment_rate_terr[k] = 1.0 - 2.0 * u_k
    c1 = markets.wage_curve(m)[k]
    assert c1 < c0
    # the map's rate moves a little too, so the ratio is close to 2^-0.1, not exact
    assert c1 / c0 == pytest.approx(2.0 ** -m.p.wage_curve_elasticity, rel=0.03)
    markets.set_wages(m)
    assert m.hh.wage[at_k].mean() < w0


def test_price_above_cost_raises_the_stock_and_prices_return_to_their_anchor(base):
    """Construction where the price exceeds the cost of new supply; slow depreciation
    otherwise; a price far above its fundamental level falls at normal occupancy."""
    m = copy.deepcopy(base)
    t = m.terr
    cost, anchor = markets.housing_fundamentals(m)
    np.testing.assert_allclose(anchor, t.price, rtol=1e-6)  # at start, prices are fundamental
    k, j = 2, 5
    s0 = t.housing_stock.copy()
    t.price = t.price.copy()
    t.price[k] = 1.5 * cost[k]
    t.price[j] = 0.9 * cost[j]
    markets.housing_market(m)
    assert t.housing_stock[k] > s0[k]
    assert t.housing_stock[j] < s0[j]  # depreciation only
    assert t.price[k] < 1.5 * cost[k]  # anchored: returns towards its fundamental level


def test_denser_territories_stay_dearer_when_people_move_to_the_emptiest(base):
    """Even if the emptiest territory doubles while the densest shrinks, supply and the
    anchor keep the densest dearer over 20 years."""
    m = copy.deepcopy(base)
    t = m.terr
    dense = int(np.argmax(m.tmap.density))
    empty = int(np.argmin(m.tmap.density))
    n = m.households_agents.copy()
    for month in range(240):
        grow = min(1.0 + month / 120.0, 2.0)
        m.households_agents = n.copy()
        m.households_agents[empty] = n[empty] * grow
        m.households_agents[dense] = n[dense] * (1.0 - 0.1 * month / 240)
        markets.housing_market(m)
    assert t.price[dense] > t.price[empty]


def test_an_authority_losing_its_tax_base_cuts_a_programme_it_pays(base):
    """France Services and mediators are run by authorities with a flat state subsidy: an
    authority whose available cash falls (a shrinking tax base) funds less of them, and the
    state's subsidy follows what stays open."""
    m = copy.deepcopy(base)
    k = 0
    assert m.auth.payer["mediators"][k] == auth_mod.PAYERS.index("authority")
    need = auth_mod.programme_costs(m)
    rich = np.full(m.K, 1e12)
    poor = rich.copy()
    own = (1 - auth_mod.state_share(m, "mediators")) * need["mediators"][k] \
        + (1 - auth_mod.state_share(m, "france_services")) * need["france_services"][k]
    poor[k] = 0.5 * own
    full = auth_mod.fund_programmes(m, rich)
    cut = auth_mod.fund_programmes(m, poor)
    assert full["funded"]["mediators"][k] == pytest.approx(1.0)
    assert cut["funded"]["mediators"][k] == pytest.approx(0.5)
    z = auth_mod.state_share(m, "mediators")
    assert 0 < z < 1
    assert cut["spent_state"]["mediators"][k] == pytest.approx(z * need["mediators"][k] * 0.5)
    # counters of national operators stay paid by the state
    assert cut["funded"]["counters"][k] == pytest.approx(1.0)


def test_shrinking_tax_base_closes_mediators_in_a_run():
    """End to end: an authority whose cash is gone and whose local taxes vanish runs fewer
    mediators than the same authority with its tax base."""
    m = TerritoryModel(map="synthetic", seed=2, n_households=N)
    k = 0
    lo = copy.deepcopy(m)
    lo.auth.cash[k] = 0.0
    lo.set_param("state_grant_per_household", 0.0)
    lo.set_param("local_tax_household", 0.0)
    lo.set_param("local_tax_firm", 0.0)
    m.auth.cash[k] = 0.0
    for model in (m, lo):
        for _ in range(3):
            model.step()
    assert lo.terr.mediators_funded[k] < m.terr.mediators_funded[k]


def test_fixed_cost_is_paid_by_every_live_firm_to_its_territorys_owners(base, monkeypatch):
    """Every live firm agent pays firm_fixed_cost x wage_mid x household weight a month,
    booked as commercial rent from firms to the households of the same territories, and it
    lowers their profit by that amount; with a fixed cost of 0 (the default) nothing is
    booked."""
    seen = {}
    original = markets.income_circuit

    def spy(model, digital_spend):
        f = model.firms
        seen["alive"] = f.alive.copy()
        seen["terr"] = f.terr.copy()
        original(model, digital_spend)
        seen["profit"] = f.profit.copy()

    monkeypatch.setattr(markets, "income_circuit", spy)
    m = copy.deepcopy(base)
    m.set_param("firm_fixed_cost", 2.5)  # off by default (ODD 7.13)
    m.step()
    assert "alive" in seen, "the spy did not see the income circuit"
    p, W = m.p, m.household_weight
    each = p.firm_fixed_cost * p.wage_mid * W
    flows = [fl for fl in m.ledger.flows if fl.category == "commercial_rent"]
    assert len(flows) == 1 and flows[0].src == "firm" and flows[0].dst == "household"
    paid = np.bincount(seen["terr"][seen["alive"]], minlength=m.K) * each
    assert np.allclose(flows[0].src_vec, paid)
    assert np.allclose(flows[0].dst_vec, paid)  # every territory has property owners
    profit_with = seen["profit"]
    z = copy.deepcopy(base)
    z.set_param("firm_fixed_cost", 0.0)
    z.step()
    assert not [fl for fl in z.ledger.flows if fl.category == "commercial_rent"]
    alive = seen["alive"]
    # profit after corporate tax falls by the fixed cost, less the tax it saves
    gap = seen["profit"][alive] - profit_with[alive]
    assert np.all(gap > 0.5 * each) and np.all(gap < each + 1e-6)


def test_a_fixed_cost_closes_small_firms_and_stops_the_firm_count_drifting():
    """Free entry with a fixed operating cost (Hopenhayn 1992): without it a small firm
    keeps a positive margin and rarely closes, so firm agents multiply and shrink; with
    it closures rise towards births, fewer firm agents remain and they are larger."""
    out = {}
    for phi in (0.0, 2.5):
        m = TerritoryModel(map="synthetic", seed=4, n_households=N, firm_fixed_cost=phi)
        n0 = int(m.firms.alive.sum())
        births = deaths = 0
        for _ in range(36):
            m.step()
            births += int(m.counters["firm_births"].sum())
            deaths += int(m.counters["firm_deaths"].sum())
        live = m.firms.alive
        out[phi] = (int(live.sum()) / n0, deaths / max(births, 1),
                    float(np.mean(m.firms.employees[live])))
    (grow0, exit0, size0), (grow1, exit1, size1) = out[0.0], out[2.5]
    assert grow1 < grow0
    assert exit1 > exit0 + 0.2
    assert size1 > size0
