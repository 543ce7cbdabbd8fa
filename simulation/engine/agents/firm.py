"""Firms: state in numpy arrays, one Mesa agent per firm as its public face.

Sectors: proximity services and retail, industry, digital and knowledge, tourism and culture.
Each month a firm sells (demand allocated by ``model.py`` from households, authorities, other
firms and the rest of the world, by channel), pays commissions on platform sales (netted by
the platform), pays wages, local and corporate taxes, invests in digital tools where
broadband allows, pays dividends to households of its territory, sets its employment target
from its smoothed sales, and closes after ``closure_months`` months of negative cash. New
firms are created where broadband, tiers-lieux and skilled residents meet, and where
existing firms make money.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from mesa import Agent

from simulation.engine import transfers
from simulation.engine.agents.slots import SlotArrays

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel

SECTORS = ("proximity", "industry", "digital", "tourism")
PROXIMITY, INDUSTRY, DIGITAL, TOURISM = range(4)
SECTOR_PRODUCTIVITY = np.array([0.9, 1.1, 1.25, 0.85])  # relative, assumption
# initial sector mix of firm agents by territory kind (metropolis, city, town, rural)
SECTOR_MIX = np.array([
    [0.52, 0.14, 0.20, 0.14],
    [0.58, 0.20, 0.07, 0.15],
    [0.60, 0.22, 0.03, 0.15],
    [0.58, 0.22, 0.02, 0.18],
])
DIVIDEND_BUFFER_MONTHS = 3.0
DIVIDEND_PAYOUT = 0.3  # share of cash above the buffer paid out each month


class FirmArrays(SlotArrays):
    """Per-firm state (EUR/month for flows, EUR for cash, 0-1 for maturity)."""

    FIELDS = {
        "alive": bool, "terr": np.int32, "sector": np.int8, "prod0": float,
        "maturity": float, "listed_global": bool, "listed_local": bool, "cash": float,
        "rev_ewma": float, "revenue": float, "wage_bill": float, "profit": float,
        "loss_months": np.int32, "empty_months": np.int32, "employees": np.int32,
        "target": float, "born_step": np.int32,
    }

    def open_vacancies(self) -> np.ndarray:
        """Open vacancies by firm (household agents): max(0, round(target - employees))."""
        return np.where(self.alive, np.maximum(0.0, np.round(self.target - self.employees)), 0.0)


class Firm(Agent):
    """A firm agent (a view on :class:`FirmArrays`, slot ``idx``)."""

    batch_registration: ClassVar[bool] = True  # see ModelBase.new_agents

    def __init__(self, model: TerritoryModel, idx: int) -> None:
        super().__init__(model)
        self.idx = int(idx)

    @property
    def territory(self) -> str:
        """Code of the firm's territory."""
        return self.model.tmap.codes[int(self.model.firms.terr[self.idx])]

    @property
    def sector(self) -> str:
        """Sector name."""
        return SECTORS[int(self.model.firms.sector[self.idx])]

    @property
    def employees(self) -> int:
        """Household agents employed."""
        return int(self.model.firms.employees[self.idx])

    @property
    def revenue(self) -> float:
        """Sales of the last month, net of platform commissions (EUR/month)."""
        return float(self.model.firms.revenue[self.idx])

    @property
    def cash(self) -> float:
        """Cash (EUR)."""
        return float(self.model.firms.cash[self.idx])

    @property
    def digital_maturity(self) -> float:
        """Digital maturity, 0 to 1."""
        return float(self.model.firms.maturity[self.idx])

    @property
    def sells_on_global_platform(self) -> bool:
        """Whether the firm lists its goods on the global platform."""
        return bool(self.model.firms.listed_global[self.idx])

    @property
    def sells_on_local_platform(self) -> bool:
        """Whether the firm lists its goods on its territory's local platform."""
        return bool(self.model.firms.listed_local[self.idx])

    def __repr__(self) -> str:
        return (f"Firm(id={self.unique_id}, territory={self.territory}, sector={self.sector}, "
                f"employees={self.employees}, revenue={self.revenue:.0f})")


