"""Households: state held in numpy arrays, one Mesa agent per household as its public face.

A household agent stands for ``model.household_weight`` real households. Its state lives in
:class:`HouseholdArrays` (one slot per agent, slots of dissolved households are reused), so
that every monthly process below works on whole arrays at once. The
:class:`Household` Mesa agent is a view: its attributes read the arrays, so users can
query ``model.agents_by_type[Household]`` as in any Mesa model.

Processes (each a function of the model, called by the schedule in ``model.py``):
    :func:`demography`: ageing, retirement, dissolution, formation of new households.
    :func:`work_and_commute`: telework days, commuting kilometres and CO2.
    :func:`use_services`: eligibility to rights, claims and take-up at a counter, online or
        with a mediator (non-take-up otherwise); learning (digital literacy).
    :func:`channel_shares`: split of the proximity basket between local shops, the global
        platform and the local platform (multinomial logit).
    :func:`relocate`: discrete (logit) choice of territory by households considering a move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from mesa import Agent

from simulation.engine import kernels, transfers
from simulation.engine.agents.slots import SlotArrays

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel
from simulation.engine.population import population, population_changed

SKILLS = ("low", "mid", "high")
AGE_BANDS = ((20, 30), (30, 45), (45, 60), (60, 75), (75, 95))
AGE_BAND_SHARES = (0.10, 0.24, 0.27, 0.24, 0.15)  # reference persons, INSEE order of magnitude
# Mean literacy by age band, normal sd 0.2: calibrated so that the shares below 0.3 are
# 2 %, 4 %, 8 %, 20 % and 50 % (INSEE Première 1953: illectronism by age, 2021).
LITERACY_MEAN = (0.711, 0.650, 0.581, 0.468, 0.300)
LITERACY_SD = 0.2
INCOME_FLOOR = 50.0  # EUR/month, floor used in logarithms (Theil, location utility)


class HouseholdArrays(SlotArrays):
    """Per-household state, one slot per household agent (EUR, months, years, shares).

    Args:
        capacity: initial number of slots.
    """

    FIELDS = {
        "alive": bool, "home": np.int32, "age": float, "skill": np.int8,
        "literacy": float, "employer": np.int32, "remote_capable": bool,
        "premise_u": float, "owner": bool, "wage": float, "income": float,
        "pretransfer": float, "savings": float, "cap_income": float, "unemp_months": np.int32,
        "taken_up": bool, "eligible": bool, "telework_days": float, "commute_km": float,
        "newdeal_months": np.int32, "helped": bool, "hours": float, "telework_u": float,
    }

    FILL = {"employer": -1}


class Household(Agent):
    """A household agent (a view on :class:`HouseholdArrays`, slot ``idx``).

    Attributes read from the arrays: ``territory`` (code), ``age`` (years), ``skill``,
    ``literacy`` (0-1), ``employer`` (a :class:`~simulation.engine.agents.firm.Firm` or None),
    ``income`` (EUR/month, disposable), ``savings`` (EUR), ``telework_days`` (days/week),
    ``has_broadband``, ``takes_up_rights``.
    """

    batch_registration: ClassVar[bool] = True  # see ModelBase.new_agents

    def __init__(self, model: TerritoryModel, idx: int) -> None:
        super().__init__(model)
        self.idx = int(idx)

    @property
    def _a(self) -> HouseholdArrays:
        return self.model.hh

    @property
    def territory(self) -> str:
        """Code of the home territory."""
        return self.model.tmap.codes[int(self._a.home[self.idx])]

    @property
    def age(self) -> float:
        """Age of the reference person (years)."""
        return float(self._a.age[self.idx])

    @property
    def skill(self) -> str:
        """Skill level: low, mid or high."""
        return SKILLS[int(self._a.skill[self.idx])]

    @property
    def literacy(self) -> float:
        """Digital literacy, 0 to 1."""
        return float(self._a.literacy[self.idx])

    @property
    def employed(self) -> bool:
        """Whether the household's earner has a job."""
        return bool(self._a.employer[self.idx] >= 0)

    @property
    def employer(self):
        """The employing Firm agent, or None."""
        f = int(self._a.employer[self.idx])
        return None if f < 0 else self.model.firms.agents[f]

    @property
    def income(self) -> float:
        """Disposable income of the last month (EUR/month)."""
        return float(self._a.income[self.idx])

    @property
    def savings(self) -> float:
        """Savings (EUR)."""
        return float(self._a.savings[self.idx])

    @property
    def telework_days(self) -> float:
        """Telework days per week."""
        return float(self._a.telework_days[self.idx])

    @property
    def has_broadband(self) -> bool:
        """Whether the home premise has very-high-speed access."""
        return bool(self._a.premise_u[self.idx] < self.model.terr.broadband[self._a.home[self.idx]])

    @property
    def takes_up_rights(self) -> bool:
        """Whether the household currently receives the minimum income it is eligible for."""
        return bool(self._a.taken_up[self.idx])

    def __repr__(self) -> str:
        return (f"Household(id={self.unique_id}, territory={self.territory}, age={self.age:.0f}, "
                f"skill={self.skill}, employed={self.employed}, income={self.income:.0f})")








