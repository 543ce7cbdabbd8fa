"""Paired comparison of scenarios with a baseline, and its self-contained report.

Every scenario is run with the same replication seeds as the baseline (**common random
numbers**: replication k of every scenario uses seed k, and each stochastic process draws from
its own named stream), so a scenario compared with itself gives exactly zero difference and the
differences measure the scenario, not reshuffled noise.

Effects are ``scenario - baseline`` per replication, for every measure, map-level and per
territory:

* **at the end**: the mean of the last :data:`WINDOW_MONTHS` months of the run (flow measures
  such as attractiveness are noisy month to month);
* **over time**: every month for map-level measures, every year (mean of its 12 months) per
  territory;

each with its mean over replications and a 95 % confidence interval from the paired t
distribution (``scipy.stats.t``; no interval with a single replication).

With ``draws=N`` (``terrinum compare --draws N``) replication k of every scenario also uses the
same posterior draw of the calibrated parameters (N draws spread evenly over the shipped ones,
replication k using the selected draw k mod N;
:func:`simulation.scenarios.runner.replication_draw_list`),
so the intervals show the simulation's randomness and what the data leave uncertain about
the parameters; a scenario's own parameters and levers stay as it sets them.

:func:`write_outputs` writes tidy Parquet and CSV, PNG plots and ``report.html``: one file with
its images embedded, no external resource, that a workshop facilitator can hand out.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import platform as _platform
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.engine.calibrated import Draw
from simulation.engine.measures import HEADLINE, MAP_MEASURES, MEASURES, TERRITORY_MEASURES
from simulation.engine.policies import Selector
from simulation.engine.results import (
    MAP_CODE,
    Results,
    atomic_write_csv,
    atomic_write_parquet,
    atomic_write_text,
    package_version,
)
from simulation.reports import style
from simulation.scenarios.files import Scenario, ScenarioError
from simulation.scenarios.runner import (
    ScenarioLike,
    as_scenario,
    default_workers,
    draws_manifest,
    replication_draw_list,
    replication_seed_list,
    replication_warnings,
    run_many,
    run_results,
    write_csv_parts,
    write_parquet_parts,
)
from simulation.scenarios.wording import (  # effect words re-exported from here
    WINDOW_MONTHS,
    decimals_for,
    display_scale,
    effect_numbers,
    effect_sentence,
    fmt_num,
)
from simulation.scenarios.wording import safe_label as _safe

KEY_MEASURES = [*HEADLINE, "gini_territories", "local_platform_share", "global_platform_share",
                "leakage_global", "local_tax_base", "non_take_up", "service_access",
                "unemployment_rate", "telework_share", "broadband_coverage", "mean_income",
                "firms", "commute_co2"]
"""Measures described in plain words in the report (every measure is in its tables)."""

FOREST_MEASURES = ["attractiveness", "theil_between", "gini", "local_value_captured",
                   "global_platform_share", "local_tax_base", "non_take_up",
                   "unemployment_rate", "telework_share"]
"""Measures of the summary figure of effects with their intervals."""

MAP_EFFECT_MEASURES = ["attractiveness", "gini", "local_value_captured"]
"""Territory measures drawn as maps of effects when a scenario's question names none."""

OVER_TIME_MEASURES = ["attractiveness", "gini", "theil_between", "local_value_captured",
                      "global_platform_share", "local_platform_share", "non_take_up",
                      "unemployment_rate", "telework_share", "broadband_coverage",
                      "mean_income", "local_tax_base"]





# ============================================================================ statistics
def paired_effect(base: np.ndarray, scen: np.ndarray, confidence: float = 0.95
                  ) -> dict[str, np.ndarray]:
    """Mean paired difference and its t confidence interval over replications (axis 0).

    Args:
        base: baseline values, shape (replications, ...).
        scen: scenario values, same shape, replication k paired with replication k.
        confidence: confidence level of the interval.

    Returns:
        dict of arrays of shape ``base.shape[1:]``: ``diff`` (mean of scen - base),
        ``ci_low``, ``ci_high`` (NaN with fewer than 2 replications), ``sd`` (standard
        deviation of the differences), ``n`` (replications with both values),
        ``baseline_mean`` and ``scenario_mean``.
    """
    from scipy import stats

    base = np.asarray(base, dtype=float)
    scen = np.asarray(scen, dtype=float)
    d = scen - base
    n = np.sum(np.isfinite(d), axis=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(d, axis=0)
        sd = np.where(n > 1, np.nanstd(d, axis=0, ddof=1) if d.shape[0] > 1 else np.nan,
                      np.nan)
        q = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2.0, np.maximum(n - 1, 1)), np.nan)
        half = q * sd / np.sqrt(np.maximum(n, 1))
        half = np.where(sd == 0, 0.0, half)
        bm = np.nanmean(base, axis=0)
        sm = np.nanmean(scen, axis=0)
    return {"diff": mean, "ci_low": mean - half, "ci_high": mean + half, "sd": sd,
            "n": n.astype(int), "baseline_mean": bm, "scenario_mean": sm}


