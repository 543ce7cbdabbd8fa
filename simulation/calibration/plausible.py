"""Growth figures of département populations: Zipf exponent, size-growth link, spread.

Shared by the calibration targets (``zipf_change``, ``corr_size_growth``, ``growth_sd``) and
the plausibility benchmark (``python -m benchmarks.plausibility``).
"""

from __future__ import annotations

import numpy as np


def zipf_exponent(sizes: np.ndarray) -> float:
    """Rank-size exponent: minus the OLS slope of log(rank - 1/2) on log(size).

    Gabaix and Ibragimov (2011): the rank shifted by 1/2 removes the small-sample bias.
    """
    s = np.sort(np.asarray(sizes, float))[::-1]
    s = s[s > 0]
    rank = np.arange(1, s.size + 1) - 0.5
    slope = np.polyfit(np.log(s), np.log(rank), 1)[0]
    return float(-slope)


def growth_figures(start: np.ndarray, end: np.ndarray, names: list[str]) -> dict:
    """Zipf change, size-growth correlation, sd and range of growth (in %), named extremes."""
    start = np.asarray(start, float)
    end = np.asarray(end, float)
    g = (end / start - 1.0) * 100.0
    lo, hi = int(np.argmin(g)), int(np.argmax(g))
    return {
        "zipf_change": zipf_exponent(end) - zipf_exponent(start),
        "corr_size_growth": float(np.corrcoef(np.log(start), g)[0, 1]),
        "growth_sd_pct": float(g.std(ddof=1)),
        "growth_min_pct": float(g[lo]), "growth_min_name": names[lo],
        "growth_max_pct": float(g[hi]), "growth_max_name": names[hi],
    }


def ensemble_growth_figures(starts: np.ndarray, ends: np.ndarray, names: list[str]) -> dict:
    """:func:`growth_figures` of the replication-mean trajectory (the expected dynamics).

    ``starts`` and ``ends`` are (replications x territories) populations. One run of a few
    hundred household agents per territory adds sampling noise to every territory's growth,
    which France's figures (millions of people) do not have; extremes and spreads across
    territories computed run by run are biased by it (the smallest growth downwards, the
    spread upwards). The figures of the mean populations over replications are the model's
    expected dynamics, with the noise divided by the number of replications.
    """
    return growth_figures(np.mean(np.atleast_2d(starts), axis=0),
                          np.mean(np.atleast_2d(ends), axis=0), names)


def growth_noise(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """By territory: the standard deviation across replications of growth (in points of %).

    ``starts`` and ``ends`` are (replications x territories); needs two replications or more.
    """
    g = (np.asarray(ends, float) / np.asarray(starts, float) - 1.0) * 100.0
    if g.shape[0] < 2:
        raise ValueError("growth_noise needs at least two replications")
    return g.std(axis=0, ddof=1)


def noise_extremes(mean_growth: np.ndarray, noise_sd: np.ndarray, *, draws: int = 4000,
                   seed: int = 0) -> dict:
    """Smallest and largest growth one run would show if it were the expected growth plus noise.

    Each territory's growth is drawn as ``mean_growth + noise_sd x N(0, 1)``, independently,
    ``draws`` times; returns the median and the 5-95 % interval of the smallest and of the
    largest value (in %). Comparing them with the runs' own extremes says how much of a run's
    extreme is sampling noise (the replication mean keeps ``noise_sd / sqrt(R)``, so the
    prediction is slightly too wide).
    """
    rng = np.random.default_rng(seed)
    m = np.asarray(mean_growth, float)
    s = np.asarray(noise_sd, float)
    sim = m[None, :] + s[None, :] * rng.standard_normal((int(draws), m.size))
    lo, hi = sim.min(axis=1), sim.max(axis=1)
    q = [5, 50, 95]
    a, b = np.percentile(lo, q), np.percentile(hi, q)
    return {"min_median": float(a[1]), "min_lo": float(a[0]), "min_hi": float(a[2]),
            "max_median": float(b[1]), "max_lo": float(b[0]), "max_hi": float(b[2])}
