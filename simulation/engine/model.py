"""The Terrinum model: initialisation and the monthly schedule (nothing else).

Processes live with their agents (``simulation/agents/``) and markets
(``simulation/markets.py``); measures in ``simulation/measures.py``. ``TerritoryModel`` is a
:class:`mesa.Model`: keyword parameters, ``model.step()``, a ``DataCollector`` of the
map-level measures, and Mesa agents for every household, firm, authority and platform.

Example:
    >>> from simulation import TerritoryModel
    >>> model = TerritoryModel(map="synthetic", seed=1, n_households=2_000)
    >>> results = model.run(years=1)
    >>> results.summary()["gini"].iloc[0] > 0
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mesa import DataCollector

from simulation.engine import markets, measures, transfers
from simulation.engine.agents import authority as auth_mod
from simulation.engine.agents import firm as firm_mod
from simulation.engine.agents import household as hh_mod
from simulation.engine.agents import platform as plat_mod
from simulation.engine.agents.authority import PAYERS, Authority, AuthorityArrays
from simulation.engine.agents.firm import (
    DIVIDEND_BUFFER_MONTHS,
    DIVIDEND_PAYOUT,
    SECTOR_MIX,
    FirmArrays,
)
from simulation.engine.agents.household import AGE_BAND_SHARES, AGE_BANDS, HouseholdArrays
from simulation.engine.agents.platform import PlatformState
from simulation.engine.base import ModelBase
from simulation.engine.calibrated import Draw
from simulation.engine.ledger import Ledger
from simulation.engine.params import ParameterError, Parameters
from simulation.engine.population import population
from simulation.engine.rng import Streams
from simulation.world.maps import TerritoryMap, load_map

# share of expected sales bought from outside the map, by sector (proximity, industry,
# digital, tourism): France exports about a third of its GDP, mostly manufactured goods
# (INSEE, order of magnitude); assumption by sector
EXPORT_SHARE = (0.0, 0.45, 0.25, 0.30)
KM_PER_MIN = 0.9  # commuting distance per minute of travel (about 54 km/h), assumption


@dataclass
class TerritoryState:
    """Per-territory state that policies and authorities change (index = territory).

    Attributes:
        broadband: share of premises with very-high-speed access (0-1).
        counters_tax, counters_social, counters_post: public counters (count).
        france_services: France Services houses (count).
        mediators: digital mediators (count).
        tiers_lieux: tiers-lieux (count); ``tl_supported``: those receiving a public grant.
        amenity: amenity index (0-1).
        price: housing price index; ``housing_stock``: dwellings in household-agent units.
        location_constant: alternative-specific constant of each territory in the location
            choice (utility; 0 by default; for what the model does not describe).
        newdeal_offers: remaining New-Deal offers (real households).
        rollout_target, rollout_pace: broadband roll-out goal (0-1) and pace (points/year).
        *_funded: share of each programme funded this month (0-1).
    """

    broadband: np.ndarray
    counters_tax: np.ndarray
    counters_social: np.ndarray
    counters_post: np.ndarray
    france_services: np.ndarray
    mediators: np.ndarray
    tiers_lieux: np.ndarray
    amenity: np.ndarray
    price: np.ndarray
    housing_stock: np.ndarray
    location_constant: np.ndarray = field(default=None)
    tl_supported: np.ndarray = field(default=None)
    newdeal_offers: np.ndarray = field(default=None)
    rollout_target: np.ndarray = field(default=None)
    rollout_pace: np.ndarray = field(default=None)
    rollout_step: np.ndarray = field(default=None)
    broadband_works: np.ndarray = field(default=None)
    counters_funded: np.ndarray = field(default=None)
    fs_funded: np.ndarray = field(default=None)
    mediators_funded: np.ndarray = field(default=None)
    tl_funded: np.ndarray = field(default=None)
    broadband_funded: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        K = self.broadband.size
        for name in ("location_constant", "tl_supported", "newdeal_offers", "rollout_pace",
                     "rollout_step", "broadband_works"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(K))
        if self.rollout_target is None:
            self.rollout_target = self.broadband.copy()
        for name in ("counters_funded", "fs_funded", "mediators_funded", "tl_funded",
                     "broadband_funded"):
            if getattr(self, name) is None:
                setattr(self, name, np.ones(K))

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every array (for branching and tests)."""
        return {k: np.array(v, copy=True) for k, v in self.__dict__.items()}


