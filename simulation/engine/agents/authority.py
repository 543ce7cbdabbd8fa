"""Local authorities: one per territory, with a budget that feeds back.

Revenue: local taxes on households (``local_tax_household``) and firms
(``local_tax_firm``), the platforms' local taxes, and the state grant with equalisation::

    grant_k = G x H_k x [(1 - e) + e x (mean base / base_k)] / normaliser

(``G``: ``state_grant_per_household``; ``H_k``: real households; ``base_k``: own tax revenue
per household, smoothed; ``e``: ``equalisation``; the normaliser keeps the total at G x H).

Spending: current local services, ``authority_service_share`` of the smoothed revenue,
bought from the territory's proximity firms; then the programmes it pays for (counters,
France Services, mediators, tiers-lieux grants, broadband works, New-Deal subsidies,
support to local cooperative platforms), each
with a payer (the state, the authority or the region's authorities together). By default
(``DEFAULT_PAYERS``, French practice) the state pays the counters of national operators
and authorities run France Services and mediators with a flat state subsidy per house
or post (``COFUNDING``), so a shrinking tax base can force them to close. Without
``allow_debt`` an authority never spends money it does not have: the programmes it pays for
are scaled down to its available cash, and the services they provide shrink accordingly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel

PAYERS = ("state", "authority", "region")
PROGRAMMES = ("counters", "france_services", "mediators", "tiers_lieux", "broadband",
              "new_deal", "local_platform")
# who pays each programme at start, following French practice (docs/ODD.md 7.12): the
# counters of national operators (DGFiP, CAF, CPAM, La Poste) are paid nationally; France
# Services houses and digital mediators are run and paid by communes and intercommunalities,
# with a flat state subsidy (``state_share``); the others are set by their policies
DEFAULT_PAYERS = {"counters": "state", "france_services": "authority",
                  "mediators": "authority", "tiers_lieux": "state", "broadband": "state",
                  "new_deal": "state", "local_platform": "state"}
# flat state subsidy per unit of each co-funded programme (parameter) and the unit's cost
COFUNDING = {"france_services": ("france_services_state_subsidy", "france_services_cost"),
             "mediators": ("mediator_state_subsidy", "mediator_cost")}


class Authority(Agent):
    """The local authority of one territory (a view on the model's budget arrays)."""

    def __init__(self, model: TerritoryModel, territory: int) -> None:
        super().__init__(model)
        self.territory_index = int(territory)

    @property
    def territory(self) -> str:
        """Code of the territory."""
        return self.model.tmap.codes[self.territory_index]

    @property
    def cash(self) -> float:
        """Cash (EUR); negative only where debt is allowed."""
        return float(self.model.auth.cash[self.territory_index])

    @property
    def revenue(self) -> float:
        """Revenue of the last month (EUR/month)."""
        return float(self.model.auth.revenue[self.territory_index])

    @property
    def spending(self) -> float:
        """Spending of the last month (EUR/month)."""
        return float(self.model.auth.spending[self.territory_index])

    def __repr__(self) -> str:
        return f"Authority({self.territory}, cash={self.cash:.0f}, revenue={self.revenue:.0f})"


class AuthorityArrays:
    """Budget arrays of the authorities (EUR, EUR/month), index = territory."""

    def __init__(self, K: int) -> None:
        self.cash = np.zeros(K)
        self.revenue = np.zeros(K)
        self.rev_ewma = np.zeros(K)
        self.own_base = np.zeros(K)
        self.spending = np.zeros(K)
        self.payer = {prog: np.full(K, PAYERS.index(DEFAULT_PAYERS[prog]), dtype=np.int8)
                      for prog in PROGRAMMES}


def state_share(model: TerritoryModel, programme: str) -> float:
    """Share of a programme run by a local authority that the state pays (0-1).

    ``min(1, subsidy / unit cost)`` for the co-funded programmes (France Services,
    mediators: a flat subsidy per house or post), 0 for the others.
    """
    if programme not in COFUNDING:
        return 0.0
    sub, cost = COFUNDING[programme]
    unit = float(model.p[cost])
    return 1.0 if unit <= 0 else min(1.0, float(model.p[sub]) / unit)


def state_grant(model: TerritoryModel) -> np.ndarray:
    """State grant to each authority this month (EUR), with equalisation."""
    p = model.p
    a = model.auth
    H = model.real_households
    base = np.maximum(a.own_base / np.maximum(H, 1.0), 1e-6)
    mean_base = (a.own_base.sum() / H.sum()) if H.sum() > 0 else 1.0
    weight = H * ((1 - p.equalisation) + p.equalisation * mean_base / base)
    total = p.state_grant_per_household * H.sum()
    return total * weight / weight.sum()


def programme_costs(model: TerritoryModel) -> dict[str, np.ndarray]:
    """Full monthly cost of each programme in each territory (EUR), before funding limits."""
    p = model.p
    t = model.terr
    return {
        "counters": (t.counters_tax + t.counters_social + t.counters_post) * p.counter_cost,
        "france_services": t.france_services * p.france_services_cost,
        "mediators": t.mediators * p.mediator_cost,
        "tiers_lieux": t.tl_supported * p.tiers_lieu_grant,
        "broadband": t.broadband_works,
        "new_deal": model.newdeal_cost,
        "local_platform": model.local_platform_support * model.real_households
        * model.platforms.local_active,
    }


def fund_programmes(model: TerritoryModel, available: np.ndarray) -> dict:
    """Decide what share of each programme is funded, and who pays what where.

    Programmes paid by the state are always funded. Programmes paid by an authority are
    scaled by ``min(1, available cash / need)`` unless ``allow_debt``; programmes paid by the
    region are shared among the region's authorities pro rata their smoothed revenue, and
    funded at the region's average scale. Of a co-funded programme run by an authority or
    a region, the state pays :func:`state_share` of what runs (its subsidy follows the
    houses and posts that stay open) and the authorities the rest, which alone enters their
    need.

    Args:
        model: the model.
        available: cash each authority can still spend this month (EUR).

    Returns:
        dict with, per programme: ``funded`` (share 0-1 by territory where it runs),
        ``spent_state`` and ``spent_auth`` (EUR by territory where it runs, by payer),
        ``paid_auth`` (EUR by paying authority); and ``costs``.
    """
    p = model.p
    a = model.auth
    costs = programme_costs(model)
    reg = model.region_index
    R = int(reg.max()) + 1
    rev = np.maximum(a.rev_ewma, 1.0)
    rev_reg = np.bincount(reg, weights=rev, minlength=R)
    pay_share = rev / rev_reg[reg]
    need = np.zeros(model.K)
    by_region = {}  # cost of each programme paid by the regions, by region
    z = {prog: state_share(model, prog) for prog in costs}
    for prog, cost in costs.items():
        payer = a.payer[prog]
        local = (1.0 - z[prog]) * cost  # the authorities' part
        need += np.where(payer == 1, local, 0.0)
        regc = by_region[prog] = np.bincount(reg, weights=np.where(payer == 2, local, 0.0),
                                             minlength=R)
        need += regc[reg] * pay_share
    if p.allow_debt:
        scale = np.ones(model.K)
    else:
        scale = np.where(need > 0,
                         np.clip(np.maximum(available, 0.0) / np.maximum(need, 1e-9), 0.0, 1.0),
                         1.0)
    reg_scale = np.bincount(reg, weights=scale * rev, minlength=R) / rev_reg
    out: dict = {"costs": costs, "funded": {}, "spent_state": {}, "spent_auth": {},
                 "paid_auth": {}}
    for prog, cost in costs.items():
        payer = a.payer[prog]
        funded = np.where(payer == 0, 1.0, np.where(payer == 1, scale, reg_scale[reg]))
        out["funded"][prog] = funded
        out["spent_state"][prog] = np.where(payer == 0, cost, z[prog] * cost * funded)
        out["spent_auth"][prog] = np.where(payer == 0, 0.0, (1.0 - z[prog]) * cost * funded)
        out["paid_auth"][prog] = np.where(payer == 1, (1.0 - z[prog]) * cost * scale, 0.0) \
            + by_region[prog][reg] * pay_share * scale
    return out


def plan_broadband(model: TerritoryModel) -> None:
    """Cost of this month's broadband works where a roll-out is under way (EUR).

    Coverage moves towards ``rollout_target`` at ``rollout_pace`` (coverage points per year).
    Cost per premise: ``broadband_cost_dense x min(8, (national density / density)^0.5)``;
    premises = 1.1 x real households (homes and businesses).
    """
    t = model.terr
    p = model.p
    gap = np.maximum(t.rollout_target - t.broadband, 0.0)
    t.rollout_step = np.minimum(gap, t.rollout_pace / 12.0)
    premises = 1.1 * model.real_households
    cost_pp = p.broadband_cost_dense * model.broadband_cost_factor
    t.broadband_works = t.rollout_step * premises * cost_pp


def advance_broadband(model: TerritoryModel) -> None:
    """Raise coverage by the part of this month's works that was funded."""
    t = model.terr
    t.broadband = np.clip(t.broadband + t.rollout_step * t.broadband_funded, 0.0, 1.0)
