"""Index arrays of the live households, cached for one population version and step.

Every monthly process needs the live slots and the home territory of each slot. They are
computed once per population version (:func:`population`) and updated in place when
households are formed, dissolved or move (:func:`population_changed`). Used by the agents,
the markets and the measures alike, so it sits below all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.agents.slots import SlotArrays
    from simulation.engine.base import ModelBase as TerritoryModel


# --------------------------------------------------------------------------- indices
class Population:
    """Index arrays of the live households, valid for one population version in one step.

    Every process needs the live slots and the home territory of each slot; keeping them
    saves many full passes. ``model.pop_version`` changes whenever households are created,
    dissolved or move (:func:`population_changed`, which also updates these arrays in
    place). Within one version ``alive``, ``home``, ``skill`` and ``owner`` do not change;
    at a new step the arrays are kept only if the households' state still matches them
    (state changed from outside between steps is never trusted). Integer indices are
    ``intp``, so that numpy gathers and ``bincount`` do not convert them on every call (a
    gather by an ``int32`` index costs about four times one by ``intp``).

    Attributes:
        key: (population version, step, number of slots) the arrays are valid for.
        alive_mask: copy of ``hh.alive``.
        alive: indices of the live slots (ascending).
        home: home territory of every slot (as ``hh.home``: 0 in dead slots).
        skill: skill level of every slot.
        home_or_k: home territory of live slots, K for dead slots.
        home_skill: ``home_or_k x 3 + skill``.
        home_alive: home territory of the live slots.
        counts: live households by territory and skill (K x 3).
        n_k: live households by territory.
        derived: further arrays computed on demand by the processes, by name (cleared at
            every change).
    """

    def __init__(self, model: TerritoryModel, key: tuple) -> None:
        h = model.hh
        K = model.K
        self.key = key
        self.alive_mask = h.alive.copy()
        self._raw = (h.home.copy(), h.skill.copy())  # as stored, for matches()
        self.alive = np.flatnonzero(h.alive)
        self.home = h.home.astype(np.intp)
        self.skill = h.skill.astype(np.intp)
        self.home_or_k = np.full(h.capacity, K, dtype=np.intp)
        self.home_alive = self.home[self.alive]
        self.home_or_k[self.alive] = self.home_alive
        self.home_skill = self.home_or_k * 3 + self.skill
        self.counts = np.bincount(self.home_alive * 3 + self.skill[self.alive],
                                  minlength=3 * K).reshape(K, 3)
        self.n_k = self.counts.sum(axis=1)
        self.derived: dict = {}

    def matches(self, h: SlotArrays) -> bool:
        """Whether the households' alive, home and skill arrays are those indexed here."""
        home, skill = self._raw
        return (self.alive_mask.size == h.capacity and np.array_equal(self.alive_mask, h.alive)
                and np.array_equal(home, h.home) and np.array_equal(skill, h.skill))

    def _store(self, h: SlotArrays, idx: np.ndarray) -> None:
        home, skill = self._raw
        home[idx] = h.home[idx]
        skill[idx] = h.skill[idx]

    def _count(self, idx: np.ndarray, home: np.ndarray, sign: int) -> None:
        K = self.counts.shape[0]
        self.counts += sign * np.bincount(home * 3 + self.skill[idx],
                                          minlength=3 * K).reshape(K, 3)
        self.n_k = self.counts.sum(axis=1)

    def remove(self, h: SlotArrays, idx: np.ndarray) -> None:
        """Slots ``idx`` (ascending, live until now) were dissolved and cleared."""
        self._count(idx, self.home[idx], -1)
        keep = np.ones(self.alive.size, dtype=bool)
        keep[np.searchsorted(self.alive, idx)] = False
        self.alive = self.alive[keep]
        self.home_alive = self.home_alive[keep]
        self.alive_mask[idx] = False
        self._store(h, idx)
        self.home[idx] = h.home[idx]
        self.skill[idx] = h.skill[idx]
        self.home_or_k[idx] = self.counts.shape[0]
        self.home_skill[idx] = self.home_or_k[idx] * 3 + self.skill[idx]

    def add(self, h: SlotArrays, idx: np.ndarray) -> None:
        """Slots ``idx`` (dead until now) were filled with new households."""
        idx = np.sort(idx)
        self._store(h, idx)
        home = h.home[idx].astype(np.intp)
        self.home[idx] = home
        self.skill[idx] = h.skill[idx]
        self._count(idx, home, 1)
        pos = np.searchsorted(self.alive, idx)
        self.alive = np.insert(self.alive, pos, idx)
        self.home_alive = np.insert(self.home_alive, pos, home)
        self.alive_mask[idx] = True
        self.home_or_k[idx] = home
        self.home_skill[idx] = home * 3 + self.skill[idx]

    def move(self, h: SlotArrays, idx: np.ndarray) -> None:
        """Live households ``idx`` (ascending) changed home territory."""
        self._count(idx, self.home[idx], -1)
        self._store(h, idx)
        home = h.home[idx].astype(np.intp)
        self.home[idx] = home
        self._count(idx, home, 1)
        self.home_alive[np.searchsorted(self.alive, idx)] = home
        self.home_or_k[idx] = home
        self.home_skill[idx] = home * 3 + self.skill[idx]


def population(model: TerritoryModel) -> Population:
    """The :class:`Population` indices of the current population version and step."""
    h = model.hh
    key = (model.pop_version, model.steps, h.capacity)
    pop = getattr(model, "_population", None)
    if pop is not None and pop.key != key:
        if pop.key[0] == key[0] and pop.matches(h):
            # a new step: same households (checked), but age-dependent arrays are stale
            pop.key = key
            pop.derived = {}
        else:
            pop = None
    if pop is None:
        pop = Population(model, key)
        model._population = pop
    return pop


def population_changed(model: TerritoryModel, *, removed: np.ndarray | None = None,
                       added: np.ndarray | None = None, moved: np.ndarray | None = None
                       ) -> None:
    """Record a change of the population (new ``pop_version``), after the arrays changed.

    Args:
        model: the model.
        removed: slots of dissolved households (ascending), already cleared.
        added: slots of new households.
        moved: live households that changed home territory (ascending).

    The cached :class:`Population` is updated in place when it was valid for the previous
    version (else it is recomputed when next needed).
    """
    h = model.hh
    pop = getattr(model, "_population", None)
    valid = pop is not None and pop.key == (model.pop_version, model.steps, h.capacity) \
        and pop.alive_mask.size == h.capacity
    model.pop_version += 1
    if not valid:
        return
    if removed is not None:
        pop.remove(h, removed)
    if added is not None:
        pop.add(h, added)
    if moved is not None:
        pop.move(h, moved)
    pop.key = (model.pop_version, model.steps, h.capacity)
    pop.derived = {}