# --------------------------------------------------------------------------- helpers
def connected(model: TerritoryModel, idx: np.ndarray | None = None) -> np.ndarray:
    """Whether households have broadband at home (premise draw below the coverage)."""
    h = model.hh
    if idx is None:
        return h.premise_u < model.terr.broadband[population(model).home]
    return h.premise_u[idx] < model.terr.broadband[h.home[idx]]


def remote_access(model: TerritoryModel) -> np.ndarray:
    """Whether each household can work remotely: broadband at home or a tiers-lieu seat.

    Tiers-lieux seats in a territory are shared among its remote-capable households without
    home broadband; a household gets a seat with probability min(1, seats / demand).
    """
    h = model.hh
    home = population(model).home
    bb = model.terr.broadband
    conn = _connected_all(model)
    need = h.remote_capable & ~conn
    need &= h.alive
    demand = np.bincount(home[np.flatnonzero(need)], minlength=model.K).astype(float)
    seats = (model.terr.tiers_lieux * model.tl_effective * model.p.tiers_lieu_seats
             / model.household_weight)
    p_seat = np.where(demand > 0, np.minimum(1.0, seats / np.maximum(demand, 1e-9)), 1.0)
    model.seat_share = p_seat  # kept for movers (remote_access_at) and location choice
    # deterministic in the household's premise draw: the same households get seats first
    # (threshold computed by territory: the same operations as per household)
    has_seat = need & (h.premise_u > (1.0 - p_seat * (1.0 - bb))[home])
    return conn | has_seat


def remote_access_share(model: TerritoryModel) -> np.ndarray:
    """Share of remote-capable households with remote access, by territory (0-1).

    Home broadband (coverage ``b``) or, without it, a tiers-lieu seat (the month's seat
    share ``s`` of :func:`remote_access`): ``b + s (1 - b)``.
    """
    bb = model.terr.broadband
    s = getattr(model, "seat_share", None)
    if s is None:
        return bb.astype(float)
    return bb + s * (1.0 - bb)


def _connected_all(model: TerritoryModel) -> np.ndarray:
    """:func:`connected` for every slot, shared by the processes of a step (read only).

    Kept for the current population version and step (premise draws change only with the
    population) as long as the coverage is the same.
    """
    pop = population(model)
    bb = model.terr.broadband
    cached = pop.derived.get("connected")
    if cached is not None and np.array_equal(cached[0], bb):
        return cached[1]
    conn = model.hh.premise_u < bb[pop.home]
    pop.derived["connected"] = (bb.copy(), conn)
    return conn


