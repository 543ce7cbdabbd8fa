"""Plots of results: measures over time (with replication bands) and maps of France.

Everything uses matplotlib's Agg backend (no display needed). Labels are bilingual
("English / Français") because workshop audiences read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from simulation.engine.measures import HEADLINE, MEASURES  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.results import Results
    from simulation.world.maps import TerritoryMap

TIME_MEASURES = ["attractiveness", "gini", "theil_between", "local_value_captured",
                 "global_platform_share", "unemployment_rate", "telework_share", "non_take_up",
                 "broadband_coverage", "mean_income", "firms", "commute_co2"]


def label(name: str, lang: str = "both") -> str:
    """Label of a measure: English, French or both, with its unit."""
    m = MEASURES[name]
    if lang == "en":
        return f"{m.label_en} ({m.unit})"
    if lang == "fr":
        return f"{m.label_fr} ({m.unit})"
    return f"{m.label_en} / {m.label_fr}"


MAX_BANDS = 3
"""Most scenarios drawn with bands on one over-time panel."""


def min_span(measure: str) -> float:
    """Smallest vertical span of an over-time panel, in display units.

    2 points for shares and 0-1 indices, 10 % of the natural range when it is bounded on
    both sides, else 0 (the data's own span; :func:`_ensure_span` then uses 5 % of the
    level).
    """
    m = MEASURES[measure]
    f, _ = m.display()
    if f == 100.0:
        return 2.0
    if m.lo is not None and m.hi is not None:
        return 0.1 * (m.hi - m.lo)
    return 0.0


def _ensure_span(ax, span: float) -> None:
    lo, hi = ax.get_ylim()
    mid = 0.5 * (lo + hi)
    need = max(span, 0.05 * abs(mid))
    if hi - lo < need:
        ax.set_ylim(mid - need / 2.0, mid + need / 2.0)


def timeseries(df: pd.DataFrame, measures: Sequence[str], path: str | Path, *,
               title: str = "", smooth: int = 3) -> Path:
    """Map-level measures over time, one panel each, one line per scenario.

    Args:
        df: tidy results (``Results.to_df()`` rows, possibly several scenarios and seeds;
            only ``territory == "_map"`` rows are used).
        measures: measure names to draw.
        path: PNG file to write.
        title: figure title.
        smooth: centred rolling mean over this many months (monthly noise).

    With several seeds per scenario, the line is the mean and the band the 95 % confidence
    interval of the mean over replications (t quantile), clipped to the measure's natural
    range (a share's band never goes below 0); bands are drawn for at most
    :data:`MAX_BANDS` scenarios (more overlap into an unreadable patch: lines only). Shares
    are shown in %. The vertical axis spans at least :func:`min_span` so that a flat line
    is drawn flat rather than zoomed into a dramatic-looking wiggle.
    """
    from scipy import stats

    d = df[df["territory"] == "_map"]
    n = len(measures)
    cols = 3 if n > 4 else n
    rows = int(np.ceil(n / cols))
    n_scen = d["scenario"].nunique() if "scenario" in d else 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, measures, strict=False):
        m = MEASURES[name]
        f, _u = m.display()
        sub = d[d["measure"] == name]
        for scen, g in sub.groupby("scenario", sort=False):
            wide = g.pivot_table(index="year", columns="seed", values="value")
            if smooth > 1:
                wide = wide.rolling(smooth, center=True, min_periods=1).mean()
            mean = wide.mean(axis=1)
            ax.plot(mean.index, mean.values * f, label=str(scen), lw=1.6)
            k = wide.shape[1]
            if k > 1 and n_scen <= MAX_BANDS:
                se = wide.std(axis=1, ddof=1) / np.sqrt(k)
                q = stats.t.ppf(0.975, k - 1)
                ax.fill_between(mean.index, m.clip(mean - q * se) * f,
                                m.clip(mean + q * se) * f, alpha=0.25)
        _ensure_span(ax, min_span(name))
        ax.set_title(label(name), fontsize=8, wrap=True)
        ax.set_xlabel("year / année", fontsize=8)
        ax.set_ylabel(m.level_unit(), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if len(labels) > 1:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.05 if len(labels) > 1 else 0, 1, 0.97))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def territory_map(tmap: TerritoryMap, values: np.ndarray, name: str, path: str | Path, *,
                  title: str | None = None, diverging: bool = False) -> Path:
    """Choropleth of one territory measure (real outlines for built-in maps)."""
    from simulation.reports.maps import plot_choropleth

    m = MEASURES[name]
    fig = plot_choropleth(tmap, np.asarray(values, float),
                          title=title or f"{m.label_en} / {m.label_fr}",
                          label=m.unit, path=path, diverging=diverging)
    del fig
    return Path(path)


def run_plots(res: Results, out: str | Path) -> list[Path]:
    """Standard plots of one run: measures over time and two maps at the end."""
    from simulation.world.maps import load_map

    out = Path(out)
    df = res.to_df(territories=False)
    paths = [timeseries(df, TIME_MEASURES, out / "measures_over_time.png",
                        title=f"{res.scenario} (seed {res.seed}) — {res.map_name}")]
    tmap = res.tmap
    if tmap is None and res.map_name in ("france-regions", "france-departements"):
        tmap = load_map(res.map_name)
    if tmap is not None and tmap.n == len(res.codes):
        last = res.territory_frame()
        # attractiveness is noisy month to month: average over the last 12 months
        from simulation.engine.measures import TERRITORY_MEASURES

        j = TERRITORY_MEASURES.index("attractiveness")
        att = np.nanmean(res.territory_values[-12:, :, j], axis=0)
        paths.append(territory_map(tmap, att, "attractiveness", out / "map_attractiveness.png",
                                   title="Attractiveness (last 12 months) / Attractivité"))
        paths.append(territory_map(tmap, last["local_value_captured"].to_numpy(),
                                   "local_value_captured", out / "map_local_value.png"))
    return paths


__all__ = ["timeseries", "territory_map", "run_plots", "label", "HEADLINE"]