def productivity(model: TerritoryModel, idx: np.ndarray | None = None) -> np.ndarray:
    """Productivity of firms: base x agglomeration x (1 + gain x maturity) (relative units)."""
    f = model.firms
    sl = slice(None) if idx is None else idx
    return (f.prod0[sl] * model.agglomeration[f.terr[sl]]
            * (1.0 + model.p.digital_productivity_gain * f.maturity[sl]))


def own_productivity(model: TerritoryModel) -> np.ndarray:
    """The firm's own productivity relative to its sector's: prod0 / sector x (1 + g maturity)."""
    f = model.firms
    return (f.prod0 / SECTOR_PRODUCTIVITY[f.sector]
            * (1.0 + model.p.digital_productivity_gain * f.maturity))


def wage_productivity(model: TerritoryModel) -> np.ndarray:
    """The productivity that wages follow (relative units, before the wage curve).

    ``agglomeration x sector productivity x own productivity^rent_sharing_elasticity``: the
    territory's and the sector's productivity pass fully into wages (workers move between
    firms), a firm's own productivity only in part (rent sharing); the rest lowers its unit
    cost.
    """
    f = model.firms
    return (model.agglomeration[f.terr] * SECTOR_PRODUCTIVITY[f.sector]
            * own_productivity(model) ** model.p.rent_sharing_elasticity)


def unit_cost(model: TerritoryModel) -> np.ndarray:
    """Labour cost per unit of output, relative (wage productivity / productivity).

    Equal to ``own productivity^(rent_sharing_elasticity - 1)``: a firm more productive than
    its sector produces at a lower unit cost (the wage curve and the skill mix of its
    workers come on top).
    """
    return wage_productivity(model) / productivity(model)


def demand_weight(model: TerritoryModel) -> np.ndarray:
    """Each firm's weight in the demand it competes for (0 for closed slots).

    ``(max(employees, 0.5) x productivity)^scale_elasticity``: with an elasticity below 1
    sales rise less than capacity (decreasing returns), so a firm that hires to its sales
    converges to a size set by its unit cost instead of growing without bound.
    """
    f = model.firms
    cap = np.maximum(f.employees, 0.5) * productivity(model)
    return np.where(f.alive, cap ** model.p.scale_elasticity, 0.0)


def update_agglomeration(model: TerritoryModel) -> None:
    """Agglomeration factor of each territory from its current density (yearly).

    ``a_k = (density_k / map density)^agglomeration_elasticity``, densities now: the
    observed initial density x current / initial household agents, for the territory and
    for the map (a territory that grows faster than the map becomes more productive).
    """
    tm = model.tmap
    n0 = np.maximum(model.households0, 1.0)
    density = np.asarray(tm.density, float) * np.maximum(model.households_agents, 0.0) / n0
    nat = (np.asarray(tm.population, float).sum() / np.asarray(tm.area_km2, float).sum()
           * model.households_agents.sum() / n0.sum())
    model.agglomeration = (np.maximum(density, 1e-9) / nat) ** model.p.agglomeration_elasticity


def create(model: TerritoryModel, idx: np.ndarray, terr: np.ndarray, sector: np.ndarray,
           rng: np.random.Generator) -> None:
    """Fill firm slots ``idx`` (territory, sector) and create their Mesa agents."""
    f = model.firms
    n = idx.size
    f.alive[idx] = True
    f.terr[idx] = terr
    f.sector[idx] = sector
    f.prod0[idx] = SECTOR_PRODUCTIVITY[sector] * rng.lognormal(0.0, 0.15, n)
    bb = model.terr.broadband[terr]
    f.maturity[idx] = np.clip(rng.uniform(0.0, 0.5, n) + 0.35 * bb
                              + 0.15 * (sector == DIGITAL), 0.0, 1.0)
    f.listed_global[idx] = False
    f.listed_local[idx] = False
    f.cash[idx] = 0.0
    f.rev_ewma[idx] = 0.0
    f.revenue[idx] = 0.0
    f.wage_bill[idx] = 0.0
    f.profit[idx] = 0.0
    f.loss_months[idx] = 0
    f.empty_months[idx] = 0
    f.employees[idx] = 0
    f.target[idx] = 0.0
    f.born_step[idx] = model.steps
    for i, agent in zip(idx.tolist(), model.new_agents(Firm, idx), strict=True):
        f.agents[i] = agent