# --------------------------------------------------------------------------- creation
def create(model: TerritoryModel, idx: np.ndarray, home: np.ndarray, age: np.ndarray,
           rng: np.random.Generator, young: bool = False) -> None:
    """Fill slots ``idx`` with new households and create their Mesa agents.

    Args:
        model: the model.
        idx: slot indices (dead slots).
        home: territory index of each new household.
        age: age of each reference person (years).
        rng: generator of the calling process (init or demography stream).
        young: new households formed during the run (younger, more educated cohorts).
    """
    p = model.p
    h = model.hh
    n = idx.size
    h.alive[idx] = True
    h.home[idx] = home
    h.age[idx] = age
    probs = getattr(model, "skill_probs", None)
    if probs is not None:
        # observed income distribution of the territory (skill_probabilities)
        ph = np.clip(probs[home, 0] * (1.3 if young else 1.0), 0, 0.9)
        pm = np.clip(probs[home, 1] * (1.1 if young else 1.0), 0, 1.0 - ph)
    else:
        kind_mult = np.array([1.5, 1.1, 0.8, 0.7])[model.tmap.kind[home]]
        ph = np.clip(p.share_high_skill * kind_mult * (1.3 if young else 1.0), 0, 0.9)
        pm = np.full(n, p.share_mid_skill * (1.1 if young else 1.0))
    u = rng.random(n)
    h.skill[idx] = np.where(u < ph, 2, np.where(u < ph + pm, 1, 0))
    band = np.searchsorted([b[1] for b in AGE_BANDS], age, side="right").clip(0, 4)
    mean = np.asarray(LITERACY_MEAN)[band] + 0.04 * (h.skill[idx] - 1)
    h.literacy[idx] = np.clip(rng.normal(mean, LITERACY_SD), 0.0, 1.0)
    po = np.clip(p.owner_share + 0.3 * (age - 50.0) / 40.0, 0.05, 0.95)
    h.owner[idx] = rng.random(n) < (po if not young else 0.15)
    rshare = np.array([p.remote_share_low, p.remote_share_mid, p.remote_share_high])
    h.remote_capable[idx] = rng.random(n) < rshare[h.skill[idx]]
    h.premise_u[idx] = rng.random(n)
    # part-time work (half time): 30 % of low-skill, 10 % of mid-skill, 5 % of high-skill
    pt = np.array([0.30, 0.10, 0.05])[h.skill[idx]]
    h.hours[idx] = np.where(rng.random(n) < pt, 0.5, 1.0)
    h.employer[idx] = -1
    h.wage[idx] = 0.0
    h.income[idx] = 0.0
    h.pretransfer[idx] = 0.0
    h.cap_income[idx] = 0.0
    h.unemp_months[idx] = 0
    h.taken_up[idx] = False
    h.eligible[idx] = False
    h.telework_days[idx] = 0.0
    h.commute_km[idx] = 0.0
    h.newdeal_months[idx] = 0
    h.savings[idx] = 0.0
    # a worker with a remote-able job and access teleworks when this draw is below the
    # month's uptake (telework_uptake; drawn last so that the draws above are unchanged)
    h.telework_u[idx] = rng.random(n)
    for i, agent in zip(idx.tolist(), model.new_agents(Household, idx), strict=True):
        h.agents[i] = agent
    population_changed(model, added=idx)


# adult age classes of the population estimates (20-39, 40-59, 60-74, 75+) covering each age
# band of reference persons: years of the band in each class (AGE_BANDS)
_BAND_CLASS_YEARS = np.array([
    [10, 0, 0, 0],    # 20-30
    [10, 5, 0, 0],    # 30-45
    [0, 15, 0, 0],    # 45-60
    [0, 0, 15, 0],    # 60-75
    [0, 0, 0, 20],    # 75-95
], dtype=float)
Z_D9 = 1.2815515655446004  # standard normal quantile of 0.9


def age_band_shares(adults: np.ndarray) -> np.ndarray:
    """Shares of reference persons by age band (AGE_BANDS), by territory (K x 5, rows sum 1).

    The national shares :data:`AGE_BAND_SHARES` multiplied, for each band, by the ratio of
    the territory's share of adults in the band's age classes to the national share (the
    classes' ratios averaged over the band's years), then normalised.

    Args:
        adults: persons aged 20-39, 40-59, 60-74 and 75+ by territory (K x 4).
    """
    a = np.asarray(adults, dtype=float)
    share = a / a.sum(axis=1, keepdims=True)
    nat = a.sum(axis=0) / a.sum()
    ratio = share / nat                                     # K x 4
    w = _BAND_CLASS_YEARS / _BAND_CLASS_YEARS.sum(axis=1, keepdims=True)
    out = np.asarray(AGE_BAND_SHARES) * (ratio @ w.T)       # K x 5
    return out / out.sum(axis=1, keepdims=True)


def _above(t: float, deciles: np.ndarray) -> np.ndarray:
    """P(income > t) by territory under a log-normal through D1/median and median/D9."""
    from scipy.special import ndtr

    d1, med, d9 = deciles[:, 0], deciles[:, 1], deciles[:, 2]
    lt = np.log(t / med)
    z = np.where(lt >= 0, Z_D9 * lt / np.log(d9 / med), Z_D9 * lt / np.log(med / d1))
    return 1.0 - ndtr(z)


def skill_probabilities(model: TerritoryModel) -> np.ndarray | None:
    """Probability that a new household is high / mid skill, by territory (K x 2), or None.

    Where the map has observed income deciles (``tmap.income_deciles``: D1, median, D9 of
    disposable income per consumption unit), each territory's income distribution is a
    log-normal on each side of its median (through D1 below, D9 above); a household is
    high skill when its income is above the national threshold that the map's
    ``share_high_skill`` of households exceed, mid skill above the threshold of
    ``share_high_skill + share_mid_skill``, low skill below (thresholds solved for the
    household-weighted map). None on maps without income deciles (the rule by kind applies).
    """
    dec = model.tmap.income_deciles
    if dec is None:
        return None
    dec = np.asarray(dec, dtype=float)
    w = np.asarray(model.tmap.households, dtype=float)
    w = w / w.sum()
    p = model.p

    def threshold(share: float) -> float:
        lo, hi = float(dec[:, 0].min()) / 20.0, float(dec[:, 2].max()) * 20.0
        for _ in range(100):  # bisection on log income: the share above falls with t
            mid = np.sqrt(lo * hi)
            if float(w @ _above(mid, dec)) > share:
                lo = mid
            else:
                hi = mid
        return float(np.sqrt(lo * hi))

    high = _above(threshold(p.share_high_skill), dec)
    high_or_mid = _above(threshold(min(p.share_high_skill + p.share_mid_skill, 0.999)), dec)
    return np.column_stack([high, high_or_mid - high])


