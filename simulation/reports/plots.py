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
    interval of the mean over replications (t quantile).
    """
    from scipy import stats

    d = df[df["territory"] == "_map"]
    n = len(measures)
    cols = 3 if n > 4 else n
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.1 * rows), squeeze=False)
    for ax, name in zip(axes.flat, measures, strict=False):
        sub = d[d["measure"] == name]
        for scen, g in sub.groupby("scenario", sort=False):
            wide = g.pivot_table(index="year", columns="seed", values="value")
            if smooth > 1:
                wide = wide.rolling(smooth, center=True, min_periods=1).mean()
            mean = wide.mean(axis=1)
            ax.plot(mean.index, mean.values, label=str(scen), lw=1.6)
            k = wide.shape[1]
            if k > 1:
                se = wide.std(axis=1, ddof=1) / np.sqrt(k)
                q = stats.t.ppf(0.975, k - 1)
                ax.fill_between(mean.index, mean - q * se, mean + q * se, alpha=0.25)
        ax.set_title(label(name), fontsize=9)
        ax.set_xlabel("year / année", fontsize=8)
        ax.set_ylabel(MEASURES[name].unit, fontsize=8)
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
