"""Double-entry ledger of money flows between sectors, by territory.

Every euro that moves in the model is booked here as a flow from one sector to another.
A flow carries two vectors over territories: where the money leaves (``src``) and where it
arrives (``dst``); both sum to the same amount. For national sectors (the state, the global
platform, the rest of the world) the vector says which territory the flow concerns.

Sectors hold stocks in the model (household savings, firm cash, authority cash, ...).
:meth:`Ledger.net_inflow` gives, per sector, the net inflow booked this step; the model's
stock changes must equal it, and ``tests/test_accounts.py`` checks that at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECTORS = (
    "household",
    "firm",
    "authority",
    "local_platform",
    "state",
    "global_platform",
    "rest_of_world",
)


_SECTOR_SET = frozenset(SECTORS)
_sum = np.add.reduce  # ndarray.sum without its Python-level wrapper (same result)


class LedgerError(RuntimeError):
    """A flow whose two sides do not balance, or an unknown sector."""


@dataclass
class Flow:
    """One booked flow of money (EUR, in the month of the step)."""

    category: str
    src: str
    dst: str
    src_vec: np.ndarray
    dst_vec: np.ndarray

    @property
    def amount(self) -> float:
        """Total amount of the flow in EUR."""
        return float(self.dst_vec.sum())


class Ledger:
    """Flows booked during the current step, plus per-step totals by category.

    Args:
        n_territories: number of territories (length of the flow vectors).
    """

    def __init__(self, n_territories: int) -> None:
        self.K = n_territories
        self.flows: list[Flow] = []
        self.history: list[dict[str, float]] = []

    def new_step(self) -> None:
        """Close the current step's flows (kept in ``history``) and start a new step."""
        if self.flows:
            self.history.append(self.category_totals())
        self.flows = []

    def book(
        self,
        category: str,
        src: str,
        dst: str,
        src_vec: np.ndarray | float,
        dst_vec: np.ndarray | float | None = None,
    ) -> None:
        """Book a flow of money.

        Args:
            category: what the flow is (e.g. "wages", "commission").
            src: paying sector (one of :data:`SECTORS`).
            dst: receiving sector.
            src_vec: EUR leaving, by territory of the payer (length K), or a scalar booked on
                territory 0 for purely national flows.
            dst_vec: EUR arriving, by territory of the receiver; defaults to ``src_vec``.
        """
        if src not in _SECTOR_SET or dst not in _SECTOR_SET:
            raise LedgerError(f"unknown sector in flow {category}: {src} -> {dst}")
        s = self._vec(src_vec)
        d = s if dst_vec is None else self._vec(dst_vec)
        tot_s = float(_sum(s))
        tot_d = tot_s if d is s else float(_sum(d))
        if abs(tot_s - tot_d) > 1e-6 + 1e-9 * max(abs(tot_s), abs(tot_d)):
            raise LedgerError(
                f"flow '{category}' {src}->{dst} unbalanced: {tot_s:.6f} out, {tot_d:.6f} in"
            )
        if tot_s == 0.0 and not s.any() and not d.any():
            return
        self.flows.append(Flow(category, src, dst, s, d))

    def _vec(self, v: np.ndarray | float) -> np.ndarray:
        if type(v) is np.ndarray and v.dtype == np.float64 and v.shape == (self.K,):
            return v  # the common case, checked first
        if np.isscalar(v):
            out = np.zeros(self.K)
            out[0] = float(v)
            return out
        arr = np.asarray(v, dtype=float)
        if arr.shape != (self.K,):
            raise LedgerError(f"flow vector has shape {arr.shape}, expected ({self.K},)")
        return arr

    def net_inflow(self, sector: str) -> np.ndarray:
        """Net inflow to ``sector`` this step, by territory (EUR)."""
        out = np.zeros(self.K)
        for f in self.flows:
            if f.dst == sector:
                out += f.dst_vec
            if f.src == sector:
                out -= f.src_vec
        return out

    def total(self, category: str, src: str | None = None, dst: str | None = None) -> float:
        """Sum of flows of a category this step (optionally restricted to src/dst)."""
        return sum(
            f.amount
            for f in self.flows
            if f.category == category and (src is None or f.src == src)
            and (dst is None or f.dst == dst)
        )

    def vec(self, category: str, side: str = "src", src: str | None = None,
            dst: str | None = None) -> np.ndarray:
        """Sum of the src or dst vectors of a category this step."""
        out = np.zeros(self.K)
        for f in self.flows:
            if f.category == category and (src is None or f.src == src) and (
                dst is None or f.dst == dst
            ):
                out += f.src_vec if side == "src" else f.dst_vec
        return out

    def category_totals(self) -> dict[str, float]:
        """Totals by "category:src->dst" for the current step (EUR)."""
        out: dict[str, float] = {}
        for f in self.flows:
            key = f"{f.category}:{f.src}->{f.dst}"
            out[key] = out.get(key, 0.0) + f.amount
        return out

    def imbalance(self) -> float:
        """Largest absolute difference between the two sides of any flow this step (EUR)."""
        if not self.flows:
            return 0.0
        return max(abs(float(f.src_vec.sum() - f.dst_vec.sum())) for f in self.flows)