def reference_wage(model: TerritoryModel, skill: np.ndarray) -> np.ndarray:
    """Reference wage of a skill level at average productivity (EUR/month)."""
    return wage_table(model)[skill]


def wage_table(model: TerritoryModel) -> np.ndarray:
    """Reference wages of the low, mid and high skill levels (EUR/month)."""
    p = model.p
    return np.array([p.wage_low, p.wage_mid, p.wage_high])


def slot_reference_wage(model: TerritoryModel) -> np.ndarray:
    """Reference wage of every slot's skill level (0-skill value in dead slots; read only).

    Kept for the current population version and step while the wage parameters are the
    same.
    """
    pop = population(model)
    table = wage_table(model)
    cached = pop.derived.get("reference_wage")
    if cached is None or not np.array_equal(cached[0], table):
        cached = (table, table[pop.skill])
        pop.derived["reference_wage"] = cached
    return cached[1]


# --------------------------------------------------------------------------- demography
def demography(model: TerritoryModel) -> None:
    """Age households; retire, dissolve and form households (monthly).

    Dissolved households' savings are spread over the other households of their territory
    (local heirs; booked as a household-to-household bequest). New households are formed at rate
    ``formation_rate`` in the territory of a random household aged 40-75, which gives them
    a start-up transfer of 3 months of its income, and consider moving in their first month.
    """
    p = model.p
    h = model.hh
    K = model.K
    rng = model.streams["demography"]
    alive = population(model).alive
    # ageing, retirement (leaving the labour force) and dissolution (monthly probabilities:
    # the yearly rates / 12, by age band), in one pass
    rate = np.array([p.dissolution_rate_young, p.dissolution_rate_senior,
                     p.dissolution_rate_old]) / 12.0
    u = rng.random(alive.size)
    dying = np.empty(alive.size, dtype=np.intp)
    parents_pool = np.empty(alive.size, dtype=np.intp)
    n_d, n_p = kernels.ageing_pass(alive, h.age, h.employer, h.wage, float(p.retirement_age),
                                   u, rate, dying, parents_pool)
    dying = dying[:n_d]
    parents_pool = parents_pool[:n_p]  # households aged 40-75 that stay
    model.counters["dissolutions"] = np.bincount(h.home[dying], minlength=K)
    if dying.size:
        # the estate is spread over the other households of the territory (local heirs)
        W = model.household_weight
        estate = np.bincount(h.home[dying], weights=h.savings[dying], minlength=K) * W
        model.remove_agents([h.agents[i] for i in dying.tolist()])
        for i in dying.tolist():
            h.agents[i] = None
        h.clear(dying)
        population_changed(model, removed=dying)
        _, dst = transfers.distribute(model, estate, "uniform", into=h.savings)
        model.ledger.book("bequest", "household", "household", estate, dst)
    # formation
    n_new = rng.poisson(p.formation_rate / 12.0 * population(model).alive.size)
    if n_new and parents_pool.size:
        parents = parents_pool[rng.integers(0, parents_pool.size, n_new)]
        slots = h.free_slots(n_new)
        gift = np.clip(3.0 * h.income[parents], 0.0, np.maximum(h.savings[parents], 0.0))
        create(model, slots, h.home[parents], rng.uniform(20.0, 28.0, n_new), rng, young=True)
        np.add.at(h.savings, parents, -gift)
        h.savings[slots] += gift
        vec = np.bincount(h.home[slots], weights=gift, minlength=K)
        model.ledger.book("start_up_gift", "household", "household", vec, vec)
        model.new_households = slots
    else:
        model.new_households = np.zeros(0, dtype=np.int64)
    model.counters["formations"] = np.bincount(h.home[model.new_households], minlength=K)


