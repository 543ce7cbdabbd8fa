"""Markets and the monthly income circuit: where agents' decisions meet and money moves.

- :func:`labour_market`: separations, layoffs, vacancies, matching within commuting reach or
  remotely, and wages (productivity and local tightness).
- :func:`compute_incomes`: income before the minimum income (wages, benefits, pensions,
  capital income of last month).
- :func:`household_demand` and :func:`allocate_demand`: pure functions that turn households'
  budgets into spending by channel and then into sales of firms by territory.
- :func:`income_circuit`: books every flow of the month in the ledger, in a fixed order, and
  updates stocks (household savings, firm cash, authority cash, state, rest of the world).
- :func:`housing_market` and :func:`congestion`: prices respond to occupancy, the stock
  responds slowly, travel times respond to population.

All money amounts are real euros (EUR) per month; per-household amounts are per real
household and are multiplied by ``model.household_weight`` when summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulation.engine import kernels
from simulation.engine.agents import authority as auth_mod
from simulation.engine.agents import firm as firm_mod
from simulation.engine.agents import household as hh_mod
from simulation.engine.agents.firm import (
    DIGITAL,
    DIVIDEND_BUFFER_MONTHS,
    DIVIDEND_PAYOUT,
    INDUSTRY,
    PROXIMITY,
    TOURISM,
)
from simulation.engine.population import population
from simulation.engine.transfers import distribute, household_split

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel

REMOTE_VACANCY_SHARE = np.array([0.05, 0.10, 0.60, 0.05])  # by sector, assumption
SHOP_DECAY_MIN = 15.0     # minutes: shopping stays in the home territory unless it has no shop
TOURISM_DECAY_MIN = 180.0
INDUSTRY_DECAY_MIN = 300.0
DIGITAL_DECAY_MIN = 2000.0
RESERVE_MONTHS = 3.0  # authorities keep this many months of revenue in reserve
RESERVE_SPEND = 0.05  # and spend this share of cash above it each month


# =========================================================================== labour
def labour_market(model: TerritoryModel) -> np.ndarray:
    """Separations and layoffs, vacancies, matching and wages for this month.

    Matching: a job seeker living in k reaches the vacancies of territories within
    ``max_commute_min``, plus, if its job can be remote and it has remote access, the fully
    remote share of remote-able vacancies anywhere. It finds a job with probability
    ``matching_efficiency x (1 - exp(-reachable vacancies / seekers in k))``; the destination
    territory and firm are drawn in proportion to vacancies (for a job beyond commuting
    reach, the firm in proportion to its remote-able vacancies); a firm never hires more
    than its vacancies (excess applicants stay unemployed this month).

    Returns:
        The ascending indices of the employed households (see :func:`set_wages`).
    """
    p = model.p
    h = model.hh
    f = model.firms
    K = model.K
    rng = model.streams["labour"]
    firm_mod.update_employment_targets(model)
    home = population(model).home
    emp = np.empty(h.capacity, dtype=np.intp)
    n_emp, employees = kernels.employees_by_firm(h.employer, f.capacity, emp)
    f.employees[:] = employees
    excess = f.employees - np.ceil(f.target * 1.05)
    p_lay = np.where(f.employees > 0, np.clip(0.5 * excess / np.maximum(f.employees, 1), 0, 1),
                     0.0)
    # separations (quits at separation_rate, layoffs at p_lay of the firm), then seekers
    u = rng.random(n_emp)
    employees = np.zeros(f.capacity, dtype=np.int64)
    seekers = np.empty(h.capacity, dtype=np.intp)
    n_seek, U = kernels.separations_pass(emp[:n_emp], h.employer, h.wage, h.alive, h.age,
                                         float(p.retirement_age), u, p_lay,
                                         float(p.separation_rate), home, K, employees, seekers)
    seekers = seekers[:n_seek]
    f.employees[:] = employees
    vac = f.open_vacancies().astype(np.int64)
    model.vacancies = vac
    f_terr = f.terr.astype(np.intp)
    V = np.bincount(f_terr, weights=vac, minlength=K)
    vac_remote = vac * REMOTE_VACANCY_SHARE[f.sector]  # remote-able vacancies by firm
    V_remote = np.bincount(f_terr, weights=vac_remote, minlength=K)
    Vr = V_remote * p.full_remote_share
    reach = model.reach
    A_loc = reach @ V
    A_rem = (~reach) @ Vr
    model.seekers_terr = U
    model.vacancies_terr = V
    hired_total = 0
    if seekers.size and V.sum() > 0:
        k = home[seekers]
        rem = h.remote_capable[seekers] & model.remote_ok[seekers]
        A = A_loc[k] + rem * A_rem[k]
        pf = p.matching_efficiency * (1.0 - np.exp(-A / np.maximum(U[k], 1.0)))
        found = np.flatnonzero(rng.random(seekers.size) < pf)
        s = seekers[found]
        ks = k[found]
        rs = rem[found]
        w_loc = reach * V[None, :]
        w_rem = w_loc + (~reach) * Vr[None, :]
        # cumulative weights of the local rows (0..K-1) and of the remote rows (K..2K-1)
        cdf = np.cumsum(np.concatenate([w_loc, w_rem]), axis=1)
        row = ks + K * rs
        tot = cdf[row, -1]
        ok = tot > 0
        s, ks, row, tot = s[ok], ks[ok], row[ok], tot[ok]
        x = rng.random(s.size) * tot
        j = (x[:, None] >= cdf[row]).sum(axis=1).clip(0, K - 1)
        # firm within territory j, in proportion to its vacancies; a remote hire beyond
        # commuting reach, in proportion to its remote-able vacancies
        order = np.flatnonzero(vac > 0)
        order = order[np.argsort(f_terr[order], kind="stable")]
        bounds = np.searchsorted(f_terr[order], np.arange(K))
        u_firm = rng.random(s.size)
        firm = np.empty(s.size, dtype=np.intp)
        far = ~reach[ks, j]
        for sel, weight, total in ((~far, vac[order].astype(float), V),
                                   (far, vac_remote[order], V_remote)):
            if not sel.any():
                continue
            cum = np.cumsum(weight)
            start = np.concatenate([[0.0], cum])[bounds]
            target = start[j[sel]] + u_firm[sel] * total[j[sel]]
            pos = np.searchsorted(cum, target, side="right").clip(0, order.size - 1)
            firm[sel] = order[pos]
        # capacity: rank applicants within each firm
        o = np.lexsort((rng.random(s.size), firm))
        fs = firm[o]
        first = np.searchsorted(fs, fs, side="left")
        rank = np.arange(fs.size) - first
        accept = rank < vac[fs]
        s_acc = s[o][accept]
        h.employer[s_acc] = fs[accept]
        h.unemp_months[s_acc] = 0
        hired_total = s_acc.size
    model.counters["hires"] = hired_total
    return set_wages(model)


def set_wages(model: TerritoryModel) -> np.ndarray:
    """Wages of employed households (EUR/month per real household).

    ``wage = reference wage(skill) x hours x wage productivity / its current mean x wage
    curve``, with the firm's wage productivity from :func:`firm.wage_productivity` and the
    wage-curve factor of the firm's territory from :func:`wage_curve`.

    Returns:
        The ascending indices of the employed households.
    """
    p = model.p
    h = model.hh
    f = model.firms
    K = model.K
    pop = population(model)
    prod = firm_mod.wage_productivity(model)
    # wages follow the productivity of the territory and sector and, in part, of the firm,
    # relative to the current mean (prices are fixed in the model: productivity gains raise
    # a firm's share of sales, not the general wage level)
    model.mean_productivity = float(prod[f.alive].mean()) if f.alive.any() else 1.0
    tight = wage_curve(model)
    ref = hh_mod.slot_reference_wage(model)
    emp = np.empty(h.capacity, dtype=np.intp)
    employees = np.zeros(f.capacity, dtype=np.int64)
    wage_bill = np.zeros(f.capacity)
    n_emp, sums = kernels.wages_pass(
        h.employer, h.alive, h.age, float(p.retirement_age), ref, h.hours, prod,
        model.mean_productivity, tight, f.terr, pop.home, K, h.wage, emp, employees,
        wage_bill)
    emp = emp[:n_emp]
    f.employees[:] = employees
    f.wage_bill[:] = wage_bill * model.household_weight
    emp_k, lf, wage_sum, jobs = sums
    model.employment_rate_terr = np.where(lf > 0, emp_k / np.maximum(lf, 1), 0.0)
    model.labour_force_terr = lf
    model.wage_level_terr = np.where(jobs > 0, wage_sum / np.maximum(jobs, 1), 1.0)
    return emp


def wage_curve(model: TerritoryModel) -> np.ndarray:
    """Wage factor of each territory from its unemployment rate (the wage curve).

    ``(max(u_k, u_min) / max(u, u_min))^-wage_curve_elasticity`` with ``u_k`` the
    unemployment rate by residence at the last wage setting (1 - employment rate of the
    labour force), ``u`` the map's and ``u_min`` = ``wage_curve_min_unemployment``
    (Blanchflower and Oswald 1994). All ones before the first wage setting.
    """
    p = model.p
    rate = getattr(model, "employment_rate_terr", None)
    lf = getattr(model, "labour_force_terr", None)
    if rate is None or lf is None or lf.sum() <= 0:
        return np.ones(model.K)
    u_map = float(((1.0 - rate) * lf).sum() / lf.sum())
    u = np.where(lf > 0, 1.0 - rate, u_map)  # no labour force: the map's rate
    lo = p.wage_curve_min_unemployment
    return (np.maximum(u, lo) / max(u_map, lo)) ** -p.wage_curve_elasticity


# =========================================================================== incomes
def compute_incomes(model: TerritoryModel) -> None:
    """Income before the minimum income (EUR/month per real household).

    Wages (employed), unemployment benefit (``unemployment_benefit_rate`` x reference wage,
    for ``benefit_months``), pensions (``pension_rate`` x reference wage, from
    ``retirement_age``), plus last month's capital income (rents, dividends).
    """
    p = model.p
    h = model.hh
    n = h.capacity
    model.benefit, model.pension = np.empty(n), np.empty(n)
    kernels.incomes_pass(h.alive, h.age, h.employer, h.unemp_months,
                         hh_mod.slot_reference_wage(model), h.wage, h.cap_income,
                         float(p.retirement_age), float(p.benefit_months),
                         float(p.unemployment_benefit_rate), float(p.pension_rate),
                         model.benefit, model.pension, h.pretransfer)


@dataclass
class Demand:
    """Households' spending this month by channel (EUR), by home territory."""

    shop: np.ndarray          # proximity basket at local shops (+ commuting fuel)
    glob: np.ndarray          # proximity basket through the global platform (gross)
    local: np.ndarray         # proximity basket through local platforms (gross)
    tour_direct: np.ndarray   # tourism booked directly
    tour_plat: np.ndarray     # tourism booked through the global platform (gross)
    industry: np.ndarray
    digital: np.ndarray
    basket: np.ndarray        # whole proximity basket (shop + global + local)
    per_hh_spend: np.ndarray  # non-housing spending per household (EUR per real household)
    rent: np.ndarray          # rent paid per household
    disposable: np.ndarray    # disposable income per household
    topup: np.ndarray         # minimum-income top-up per household
    income_tax: np.ndarray    # by territory (EUR)
    local_tax: np.ndarray     # by territory (EUR)
    pre_k: np.ndarray         # income before transfers by territory (EUR)
    rent_k: np.ndarray        # rent paid by territory (EUR)
    received_k: np.ndarray    # benefits, pensions, top-ups, wages by territory (4 x K, EUR)


