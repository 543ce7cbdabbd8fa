"""The model as its agents see it: a Mesa model that registers agents in batches.

:class:`ModelBase` is the :class:`mesa.Model` that :class:`~simulation.engine.model.TerritoryModel`
extends. It holds the service that the agents and the model both need (creating and removing agents
in one go), so that the agent modules never import the model: the engine's modules only
import downwards (payments to and from capital owners are in :mod:`simulation.engine.transfers`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import mesa
from mesa import Agent, Model
from mesa.experimental.mesa_signals import ModelSignals

# Mesa versions whose agent registration ModelBase.new_agents reproduces in one go
_BATCH_MESA = mesa.__version__.startswith("3.5.")
_MESA_LOGGER = logging.getLogger("MESA.mesa.model")


class ModelBase(Model):
    """A Mesa model with batched agent registration.

    Agent classes that set ``batch_registration = True`` (households and firms: thousands
    are formed every month) are registered in one go when nothing observes registration.
    The subclass (:class:`~simulation.engine.model.TerritoryModel`) holds the state.
    """

    def _batch_ok(self, cls: type, signal: Any) -> bool:
        """Whether agents of ``cls`` can be (de)registered in one go (nothing observes it)."""
        return (_BATCH_MESA and getattr(cls, "batch_registration", False)
                and not cls._datasets and self._batch_context is None
                and not self._has_subscribers("agents", signal)
                and not _MESA_LOGGER.isEnabledFor(logging.DEBUG))

    def new_agents(self, cls: type[Agent], slots: Iterable[int]) -> list[Agent]:
        """Create one agent ``cls(self, slot)`` per slot (a household or firm slot).

        Mesa registers agents one by one (a signal, a log record, two set insertions: about
        10 µs an agent), which adds up over the households formed every month. When nothing
        observes registration (no subscriber to the model's "agents" signal, no batch
        context, no Mesa debug logging, no agent dataset) and the class is known, the
        agents are registered here as ``Agent.__init__`` would (same ``unique_id`` sequence,
        same agent sets, same order) without that overhead; otherwise by the constructor.
        """
        slots = [int(i) for i in slots]
        agents = []
        if slots and cls not in self._agents_by_type:
            agents.append(cls(self, slots.pop(0)))  # Mesa creates the agent set of cls
        if not self._batch_ok(cls, ModelSignals.AGENT_ADDED):
            return agents + [cls(self, i) for i in slots]
        uid = self.agent_id_counter
        new = cls.__new__
        batch = []
        for i in slots:
            # attributes set one by one, in Agent.__init__'s order (they stay inline in the
            # object: no separate dict for the garbage collector to traverse)
            agent = new(cls)
            agent.model = self
            agent.unique_id = uid
            agent.pos = None
            agent.idx = i
            batch.append(agent)
            uid += 1
        self.agent_id_counter = uid
        added = dict.fromkeys(batch)
        self._all_agents._agents.update(added)
        self._agents_by_type[cls]._agents.update(added)
        return agents + batch

    def remove_agents(self, agents: Iterable[Agent]) -> None:
        """Remove agents from the model, as ``agent.remove()`` for each (see new_agents)."""
        agents = [a for a in agents if a is not None]
        if not agents:
            return
        cls = type(agents[0])
        if not (all(type(a) is cls for a in agents) and cls in self._agents_by_type
                and self._batch_ok(cls, ModelSignals.AGENT_REMOVED)):
            for a in agents:
                a.remove()
            return
        all_agents = self._all_agents._agents
        of_type = self._agents_by_type[cls]._agents
        for a in agents:
            if a in of_type:  # as Agent.remove: an agent already removed is ignored
                del of_type[a]
                del all_agents[a]