# --------------------------------------------------------------------------- work
def work_and_commute(model: TerritoryModel, emp: np.ndarray | None = None) -> None:
    """Set telework days, commuting kilometres (per month) for employed households.

    A worker whose employer is in another territory beyond ``max_commute_min`` works fully
    remotely (5 days) if the job is remote-able and he has remote access. A
    worker with a remote-able job and remote access (home broadband or a tiers-lieu seat)
    teleworks ``telework_days`` days a week if he is among the ``telework_uptake`` share of
    them who do (a uniform draw per household, kept for life); the others commute every
    working day. Commuting
    distance is the travel time converted at ``KM_PER_MIN`` = 0.9 km/min (about 54 km/h; a
    documented simplification).

    Args:
        model: the model.
        emp: ascending indices of the employed households, if the caller has them (as
            returned by :func:`simulation.engine.markets.labour_market`); computed otherwise.
    """
    p = model.p
    h = model.hh
    if emp is None:
        emp = np.flatnonzero(h.employer >= 0)
    h.telework_days[:] = 0.0
    h.commute_km[:] = 0.0
    kernels.commute_pass(emp, population(model).home, h.employer, model.firms.terr,
                         model.travel_eff, model.reach, h.remote_capable, model.remote_ok,
                         float(p.telework_days), float(p.workdays_per_month),
                         float(model.km_per_min), h.telework_days, h.commute_km,
                         h.telework_u, float(p.telework_uptake))


# --------------------------------------------------------------------------- services
def counter_access(model: TerritoryModel) -> np.ndarray:
    """Share of each territory's households within reach of a counter or France Services."""
    t = model.terr
    n = t.counters_tax * t.counters_funded + t.counters_social * t.counters_funded \
        + t.france_services * t.fs_funded
    covered = n * np.pi * model.p.counter_reach_km ** 2 / np.maximum(model.tmap.area_km2, 1.0)
    return 1.0 - np.exp(-covered)


def use_services(model: TerritoryModel) -> None:
    """Claims and take-up of the minimum income; mediated learning of digital literacy.

    A household is eligible when its income before the minimum income is below
    ``minimum_income``. Each month an eligible household (re)applies with probability
    ``claim_renewal_rate``; it then takes the right up with probability::

        o + (1 - o) * (a * takeup_counter + (1 - a) * m)

    (procedures are online first; a household that cannot complete them alone needs a
    counter within reach or a mediator)

    where ``a`` is the counter access of its territory, ``o`` its online ability
    (``takeup_online`` x literacy above the threshold x connectivity) and ``m`` the chance
    that a mediator or France Services adviser helps (``takeup_mediated`` x min(1, capacity /
    demand)). Households that stop being eligible lose the right.
    """
    p = model.p
    h = model.hh
    t = model.terr
    rng = model.streams["services"]
    w = model.household_weight
    home = population(model).home
    n = h.capacity
    cand, weak_idx = np.empty(n, dtype=np.intp), np.empty(n, dtype=np.intp)
    n_c, n_w, demand = kernels.services_pass(h.alive, h.age, h.pretransfer,
                                             float(p.minimum_income), h.literacy, home,
                                             model.K, h.eligible, h.taken_up, cand, weak_idx)
    cand, weak_idx = cand[:n_c], weak_idx[:n_w]  # eligible households; weak users
    a = counter_access(model)
    model.service_access = a
    lit = h.literacy
    thr = p.illiteracy_threshold
    # mediation capacity (in household agents per month) against demand from households that
    # cannot manage online alone
    mediators = t.mediators * t.mediators_funded * p.mediator_caseload / w
    capacity = mediators + t.france_services * t.fs_funded * p.france_services_caseload / w
    weak_home = home[weak_idx]
    m_share = np.where(demand > 0, np.minimum(1.0, capacity / np.maximum(demand, 1e-9)), 1.0)
    model.mediation_share = m_share
    renew = cand[np.flatnonzero(rng.random(cand.size) < p.claim_renewal_rate)]
    hm = home[renew]
    med = p.takeup_mediated * m_share[hm]
    # online ability of the applicants only (literacy above the threshold, remote access)
    online = p.takeup_online * np.clip((lit[renew] - thr) / (1.0 - thr), 0.0, 1.0) \
        * model.remote_ok[renew]
    # procedures are online first: those who cannot finish alone need a counter (within
    # reach) or a mediator, so literacy matters everywhere, and most where counters close
    prob = online + (1 - online) * (a[hm] * p.takeup_counter + (1 - a[hm]) * med)
    h.taken_up[renew] = rng.random(renew.size) < prob
    # learning
    rl = model.streams["literacy"]
    # learning: digital mediators (not France Services desks) train weak users
    learn_share = np.where(demand > 0, np.minimum(1.0, mediators / np.maximum(demand, 1e-9)),
                           1.0)
    helped = weak_idx[np.flatnonzero(rl.random(weak_idx.size) < learn_share[weak_home])]
    h.helped[:] = False
    h.helped[helped] = True
    h.literacy[helped] += p.literacy_mediated_gain * (1.0 - h.literacy[helped])
    # connected households under 75 learn, those over 75 lose literacy: changes times a
    # 0/1 factor (the others change by exactly zero; cheaper than selecting them)
    kernels.literacy_pass(h.alive, h.age, _connected_all(model), lit,
                          float(p.literacy_learning), float(p.literacy_decline_old))


