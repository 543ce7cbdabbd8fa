"""Slot arrays: per-agent state held in numpy arrays, one slot per agent.

Households and firms keep their state in arrays of equal length (the capacity); a slot is
live or dead (``alive``). Dead slots are reused by new agents, and the arrays grow by about
10 % when no dead slot is left, so that monthly processes work on whole arrays at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class SlotArrays:
    """Per-agent arrays declared in ``FIELDS`` (name -> dtype), with fill values ``FILL``.

    Args:
        capacity: initial number of slots (all dead).
    """

    FIELDS: ClassVar[dict[str, Any]] = {"alive": bool}
    FILL: ClassVar[dict[str, Any]] = {}  # value of a dead slot where it is not 0

    def __init__(self, capacity: int) -> None:
        self.capacity = 0
        for name, dt in self.FIELDS.items():
            setattr(self, name, np.zeros(0, dtype=dt))
        self.agents: list[Any] = []
        self.grow(capacity)

    def grow(self, extra: int) -> None:
        """Add ``extra`` empty (dead) slots."""
        for name, dt in self.FIELDS.items():
            setattr(self, name, np.concatenate(
                [getattr(self, name), np.full(extra, self.FILL.get(name, 0), dtype=dt)]))
        self.agents.extend([None] * extra)
        self.capacity += extra

    def free_slots(self, n: int) -> np.ndarray:
        """Return the first ``n`` dead slot indices, growing the arrays if needed."""
        # search a prefix of the slots first (dead slots are spread over all of them)
        m = min(self.capacity, max(8 * n, 4096))
        free = np.flatnonzero(~self.alive[:m])
        if free.size < n and m < self.capacity:
            free = np.flatnonzero(~self.alive)
        if free.size < n:
            self.grow(max(n - free.size, self.capacity // 10 + 16))
            free = np.flatnonzero(~self.alive)
        return free[:n]

    def clear(self, idx: np.ndarray) -> None:
        """Reset slots to the dead state."""
        for name, dt in self.FIELDS.items():
            getattr(self, name)[idx] = dt(self.FILL.get(name, 0))
