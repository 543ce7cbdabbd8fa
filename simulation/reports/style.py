"""Colours, scales and tests of distinguishability shared by every table, map and chart.

One rule per question, read from the measures' declarations
(:data:`simulation.engine.measures.DISPLAY`):

* **Good and bad colours.** A difference that is better for the territory's residents is
  drawn blue (:data:`BETTER`), worse orange (:data:`WORSE`): a blue-orange pair that
  colour-blind readers tell apart (ColorBrewer's PuOr/RdBu ends). A measure with no good
  direction is drawn purple (rise) and green (fall), ColorBrewer's colour-blind-safe PRGn,
  so nobody reads it as a judgement. Effect scales are diverging and centred at zero.
* **Robust limits.** A diverging scale spans +- the 95th percentile of the absolute values
  (at least the largest value when there are fewer than 20), so one outlier does not
  flatten the other territories; values beyond are drawn at the end colour and the colour
  bar carries an arrow.
* **Too few agents.** A territory with fewer than :data:`MIN_AGENTS` household agents has
  its figures drawn as uncertain and its effects are not called distinguishable.
* **Distinguishable from zero.** A paired effect is called distinguishable only after the
  Benjamini-Hochberg false-discovery-rate control (:func:`fdr`) across every measure (and
  territory) a table reports, at :data:`FDR_LEVEL`; the p-values are those of the paired t
  test behind the intervals.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from simulation.engine.measures import MEASURES

BETTER = "#2166ac"
"""Colour of a change for the better (blue)."""
WORSE = "#e08214"
"""Colour of a change for the worse (orange)."""
RISE = "#762a83"
"""Colour of a rise of a measure with no good direction (purple)."""
FALL = "#1b7837"
"""Colour of a fall of a measure with no good direction (green)."""
UNCLEAR = "#8c8c8c"
"""Colour of an effect not distinguishable from zero (grey)."""
FDR_LEVEL = 0.05
"""False-discovery rate controlled by :func:`fdr` (Benjamini-Hochberg)."""
MIN_AGENTS = 100
"""A territory holding fewer household agents than this has its figures drawn as uncertain
(hatched in reports, light grey in the dashboard) and its effects never called
distinguishable: with n agents a share's sampling standard deviation is up to 50/sqrt(n)
points, 5 points at 100 agents."""
ROBUST_QUANTILE = 0.95
"""Quantile of the absolute values that bounds a diverging scale (:func:`robust_limit`)."""


def ends(measure: str) -> tuple[str, str]:
    """Colours of (a fall, a rise) of ``measure``."""
    good = MEASURES[measure].good
    if good == "higher":
        return WORSE, BETTER
    if good == "lower":
        return BETTER, WORSE
    return FALL, RISE


def effect_cmap(measure: str) -> LinearSegmentedColormap:
    """Diverging colour map of differences of ``measure``.

    Fall colour, white at zero, rise colour; NaN light grey.
    """
    lo, hi = ends(measure)
    cm = LinearSegmentedColormap.from_list(f"effect_{measure}", [lo, "#f7f7f7", hi], N=256)
    return cm.with_extremes(bad="0.85")


def change_colour(measure: str, diff: float, distinguishable: bool = True) -> str:
    """Colour of one difference: its direction's colour, grey when not distinguishable."""
    if not distinguishable or not np.isfinite(diff) or diff == 0:
        return UNCLEAR
    lo, hi = ends(measure)
    return hi if diff > 0 else lo


def verdict(measure: str, diff: float, distinguishable: bool) -> str:
    """Reading of one difference: better, worse, rise, fall or unclear.

    The word is also the CSS class of the report's table rows.
    """
    if not distinguishable or not np.isfinite(diff) or diff == 0:
        return "unclear"
    good = MEASURES[measure].good
    if good is None:
        return "rise" if diff > 0 else "fall"
    return "better" if (diff > 0) == (good == "higher") else "worse"


def robust_limit(values: np.ndarray, quantile: float = ROBUST_QUANTILE) -> float:
    """Half-width of a diverging scale centred at 0 (see the module's rule); 1 if no value."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if v.size == 0 or float(v.max()) == 0.0:
        return 1.0
    lim = float(v.max()) if v.size < 20 else float(np.quantile(v, quantile))
    return lim if lim > 0 else float(v.max())


def paired_p_values(diff: np.ndarray, sd: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided p-values of the paired t test.

    ``diff`` is the mean difference, ``sd`` the standard deviation of the differences, ``n``
    the replications. NaN below 2 replications; 1 for a zero effect with zero spread, 0 for
    a non-zero effect with zero spread.
    """
    from scipy import stats

    d = np.asarray(diff, dtype=float)
    s = np.asarray(sd, dtype=float)
    k = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = d / (s / np.sqrt(np.maximum(k, 1.0)))
        p = 2.0 * stats.t.sf(np.abs(t), np.maximum(k - 1.0, 1.0))
    p = np.where(s == 0, np.where(d == 0, 1.0, 0.0), p)
    return np.where((k < 2) | ~np.isfinite(d), np.nan, p)


def fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of ``p``; NaN kept as NaN.

    Computed by :func:`scipy.stats.false_discovery_control`.
    """
    from scipy import stats

    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return q