# --------------------------------------------------------------------------- consumption
def channel_shares(model: TerritoryModel, idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Shares of the proximity basket bought at local shops, global and local platforms.

    Multinomial logit over three channels for households ``idx``::

        U_shop  = shop_density_weight * log(proximity capacity per household / initial)
        U_glob  = global convenience (+ growth, push, network effect)
                  + literacy_weight * (literacy - 0.6) - 0.5 * (no home broadband)
        U_local = local convenience + network effect (only where a local platform runs)

    Households below the illiteracy threshold do not buy online alone (online utility -8).

    Returns:
        Three arrays (shop, global, local) of shares summing to 1.
    """
    h = model.hh
    shop, local = channel_tables(model)
    home = h.home[idx]
    ex_s = shop[home]
    ex_g = online_weight(model, h.literacy[idx], model.remote_ok[idx])
    ex_l = np.zeros(ex_g.size, np.float32) if local is None else local[home] * ex_g
    tot = ex_s + ex_g + ex_l
    return ex_s / tot, ex_g / tot, ex_l / tot


def channel_tables(model: TerritoryModel) -> tuple[np.ndarray, np.ndarray | None]:
    """exp(U_shop) and exp(U_local - U_online) by territory, relative to the global channel.

    float32 is ample for shares and halves the cost of the exponentials. The local table is
    None where no local platform runs anywhere (the local channel weighs zero then).
    """
    pl = model.platforms
    shop = np.exp(model.shop_utility - pl.global_utility).astype(np.float32)
    if not pl.local_active.any():
        return shop, None
    rel = np.where(pl.local_active, np.exp(pl.local_utility - pl.global_utility), 0.0)
    return shop, rel.astype(np.float32)


def online_weight(model: TerritoryModel, lit: np.ndarray, conn: np.ndarray) -> np.ndarray:
    """exp(U_glob - global utility) of households with literacy ``lit``, access ``conn``."""
    p = model.p
    online = (p.literacy_weight * (lit.astype(np.float32) - np.float32(0.6))
              - np.float32(0.5) * (~conn))
    online[np.flatnonzero(lit < p.illiteracy_threshold)] = -8.0
    return np.exp(online, out=online)


# --------------------------------------------------------------------------- relocation
def search_income(model: TerritoryModel) -> np.ndarray:
    """Expected monthly income while searching (EUR), by skill (rows) and territory (3 x K).

    The reference wage of the skill times the territory's relative wage level times its
    employment rate, plus half the unemployment benefit times the unemployment rate.
    """
    p = model.p
    ref = wage_table(model)[:, None]  # by skill (3 x 1)
    emp_rate = model.employment_rate_terr  # K
    local_wage = model.wage_level_terr      # K, relative wage level
    return ref * local_wage[None, :] * emp_rate[None, :] \
        + (1 - emp_rate[None, :]) * p.unemployment_benefit_rate * ref * 0.5


def location_utility(model: TerritoryModel, idx: np.ndarray) -> np.ndarray:
    """Utility of each territory (columns) for households ``idx`` (rows); see ODD 7.9.

    Expected income in each territory: income while searching (:func:`search_income`) for
    those without a job; a worker keeps the job where it stays within commuting reach, or,
    remote-capable, where the new home has broadband (probability = coverage), and mixes
    the wage and a local search otherwise; plus capital income; retired households keep
    their income before transfers; employed commuters pay the commuting cost (less with
    telework); everyone gets the expected minimum-income top-up. The utility combines its
    log, the rent burden, amenities, the log of the territory's housing stock
    (``beta_size``, McFadden 1978) and its alternative-specific constant
    (``terr.location_constant``), distance from the current home, attachment to it and
    New-Deal offers (:func:`simulation.engine.kernels.utility_matrix`).
    """
    p = model.p
    h = model.hh
    t = model.terr
    # rent by territory for renters (row 0) and owners (row 1)
    rent_tab = np.array([1.0, 0.3])[:, None] * p.rent_base * t.price[None, :]
    # McFadden (1978) size term (log dwellings; a territory aggregates its dwellings) and
    # the territory's alternative-specific constant
    place = (p.beta_amenity * t.amenity
             + p.beta_size * np.log(np.maximum(t.housing_stock, 1e-9)) + t.location_constant)
    # no direct utility of broadband or tiers-lieux: they act through remote access (keeping
    # a job out of reach, telework days, online take-up of rights)
    digital = np.zeros(model.K)
    age = h.age[idx]
    retired = age >= p.retirement_age
    eligible = (age < p.retirement_age) & ((h.employer[idx] < 0) | h.remote_capable[idx])
    offers = new_deal_offer_chance(model, int(eligible.sum()))
    return kernels.utility_matrix(
        idx, h.skill, h.employer, model.firms.terr, h.wage, h.remote_capable, h.cap_income,
        retired, h.pretransfer, h.owner, h.home, eligible, search_income(model), model.reach,
        remote_access_share(model), rent_tab, place, digital,
        p.distance_decay * model.travel_base, float(p.attachment),
        offers, float(p.new_deal_bonus), float(p.beta_income), float(p.beta_housing),
        INCOME_FLOOR, model.travel_eff, h.telework_u, float(p.telework_days),
        float(p.telework_uptake), commute_cost_per_minute(model), h.literacy, *takeup_terms(model),
        float(p.illiteracy_threshold), float(p.minimum_income))


def new_deal_offer_chance(model: TerritoryModel, n_eligible: int) -> np.ndarray:
    """By territory: the chance (0-1) that an eligible mover choosing it gets a New-Deal job.

    ``min(1, offers_k / eligible movers) x min(1, vacancies_k / offers_k)``: offers are
    shared among this month's eligible movers (household agents), and an offer is worth a
    job only where a firm has a vacancy for it (the remote-capable employed, who keep their
    job, are counted like the others: a simplification). Times ``new_deal_bonus`` this is
    the expected value of an offer in the location utility (ODD 7.9).
    """
    t = model.terr
    offer_agents = t.newdeal_offers / model.household_weight
    if not (offer_agents > 0).any():
        return np.zeros(model.K)
    vac = np.bincount(model.firms.terr.astype(np.intp), weights=model.firms.open_vacancies(),
                      minlength=model.K)
    share = np.minimum(1.0, offer_agents / max(n_eligible, 1))
    backed = np.minimum(1.0, vac / np.maximum(offer_agents, 1e-12))
    return np.where(offer_agents > 0, share * backed, 0.0)


def takeup_terms(model: TerritoryModel) -> tuple[np.ndarray, np.ndarray]:
    """By territory: take-up chance without online ability, online factor (two K arrays).

    ``a x takeup_counter + (1 - a) x takeup_mediated x m`` (counter access ``a``, mediation
    share ``m`` of this month) and ``takeup_online x`` the remote-access share: with the
    literacy factor of a household, :func:`use_services`' take-up probability there.
    """
    p = model.p
    a = np.asarray(model.service_access, dtype=float)
    m = np.asarray(model.mediation_share, dtype=float)
    helped = a * p.takeup_counter + (1.0 - a) * p.takeup_mediated * m
    return helped, p.takeup_online * remote_access_share(model)


def commute_cost_per_minute(model: TerritoryModel) -> float:
    """Monthly fuel cost of one minute of one-way commuting, every working day (EUR/minute).

    ``2 x KM_PER_MIN x workdays_per_month x fuel_price``: the cost households pay for
    commuting in the income circuit (:func:`work_and_commute`), here in the location choice.
    """
    p = model.p
    return float(2.0 * model.km_per_min * p.workdays_per_month * p.fuel_price)


ATTRACTIVENESS_SAMPLE = 1_500  # households whose choice probabilities are observed monthly


def observe(model: TerritoryModel, alive: np.ndarray) -> None:
    """Expected relocation choices of a random sample of households (stays excluded)."""
    rng = model.streams["observation"]
    n = min(alive.size, ATTRACTIVENESS_SAMPLE)
    sample = alive[rng.choice(alive.size, size=n, replace=False)] if n < alive.size else alive
    model.choice_prob = kernels.expected_choices(location_utility(model, sample),
                                                 model.hh.home[sample])


def relocate(model: TerritoryModel) -> None:
    """Households considering a move choose a territory by multinomial logit.

    Considering households are a ``move_rate`` share of all households, plus all households
    formed this month. A mover whose job becomes unreachable (beyond ``max_commute_min``
    without remote access) quits it. A mover who takes up a New-Deal offer gets a job in a
    firm of the new territory and the housing subsidy.

    Attractiveness is measured on an observation sample (``ATTRACTIVENESS_SAMPLE`` = 1,500
    households drawn each month from their own stream, so that measuring changes no draw of
    the model): the sum of their logit probabilities of choosing each territory, stays
    excluded, is each territory's expected share of relocation choices. Using the movers
    alone would make the measure very noisy for small territories.
    """
    p = model.p
    h = model.hh
    K = model.K
    rng = model.streams["relocation"]
    alive = population(model).alive
    # each household considers moving with probability move_rate: a binomial number of
    # them, drawn without replacement (the same law as a draw per household, without
    # drawing for every household)
    n_cons = rng.binomial(alive.size, p.move_rate)
    cons = alive[rng.choice(alive.size, size=n_cons, replace=False)]
    cons = np.union1d(cons, model.new_households)
    model.counters["moves_in"] = np.zeros(K)
    model.counters["moves_out"] = np.zeros(K)
    model.counters["expected_moves_in"] = np.zeros(K)
    model.counters["expected_moves_out"] = np.zeros(K)
    model.counters["expected_stay_var"] = np.zeros(K)
    model.choice_prob = np.zeros(K)
    if cons.size == 0:
        return
    v = location_utility(model, cons)
    home = h.home[cons]
    # expected moves given the utilities (no draw): the calibration's fixed point of the
    # territory constants uses them (simulation.calibration.constants), free of choice noise
    e_in, e_out, stay_var = kernels.expected_flows(v, home.astype(np.intp))
    model.counters["expected_moves_in"] = e_in
    model.counters["expected_moves_out"] = e_out
    model.counters["expected_stay_var"] = stay_var
    observe(model, alive)
    # logit choice by inversion: one uniform draw per household on the cumulated
    # (unnormalised) choice probabilities, the same distribution as a Gumbel draw per
    # territory at a K-th of the draws
    choice = kernels.logit_choice(v, rng.random(cons.size))
    movers = cons[choice != home]
    dest = choice[choice != home]
    if movers.size == 0:
        return
    origin = h.home[movers]
    model.counters["moves_out"] = np.bincount(origin, minlength=K).astype(float)
    model.counters["moves_in"] = np.bincount(dest, minlength=K).astype(float)
    h.home[movers] = dest
    population_changed(model, moved=movers)
    h.premise_u[movers] = rng.random(movers.size)
    # jobs that become unreachable
    emp = movers[h.employer[movers] >= 0]
    if emp.size:
        work = model.firms.terr[h.employer[emp]]
        reach = model.reach[h.home[emp], work]
        remote = h.remote_capable[emp] & remote_access_at(model, emp)
        quit_ = emp[~(reach | remote)]
        h.employer[quit_] = -1
        h.wage[quit_] = 0.0
    # New-Deal offers
    t = model.terr
    nd = movers[(t.newdeal_offers[h.home[movers]] > 0) & (h.age[movers] < p.retirement_age)
                & ((h.employer[movers] < 0) | h.remote_capable[movers])]
    if nd.size:
        order = nd[np.argsort(h.home[nd], kind="stable")]
        for terr in np.unique(h.home[order]):
            grp = order[h.home[order] == terr]
            n_take = int(min(grp.size, np.floor(t.newdeal_offers[terr] / model.household_weight)
                             + (rng.random() < (t.newdeal_offers[terr] / model.household_weight)
                                % 1)))
            take = grp[:n_take]
            # a jobless taker needs a real vacancy in the territory (firms drawn in
            # proportion to their open vacancies); without one the offer is not taken
            jobless = take[h.employer[take] < 0]
            if jobless.size:
                f = model.firms
                vac = model.firms.open_vacancies()
                cand = np.flatnonzero((f.terr == terr) & (vac > 0))
                n_jobs = int(min(jobless.size, vac[cand].sum())) if cand.size else 0
                hired, jobless = jobless[:n_jobs], jobless[n_jobs:]
                if hired.size:
                    slots = np.repeat(cand, vac[cand].astype(np.int64))
                    firm = slots[rng.choice(slots.size, size=hired.size, replace=False)]
                    h.employer[hired] = firm
                    h.unemp_months[hired] = 0
                    np.add.at(f.employees, firm, 1)
                take = take[~np.isin(take, jobless)]
            if take.size == 0:
                continue
            t.newdeal_offers[terr] -= take.size * model.household_weight
            h.newdeal_months[take] = 12


def remote_access_at(model: TerritoryModel, idx: np.ndarray) -> np.ndarray:
    """Remote access of households ``idx`` at their current home.

    The rule of :func:`remote_access`: broadband at home, or a tiers-lieu seat, which goes
    to the households without broadband with the highest premise draws, in the territory's
    seat share of this month.
    """
    h = model.hh
    bb = model.terr.broadband
    home = h.home[idx]
    u = h.premise_u[idx]
    s = getattr(model, "seat_share", None)
    if s is None:
        return u < bb[home]
    return (u < bb[home]) | (u > (1.0 - s * (1.0 - bb))[home])
