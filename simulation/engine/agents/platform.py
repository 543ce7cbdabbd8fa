"""Platforms: one global platform (headquartered outside the map) and local cooperatives.

The global platform keeps a commission on every sale it intermediates. It pays a share of
its turnover in each territory as local tax (``global_local_tax_share``, plus any
``platform_tax`` lever); the rest of the commission is its margin, which leaves the map (it
is booked to the rest of the world: this is the leakage measure). Its pull on buyers grows
with its market share and its sellers' share (network effect), with its convenience
(``global_convenience`` rising by ``platform_growth`` a year) and with any marketing push.
Sellers pass part of the commission on to buyers: the platform's utility falls by
``commission_pass_through`` per unit of commission above or below 15 % (the calibration
point of ``global_convenience``), and commissions deter sellers from listing.
Optional strategy: the commission rises to ``global_commission_dominant`` once its market
share exceeds ``dominance_share``.

A local (cooperative) platform runs in a territory where a policy launches it. Its
commission stays in the territory: it pays local tax and distributes its surplus to the
territory's households (members). It needs users: below ``local_platform_min_share`` of the
territory's proximity spending for 12 consecutive months (after 12 months of grace), it
closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel


REFERENCE_COMMISSION = 0.15  # commission at which the convenience parameters are calibrated


class Platform(Agent):
    """A platform agent: the global one (``territory`` None) or a local cooperative."""

    def __init__(self, model: TerritoryModel, territory: int | None) -> None:
        super().__init__(model)
        self.territory_index = territory

    @property
    def is_global(self) -> bool:
        """True for the global platform, whose margin leaves the map."""
        return self.territory_index is None

    @property
    def territory(self) -> str | None:
        """Code of the home territory of a local platform (None for the global one)."""
        if self.territory_index is None:
            return None
        return self.model.tmap.codes[self.territory_index]

    @property
    def commission(self) -> float:
        """Current commission rate (share of each sale)."""
        pl = self.model.platforms
        if self.is_global:
            return pl.global_commission
        return float(self.model.local_commission()[self.territory_index])

    @property
    def market_share(self) -> float:
        """Share of proximity spending through this platform (map-wide or in its territory)."""
        pl = self.model.platforms
        return pl.global_share if self.is_global else float(pl.local_share[self.territory_index])

    def __repr__(self) -> str:
        where = "global" if self.is_global else f"local:{self.territory}"
        return f"Platform({where}, commission={self.commission:.2f}, share={self.market_share:.3f})"


class PlatformState:
    """Market shares, utilities and status of the platforms (shares 0-1, utilities)."""

    def __init__(self, model: TerritoryModel) -> None:
        K = model.K
        self.global_agent = Platform(model, None)
        self.local_agents: dict[int, Platform] = {}
        self.global_share = 0.0
        self.global_sellers = 0.0
        self.global_commission = model.p.global_commission
        self.global_utility = model.p.global_convenience
        self.local_active = np.zeros(K, dtype=bool)
        self.local_share = np.zeros(K)
        self.local_sellers = np.zeros(K)
        self.local_utility = np.zeros(K)
        self.local_low_months = np.zeros(K, dtype=np.int32)
        self.local_age = np.zeros(K, dtype=np.int32)
        self.local_cash = np.zeros(K)
        self.push = 0.0            # extra marketing push set by policies (utility)
        self.convenience_bonus = np.zeros(K)  # local platform convenience set by policies

    def launch_local(self, model: TerritoryModel, terr: np.ndarray) -> None:
        """Launch local cooperative platforms in territories ``terr`` (indices)."""
        for k in np.atleast_1d(terr):
            k = int(k)
            if not self.local_active[k]:
                self.local_active[k] = True
                self.local_age[k] = 0
                self.local_low_months[k] = 0
                self.local_agents[k] = Platform(model, k)

    def close_local(self, model: TerritoryModel, terr: np.ndarray) -> None:
        """Close the local platforms of territories ``terr`` (their sellers are delisted)."""
        for k in np.atleast_1d(terr):
            k = int(k)
            if self.local_active[k]:
                self.local_active[k] = False
                ag = self.local_agents.pop(k, None)
                if ag is not None:
                    ag.remove()
        model.firms.listed_local &= self.local_active[model.firms.terr]


def update(model: TerritoryModel) -> None:
    """Set commissions and buyers' utilities for this month from last month's shares."""
    p = model.p
    pl = model.platforms
    years = model.steps / 12.0
    pl.global_commission = (p.global_commission_dominant if pl.global_share > p.dominance_share
                            else p.global_commission)
    pl.global_utility = (p.global_convenience + p.platform_growth * years + p.platform_push
                         + pl.push + p.network_effect * (pl.global_share + 0.5 * pl.global_sellers)
                         - p.commission_pass_through * (pl.global_commission
                                                        - REFERENCE_COMMISSION))
    funded = getattr(model, "funded", {}).get("local_platform", 1.0)
    pl.local_utility = (p.local_convenience + pl.convenience_bonus * funded
                        + p.network_effect * (pl.local_share + 0.5 * pl.local_sellers)
                        - p.commission_pass_through * (model.local_commission()
                                                       - REFERENCE_COMMISSION))


def survival(model: TerritoryModel) -> None:
    """Close local platforms that stay below their survival share (after 12 months)."""
    p = model.p
    pl = model.platforms
    act = pl.local_active
    pl.local_age[act] += 1
    low = act & (pl.local_share < p.local_platform_min_share) & (pl.local_age > 12)
    pl.local_low_months = np.where(low, pl.local_low_months + 1, 0).astype(np.int32)
    closing = np.flatnonzero(pl.local_low_months >= 12)
    for k in closing:
        pl.local_active[k] = False
        ag = pl.local_agents.pop(int(k), None)
        if ag is not None:
            ag.remove()
    if closing.size:
        model.firms.listed_local &= pl.local_active[model.firms.terr]