def update_employment_targets(model: TerritoryModel) -> None:
    """Employment target (household agents) = smoothed sales x labour share / unit wage."""
    f = model.firms
    p = model.p
    unit = np.where(f.employees > 0, f.wage_bill / np.maximum(f.employees, 1),
                    p.wage_mid * wage_productivity(model) / model.mean_productivity
                    * model.household_weight)
    f.target[:] = np.where(f.alive, f.rev_ewma * p.labour_share / np.maximum(unit, 1.0), 0.0)


def adopt_digital(model: TerritoryModel) -> np.ndarray:
    """Raise digital maturity where broadband and skills allow; list firms on platforms.

    Returns:
        The digital investment spending of each firm this month (EUR).
    """
    f = model.firms
    p = model.p
    rng = model.streams["firms"]
    alive = f.alive & (f.cash > 0)
    bb = model.terr.broadband[f.terr]
    skilled = model.skilled_share[f.terr]
    d = np.where(alive, p.digital_adoption_rate * bb * (0.5 + skilled) * (1.0 - f.maturity), 0.0)
    cost = d * 100.0 * p.digital_investment_cost
    afford = np.minimum(1.0, np.maximum(f.cash, 0.0) / np.maximum(cost, 1e-9) * 0.5)
    d *= afford
    cost = d * 100.0 * p.digital_investment_cost
    f.maturity += d
    # listing on the global platform (proximity and industry sellers)
    pl = model.platforms
    sellers = f.alive & (f.maturity > 0.5) & (f.sector <= INDUSTRY)  # proximity, industry
    cand = np.flatnonzero(sellers & ~f.listed_global)
    deter = max(0.0, 1.0 - pl.global_commission / 0.6)
    pr = p.seller_listing_rate * min(3.0, pl.global_share / 0.10) * deter
    f.listed_global[cand[rng.random(cand.size) < pr]] = True
    # listing on local platforms (proximity sellers of territories with one)
    cand = np.flatnonzero(f.alive & (f.maturity > 0.3) & (f.sector == PROXIMITY)
                          & ~f.listed_local & pl.local_active[f.terr])
    prl = p.seller_listing_rate * np.minimum(3.0, pl.local_share[f.terr[cand]] / 0.10 + 0.5) \
        * np.maximum(0.0, 1.0 - model.local_commission()[f.terr[cand]] / 0.6)
    f.listed_local[cand[rng.random(cand.size) < prl]] = True
    f.listed_local &= pl.local_active[f.terr]
    return cost


