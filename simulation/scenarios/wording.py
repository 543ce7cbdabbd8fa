"""Effects in words and numbers: units, precision, plain-words sentences.

Shared by the comparison (:mod:`simulation.scenarios.compare`), its report
(:mod:`simulation.scenarios.report`) and the command line.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from simulation.engine.measures import MEASURES
from simulation.reports import style

WINDOW_MONTHS = 12
"""Months at the end of a run over which effects are averaged."""


def safe_label(label: str) -> str:
    """A label as a file-name part (letters, digits, ``_.-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "scenario"


def display_scale(measure: str) -> tuple[float, str, str]:
    """How an effect on ``measure`` is shown: (factor, unit in English, unit in French).

    Shares and 0-1 indices are shown in points (x 100); other measures in their unit
    (:meth:`simulation.engine.measures.Measure.display`).
    """
    m = MEASURES[measure]
    f, en = m.display("en")
    return f, en, m.display("fr")[1]


def decimals_for(value: float, half_width: float) -> int:
    """Decimals to show an effect.

    The precision of the interval's half-width: its first significant digit (two digits
    when it starts with 1), or three significant digits of the value when there is no
    interval (single replication, or zero width).
    """
    if np.isfinite(half_width) and half_width > 1e-9 * max(abs(value), 1e-300):
        e = math.floor(math.log10(half_width))
        extra = 1 if half_width / 10.0 ** e < 2.0 else 0
        return int(min(6, max(0, -e + extra)))
    if not np.isfinite(value) or value == 0:
        return 0
    return int(min(6, max(0, 2 - math.floor(math.log10(abs(value))))))


def fmt_num(x: float, decimals: int, lang: str = "en", sign: bool = True) -> str:
    """Format a number with a fixed number of decimals and thousands separators.

    English: ``1,234.5``; French: decimal comma and narrow no-break spaces, ``1 234,5``.
    """
    if x is None or not np.isfinite(x):
        return "n/a" if lang == "en" else "n.d."
    if round(x, decimals) == 0:
        x = 0.0
    s = f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"
    if sign and s.startswith("+") and float(s.replace(",", "")) == 0:
        s = s[1:]
    # thousands separated: 30,522,709 in English, 30 522 709 (narrow no-break spaces) in French
    return s.replace(",", "\u202f").replace(".", ",") if lang == "fr" else s


def effect_numbers(row: pd.Series | dict, lang: str = "en") -> dict[str, str]:
    """Formatted numbers of one effect row, in display units.

    Returns:
        dict with ``diff``, ``ci_low``, ``ci_high``, ``baseline``, ``scenario`` (levels),
        ``unit``, ``decimals``, ``scale`` and ``level_unit``.
    """
    f, unit_en, unit_fr = display_scale(row["measure"])
    lo, hi = float(row["ci_low"]) * f, float(row["ci_high"]) * f
    hw = (hi - lo) / 2.0 if np.isfinite(lo) and np.isfinite(hi) else float("nan")
    d = float(row["diff"]) * f
    dec = decimals_for(d, hw)

    def bound(x: float) -> str:
        # the bounds take the effect's precision (uneven digits read as meaning); whether
        # the interval excludes zero is said in words, after the FDR control
        return fmt_num(x, dec, lang)

    lvl_f = 100.0 if f == 100.0 else 1.0
    lvl_dec = max(dec, 0) if f == 1.0 else max(dec, 1)
    return {"diff": fmt_num(d, dec, lang), "ci_low": bound(lo), "ci_high": bound(hi),
            "baseline": fmt_num(float(row["baseline_mean"]) * lvl_f, lvl_dec, lang, sign=False),
            "scenario": fmt_num(float(row["scenario_mean"]) * lvl_f, lvl_dec, lang, sign=False),
            "unit": unit_fr if lang == "fr" else unit_en, "decimals": str(dec),
            "scale": repr(f), "level_unit": ("%" if f == 100.0 else unit_en)}


def effect_sentence(row: pd.Series | dict, lang: str = "en", *, draws: bool = False) -> str:
    """One plain-words sentence on an effect, with its 95 % interval.

    Example: ``Local value captured: +2.1 points (95 % CI +1.5 to +2.7); the interval
    excludes zero.``

    Args:
        row: an effect row (``measure``, ``diff``, ``ci_low``, ``ci_high``, ``n``, means).
        lang: ``"en"`` or ``"fr"``.
        draws: the replications were paired with posterior draws (an interval that includes
            zero is then not distinguishable from randomness and parameter uncertainty).
    """
    m = MEASURES[row["measure"]]
    nums = effect_numbers(row, lang)
    n = int(row["n"])
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    excl = bool(lo > 0 or hi < 0)
    # distinguishable: after the false-discovery-rate control of the row's table
    dist = bool(row["distinguishable"]) if "distinguishable" in row else excl
    v = style.verdict(row["measure"], float(row["diff"]), dist)
    if lang == "fr":
        head = f"{m.label_fr} : {nums['diff']} {nums['unit']}".rstrip()
        if n < 2 or not np.isfinite(lo):
            return head + " (une seule réplication : pas d'intervalle de confiance)."
        if dist:
            tail = {"better": " ; effet distinguable du hasard, dans le bon sens.",
                    "worse": " ; effet distinguable du hasard, dans le mauvais sens.",
                    }.get(v, " ; effet distinguable du hasard.")
        elif excl:
            tail = (" ; l'intervalle exclut zéro, mais parmi tous les effets testés un tel "
                    "écart peut venir du hasard (contrôle du taux de fausses découvertes).")
        else:
            tail = (" ; pas d'effet distinguable du hasard de la simulation"
                    + (" ni de l'incertitude sur les paramètres." if draws else "."))
        return head + f" (IC à 95 % {nums['ci_low']} à {nums['ci_high']})" + tail
    head = f"{m.label_en}: {nums['diff']} {nums['unit']}".rstrip()
    if n < 2 or not np.isfinite(lo):
        return head + " (a single replication: no confidence interval)."
    if dist:
        tail = {"better": "; distinguishable from noise, for the better.",
                "worse": "; distinguishable from noise, for the worse.",
                }.get(v, "; distinguishable from noise.")
    elif excl:
        tail = ("; the interval excludes zero, but among all the effects tested a gap this "
                "size can be chance (false-discovery-rate control).")
    else:
        tail = ("; no effect distinguishable from the simulation's randomness"
                + (" and parameter uncertainty." if draws else "."))
    return head + f" (95 % CI {nums['ci_low']} to {nums['ci_high']})" + tail


__all__ = ["display_scale", "decimals_for", "fmt_num", "effect_numbers", "effect_sentence",
           "safe_label", "WINDOW_MONTHS"]