class TerritoryModel(ModelBase):
    """Households, firms, local authorities and platforms on a networked map of territories.

    Args:
        map: a built-in map name (``france-departements``, ``france-regions``, ``synthetic``),
            a path to a nodes CSV, or a :class:`~simulation.world.maps.TerritoryMap`.
        seed: master seed (non-negative integer); fixes the whole run. ``None`` (what
            ``mesa.batch_run(..., iterations=N)`` passes) takes the seed Mesa draws from
            fresh entropy for its own generators; it is kept in ``model.seed`` (and the
            outputs), so ``TerritoryModel(seed=model.seed)`` repeats the run exactly.
        scenario: scenario name recorded in the outputs.
        policies: policy objects applied at each step (see ``simulation.engine.policies``).
        map_options: options passed to :func:`~simulation.world.maps.load_map`.
        location_constants: alternative-specific constants of the territories in the
            location choice (utility; ODD 7.9): a mapping from territory code to value
            (codes left out get 0) or a sequence of K values in map order; default the map's
            ``location_constant`` attribute if it has one, else the shipped calibrated
            constants if the map is the one they were fitted on
            (:mod:`simulation.engine.calibrated`), else 0 everywhere.
        start_year: calendar year of the start (1 January). On ``france-departements`` the
            map is built from that year's data (2019 or 2023; default the latest); on other
            maps it only dates the outputs (default 2023).
        draw: shipped posterior draw to use (0-based), or a
            :class:`~simulation.engine.calibrated.Draw` already read (what worker processes
            receive, so they do not read the files again): its calibrated parameter values
            under ``params`` and, on the map they were fitted on, its territory constants
            (unless ``location_constants`` is given). None: the calibrated defaults.
            ``model.draw`` records the draw's number.
        **params: parameter overrides, by their declared names (``simulation.engine.params``).

    Raises:
        ParameterError: an unknown parameter or a value out of its declared range.
        StartYearError: a start year without data on ``france-departements`` (or not an
            integer year).
    """

    def __init__(self, map: str | TerritoryMap = "france-departements", seed: int | None = 0, *,
                 scenario: str = "custom", policies: Iterable[Any] | None = None,
                 map_options: dict | None = None, start_year: int | None = None,
                 location_constants: Mapping[str, float] | Sequence[float] | None = None,
                 draw: int | Draw | None = None, **params: Any) -> None:
        if seed is None:  # Mesa's batch_run(iterations=...) passes seed=None: Mesa draws one
            super().__init__(rng=None)
            seed = self._seed
            self.reset_rng(seed)  # model.rng as with this seed given explicitly
        elif isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
        else:
            super().__init__(rng=int(seed))
        self.seed = int(seed)
        self.scenario_name = scenario
        from simulation.engine import calibrated

        if calibrated.import_problem():   # a TERRINUM_CALIBRATION_DIR that cannot be used
            raise ParameterError(f"{calibrated.DIR_ENV}: {calibrated.import_problem()}")
        drawn = None
        if draw is not None:
            try:
                drawn = draw if isinstance(draw, Draw) else calibrated.draw(draw)
            except calibrated.DrawError as exc:
                raise ParameterError(f"draw: {exc}") from None
            self.p = Parameters({**drawn.params, **params})
        else:
            self.p = Parameters(params)
        self.draw = None if drawn is None else int(drawn.index)
        options = dict(map_options or {})
        if start_year is not None and map == "france-departements":
            options["start_year"] = start_year
        self.tmap = map if isinstance(map, TerritoryMap) else load_map(
            map, seed=int(seed), **options)
        self.start_year = _start_year(self.tmap, start_year)
        self.map_name = self.tmap.name
        self.K = K = self.tmap.n
        self.streams = Streams(self.seed)
        self.pop_version = 0
        self._share_cache: dict = {}
        self.ledger = Ledger(K)
        self.counters: dict[str, Any] = {}
        from simulation.engine.policies import make_policy

        self.policies = [make_policy(p) for p in (policies or [])]
        self.log: list[dict] = []   # policy and lever changes, with their step
        self.region_index = np.unique(np.asarray(self.tmap.region, dtype=object).astype(str),
                                      return_inverse=True)[1].astype(np.int64)
        self._init_territories()
        if location_constants is None and drawn is not None and drawn.map == self.tmap.name:
            location_constants = drawn.constants
        self.terr.location_constant = _location_constants(self.tmap, location_constants)
        self._init_households()
        self._init_firms()
        self._init_institutions()
        self._init_flows()
        self.datacollector = DataCollector(model_reporters={
            name: (lambda m, n=name: m.map_measures[n]) for name in measures.MAP_MEASURES})
        self._history_map: list[dict[str, float]] = []
        self._history_terr: list[np.ndarray] = []
        self._income_order = None
        self._collect()

    # ------------------------------------------------------------------ initialisation
    def _init_territories(self) -> None:
        tm = self.tmap
        p = self.p
        self.travel_base = np.asarray(tm.travel_min, dtype=float)
        self.travel_eff = self.travel_base.copy()
        markets.update_reach(self)
        self.km_per_min = KM_PER_MIN
        self.real_households0 = np.asarray(tm.households, dtype=float)
        self.household_weight = float(self.real_households0.sum() / p.n_households)
        nat_density = tm.population.sum() / tm.area_km2.sum()
        self.agglomeration = (tm.density / nat_density) ** p.agglomeration_elasticity
        self.broadband_cost_factor = np.minimum(8.0, np.sqrt(nat_density / tm.density))
        price = (tm.density / nat_density) ** p.density_price_elasticity
        share = self.real_households0 / self.real_households0.sum()
        france_share = self.real_households0.sum() / (66_165_815.0 / 2.16)
        mediators = p.mediators_initial * min(france_share, 1.0) * share
        self.terr = TerritoryState(
            broadband=np.asarray(tm.broadband, float).copy(),
            counters_tax=np.asarray(tm.counters_tax, float).copy(),
            counters_social=np.asarray(tm.counters_social, float).copy(),
            counters_post=np.asarray(tm.counters_post, float).copy(),
            france_services=np.asarray(tm.france_services, float).copy(),
            mediators=mediators, tiers_lieux=np.asarray(tm.tiers_lieux, float).copy(),
            amenity=np.asarray(tm.amenity, float).copy(), price=price,
            housing_stock=np.zeros(self.K))
        self.congestion_factor = np.ones(self.K)
        self.tl_effective = np.ones(self.K)  # share of tiers-lieux open (funded)

    def _allocate(self, total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
        """Integer allocation proportional to weights (largest remainder, with a minimum)."""
        K = weights.size
        base = np.full(K, minimum if total >= minimum * K else 0)
        rest = total - base.sum()
        q = weights / weights.sum() * rest
        n = np.floor(q).astype(np.int64)
        left = rest - n.sum()
        n[np.argsort(-(q - n), kind="stable")[:left]] += 1
        return base + n

    def _init_households(self) -> None:
        p = self.p
        rng = self.streams["init"]
        N = int(p.n_households)
        counts = self._allocate(N, self.real_households0, minimum=3)
        self.hh = HouseholdArrays(N)
        home = np.repeat(np.arange(self.K), counts).astype(np.int32)
        self.skill_probs = hh_mod.skill_probabilities(self)
        if self.tmap.adults_by_age is not None:
            # age bands of reference persons by territory, from the observed age structure
            cum = np.cumsum(hh_mod.age_band_shares(self.tmap.adults_by_age), axis=1)
            band = (rng.random(N)[:, None] > cum[home]).sum(axis=1).clip(0, len(AGE_BANDS) - 1)
        else:
            band = rng.choice(len(AGE_BANDS), size=N, p=np.asarray(AGE_BAND_SHARES))
        lo = np.array([b[0] for b in AGE_BANDS])[band]
        hi = np.array([b[1] for b in AGE_BANDS])[band]
        age = rng.uniform(lo, hi)
        hh_mod.create(self, np.arange(N), home, age, rng)
        self.households0 = counts.astype(float)
        self.households_agents = counts.astype(float)
        self.real_households = self.households_agents * self.household_weight
        self.terr.housing_stock = self.households0 / p.target_occupancy
        self.new_households = np.zeros(0, dtype=np.int64)

    def _init_firms(self) -> None:
        p = self.p
        h = self.hh
        rng = self.streams["init"]
        workers = h.alive & (h.age < p.retirement_age)
        w_k = np.bincount(h.home[workers], minlength=self.K).astype(float)
        M = max(int(round(p.n_households / p.households_per_firm)), self.K)
        counts = self._allocate(M, w_k + 1.0, minimum=1)
        self.firms = FirmArrays(M)
        terr = np.repeat(np.arange(self.K), counts).astype(np.int32)
        mix = SECTOR_MIX[self.tmap.kind[terr]]
        u = rng.random(M)[:, None]
        sector = (u > np.cumsum(mix, axis=1)).sum(axis=1).clip(0, 3).astype(np.int8)
        firm_mod.create(self, np.arange(M), terr, sector, rng)
        f = self.firms
        f.listed_global[:] = (f.maturity > 0.5) & np.isin(sector, (0, 1)) & (rng.random(M) < 0.4)
        self.mean_productivity = float(firm_mod.wage_productivity(self)[f.alive].mean())
        # initial jobs: 1 - the territory's observed unemployment rate of working-age
        # households (92.5 % where not observed), mostly in their own territory, 15 % in
        # another territory within commuting reach
        employed = np.full(self.K, 0.925)
        if self.tmap.unemployment is not None:
            employed = 1.0 - np.asarray(self.tmap.unemployment, dtype=float)
        idx = np.flatnonzero(workers & (rng.random(h.capacity) < employed[h.home]))
        reach = self.travel_base <= p.max_commute_min
        np.fill_diagonal(reach, False)
        job_terr = h.home[idx].copy()
        out = rng.random(idx.size) < 0.15
        for k in range(self.K):
            nbrs = np.flatnonzero(reach[k])
            sel = np.flatnonzero(out & (h.home[idx] == k))
            if nbrs.size and sel.size:
                job_terr[sel] = nbrs[rng.integers(0, nbrs.size, sel.size)]
        size_w = f.prod0
        for k in range(self.K):
            sel = np.flatnonzero(job_terr == k)
            cand = np.flatnonzero(f.alive & (f.terr == k))
            if sel.size == 0 or cand.size == 0:
                continue
            w = size_w[cand]
            h.employer[idx[sel]] = cand[rng.choice(cand.size, sel.size, p=w / w.sum())]
        self.vacancies_terr = np.ones(self.K)
        self.seekers_terr = np.ones(self.K)
        self.skilled_share = np.ones(self.K)
        self._refresh_aggregates()
        self.skilled_mean = float(self.skilled_share.mean())
        markets.set_wages(self)
        seats = self.terr.tiers_lieux * p.tiers_lieu_seats / np.maximum(self.real_households, 1)
        g = (1 + p.birth_broadband_effect * self.terr.broadband * self.skilled_share
             / max(self.skilled_mean, 1e-9)) * (1 + p.birth_tierslieux_effect * seats * 100)
        n_k = np.bincount(f.terr, minlength=self.K)
        self.birth_normaliser = float((g * n_k).sum() / n_k.sum())
        self.firms_per_household = M / max(h.alive.sum(), 1)

    def _init_institutions(self) -> None:
        K = self.K
        self.auth = AuthorityArrays(K)
        self.authorities = [Authority(self, k) for k in range(K)]
        self.platforms = PlatformState(self)
        self.state_balance = 0.0
        self.row_balance = 0.0
        self.service_access = hh_mod.counter_access(self)
        self.mediation_share = np.ones(K)
        self.choice_prob = np.zeros(K)
        self.newdeal_cost = np.zeros(K)
        self.export_pool = np.zeros(4)
        self.sales_per_worker = np.zeros((4, K))
        self.local_retained = np.zeros(K)
        self.tax_rate = self.p.income_tax_rate
        self.import_share = 0.0
        self.platform_tax_terr = np.full(K, self.p.platform_tax)
        # a local platform's commission set by its policy, by territory (NaN: the
        # local_commission parameter)
        self.local_commission_override = np.full(K, np.nan)
        self.local_platform_support = np.zeros(K)   # EUR/month per household
        self.newdeal_rate = np.zeros(K)             # offers (real households) per month
        self.shop_utility = np.zeros(K)

    def _init_flows(self) -> None:
        """Initial incomes, take-up and a stationary flow calibration of external demand.

        External demand (exports of industry, digital and tourism firms) is a fixed share
        of each tradable sector's expected sales (``EXPORT_SHARE``); the import share of
        households' non-proximity spending is set so that trade balances at start (exports
        = imports + the global platform's margin), within [0, 0.95]; households start with
        steady-state savings and capital income; the state's starting tax rate balances its
        budget. Firms then adjust employment to the demand they actually get. Firms'
        expected sales start at their wage bill over the labour share.
        """
        p = self.p
        h = self.hh
        f = self.firms
        t = self.terr
        rng = self.streams["init"]
        self.remote_ok = hh_mod.remote_access(self)
        markets.compute_incomes(self)
        elig = h.alive & (h.pretransfer < p.minimum_income) & (h.age >= 25)
        h.taken_up[:] = elig & (rng.random(h.capacity) < 0.7)
        hh_mod.work_and_commute(self)
        # owners receive the rent of their territory as capital income, with the fixed
        # operating costs its firms pay them (commercial rent, ODD 7.11 step 10)
        d = markets.household_demand(self)
        fixed, fixed_k = markets.fixed_costs(self)
        each, _ = transfers.distribute(self, d.rent_k + fixed_k, "landlord")
        h.cap_income[:] = each
        markets.compute_incomes(self)
        h.unemp_months[:] = 0
        # fixed point: households' capital income includes the dividends firms pay at
        # their expected sales; exports are a fixed share of tradable sales; imports
        # balance trade at start
        need = f.wage_bill / p.labour_share
        self.import_share = 0.0
        self.tax_rate = p.income_tax_rate
        # the global platform's sellers (listed proximity and industry capacity) and, in the
        # loop, its buyers' share: the platforms' utilities start at their fixed point, with
        # the network effect of these shares (platform.update), as at every later month
        alloc = markets.Allocation(self)  # firms' capacities (employees x productivity)
        cap = alloc.cap * np.isin(f.sector, (0, 1))
        self.platforms.global_sellers = float((cap * f.listed_global).sum()
                                              / max(cap.sum(), 1e-9))
        for _ in range(6):
            # savings at which spending out of savings offsets saving out of disposable
            # income (households start on their steady state)
            disp0 = h.pretransfer * (1.0 - self.tax_rate)
            h.savings[:] = np.where(h.alive, (1 - p.mpc_income) / max(p.mpc_wealth, 1e-3)
                                    * np.maximum(disp0, 0.0) + 1_000.0, 0.0)
            plat_mod.update(self)
            d = markets.household_demand(self)
            self.platforms.global_share = float(d.glob.sum() / max(d.basket.sum(), 1e-9))
            c_g = self.platforms.global_commission
            for s in (1, 2, 3):
                # external demand: a fixed share of each tradable sector's expected sales
                m = f.alive & (f.sector == s)
                self.export_pool[s] = EXPORT_SHARE[s] * need[m].sum()
            gross_g = d.glob + d.tour_plat
            margin = (c_g - min(p.global_local_tax_share + p.platform_tax, c_g)) * gross_g.sum()
            self.import_share = float(np.clip(
                (self.export_pool.sum() - margin)
                / max((d.industry + d.digital + d.tour_direct).sum(), 1.0), 0.0, 0.95))
            profit = need * (1 - p.labour_share - p.local_tax_firm) - fixed
            div = np.maximum(profit, 0.0) * (1 - p.corporate_tax_rate)
            div_k = np.bincount(f.terr, weights=div, minlength=self.K)
            div_each, _ = transfers.distribute(self, div_k, "owner")
            h.cap_income[:] = each + div_each
            markets.compute_incomes(self)
            h.unemp_months[:] = 0
            # the state's starting tax rate balances its initial budget when the rule is on
            if p.state_fiscal_rule:
                W = self.household_weight
                topup = np.where(h.taken_up, np.maximum(p.minimum_income - h.pretransfer, 0), 0)
                out_ = (self.benefit + self.pension + topup).sum() * W \
                    + p.state_grant_per_household * self.real_households.sum() \
                    + sum(np.where(self.auth.payer[prog] == 0, c,
                                   auth_mod.state_share(self, prog) * c).sum()
                          for prog, c in auth_mod.programme_costs(self).items())
                corp = (p.corporate_tax_rate * np.maximum(profit, 0)).sum()
                self.tax_rate = float(np.clip((out_ - corp) / (h.pretransfer.sum() * W),
                                              0.0, 0.8))
        # cash above the buffer such that the first dividend, a DIVIDEND_PAYOUT share of the
        # cash above the buffer after this month's profit, is the calibrated one, and stays
        # so while profits do: excess = div / payout - div
        f.cash[:] = np.where(f.alive, DIVIDEND_BUFFER_MONTHS * f.wage_bill
                             + div * (1.0 / DIVIDEND_PAYOUT - 1.0), 0.0)
        f.rev_ewma[:] = np.where(f.alive, need, 0.0)
        # authorities: revenue of a typical month, two months of cash
        own = d.local_tax
        self.auth.own_base[:] = own
        grant = auth_mod.state_grant(self)
        self.auth.rev_ewma[:] = own + grant + p.local_tax_firm * np.bincount(
            f.terr, weights=need, minlength=self.K)
        self.auth.cash[:] = 2.0 * self.auth.rev_ewma
        self.auth.revenue[:] = self.auth.rev_ewma
        self.auth.spending[:] = p.authority_service_share * self.auth.rev_ewma
        self.flows_now = None
        self.shop_capacity0 = np.maximum(alloc.C[0] / np.maximum(self.households_agents, 1),
                                         1e-9)
        self.prox_capacity = alloc.C[0]
        self._update_shop_utility()
        h.income[:] = markets.household_demand(self).disposable
        markets.init_housing(self)
        t.rollout_target = t.broadband.copy()
        self.employment_rate_terr = getattr(self, "employment_rate_terr", np.ones(self.K))

    # ------------------------------------------------------------------ Mesa agents
    # ------------------------------------------------------------------ helpers
    def _refresh_aggregates(self) -> None:
        pop = population(self)
        self.households_agents = pop.n_k.astype(float)
        self.real_households = self.households_agents * self.household_weight
        high = pop.counts[:, 2]
        self.skilled_share = np.divide(high, self.households_agents,
                                       out=np.zeros(self.K), where=self.households_agents > 0)

    def _update_shop_utility(self) -> None:
        per_hh = self.prox_capacity / np.maximum(self.households_agents, 1)
        ratio = np.maximum(per_hh / self.shop_capacity0, 1e-3)
        self.shop_utility = self.p.shop_density_weight * np.log(ratio)

    def local_commission(self) -> np.ndarray:
        """Commission of the local platform of each territory (share of each sale, K).

        The ``local_commission`` parameter, except where a ``local_platform`` policy set
        its own.
        """
        o = self.local_commission_override
        return np.where(np.isnan(o), self.p.local_commission, o)

    def pay_owners(self, category: str, src_sector: str, src_vec: np.ndarray,
                   amount_by_terr: np.ndarray) -> None:
        """Pay amounts (EUR by territory) to capital owners (:func:`transfers.pay_owners`)."""
        transfers.pay_owners(self, category, src_sector, src_vec, amount_by_terr)

    def charge_owners(self, category: str, amount_by_terr: np.ndarray,
                      dst_sector: str = "firm") -> None:
        """Charge capital owners (EUR by territory; :func:`transfers.charge_owners`)."""
        transfers.charge_owners(self, category, amount_by_terr, dst_sector)

    def set_param(self, name: str, value: Any, *, source: str = "policy") -> None:
        """Change a parameter during the run (validated) and log it with the step."""
        old = self.p[name]
        self.p = self.p.replace(**{name: value})
        if name == "platform_tax":
            # the map-wide rate is the base of the per-territory rates policies add to
            self.platform_tax_terr = self.platform_tax_terr + (self.p[name] - old)
        self.log.append({"step": self.steps, "what": f"param {name}", "from": old,
                         "to": self.p[name], "source": source})

    def add_policy(self, policy: Any) -> Any:
        """Add a policy during the run (e.g. a dashboard lever); returns the policy object.

        It is validated like a scenario file's policy; its ``start`` is in years from the
        start of the run, so a lever pulled now uses ``start = steps / 12``.
        """
        from simulation.engine.policies import make_policy

        pol = make_policy(policy)
        pol.indices(self)  # resolve territories now: unknown codes fail here, clearly
        self.policies.append(pol)
        return pol

    def set_payer(self, programme: str, territories: np.ndarray, payer: str) -> None:
        """Set who pays a programme in some territories (state, authority or region)."""
        if payer not in PAYERS:
            raise ValueError(f"payer must be one of {PAYERS}, got {payer!r}")
        self.auth.payer[programme][territories] = PAYERS.index(payer)

    def stocks(self) -> dict[str, float]:
        """Money held by each sector (EUR): the ledger's flows explain their changes."""
        h = self.hh
        return {
            "household": float(h.savings[h.alive].sum() * self.household_weight),
            "firm": float(self.firms.cash[self.firms.alive].sum()),
            "authority": float(self.auth.cash.sum()),
            "local_platform": float(self.platforms.local_cash.sum()),
            "state": float(self.state_balance),
            "global_platform": 0.0,
            "rest_of_world": float(self.row_balance),
        }

    # ------------------------------------------------------------------ schedule
    def step(self) -> None:
        """Advance the model by one month (the schedule; see ODD section 3)."""
        self.ledger.new_step()
        self.counters = {}
        for policy in self.policies:
            policy.apply(self)
        t = self.terr
        t.newdeal_offers = np.minimum(t.newdeal_offers + self.newdeal_rate,
                                      12.0 * self.newdeal_rate)
        auth_mod.plan_broadband(self)
        plat_mod.update(self)
        hh_mod.demography(self)
        self._refresh_aggregates()
        self.remote_ok = hh_mod.remote_access(self)
        employed = markets.labour_market(self)
        hh_mod.work_and_commute(self, employed)
        markets.compute_incomes(self)
        hh_mod.use_services(self)
        digital = firm_mod.adopt_digital(self)
        h = self.hh
        nd_months = h.newdeal_months
        if nd_months.any():
            nd = np.bincount(h.home[h.alive & (nd_months > 0)], minlength=self.K)
        else:
            nd = np.zeros(self.K, dtype=np.int64)
        self.newdeal_cost = nd * self.household_weight * self.p.new_deal_subsidy
        markets.income_circuit(self, digital)
        if nd_months.any():
            nd_months -= nd_months > 0
        auth_mod.advance_broadband(self)
        firm_mod.close_and_create(self)
        plat_mod.survival(self)
        self._refresh_aggregates()
        markets.housing_market(self)
        self._update_shop_utility()
        hh_mod.relocate(self)
        self._refresh_aggregates()
        if self.steps % 12 == 0:
            firm_mod.update_agglomeration(self)  # yearly, from the current density
        markets.congestion(self)
        self._collect()

    def _collect(self) -> None:
        self.map_measures, terr = measures.compute(self)
        self.datacollector.collect(self)
        self._history_map.append(dict(self.map_measures))
        self._history_terr.append(terr.astype(np.float32))

    # ------------------------------------------------------------------ running
    def run(self, years: float = 20, *, progress: bool = False) -> Results:
        """Run ``years`` simulated years (12 steps each) and return the results.

        Args:
            years: simulated years (months = round(12 x years)).
            progress: show a progress bar (tqdm) on standard error.
        """
        from simulation.engine.results import Results

        n = int(round(12 * years))
        if progress:
            from tqdm.auto import tqdm

            for _ in tqdm(range(n), desc=f"{self.scenario_name} seed {self.seed}", unit="month",
                          leave=False):
                self.step()
        else:
            for _ in range(n):
                self.step()
        return Results.from_model(self)

    def results(self) -> Results:
        """Results of the steps run so far."""
        from simulation.engine.results import Results

        return Results.from_model(self)


def _location_constants(tmap: TerritoryMap,
                        given: Mapping[str, float] | Sequence[float] | None) -> np.ndarray:
    """Alternative-specific constants of the location choice by territory (utility, K).

    ``given`` as a mapping code -> value (other codes 0) or K values in map order; None
    takes the map's ``location_constant`` attribute if any, else the shipped calibrated
    constants of this map (:mod:`simulation.engine.calibrated`) if any, else zeros.

    Raises:
        ParameterError: unknown codes, a wrong length or non-finite values.
    """
    K = tmap.n
    if given is None:
        given = getattr(tmap, "location_constant", None)
    if given is None:
        from simulation.engine import calibrated

        given = calibrated.location_constants(tmap.name)
        if given is not None and set(given) != set(map(str, tmap.codes)):
            given = None   # another version of the map: the constants do not apply
        if given is None:
            return np.zeros(K)
    if isinstance(given, Mapping):
        index = {c: i for i, c in enumerate(tmap.codes)}
        unknown = sorted(str(c) for c in given if str(c) not in index)
        if unknown:
            raise ParameterError(f"location_constants: unknown territory codes {unknown[:5]}")
        out = np.zeros(K)
        for c, v in given.items():
            out[index[str(c)]] = float(v)
    else:
        out = np.asarray(given, dtype=float).reshape(-1)
        if out.size != K:
            raise ParameterError(f"location_constants: {out.size} values for {K} territories")
        out = out.copy()
    if not np.isfinite(out).all():
        raise ParameterError("location_constants must be finite numbers")
    return out


def _start_year(tmap: TerritoryMap, start_year: int | None) -> int:
    """Calendar year of the start: the map's data year, else ``start_year``, else 2023."""
    from simulation.world.dept_data import LATEST_START_YEAR, StartYearError

    if tmap.start_year is not None:
        if start_year is not None and int(start_year) != tmap.start_year:
            raise StartYearError(f"start_year {start_year} differs from the map's data year "
                                 f"{tmap.start_year}")
        return int(tmap.start_year)
    if start_year is None:
        return LATEST_START_YEAR
    if isinstance(start_year, bool) or not isinstance(start_year, int | np.integer) \
            or not 1900 <= start_year <= 2200:
        raise StartYearError(f"start_year must be a calendar year (an integer between 1900 "
                             f"and 2200), got {start_year!r}")
    return int(start_year)


from simulation.engine.results import Results  # noqa: E402  (type of run())