def household_demand(model: TerritoryModel) -> Demand:
    """Disposable income, rent and spending by channel (pure: changes no state)."""
    p = model.p
    h = model.hh
    t = model.terr
    K = model.K
    W = model.household_weight
    pop = population(model)
    # taxes are proportional to income before transfers, at territory-level rates
    ltax_rate = p.local_tax_household * np.sqrt(t.price)
    net_rate = 1.0 - model.tax_rate - ltax_rate
    rent_terr = p.rent_base * t.price  # rent by territory
    shop_terr, local_terr = hh_mod.channel_tables(model)
    n = h.capacity
    topup, disp, rent, spend = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    # sums by territory of income before transfers, non-housing spending (after fuel),
    # fuel, digital spending, and spending through the global and the local platform
    # sums by territory of income before transfers, non-housing spending (after fuel),
    # fuel, digital spending, spending through the global and the local platform, and the
    # benefits, pensions, minimum-income top-ups and wages received
    sums = np.zeros((10, K))
    kernels.demand_pass(
        h.home, h.alive, h.pretransfer, h.taken_up, h.owner, h.savings, h.commute_km,
        model.remote_ok, h.literacy, model.benefit, model.pension, h.wage, net_rate,
        rent_terr, shop_terr, shop_terr if local_terr is None else local_terr,
        local_terr is not None, float(p.minimum_income), float(p.mpc_income),
        float(p.mpc_wealth), float(p.fuel_price), float(p.digital_share),
        float(p.literacy_weight), float(p.illiteracy_threshold), topup, disp, rent, spend,
        sums)
    # aggregates by territory; the rest follows linearly from them
    (pre_k, rest_k, fuel_k, dig_k, glob_k, local_k, benefit_k, pension_k, topup_k,
     wage_k) = sums * W
    glob_k = p.proximity_share * glob_k
    local_k = p.proximity_share * local_k if local_terr is not None else np.zeros(K)
    basket_k = p.proximity_share * rest_k
    tour_k = p.tourism_share * rest_k
    tour_plat = p.tourism_share * glob_k / p.proximity_share
    # live renters by territory: households minus landlords (exact counts)
    renters = pop.n_k - household_split(model, "landlord").tot
    return Demand(
        shop=basket_k - glob_k - local_k + fuel_k, glob=glob_k, local=local_k,
        tour_direct=tour_k - tour_plat, tour_plat=tour_plat,
        industry=rest_k - basket_k - tour_k - dig_k, digital=dig_k, basket=basket_k,
        per_hh_spend=spend, rent=rent, disposable=disp, topup=topup,
        income_tax=model.tax_rate * pre_k, local_tax=ltax_rate * pre_k, pre_k=pre_k,
        rent_k=p.rent_base * t.price * renters * W,
        received_k=np.array([benefit_k, pension_k, topup_k, wage_k]),
    )


