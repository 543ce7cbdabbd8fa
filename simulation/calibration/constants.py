"""Territory constants of the location choice, fitted by an iterative fixed point.

As land-use models calibrate their location-choice constants (UrbanSim; de la Barra 1989),
each territory's constant is moved until the simulated flows match the observed ones. In a
logit, raising territory k's constant by ``delta`` multiplies its probability of being chosen
by about ``exp(delta)``: for inflows alone the step is the log ratio of target to simulated
inflows, ``log(target in_k / in_k) ~ (target in_k - in_k) / in_k``. Net migration also
moves through the stays: a higher constant keeps more of the territory's own movers (the
derivative of its expected stays is ``sum p_stay (1 - p_stay)`` over them). The step used is
the diagonal Newton step on expected net migration, which counts both:

    c_k <- c_k + damping x (target net_k - net_k) / (in_k + stay_var_k),   |step| <= 1

with ``target net_k = observed rate_k x households_k x years``. (Measured on the France map,
50,000 households: the inflow-only log-ratio step makes neighbours with large mutual flows,
Nord and Pas-de-Calais, oscillate, and the gap stalls at 0.6 %/year; see ODD 1.3.) The flows
are the *expected* ones given the logit utilities of the households who considered moving
(``counters['expected_moves_in'/'expected_moves_out'/'expected_stay_var']``), free of the
choice draws' noise, averaged over ``replications`` runs with common seeds. The constants
are normalised to a household-weighted mean of 0 (a constant common to all territories
changes no choice). The trace (root-mean-square gap to the target, %/year) is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from simulation.calibration.targets import RunSummary

MAX_STEP = 1.0   # largest change of a constant in one step (utility)


@dataclass
class FixedPointStep:
    """One iteration: the constants used, the expected rates they gave, the gap."""

    iteration: int
    constants: np.ndarray
    simulated_rate: np.ndarray
    rms_gap: float


def expected_rate(run: RunSummary) -> np.ndarray:
    """Expected net migration rate by territory (%/year) of a run's window."""
    f = run.flows
    n = np.maximum(f["households"], 1e-9)
    return 100.0 * (f["expected_in"] - f["expected_out"]) / (n * float(f["years"][0]))


def update(constants: np.ndarray, run: RunSummary, target_rate: np.ndarray,
           damping: float = 1.0) -> np.ndarray:
    """One fixed-point step from a (mean) run made with ``constants`` (see module docstring).

    Args:
        constants: the constants of the run (utility, K).
        run: its summary (or the mean of several replications').
        target_rate: observed net migration rate by territory (%/year, national mean 0).
        damping: share of the Newton step taken (0-1].

    Returns:
        The new constants (household-weighted mean 0).
    """
    f = run.flows
    years = float(f["years"][0])
    n = f["households"]
    net = f["expected_in"] - f["expected_out"]
    target = target_rate / 100.0 * n * years
    slope = np.maximum(f["expected_in"] + f["expected_stay_var"], 1e-9)
    step = np.clip(damping * (target - net) / slope, -MAX_STEP, MAX_STEP)
    c = np.asarray(constants, float) + step
    w = n / n.sum() if n.sum() > 0 else np.full(c.size, 1.0 / c.size)
    return c - float((c * w).sum())


def rms_gap(run: RunSummary, target_rate: np.ndarray) -> float:
    """Root-mean-square gap between expected and target rates (%/year)."""
    return float(np.sqrt(np.mean((expected_rate(run) - target_rate) ** 2)))


def fixed_point(start: np.ndarray, target_rate: np.ndarray, iterations: int,
                simulate: Callable[[np.ndarray, int], Sequence[RunSummary]],
                damping: float = 1.0,
                on_step: Callable[[FixedPointStep], None] | None = None
                ) -> tuple[np.ndarray, list[FixedPointStep]]:
    """Iterate :func:`update` ``iterations`` times from ``start``.

    Args:
        start: initial constants (K).
        target_rate: observed net migration rate by territory (%/year, mean 0).
        iterations: number of updates.
        simulate: ``(constants, iteration) -> runs`` made with them (replications).
        damping: share of the step taken.
        on_step: called after each iteration.

    Returns:
        The final constants and the trace: one step per run made (``iterations + 1`` with
        the last check of the final constants when ``iterations > 0``).
    """
    from simulation.calibration.runs import mean_summary

    c = np.asarray(start, float).copy()
    trace: list[FixedPointStep] = []
    for it in range(iterations + 1):
        runs = simulate(c, it)
        run = mean_summary(list(runs))
        step = FixedPointStep(it, c.copy(), expected_rate(run), rms_gap(run, target_rate))
        trace.append(step)
        if on_step:
            on_step(step)
        if it == iterations:
            break
        c = update(c, run, target_rate, damping)
    return c, trace