def close_and_create(model: TerritoryModel) -> None:
    """Close loss-making or empty firms and create new ones (monthly).

    Closure: cash negative for ``closure_months`` consecutive months, or no employee for 12
    months. Owners (households of the territory) absorb the firm's remaining cash (booked).

    Creation: in territory k, Poisson(firm_birth_rate x F_k x g_k) new firms, where F_k is
    the number of firm agents the territory's households would support at the initial
    ratio of firms to households (entry scales with the local economy, not with the number
    of incumbents), and::

        g_k = (1 + birth_broadband_effect x coverage_k x skilled_k / mean skilled)
              x (1 + birth_tierslieux_effect x seats per 100 households)
              x clip(1 + 5 x (margin_k - (1 - labour_share)), 0, 3) / normaliser

    (``margin_k``: sales minus wages over sales of the territory's firms, compared with the
    margin firms aim for; the normaliser makes the mean of g over firms 1 at the start). The
    founders' households put in start-up capital of 3 months of a mid-skill wage bill of one
    household agent (booked).
    """
    f = model.firms
    p = model.p
    h = model.hh
    K = model.K
    rng = model.streams["firms"]
    f.loss_months = np.where(f.alive & (f.cash < 0), f.loss_months + 1, 0).astype(np.int32)
    f.empty_months = np.where(f.alive & (f.employees == 0), f.empty_months + 1, 0).astype(
        np.int32)
    closing = np.flatnonzero(f.alive & ((f.loss_months >= p.closure_months)
                                        | (f.empty_months >= 12)))
    model.counters["firm_deaths"] = np.bincount(f.terr[closing], minlength=K)
    if closing.size:
        closed = np.zeros(f.capacity + 1, dtype=bool)  # by employer + 1 (-1: none)
        closed[closing + 1] = True
        fired = closed[h.employer + 1]
        h.employer[fired] = -1
        h.wage[fired] = 0.0
        cash = f.cash[closing]
        terr = f.terr[closing]
        pos = np.bincount(terr, weights=np.maximum(cash, 0.0), minlength=K)
        neg = np.bincount(terr, weights=np.maximum(-cash, 0.0), minlength=K)
        transfers.pay_owners(model, "liquidation", "firm", pos, pos)
        transfers.charge_owners(model, "write_off", neg)
        model.remove_agents([f.agents[i] for i in closing.tolist()])
        for i in closing.tolist():
            f.agents[i] = None
        f.alive[closing] = False
        f.cash[closing] = 0.0
        f.employees[closing] = 0
        f.listed_global[closing] = False
        f.listed_local[closing] = False
    # creation
    alive = f.alive
    rev = np.bincount(f.terr[alive], weights=f.rev_ewma[alive], minlength=K)
    wages = np.bincount(f.terr[alive], weights=f.wage_bill[alive], minlength=K)
    margin = np.where(rev > 0, (rev - wages) / np.maximum(rev, 1.0), 0.0)
    seats = (model.terr.tiers_lieux * model.tl_effective * p.tiers_lieu_seats
             / np.maximum(model.real_households, 1))
    g = ((1 + p.birth_broadband_effect * model.terr.broadband * model.skilled_share
          / max(model.skilled_mean, 1e-9))
         * (1 + p.birth_tierslieux_effect * seats * 100)
         * np.clip(1 + 5 * (margin - (1 - p.labour_share)), 0.0, 3.0)) / model.birth_normaliser
    workers = model.households_agents * model.firms_per_household
    lam = p.firm_birth_rate * workers * g
    births = rng.poisson(lam)
    model.counters["firm_births"] = births
    total = int(births.sum())
    if total == 0:
        return
    terr = np.repeat(np.arange(K), births)
    mix = SECTOR_MIX[model.tmap.kind[terr]].copy()
    mix[:, DIGITAL] *= 0.5 + model.terr.broadband[terr]
    mix /= mix.sum(axis=1, keepdims=True)
    u = rng.random(total)[:, None]
    sector = (u > np.cumsum(mix, axis=1)).sum(axis=1).clip(0, 3).astype(np.int8)
    slots = f.free_slots(total)
    create(model, slots, terr, sector, rng)
    capital = np.full(total, 3.0 * p.wage_mid * model.household_weight)
    f.cash[slots] = capital
    cap_vec = np.bincount(terr, weights=capital, minlength=K)
    transfers.charge_owners(model, "start_up_capital", cap_vec, dst_sector="firm")
    # expected sales of a newcomer: two workers' worth at the sector's local sales per worker
    per_worker = model.sales_per_worker[sector.astype(int), terr]
    f.rev_ewma[slots] = 2.0 * per_worker