def _gravity(C: np.ndarray, T: np.ndarray, decay: float, relative: bool = False) -> np.ndarray:
    """Row-normalised gravity weights W[k, j] ∝ C_j exp(-T_kj / decay)."""
    tt = T - np.diag(T)[:, None] if relative else T
    w = np.exp(tt / -decay)  # the same as exp(-tt / decay)
    w *= C[None, :]
    s = w.sum(axis=1, keepdims=True)
    if (s > 0).all():
        out = np.divide(w, s, out=w)
    else:
        out = np.divide(w, s, out=np.zeros_like(w), where=s > 0)
    empty = s[:, 0] <= 0
    if empty.any() and C.sum() > 0:
        out[empty] = C / C.sum()  # far away only: capacity weights without distance decay
    return out


class Allocation:
    """Sales of each firm by channel and the matching by-territory flows (EUR)."""

    def __init__(self, model: TerritoryModel) -> None:
        f = model.firms
        self.model = model
        self.terr = f.terr.astype(np.intp)  # territory of each firm slot
        self.revenue = np.zeros(f.capacity)
        cap = np.where(f.alive, np.maximum(f.employees, 0.5) * firm_mod.productivity(model), 0.0)
        self.cap = cap  # capacity (employees x productivity), for measures
        # demand weights: capacity^scale_elasticity (decreasing returns; firm.demand_weight)
        self.weight = weight = firm_mod.demand_weight(model)
        K = model.K
        self.C = np.stack([np.bincount(self.terr, weights=cap * (f.sector == s), minlength=K)
                           for s in range(4)])
        self.D = np.stack([np.bincount(self.terr, weights=weight * (f.sector == s), minlength=K)
                           for s in range(4)])
        T = model.travel_eff
        self.W_shop = _gravity(self.D[PROXIMITY], T, SHOP_DECAY_MIN, relative=True)
        self.W_tour = _gravity(self.D[TOURISM] * model.terr.amenity, T, TOURISM_DECAY_MIN)
        self.W_ind = _gravity(self.D[INDUSTRY], T, INDUSTRY_DECAY_MIN)
        self.W_dig = _gravity(self.D[DIGITAL] * model.terr.broadband, T, DIGITAL_DECAY_MIN)
        self._shares: dict[int, np.ndarray] = {}

    def sector_shares(self, sector: int) -> np.ndarray:
        """Each firm's share of its territory's demand weight in ``sector`` (0 for others)."""
        share = self._shares.get(sector)
        if share is None:
            Ct = self.D[sector][self.terr]
            share = self.weight / np.maximum(Ct, 1e-12)
            share *= (self.model.firms.sector == sector) & (Ct > 0)
            self._shares[sector] = share
        return share

    def to_sector(self, sector: int, spend_by_origin: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Send spending (by origin territory) to a sector's firms; return receipts by dest."""
        Cs = self.D[sector]
        if Cs.sum() <= 0:
            # no firm of this sector anywhere: the spending goes to proximity firms
            sector, W, Cs = PROXIMITY, self.W_shop, self.D[PROXIMITY]
        elif (W.sum(axis=1) <= 0).any():
            W = _gravity(Cs, self.model.travel_eff, 1e9)
        dest = spend_by_origin @ W
        rec = dest[self.terr] * self.sector_shares(sector)
        self.revenue += rec
        return np.bincount(self.terr, weights=rec, minlength=self.model.K)

    def to_listed(self, amount: float, listed: np.ndarray) -> np.ndarray:
        """Send an amount to listed firms map-wide by demand weight; return by dest."""
        f = self.model.firms
        w = self.weight * listed
        tot = w.sum()
        if tot <= 0:
            # no listed seller: the platform's sales go to proximity shops by demand weight
            w = self.weight * (f.sector == PROXIMITY)
            tot = w.sum()
        rec = amount * w / tot
        self.revenue += rec
        return np.bincount(self.terr, weights=rec, minlength=self.model.K)

    def to_local_listed(self, amount_by_terr: np.ndarray) -> np.ndarray:
        """Send local-platform sales to listed proximity firms of the same territory."""
        f = self.model.firms
        K = self.model.K
        terr = self.terr
        listed = f.listed_local & f.alive
        w = self.weight * listed
        tot = np.bincount(terr, weights=w, minlength=K)
        # territories with no listed seller: all proximity firms there (or nearest shops)
        fallback = tot <= 0
        dest = np.zeros(K)
        if (~fallback).any():
            rec = np.where(~fallback[terr], amount_by_terr[terr] * w
                           / np.maximum(tot[terr], 1e-12), 0.0)
            self.revenue += rec
            dest += np.bincount(terr, weights=rec, minlength=K)
        if fallback.any():
            dest += self.to_sector(PROXIMITY, np.where(fallback, amount_by_terr, 0.0),
                                   self.W_shop)
        return dest










def fixed_costs(model: TerritoryModel) -> tuple[np.ndarray, np.ndarray]:
    """Fixed operating cost of every firm slot and its sum by territory (EUR/month).

    ``firm_fixed_cost x wage_mid x household weight`` for each live firm agent, 0 for the
    others (ODD 7.11 step 10; 0 everywhere at the default ``firm_fixed_cost`` = 0).
    """
    f, p = model.firms, model.p
    fixed = np.where(f.alive, p.firm_fixed_cost * p.wage_mid * model.household_weight, 0.0)
    return fixed, np.bincount(f.terr, weights=fixed, minlength=model.K)


def income_circuit(model: TerritoryModel, digital_spend: np.ndarray) -> None:
    """Book and apply every money flow of the month (see ODD, 'income circuit').

    Args:
        model: the model.
        digital_spend: digital investment of each firm this month (EUR), from
            :func:`simulation.engine.agents.firm.adopt_digital`.
    """
    p = model.p
    h = model.hh
    f = model.firms
    t = model.terr
    a = model.auth
    pl = model.platforms
    L = model.ledger
    K = model.K
    W = model.household_weight
    home = population(model).home
    f_terr = f.terr.astype(np.intp)

    def by_home(x: np.ndarray) -> np.ndarray:
        return np.bincount(home, weights=x, minlength=K) * W

    d = household_demand(model)
    # transfers and wages received, by home territory
    benefits_k, pensions_k, topup_k, wages_k = d.received_k
    # 1. state transfers to households
    L.book("benefits", "state", "household", benefits_k)
    L.book("pensions", "state", "household", pensions_k)
    L.book("minimum_income", "state", "household", topup_k)
    # 2. wages
    wage_src = np.bincount(f_terr, weights=f.wage_bill, minlength=K)
    L.book("wages", "firm", "household", wage_src, wages_k)
    # 3. household taxes
    L.book("income_tax", "household", "state", d.income_tax)
    L.book("local_tax_households", "household", "authority", d.local_tax)
    # 4. rent: renters pay owners of their territory
    rent_k = d.rent_k
    cap_income = np.zeros(h.capacity)  # this month's capital income (EUR per household)
    _, rent_dst = distribute(model, rent_k, "landlord", into=cap_income)
    L.book("rent", "household", "household", rent_k, rent_dst)
    # 5. consumption through channels
    alloc = Allocation(model)
    dst = alloc.to_sector(PROXIMITY, d.shop, alloc.W_shop)
    L.book("shop_sales", "household", "firm", d.shop, dst)
    c_g = pl.global_commission
    gross_g = d.glob + d.tour_plat
    L.book("platform_purchases", "household", "global_platform", gross_g)
    sellers = f.alive & f.listed_global
    dst_g = alloc.to_listed((1 - c_g) * d.glob.sum(), sellers)
    dst_t = alloc.to_sector(TOURISM, (1 - c_g) * d.tour_plat, alloc.W_tour)
    L.book("platform_payouts", "global_platform", "firm", (1 - c_g) * gross_g, dst_g + dst_t)
    # a share of goods and services comes from outside the map (imports)
    mshare = model.import_share
    imports = mshare * (d.industry + d.digital + d.tour_direct)
    L.book("imports", "household", "rest_of_world", imports)
    dst = alloc.to_sector(TOURISM, (1 - mshare) * d.tour_direct, alloc.W_tour)
    L.book("tourism_sales", "household", "firm", (1 - mshare) * d.tour_direct, dst)
    dst = alloc.to_sector(INDUSTRY, (1 - mshare) * d.industry, alloc.W_ind)
    L.book("industry_sales", "household", "firm", (1 - mshare) * d.industry, dst)
    dst = alloc.to_sector(DIGITAL, (1 - mshare) * d.digital, alloc.W_dig)
    L.book("digital_sales", "household", "firm", (1 - mshare) * d.digital, dst)
    c_l = model.local_commission()  # by territory (the buyers' local platform)
    L.book("local_platform_purchases", "household", "local_platform", d.local)
    dst = alloc.to_local_listed((1 - c_l) * d.local)
    L.book("local_platform_payouts", "local_platform", "firm", (1 - c_l) * d.local, dst)
    # 6. platforms settle: local taxes, margin, cooperative dividends
    comm_g = c_g * gross_g
    tax_g = np.minimum((p.global_local_tax_share + model.platform_tax_terr) * gross_g, comm_g)
    L.book("platform_local_tax", "global_platform", "authority", tax_g)
    margin = comm_g - tax_g
    L.book("platform_margin", "global_platform", "rest_of_world", margin)
    comm_l = c_l * d.local
    tax_l = np.minimum(p.local_tax_firm * d.local, comm_l)
    L.book("local_platform_tax", "local_platform", "authority", tax_l)
    coop = comm_l - tax_l
    _, coop_dst = distribute(model, coop, "uniform", into=cap_income)
    L.book("cooperative_dividends", "local_platform", "household", coop, coop_dst)
    # spending retained in the buyer's territory (received there by firms, owners, the
    # local platform or, for the platform's local taxes, the authority)
    dg = np.divide(dst_g, dst_g.sum(), out=np.zeros(K), where=dst_g.sum() > 0)
    model.local_retained = (
        d.shop * np.diag(alloc.W_shop) + (1 - mshare) * d.tour_direct * np.diag(alloc.W_tour)
        + (1 - c_g) * d.tour_plat * np.diag(alloc.W_tour)
        + (1 - mshare) * (d.industry * np.diag(alloc.W_ind) + d.digital * np.diag(alloc.W_dig))
        + (1 - c_g) * d.glob * dg + tax_g + d.local)
    model.flows_now = {"commission_global": comm_g, "platform_tax": tax_g, "margin": margin,
                       "commission_local": comm_l, "coop": coop, "gross_global": gross_g,
                       "spending": d.shop + gross_g + d.tour_direct + d.industry + d.digital
                       + d.local, "rent": rent_k, "basket": d.basket,
                       "glob_basket": d.glob, "local_basket": d.local}
    # 7. state grants to authorities; public spending
    grant = auth_mod.state_grant(model)
    L.book("state_grant", "state", "authority", grant)
    own = d.local_tax + tax_g + tax_l
    revenue = own + grant
    current = p.authority_service_share * np.maximum(a.rev_ewma, 0.0) \
        + RESERVE_SPEND * np.maximum(a.cash - RESERVE_MONTHS * a.rev_ewma, 0.0)
    current = np.where(p.allow_debt, current,
                       np.minimum(current, np.maximum(a.cash + revenue, 0.0)))
    available = a.cash + revenue - current
    fund = auth_mod.fund_programmes(model, available)
    funded = fund["funded"]
    model.funded = funded
    t.counters_funded = funded["counters"]
    t.fs_funded = funded["france_services"]
    t.mediators_funded = funded["mediators"]
    t.tl_funded = funded["tiers_lieux"]
    model.tl_effective = np.divide(t.tiers_lieux - t.tl_supported * (1.0 - t.tl_funded),
                                   t.tiers_lieux, out=np.ones(K), where=t.tiers_lieux > 0)
    t.broadband_funded = funded["broadband"]
    local_w = np.eye(K) if (alloc.D[PROXIMITY] > 0).all() else alloc.W_shop
    dst = alloc.to_sector(PROXIMITY, current, local_w)
    L.book("local_services", "authority", "firm", current, dst)
    auth_paid = np.zeros(K)
    for prog in fund["costs"]:
        for payer in ("state", "authority"):
            where_spent = fund["spent_state" if payer == "state" else "spent_auth"][prog]
            src = where_spent if payer == "state" else fund["paid_auth"][prog]
            if payer == "authority":
                auth_paid += src
            if where_spent.sum() <= 0:
                continue
            if prog == "new_deal":
                nd_hh = (h.newdeal_months > 0) & h.alive
                nd_k = np.bincount(home[nd_hh], minlength=K).astype(float)
                each = np.where(nd_hh, where_spent[home] / np.maximum(nd_k[home], 1) / W, 0.0)
                h.savings += each
                L.book("new_deal_subsidy", payer, "household", src, by_home(each))
            elif prog == "local_platform":
                L.book("local_platform_support", payer, "local_platform", src, where_spent)
                dst = alloc.to_sector(PROXIMITY, where_spent, local_w)
                L.book("local_platform_operations", "local_platform", "firm", where_spent, dst)
            elif prog == "broadband":
                dst = alloc.to_sector(INDUSTRY, where_spent, alloc.W_ind)
                L.book("broadband_works", payer, "firm", src, dst)
            else:
                dst = alloc.to_sector(PROXIMITY, where_spent, local_w)
                L.book(prog, payer, "firm", src, dst)
    spent = current + auth_paid
    a.cash += revenue - spent
    a.revenue[:] = revenue
    a.spending[:] = spent
    # 8. exports: the rest of the world buys from tradable sectors
    # external demand grows at export_growth and with the map's number of households
    growth = (1.0 + p.export_growth) ** (model.steps / 12.0) \
        * model.households_agents.sum() / model.households0.sum()
    for s in (INDUSTRY, DIGITAL, TOURISM):
        pool = model.export_pool[s] * growth
        if pool <= 0:
            continue
        # firms compete for it by demand weight (productivity and decreasing returns)
        w = alloc.weight * (f.sector == s)
        if s == TOURISM:
            w = w * t.amenity[f_terr]
        tot = w.sum()
        if tot <= 0:
            continue
        rec = pool * w / tot
        alloc.revenue += rec
        L.book("exports", "rest_of_world", "firm", np.full(K, pool / K),
               np.bincount(f_terr, weights=rec, minlength=K))
    # 9. digital investment: firms buy from digital firms
    inv_k = np.bincount(f_terr, weights=digital_spend, minlength=K)
    dst = alloc.to_sector(DIGITAL, inv_k, alloc.W_dig)
    L.book("digital_investment", "firm", "firm", inv_k, dst)
    # 10. firms settle: local and corporate taxes, dividends
    rev = alloc.revenue
    ltax_f = p.local_tax_firm * rev
    ltax_k = np.bincount(f_terr, weights=ltax_f, minlength=K)
    L.book("local_tax_firms", "firm", "authority", ltax_k)
    a.cash += ltax_k
    a.revenue += ltax_k
    own = own + ltax_k
    # smoothed revenue and own tax base, with this month's firm taxes included
    a.rev_ewma[:] = np.where(a.rev_ewma > 0, 0.9 * a.rev_ewma + 0.1 * a.revenue, a.revenue)
    a.own_base[:] = np.where(a.own_base > 0, 0.9 * a.own_base + 0.1 * own, own)
    # fixed operating cost of every live firm agent (premises, insurance, services): paid to
    # the property owners of its territory whatever its sales (ODD 7.11, step 10)
    fixed, fixed_k = fixed_costs(model)
    if fixed_k.any():
        _, fixed_dst = distribute(model, fixed_k, "landlord", into=cap_income)
        L.book("commercial_rent", "firm", "household", fixed_k, fixed_dst)
    profit = rev - f.wage_bill - ltax_f - digital_spend - fixed
    ctax = p.corporate_tax_rate * np.maximum(profit, 0.0)
    L.book("corporate_tax", "firm", "state", np.bincount(f_terr, weights=ctax, minlength=K))
    cash = f.cash + profit - ctax
    buffer = DIVIDEND_BUFFER_MONTHS * f.wage_bill
    div = np.where(f.alive, DIVIDEND_PAYOUT * np.maximum(cash - buffer, 0.0), 0.0)
    div_k = np.bincount(f_terr, weights=div, minlength=K)
    _, div_dst = distribute(model, div_k, "owner", into=cap_income)
    L.book("dividends", "firm", "household", div_k, div_dst)
    f.cash[:] = np.where(f.alive, cash - div, 0.0)
    f.revenue[:] = rev
    f.profit[:] = profit - ctax
    f.rev_ewma[:] = np.where(f.alive, 0.75 * f.rev_ewma + 0.25 * rev, 0.0)
    # sales per worker by sector and territory (used for new firms' expectations)
    emp = np.maximum(f.employees, 0) * W
    spw = np.zeros((4, K))
    live = np.flatnonzero(f.alive)
    # sums by (sector, territory) of live firms, each in firm order (one bincount each)
    cell = f.sector[live].astype(np.intp) * K + f_terr[live]
    r4 = np.bincount(cell, weights=rev[live], minlength=4 * K).reshape(4, K)
    e4 = np.bincount(cell, weights=emp[live], minlength=4 * K).reshape(4, K)
    for s in range(4):
        r, e = r4[s], e4[s]
        nat = r.sum() / max(e.sum(), 1.0)
        spw[s] = np.where(e > 0, r / np.maximum(e, 1.0), nat) * W
    model.sales_per_worker = spw
    # 11. households: savings and incomes
    # savings: this month's flows only (last month's capital income, part of disposable
    # income, was saved when received)
    kernels.savings_pass(h.alive, d.disposable, d.rent, d.per_hh_spend, cap_income,
                         h.savings, h.income, h.cap_income)
    # state and rest of the world
    state_net = float(L.net_inflow("state").sum())
    model.state_balance += state_net
    if p.state_fiscal_rule:
        base = float(d.pre_k.sum())
        needed = model.tax_rate - state_net / max(base, 1.0)
        model.tax_rate = float(np.clip(0.8 * model.tax_rate + 0.2 * needed, 0.0, 0.8))
    model.row_balance += (L.net_inflow("rest_of_world")).sum()
    pl.global_share = float(d.glob.sum() / max(d.basket.sum(), 1e-9))
    pl.local_share = np.divide(d.local, d.basket, out=np.zeros(K), where=d.basket > 0)
    cap_prox_ind = alloc.cap * (f.sector <= INDUSTRY)  # proximity (0) and industry (1)
    pl.global_sellers = float((cap_prox_ind * f.listed_global).sum()
                              / max(cap_prox_ind.sum(), 1e-9))
    cap_prox = alloc.cap * (f.sector == PROXIMITY)
    cap_prox_k = np.bincount(f_terr, weights=cap_prox, minlength=K)
    pl.local_sellers = np.divide(
        np.bincount(f_terr, weights=cap_prox * f.listed_local, minlength=K),
        cap_prox_k, out=np.zeros(K), where=cap_prox_k > 0)
    model.prox_capacity = alloc.C[PROXIMITY]


# =========================================================================== housing
def init_housing(model: TerritoryModel) -> None:
    """Record the start of the housing market: prices, densities and incomes by territory.

    Called once, when households' first incomes are known.
    """
    model.price0 = model.terr.price.copy()
    model.income0_terr = mean_income_by_home(model)
    model.income0_map = float(model.hh.income[model.hh.alive].mean()) \
        if model.hh.alive.any() else 1.0


def mean_income_by_home(model: TerritoryModel) -> np.ndarray:
    """Mean disposable income of live households by home territory (EUR/month)."""
    pop = population(model)
    K = model.K
    inc = np.bincount(pop.home_or_k, weights=model.hh.income, minlength=K + 1)[:K]
    return np.divide(inc, pop.n_k, out=np.zeros(model.K), where=pop.n_k > 0)


def housing_fundamentals(model: TerritoryModel) -> tuple[np.ndarray, np.ndarray]:
    """Cost of new supply and fundamental price of each territory (price index units).

    Density factor ``d_k = ((n_k / n_k0) / (n / n_0))^density_price_elasticity`` (the
    initial price-density law applied to the change of relative density: land gets dearer
    where the territory grows faster than the map). Cost of new supply
    ``S_k = max(construction_cost_index, P_k0 x d_k)`` (building plus land); fundamental
    price ``A_k = P_k0 x d_k x (y_k / y_k0) / (y / y_0)`` (the initial price-to-income ratio,
    ``y`` mean disposable income by home territory, ``y`` without index the map's).
    """
    p = model.p
    h = model.hh
    n0 = np.maximum(model.households0, 1.0)
    n = np.maximum(model.households_agents, 0.0)
    rel = (n / n0) / (n.sum() / n0.sum())
    d = np.maximum(rel, 1e-6) ** p.density_price_elasticity
    cost = np.maximum(p.construction_cost_index, model.price0 * d)
    y = mean_income_by_home(model)
    y_map = float(h.income[h.alive].mean()) if h.alive.any() else 1.0
    y0 = model.income0_terr
    inc = np.where((y > 0) & (y0 > 0), y / np.maximum(y0, 1e-9), 1.0) \
        / max(y_map / max(model.income0_map, 1e-9), 1e-9)
    return cost, model.price0 * d * np.clip(inc, 0.2, 5.0)


def housing_market(model: TerritoryModel) -> None:
    """Price index and housing stock (monthly; stock-flow model).

    Prices respond to occupancy and return towards their fundamental level::

        P <- P x exp((housing_price_elasticity x (occupancy / target - 1)
                      - housing_anchor_speed x ln(P / A)) / 12)      (floored at 0.2)

    the stock is built where the price is above the cost of new supply and depreciates::

        stock <- stock x (1 + (housing_supply_rate x max(0, P / S - 1)
                               - housing_depreciation) / 12)

    (``A`` and ``S`` from :func:`housing_fundamentals`).
    """
    p = model.p
    t = model.terr
    occ = model.households_agents / np.maximum(t.housing_stock, 1e-9)
    gap = occ / p.target_occupancy - 1.0
    cost, anchor = housing_fundamentals(model)
    drift = p.housing_price_elasticity * gap \
        - p.housing_anchor_speed * np.log(np.maximum(t.price, 1e-9) / np.maximum(anchor, 1e-9))
    t.price = np.maximum(t.price * np.exp(drift / 12.0), 0.2)
    build = p.housing_supply_rate * np.maximum(t.price / cost - 1.0, 0.0)
    t.housing_stock = t.housing_stock * (1.0 + (build - p.housing_depreciation) / 12.0)
    model.occupancy = occ


def congestion(model: TerritoryModel) -> None:
    """Travel times scale with (population / initial population)^congestion_elasticity."""
    p = model.p
    ratio = np.maximum(model.households_agents, 1.0) / np.maximum(model.households0, 1.0)
    c = ratio ** p.congestion_elasticity
    model.congestion_factor = c
    model.travel_eff = model.travel_base * (c[:, None] + c[None, :]) / 2.0
    update_reach(model)


def update_reach(model: TerritoryModel) -> None:
    """Commuting reach: territory pairs within ``max_commute_min``.

    One's own territory is always within reach (its diagonal is the mean trip inside it,
    not a limit).
    """
    reach = model.travel_eff <= model.p.max_commute_min
    np.fill_diagonal(reach, True)
    model.reach = reach