def _window(steps: int, months: int = WINDOW_MONTHS) -> slice:
    """Index of the last ``months`` steps among 1..steps-1 (step 0 is the initial state)."""
    last = steps - 1
    return slice(max(1, last - months + 1), last + 1)


def _excludes_zero(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (lo > 0) | (hi < 0)


# ============================================================================ comparison
@dataclasses.dataclass
class Comparison:
    """Outcome of :func:`compare`.

    Attributes:
        baseline: the baseline scenario.
        scenarios: the compared scenarios (same order as ``labels[1:]``).
        labels: unique labels, baseline first.
        seeds: replication seeds (replication k of every scenario uses ``seeds[k]``).
        master_seed: seed the replication seeds derive from.
        years: simulated years of every run.
        n_households: household agents of every run.
        results: label -> one :class:`Results` per replication.
        effects_map: map-level effects at the end (one row per scenario and measure).
        effects_territory: per-territory effects at the end.
        effects_groups: effects averaged over the territories a scenario targets and the
            others (household-weighted, per replication, then t interval).
        effects_time: map-level effects per month.
        effects_time_territory: per-territory effects per year.
        notes: remarks on the set-up (years or sizes that differ from a scenario's own).
        workers: worker processes used.
        elapsed_s: wall-clock time of the runs, seconds.
        draws: the posterior draw of each replication (replication k of every scenario
            uses ``draws[k]``), or None: the calibrated defaults.
        calibration_dir: the folder the draws were read from (None: the default one).
    """

    baseline: Scenario
    scenarios: list[Scenario]
    labels: list[str]
    seeds: list[int]
    master_seed: int
    years: float
    n_households: int
    results: dict[str, list[Results]]
    effects_map: pd.DataFrame
    effects_territory: pd.DataFrame
    effects_groups: pd.DataFrame
    effects_time: pd.DataFrame
    effects_time_territory: pd.DataFrame
    notes: list[str]
    workers: int
    elapsed_s: float
    draws: list[Draw] | None = None
    calibration_dir: Path | str | None = None

    @property
    def n_draws(self) -> int:
        """Distinct posterior draws paired with the replications (0: none)."""
        return len({d.index for d in self.draws}) if self.draws else 0

    @property
    def all_scenarios(self) -> list[Scenario]:
        """Baseline then the compared scenarios."""
        return [self.baseline, *self.scenarios]


def _unique_labels(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        label, k = n, 2
        while label in out:
            label = f"{n}#{k}"
            k += 1
        out.append(label)
    return out


def _same_map(a: Scenario, b: Scenario) -> bool:
    return (a.map, a.map_seed, json.dumps(a.map_options, sort_keys=True)) == \
        (b.map, b.map_seed, json.dumps(b.map_options, sort_keys=True))


def compare(baseline: ScenarioLike, scenarios: Sequence[ScenarioLike], *,
            reps: int | None = None, seed: int | None = None, years: float | None = None,
            n_households: int | None = None, workers: int | None = None,
            progress: bool = True, draws: int = 0,
            calibration_dir: Path | str | None = None) -> Comparison:
    """Run a baseline and scenarios with common random numbers and estimate the effects.

    Args:
        baseline: the reference scenario (object, dict, path or built-in name).
        scenarios: scenarios to compare with it (same map).
        reps: replications per scenario (default: ``draws`` with draws, else 3); at least
            ``draws``.
        seed: master seed of the replication seeds (default: the baseline's seed).
        years: simulated years (default: the baseline's).
        n_households: household agents (default: the baseline's).
        workers: worker processes (default: the usable cores).
        progress: show a progress bar.
        draws: posterior draws paired with the replications (0: none, the calibrated
            defaults): replication k of every scenario uses seed k and selected draw
            k mod ``draws`` (the draws spread evenly over the shipped ones).
        calibration_dir: folder of the draws (default: ``TERRINUM_CALIBRATION_DIR`` or the
            shipped calibration).

    Returns:
        A :class:`Comparison` with the runs and the effect tables.

    Raises:
        ScenarioError: a scenario on another map than the baseline, or invalid settings.
        DrawError: draws asked for that do not exist (the message says what is shipped).
    """
    base = as_scenario(baseline)
    scens = [as_scenario(s) for s in scenarios]
    if not scens:
        raise ScenarioError("<compare>", "scenarios", "no scenario to compare",
                            "at least one scenario besides the baseline")
    if reps is None:
        reps = draws if isinstance(draws, int) and not isinstance(draws, bool) and draws > 0 \
            else 3
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ScenarioError("<compare>", "reps", f"invalid number of replications {reps!r}",
                            "a whole number >= 1")
    for s in scens:
        if not _same_map(base, s):
            raise ScenarioError(s.path or s.name, "run.map",
                                f"map {s.map!r} differs from the baseline's {base.map!r}",
                                "scenarios compared with a baseline use the same map "
                                "(and map_seed, map_options)")
    years = float(base.years if years is None else years)
    if not (0 < years <= 200):
        raise ScenarioError("<compare>", "years", f"invalid value {years!r}", "(0, 200] years")
    nh = int(base.n_households if n_households is None else n_households)
    master = int(base.seed if seed is None else seed)
    seeds = replication_seed_list(master, reps)
    rep_draws = replication_draw_list(draws, reps, calibration_dir)
    labels = _unique_labels([base.name, *[s.name for s in scens]])
    notes = []
    run_scens = []
    for s in [base, *scens]:
        if s.name_note:
            notes.append(f"{s.path.name if s.path else s.name}: {s.name_note}.")
        if s.years != years:
            notes.append(f"{s.name}: years = {years:g} in this comparison (its file says "
                         f"{s.years:g}).")
        if s.n_households != nh:
            notes.append(f"{s.name}: n_households = {nh:,} in this comparison (its file "
                         f"says {s.n_households:,}).")
        if s.years != years or s.n_households != nh:
            s = s.with_overrides(years=years, n_households=nh)
        run_scens.append(s)
    base, scens = run_scens[0], run_scens[1:]
    notes += replication_warnings(reps)
    tasks = [dict(scenario=s, seed=sd, years=years, n_households=nh,
                  **({} if rep_draws is None else {"draw": rep_draws[k]}))
             for s in [base, *scens] for k, sd in enumerate(seeds)]
    nworkers = default_workers(len(tasks)) if workers is None else max(1, int(workers))
    t0 = time.perf_counter()
    out = run_many(tasks, workers=nworkers, progress=progress,
                   desc=f"compare {len(labels)} scenarios x {reps}", func=run_results)
    elapsed = time.perf_counter() - t0
    results = {lab: out[i * reps:(i + 1) * reps] for i, lab in enumerate(labels)}
    if rep_draws is not None and rep_draws[0].map != out[0].map_name:
        notes.append(f"The posterior draws' territory constants were fitted on "
                     f"{rep_draws[0].map} and are not used on {out[0].map_name}; their "
                     "parameter values are.")
    tables = effects_from_results(results, labels, [base, *scens])
    return Comparison(baseline=base, scenarios=scens, labels=labels, seeds=seeds,
                      master_seed=master, years=years, n_households=nh, results=results,
                      notes=notes, workers=min(nworkers, len(tasks)), elapsed_s=elapsed,
                      draws=rep_draws, calibration_dir=calibration_dir, **tables)


def _stack(results: Sequence[Results]) -> tuple[np.ndarray, np.ndarray]:
    m = np.stack([r.map_values[MAP_MEASURES].to_numpy(dtype=float) for r in results])
    t = np.stack([np.asarray(r.territory_values, dtype=float) for r in results])
    return m, t


def _targets(scen: Scenario, tmap) -> np.ndarray | None:
    """Boolean mask of the territories a scenario's policies select (None: map-wide only)."""
    mask = np.zeros(tmap.n, dtype=bool)
    any_sel = False
    for p in scen.policies:
        if isinstance(p.territories, Selector) and (
                p.territories.codes or p.territories.kinds or p.territories.regions):
            mask[p.territories.resolve(tmap)] = True
            any_sel = True
    return mask if any_sel and not mask.all() else None


def effects_from_results(results: dict[str, list[Results]], labels: Sequence[str],
                         scenarios: Sequence[Scenario]) -> dict[str, pd.DataFrame]:
    """Effect tables of every scenario against the first (the baseline).

    Args:
        results: label -> replications (same seeds in the same order for every label).
        labels: labels, baseline first.
        scenarios: the scenarios, in the order of ``labels``.

    Returns:
        dict with ``effects_map``, ``effects_territory``, ``effects_groups``,
        ``effects_time`` and ``effects_time_territory`` (tidy DataFrames).
    """
    base_label = labels[0]
    bres = results[base_label]
    bm, bt = _stack(bres)
    S = bm.shape[1]
    w = _window(S)
    codes = list(bres[0].codes)
    names = list(bres[0].names)
    K = len(codes)
    Y = (S - 1) // 12
    window_text = f"mean of the last {w.stop - w.start} months"
    seeds = [r.seed for r in bres]
    hh_j = TERRITORY_MEASURES.index("households")
    try:
        tmap = scenarios[0].load_map(seeds[0])
    except Exception:  # noqa: BLE001 - groups need the map; the other tables do not
        tmap = None
    rows_map, rows_terr, rows_groups, rows_time, rows_tt = [], [], [], [], []
    # household agents per territory (baseline, mean over the window and replications):
    # real households x agents / real households of the map at step 0
    nh = np.array([float(r.params.get("n_households", np.nan)) for r in bres])
    real0 = bt[:, 0, :, hh_j].sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agents = np.nanmean(np.nanmean(bt[:, w, :, hh_j], axis=1)
                            * (nh / np.where(real0 > 0, real0, np.nan))[:, None], axis=0)
    meas_t = np.asarray(TERRITORY_MEASURES, dtype=object)
    for label, scen in zip(labels[1:], scenarios[1:], strict=True):
        sres = results[label]
        if [r.seed for r in sres] != seeds:
            raise ValueError(f"{label}: replication seeds differ from the baseline's")
        sm, st = _stack(sres)
        if sm.shape != bm.shape or st.shape != bt.shape:
            raise ValueError(f"{label}: runs differ in length or map from the baseline's")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            b_end_m, s_end_m = np.nanmean(bm[:, w], axis=1), np.nanmean(sm[:, w], axis=1)
            b_end_t, s_end_t = np.nanmean(bt[:, w], axis=1), np.nanmean(st[:, w], axis=1)
        e = paired_effect(b_end_m, s_end_m)
        df = pd.DataFrame({"scenario": label, "baseline": base_label, "measure": MAP_MEASURES,
                           "window": window_text,
                           **{k: v for k, v in e.items()}})
        rows_map.append(df)
        e = paired_effect(b_end_t, s_end_t)   # (K, M)
        rows_terr.append(pd.DataFrame({
            "scenario": label, "baseline": base_label,
            "territory": np.repeat(np.asarray(codes, dtype=object), len(meas_t)),
            "name": np.repeat(np.asarray(names, dtype=object), len(meas_t)),
            "measure": np.tile(meas_t, K), "window": window_text,
            "agents": np.repeat(agents, len(meas_t)),
            **{k: v.reshape(-1) for k, v in e.items()}}))
        # targeted territories against the others (household-weighted per replication)
        mask = _targets(scen, tmap) if tmap is not None and tmap.n == K else None
        if mask is not None:
            wts = b_end_t[:, :, hh_j]   # baseline households (R, K)
            for gname, gmask in (("targeted", mask), ("elsewhere", ~mask)):
                # household-weighted mean over the group's territories where the measure
                # has a value in both runs (a NaN, e.g. a share with no eligible household,
                # must not count as 0 with its weight kept)
                bt_g, st_g = b_end_t[:, gmask, :], s_end_t[:, gmask, :]
                ok = np.isfinite(bt_g) & np.isfinite(st_g)
                ww = np.where(ok, wts[:, gmask][:, :, None], 0.0)
                tot = ww.sum(axis=1)
                with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    bg = np.where(tot > 0, (np.where(ok, bt_g, 0.0) * ww).sum(axis=1) / tot,
                                  np.nan)
                    sg = np.where(tot > 0, (np.where(ok, st_g, 0.0) * ww).sum(axis=1) / tot,
                                  np.nan)
                eg = paired_effect(bg, sg)
                rows_groups.append(pd.DataFrame({
                    "scenario": label, "baseline": base_label, "group": gname,
                    "territories": ", ".join(c for c, m in zip(codes, gmask, strict=True)
                                             if m),
                    "n_territories": int(gmask.sum()), "measure": meas_t, "window": window_text,
                    **{k: v for k, v in eg.items()}}))
        # over time, map level, monthly
        e = paired_effect(bm, sm)   # (S, M)
        steps = np.arange(S)
        rows_time.append(pd.DataFrame({
            "scenario": label, "baseline": base_label,
            "step": np.repeat(steps, len(MAP_MEASURES)),
            "year": np.repeat(steps / 12.0, len(MAP_MEASURES)),
            "measure": np.tile(np.asarray(MAP_MEASURES, dtype=object), S),
            **{k: v.reshape(-1) for k, v in e.items()}}))
        # over time, per territory, yearly means
        if Y >= 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                by = np.nanmean(bt[:, 1:Y * 12 + 1].reshape(len(seeds), Y, 12, K, -1), axis=2)
                sy = np.nanmean(st[:, 1:Y * 12 + 1].reshape(len(seeds), Y, 12, K, -1), axis=2)
            e = paired_effect(by, sy)   # (Y, K, M)
            M = len(meas_t)
            rows_tt.append(pd.DataFrame({
                "scenario": label, "baseline": base_label,
                "year": np.repeat(np.arange(1, Y + 1), K * M),
                "territory": np.tile(np.repeat(np.asarray(codes, dtype=object), M), Y),
                "measure": np.tile(meas_t, Y * K),
                **{k: v.reshape(-1) for k, v in e.items()}}))

    def finish(parts: list[pd.DataFrame], cols_first: list[str],
               family: Sequence[str] = ("scenario",)) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame(columns=[*cols_first, "diff", "ci_low", "ci_high", "sd", "n",
                                         "baseline_mean", "scenario_mean", "p_value",
                                         "q_value", "distinguishable"])
        df = pd.concat(parts, ignore_index=True)
        if "measure" in df:
            df.insert(df.columns.get_loc("measure") + 1, "label_en",
                      df["measure"].map(lambda m: MEASURES[m].label_en))
            df.insert(df.columns.get_loc("label_en") + 1, "label_fr",
                      df["measure"].map(lambda m: MEASURES[m].label_fr))
            df.insert(df.columns.get_loc("label_fr") + 1, "unit",
                      df["measure"].map(lambda m: MEASURES[m].unit))
        df["excludes_zero"] = _excludes_zero(df["ci_low"].to_numpy(), df["ci_high"].to_numpy())
        # Benjamini-Hochberg across every measure (x territory, x group) of a scenario's
        # table: only effects that survive it are called distinguishable (style.fdr)
        df["p_value"] = style.paired_p_values(df["diff"].to_numpy(), df["sd"].to_numpy(),
                                              df["n"].to_numpy())
        q = np.full(len(df), np.nan)
        for _, idx in df.groupby(list(family), sort=False).indices.items():
            q[idx] = style.fdr(df["p_value"].to_numpy()[idx])
        df["q_value"] = q
        df["distinguishable"] = (q <= style.FDR_LEVEL) & df["excludes_zero"].to_numpy()
        if "agents" in df:   # too few agents: uncertain whatever the test says
            df["few_agents"] = ~(df["agents"].to_numpy(dtype=float) >= style.MIN_AGENTS)
            df["distinguishable"] &= ~df["few_agents"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            bmv = df["baseline_mean"].to_numpy(dtype=float)
            df["rel_diff_pct"] = np.where(np.abs(bmv) > 1e-12, 100.0 * df["diff"] / np.abs(
                np.where(bmv == 0, 1.0, bmv)), np.nan)
        for c in ("scenario", "baseline", "measure"):
            if c in df:
                df[c] = df[c].astype(str)
        return df

    return {
        "effects_map": finish(rows_map, ["scenario", "baseline", "measure"]),
        "effects_territory": finish(rows_terr, ["scenario", "baseline", "territory", "name",
                                                "measure"]),
        "effects_groups": finish(rows_groups, ["scenario", "baseline", "group", "territories",
                                               "n_territories", "measure"]),
        "effects_time": finish(rows_time, ["scenario", "baseline", "step", "year", "measure"],
                               ("scenario", "step")),
        "effects_time_territory": finish(rows_tt, ["scenario", "baseline", "year",
                                                   "territory", "measure"],
                                         ("scenario", "year")),
    }



# ============================================================================ outputs


def _map_frames(cmp: Comparison) -> pd.DataFrame:
    parts = []
    for label in cmp.labels:
        for r in cmp.results[label]:
            df = r.to_df(territories=False)
            df["scenario"] = label
            parts.append(df)
    return pd.concat(parts, ignore_index=True)


def _plot_effect_maps(cmp: Comparison, label: str, path: Path) -> Path | None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simulation.reports.maps import plot_choropleth

    try:
        tmap = cmp.baseline.load_map(cmp.seeds[0])
    except Exception:  # noqa: BLE001 - no map, no choropleth
        return None
    from simulation.scenarios.report import question_measures

    et = cmp.effects_territory
    sub = et[et["scenario"] == label]
    scen = cmp.scenarios[cmp.labels.index(label) - 1]
    shown = [m for m in question_measures(scen) if m in TERRITORY_MEASURES][:4] \
        or MAP_EFFECT_MEASURES
    fig = Figure(figsize=(5.4 * len(shown), 6.0), layout="constrained")
    FigureCanvasAgg(fig)
    for i, name in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), i + 1)
        s = sub[sub["measure"] == name].set_index("territory")
        f, unit_en, unit_fr = display_scale(name)
        vals = s["diff"].reindex(tmap.codes).to_numpy(dtype=float) * f
        dist = s["distinguishable"].reindex(tmap.codes).fillna(False).to_numpy(bool)
        vals = np.where(s["few_agents"].reindex(tmap.codes).fillna(True).to_numpy(bool),
                        np.nan, vals)   # too few agents: no figure (grey)
        title = f"{MEASURES[name].label_en} / {MEASURES[name].label_fr}"
        unit = f"{unit_en} / {unit_fr}" if unit_fr != unit_en else unit_en
        plot_choropleth(tmap, vals, title=title, ax=ax, diverging=True,
                        cmap=style.effect_cmap(name), limit=style.robust_limit(vals),
                        uncertain=~dist,
                        label="scenario - baseline / scénario - référence"
                              + (f" ({unit})" if unit else ""))
    fig.suptitle(f"Effect of '{label}' (last {WINDOW_MONTHS} months, mean of "
                 f"{len(cmp.seeds)} paired replication(s)); hatched: not distinguishable "
                 f"from zero after FDR control; grey: fewer than {style.MIN_AGENTS} household "
                 f"agents\nEffet du scénario ; hachuré : non distinguable du hasard ; gris : "
                 f"moins de {style.MIN_AGENTS} ménages simulés", fontsize=10)
    fig.savefig(path, dpi=80)
    return path


def _plot_effect_over_time(cmp: Comparison, label: str, path: Path, smooth: int = 3) -> Path:
    """The paired effect over time, one panel per map measure.

    Scenario - baseline, mean and 95 % CI over the paired replications, as a centred
    rolling mean over ``smooth`` months. The runs are paired, so the effect's interval is
    much tighter than the two level bands drawn one over the other would suggest.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    meas = [m for m in OVER_TIME_MEASURES if m in MAP_MEASURES]
    et = cmp.effects_time
    sub = et[(et["scenario"] == label) & (et["step"] > 0)]
    cols = 3
    rows = int(math.ceil(len(meas) / cols))
    fig = Figure(figsize=(4.8 * cols, 2.9 * rows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    for i, name in enumerate(meas):
        ax = fig.add_subplot(rows, cols, i + 1)
        f, unit_en, _ = display_scale(name)
        g = sub[sub["measure"] == name].sort_values("step")
        d, lo, hi = (g[c].rolling(max(smooth, 1), center=True, min_periods=1).mean() * f
                     for c in ("diff", "ci_low", "ci_high"))
        fall_c, rise_c = style.ends(name)
        ax.axhline(0, color="black", lw=0.8)
        ax.fill_between(g["year"], lo, hi, color="0.6", alpha=0.35, lw=0,
                        label="95 % CI / IC à 95 %")
        ax.plot(g["year"], d, color="0.15", lw=1.4, label="effect / effet")
        ymax = float(np.nanmax(np.abs(np.r_[lo, hi, 1e-12])))
        ax.set_ylim(-1.1 * ymax, 1.1 * ymax)
        good = MEASURES[name].good
        up, down = {"higher": ("better / mieux", "worse / moins bien"),
                    "lower": ("worse / moins bien", "better / mieux")}.get(
                        good, ("up / hausse", "down / baisse"))
        ax.text(0.01, 0.97, up, transform=ax.transAxes, fontsize=6, va="top", color=rise_c)
        ax.text(0.01, 0.03, down, transform=ax.transAxes, fontsize=6, va="bottom",
                color=fall_c)
        ax.set_title(f"{MEASURES[name].label_en} / {MEASURES[name].label_fr}", fontsize=8)
        ax.set_ylabel(unit_en or "difference", fontsize=7)
        ax.set_xlabel("year / année", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Effect of {label} over time: {label} - {cmp.labels[0]}, mean and 95 % CI "
                 f"over {len(cmp.seeds)} paired replication(s)\nEffet dans le temps : "
                 f"écart apparié et IC à 95 %", fontsize=10)
    fig.savefig(path, dpi=90)
    return path


def _plot_forest(cmp: Comparison, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    meas = FOREST_MEASURES
    em = cmp.effects_map
    labels = cmp.labels[1:]
    cols = 3
    rows = int(math.ceil(len(meas) / cols))
    fig = Figure(figsize=(5.0 * cols, 0.45 * len(labels) * rows + 1.6 * rows),
                 layout="constrained")
    FigureCanvasAgg(fig)
    for i, name in enumerate(meas):
        ax = fig.add_subplot(rows, cols, i + 1)
        f, unit_en, _ = display_scale(name)
        sub = em[em["measure"] == name].set_index("scenario").reindex(labels)
        y = np.arange(len(labels))[::-1]
        d = sub["diff"].to_numpy(float) * f
        lo = sub["ci_low"].to_numpy(float) * f
        hi = sub["ci_high"].to_numpy(float) * f
        err = np.vstack([d - lo, hi - d])
        err = np.where(np.isfinite(err), err, 0.0)
        dist = sub["distinguishable"].fillna(False).to_numpy(bool)
        colors = [style.change_colour(name, dd, bool(ok)) for dd, ok in zip(d, dist,
                                                                             strict=True)]
        for j in range(len(labels)):
            if np.isfinite(d[j]):
                ax.errorbar(d[j], y[j], xerr=err[:, j:j + 1], fmt="o", color=colors[j],
                            elinewidth=2, capsize=3, markersize=4)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_title(f"{MEASURES[name].label_en} / {MEASURES[name].label_fr}", fontsize=9)
        ax.set_xlabel(unit_en, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    fig.suptitle("Effects vs baseline with 95 % CI: blue better, orange worse, purple/green "
                 "up/down (no good direction), grey not distinguishable after FDR control\n"
                 "Effets et IC à 95 % : bleu mieux, orange moins bien, violet/vert hausse/baisse, "
                 "gris non distinguable du hasard", fontsize=10)
    fig.savefig(path, dpi=90)
    return path


def write_outputs(cmp: Comparison, out: str | Path, *, command: str = "", plots: bool = True,
                  title: str | None = None, langs: Sequence[str] = ("en", "fr")) -> Path:
    """Write the comparison: data, plots, ``report.html`` and ``manifest.json``.

    Files: ``runs.parquet`` (every run, tidy, monthly, map-level and per territory),
    ``runs_map.csv`` (map-level rows of every run), ``effects_map``, ``effects_territory``,
    ``effects_groups`` and ``effects_time`` (Parquet and CSV), ``effects_time_territory``
    (Parquet only: per territory, measure and year it runs to tens of MB as CSV),
    ``scenarios/<label>.toml`` (each scenario exactly as run), PNG plots, ``report.html``
    and ``manifest.json``.

    Args:
        cmp: the comparison.
        out: output folder (created).
        command: the command line to record.
        plots: draw PNG plots (the report then has no figures).
        title: report title (default: the scenarios' titles).
        langs: the report's languages, one file each: ``report.html`` (English) and
            ``report.fr.html`` (French).

    Returns:
        Path of the first report written (``report.html`` when English is among ``langs``).
    """
    from simulation.scenarios.report import LANGS, REPORT_FILES, render_report

    langs = list(dict.fromkeys(langs))
    if not langs or any(lang not in LANGS for lang in langs):
        raise ValueError(f"langs must be among {', '.join(LANGS)}, got {langs!r}")
    from simulation.reports import plots as _plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenarios").mkdir(exist_ok=True)
    files: list[str] = []

    def all_runs():
        for label in cmp.labels:
            for r in cmp.results[label]:
                df = r.to_df()
                df["scenario"] = label
                yield df

    write_parquet_parts(all_runs(), out / "runs.parquet")
    files.append("runs.parquet")
    df_map = _map_frames(cmp)
    write_csv_parts([df_map], out / "runs_map.csv")
    files.append("runs_map.csv")
    for name in ("effects_map", "effects_territory", "effects_groups", "effects_time",
                 "effects_time_territory"):
        df = getattr(cmp, name)
        atomic_write_parquet(df, out / f"{name}.parquet")
        files.append(f"{name}.parquet")
        if name != "effects_time_territory":   # tens of MB as CSV for 96 territories
            atomic_write_csv(df, out / f"{name}.csv")
            files.append(f"{name}.csv")
    for label, scen in zip(cmp.labels, cmp.all_scenarios, strict=True):
        atomic_write_text(scen.to_toml(), out / "scenarios" / f"{_safe(label)}.toml")
        files.append(f"scenarios/{_safe(label)}.toml")
    atomic_write_csv(pd.DataFrame({"note": list(cmp.notes)}, dtype=object), out / "notes.csv")
    files.append("notes.csv")
    images: dict[str, list[tuple[str, Path]]] = {"_all": []}
    if plots:
        p = _plots.timeseries(df_map, [m for m in OVER_TIME_MEASURES if m in MAP_MEASURES],
                              out / "over_time_all.png",
                              title="All scenarios, mean and 95 % band over replications / "
                                    "Tous les scénarios")
        images["_all"].append(("levels", p))
        p = _plot_forest(cmp, out / "effects_headline.png")
        images["_all"].insert(0, ("forest", p))
        for label in cmp.labels[1:]:
            images[label] = []
            p = _plot_effect_over_time(cmp, label, out / f"over_time_{_safe(label)}.png")
            images[label].append(("time", p))
            pm = _plot_effect_maps(cmp, label, out / f"effect_maps_{_safe(label)}.png")
            if pm is not None:
                images[label].insert(0, ("maps", pm))
        for lst in images.values():
            files += [p.name for _, p in lst]
    created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    manifest = {
        "kind": "terrinum comparison", "created": created, "command": command,
        "terrinum_version": package_version(), "python": _platform.python_version(),
        "map": cmp.baseline.map, "years": cmp.years, "n_households": cmp.n_households,
        "replications": len(cmp.seeds), "master_seed": cmp.master_seed,
        "seeds": cmp.seeds, "window_months": WINDOW_MONTHS,
        "common_random_numbers": "replication k of every scenario uses seeds[k]"
                                 + (" and draws.by_replication[k]" if cmp.draws else ""),
        "confidence_interval": "95 % paired t interval over replications (scipy.stats.t)",
        **draws_manifest(cmp.seeds, cmp.draws, cmp.calibration_dir),
        "workers": cmp.workers, "elapsed_s": round(cmp.elapsed_s, 2), "notes": cmp.notes,
        "scenarios": [_scenario_manifest(label, s) for label, s in
                      zip(cmp.labels, cmp.all_scenarios, strict=True)],
        "files": [*files, *(REPORT_FILES[lang] for lang in langs), "manifest.json"],
        "data": {
            "runs.parquet": "every run, tidy (scenario, seed, step, year, territory, measure, "
                            "value), monthly, map-level (territory '_map') and per territory",
            "runs_map.csv": "the map-level rows of runs.parquet",
            "effects_map": "scenario - baseline per measure, mean of the last "
                           f"{WINDOW_MONTHS} months, mean and 95 % CI over paired replications",
            "effects_territory": "the same per territory",
            "effects_groups": "the same, household-weighted over the territories a scenario's "
                              "policies target and over the others",
            "effects_time": "map-level effects per month",
            "effects_time_territory": "per-territory effects per simulated year (Parquet only)",
        },
    }
    for lang in langs:
        atomic_write_text(render_report(cmp, images, manifest, title=title, lang=lang),
                          out / REPORT_FILES[lang])
    atomic_write_text(json.dumps(manifest, indent=2, default=str), out / "manifest.json")
    return out / REPORT_FILES[langs[0]]


def _scenario_manifest(label: str, s: Scenario) -> dict[str, Any]:
    return {"label": label, "name": s.name, "file": str(s.path) if s.path else None,
            "sha256": s.sha256,
            "files": [{"path": str(f), "sha256": s.file_hashes.get(str(f), "")}
                      for f in s.files],
            "overrides": s.overrides, "params": s.params, "levers": s.levers,
            "uncertainties": s.uncertainties, "policies": s.policy_dicts()}


# ============================================================================ HTML report
def render_report(cmp: Comparison, images: dict[str, list[tuple[str, Path]]],
                  manifest: dict[str, Any], title: str | None = None, lang: str = "en") -> str:
    """The report in one language (:func:`simulation.scenarios.report.render_report`)."""
    from simulation.scenarios.report import render_report as _render

    return _render(cmp, images, manifest, title=title, lang=lang)


__all__ = ["Comparison", "compare", "effects_from_results", "paired_effect", "write_outputs",
           "render_report", "effect_sentence", "effect_numbers", "display_scale",
           "fmt_num", "decimals_for", "WINDOW_MONTHS", "KEY_MEASURES", "MAP_CODE"]
