"""Transfers: amounts by territory split among the households of a kind.

Rents go to landlords, dividends and losses to capital owners (by skill), estates and
cooperative surpluses to every household: :func:`distribute` splits an amount by territory
(EUR) among a territory's households of that kind, exactly and in one pass. Used by the agents,
the markets and the model, so it sits below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulation.engine import kernels
from simulation.engine.population import population

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel


OWNER_WEIGHT = np.array([0.3, 1.0, 3.0])  # capital ownership by skill, assumption
_NO_MEMBER = np.zeros(0, dtype=bool)  # "every household" in kernels.spread


@dataclass
class Split:
    """How amounts by territory are split among the households of a kind (one population).

    Every member of a kind in a territory (and, for capital owners, of a skill level: their
    weight depends on it) gets the same share of its territory's amount. An amount is
    split by computing one value per class (territory, or territory x 3 + skill), gathering
    it by each slot's class and multiplying by membership (1 or 0: exact). Dead slots have
    a class past the last one, worth zero.

    Attributes:
        key: population key (see :func:`simulation.engine.agents.household.population`).
        kind: "uniform", "landlord" or "owner" (see :func:`household_split`).
        cls: class of every slot.
        member: whether each slot is of the kind (None: every live household is).
        cls_terr: territory of each class.
        share: each member's share of its territory's amount, by class (0 where the
            territory has no weight), then zeros for the classes of dead slots.
        tot: total weight by territory.
        orphan: territories without such households.
        by_terr: each territory's share of the map's total weight.
    """

    key: tuple
    kind: str
    cls: np.ndarray
    member: np.ndarray | None
    cls_terr: np.ndarray
    share: np.ndarray
    tot: np.ndarray
    orphan: np.ndarray
    by_terr: np.ndarray

    def slot_weights(self, model: TerritoryModel) -> np.ndarray:
        """Weight of every slot (0 for non-members)."""
        return _slot_weights(model, self.kind)


def _slot_weights(model: TerritoryModel, kind: str) -> np.ndarray:
    """Weight of each slot in a kind of households (see :func:`household_split`)."""
    h = model.hh
    if kind == "uniform":
        return h.alive.astype(float)
    if kind == "landlord":
        return (h.alive & h.owner).astype(float)
    if kind == "owner":
        return OWNER_WEIGHT[population(model).skill] * ((h.age >= 30) & h.alive)
    raise ValueError(kind)


def household_split(model: TerritoryModel, kind: str) -> Split:
    """The :class:`Split` of a kind of households (cached per population version and step).

    Kinds: "uniform" (every household), "landlord" (owners: they receive rents), "owner"
    (capital owners, by skill, adults over 30: they receive dividends and bear losses).
    """
    pop = population(model)
    cache = model._share_cache
    sp = cache.get(kind)
    if sp is not None and sp.key == pop.key:
        return sp
    h = model.hh
    K = model.K
    terr = np.arange(K)
    if kind == "uniform":
        cls, member, cls_terr, weight = pop.home_or_k, None, terr, np.ones(K)
        tot = pop.n_k.astype(float)
    elif kind == "landlord":
        cls, member, cls_terr, weight = pop.home_or_k, h.owner, terr, np.ones(K)
        tot = kernels.member_totals(pop.home, K, h.alive, h.owner, h.skill, np.ones(3))
    elif kind == "owner":
        member = h.age >= 30
        cls, cls_terr, weight = pop.home_skill, np.repeat(terr, 3), np.tile(OWNER_WEIGHT, K)
        # summed in slot order, as the weights are not integers
        tot = kernels.member_totals(pop.home, K, h.alive, member, h.skill, OWNER_WEIGHT)
    else:
        raise ValueError(kind)
    th = tot[cls_terr]
    share = np.zeros(weight.size + 3)  # classes of dead slots: K (or 3K + skill) and up
    np.divide(weight, th, out=share[:weight.size], where=th > 0)
    sp = Split(pop.key, kind, cls, member, cls_terr, share, tot, tot <= 0,
               tot / max(tot.sum(), 1e-12))
    cache[kind] = sp
    return sp


def distribute(model: TerritoryModel, amount_by_terr: np.ndarray, kind: str,
               into: np.ndarray | None = None, sign: float = 1.0
               ) -> tuple[np.ndarray | None, np.ndarray]:
    """Split amounts by territory (EUR) among its households of a kind.

    Territories with no such household pass their amount to all of them map-wide.

    Args:
        model: the model.
        amount_by_terr: EUR by territory.
        kind: see :func:`household_split`.
        into: if given, each household's amount (EUR per real household) times ``sign``
            is added to this per-slot array in place (one pass, no temporary), and None is
            returned in its place.
        sign: +1 (receive) or -1 (pay), with ``into``.

    Returns:
        (EUR per real household or None, EUR received by territory).
    """
    sp = household_split(model, kind)
    W = model.household_weight
    n = sp.cls_terr.size
    per_class = np.zeros(sp.share.size)
    per_class[:n] = amount_by_terr[sp.cls_terr] * sp.share[:n] / W
    member = _NO_MEMBER if sp.member is None else sp.member
    if into is None:
        each = np.empty(sp.cls.size)
        kernels.spread(sp.cls, per_class, member, sp.member is not None, each)
        target, factor = each, 1.0
    else:
        each = None
        kernels.spread_add(sp.cls, per_class, member, sp.member is not None, float(sign),
                           into)
        target, factor = into, float(sign)
    dst = np.where(sp.orphan, 0.0, amount_by_terr)
    if sp.orphan.any():
        lost = amount_by_terr[sp.orphan].sum()
        w = sp.slot_weights(model)
        target += factor * (lost * (w / max(w.sum(), 1e-12)) / W)
        dst = dst + lost * sp.by_terr
    return each, dst


def pay_owners(model: TerritoryModel, category: str, src_sector: str, src_vec: np.ndarray,
               amount_by_terr: np.ndarray) -> None:
    """Pay amounts (EUR by territory) to the capital owners of each territory."""
    if not np.any(amount_by_terr):
        return  # nothing moves (and the ledger books no empty flow)
    _, dst = distribute(model, amount_by_terr, "owner", into=model.hh.savings)
    model.ledger.book(category, src_sector, "household", src_vec, dst)


def charge_owners(model: TerritoryModel, category: str, amount_by_terr: np.ndarray,
                  dst_sector: str = "firm") -> None:
    """Charge amounts (EUR by territory) to the capital owners of each territory."""
    if not np.any(amount_by_terr):
        return  # nothing moves (and the ledger books no empty flow)
    _, src = distribute(model, amount_by_terr, "owner", into=model.hh.savings,
                        sign=-1.0)
    model.ledger.book(category, "household", dst_sector, src, amount_by_terr)
