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
