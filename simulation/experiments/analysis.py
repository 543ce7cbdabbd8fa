"""Analyse a sweep: outcomes per run, response plots, Morris and Sobol indices, PRIM boxes.

``analyse(DIR)`` reads a sweep folder (``simulation.experiments.sweep``) and returns DataFrames; it
also
writes them as CSV files with PNG plots and a self-contained ``report.html`` (images embedded
as base64, no external resource) into ``DIR/analysis`` (or another folder).

What it computes, by design:

* every design: ``runs`` (one row per finished run: factors and outcomes) and ``points``
  (one row per design point: mean, standard deviation and 95 % confidence interval of each
  outcome over replications, Student t);
* ``grid``: ``response`` (the mean response to each factor with its band) and plots: lines
  with 95 % bands over replications, one line per value of a second factor; outcomes over
  time per design point for small grids;
* ``lhs`` (and the others): scatter plots of each outcome against each factor;
* ``morris``: ``morris`` (mu, mu*, sigma and the confidence interval of mu*, by
  ``SALib.analyze.morris`` on the point means) with bar charts;
* ``sobol``: ``sobol`` (S1, ST and their confidence intervals, by ``SALib.analyze.sobol`` on
  the point means; ``sobol_second_order`` when asked) with bar charts;
* ``[discovery]`` in the experiment: ``prim_boxes`` and ``prim_limits`` (PRIM from
  ``ema_workbench.analysis.prim`` on every run: does it meet the goal?), printed in plain words.
"""

from __future__ import annotations

import base64
import html
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.engine.measures import HEADLINE, MEASURES
from simulation.experiments.design import MAP, Experiment, Factor
from simulation.experiments.files import parse_experiment
from simulation.experiments.sweep import SweepError, read_manifest, read_runs

CONF = 0.95


# ============================================================================ entry point
def load_sweep_experiment(out: str | Path) -> tuple[Experiment, dict[str, Any]]:
    """The experiment of a sweep folder, rebuilt from its manifest (design matrix included)."""
    man = read_manifest(out)
    e = man["experiment"]
    path = Path(e["file"]) if e.get("file") else None
    exp = parse_experiment(e["text"], path=path, quick=bool(e.get("quick")),
                           with_scenario=False, scenario_info=man.get("scenario"))
    d = man["design"]
    numeric = exp.design.kind != "grid"
    exp.set_matrix(np.array(d["matrix"], dtype=float if numeric else object))
    return exp, man


def run_outcomes(exp: Experiment, data: pd.DataFrame) -> pd.DataFrame:
    """One value per run and outcome, from a sweep's tidy rows.

    ``at = "end"``: the value of the last month; ``at = "mean"``: the mean over the months
    of the window (months after ``from`` x 12 up to ``to`` x 12), NaN months ignored.

    Returns:
        Columns run_id plus one column per outcome.
    """
    cols = {}
    for o in exp.outcomes:
        sub = data[(data["territory"] == o.series) & (data["measure"] == o.measure)]
        if o.at == "end":
            last = sub.loc[sub.groupby("run_id")["step"].idxmax()]
            cols[o.name] = last.set_index("run_id")["value"]
        else:
            a, b = o.window
            s = sub[(sub["step"] > round(a * 12)) & (sub["step"] <= round(b * 12))]
            cols[o.name] = s.groupby("run_id")["value"].mean()
    out = pd.DataFrame(cols)
    out.index.name = "run_id"
    return out.reset_index()


def analyse(out: str | Path, *, report_dir: str | Path | None = None, plots: bool = True,
            report: bool = True) -> dict[str, pd.DataFrame]:
    """Analyse a sweep folder.

    Args:
        out: the sweep folder.
        report_dir: where tables, PNGs and ``report.html`` go (default ``out/analysis``).
        plots: draw PNG plots.
        report: write ``report.html`` (needs ``plots``).

    Returns:
        DataFrames by name: ``runs``, ``points`` and, by design, ``response``, ``morris``,
        ``sobol``, ``sobol_second_order``, ``prim_boxes``, ``prim_limits``; ``notes`` holds
        remarks (incomplete sweep, skipped analyses).

    Raises:
        SweepError: not a sweep folder, or no finished run.
    """
    exp, man = load_sweep_experiment(out)
    out = Path(out)
    dest = Path(report_dir) if report_dir is not None else out / "analysis"
    series = sorted({o.series for o in exp.outcomes} | {MAP})
    time_measures = [m for m in dict.fromkeys([o.measure for o in exp.outcomes
                                               if o.territories is None] + HEADLINE)]
    measures = sorted({o.measure for o in exp.outcomes} | set(time_measures))
    data = read_runs(out, measures=measures, territories=series)
    if data.empty:
        raise SweepError(f"{out}: no finished run to analyse yet")
    notes: list[str] = []
    planned = pd.DataFrame(man["runs"])
    finished = set(data["run_id"].unique())
    if len(finished) < len(planned):
        notes.append(f"Only {len(finished)} of {len(planned)} planned runs have finished; the "
                     "results below use those.")
    notes += design_warnings(exp)
    points = exp.points()
    fac = pd.DataFrame(points)
    fac.insert(0, "point", np.arange(len(points)))
    runs = planned[planned["run_id"].isin(finished)].merge(fac, on="point", how="left")
    runs = runs.merge(run_outcomes(exp, data), on="run_id", how="left")
    runs = runs.sort_values(["point", "replicate"]).reset_index(drop=True)
    onames = [o.name for o in exp.outcomes]
    res: dict[str, pd.DataFrame] = {"runs": runs, "points": point_table(runs, exp)}
    figs: list[tuple[str, str, str]] = []   # (section, title, png path)
    if plots:
        dest.mkdir(parents=True, exist_ok=True)

    kind = exp.design.kind
    if kind == "grid":
        res["response"] = response_table(runs, exp)
        if plots:
            for p in response_plots(runs, exp, dest):
                figs.append(("Response", p.stem.replace("_", " "), str(p)))
            if len(points) <= 8:
                p = _timeseries_by_point(exp, data, dest)
                if p is not None:
                    figs.append(("Response", "outcomes over time by design point", str(p)))
    elif plots:
        for p in scatter_plots(runs, exp, dest):
            figs.append(("Response", p.stem.replace("_", " "), str(p)))

    X = exp.matrix()
    means = res["points"].set_index("point")
    complete = len(means) == X.shape[0]
    if kind in ("morris", "sobol"):
        if not complete:
            notes.append(f"{kind.capitalize()} indices need every design point; "
                         f"{X.shape[0] - len(means)} point(s) have no finished run yet.")
        else:
            names = exp.factor_names
            bounds = [f.bounds() for f in exp.factors]
            tabs, tabs2 = [], []
            for o in onames:
                Y = means[f"{o}_mean"].to_numpy(dtype=float)
                if not np.all(np.isfinite(Y)):
                    notes.append(f"{o}: some design points have no value; no {kind} indices.")
                    continue
                if kind == "morris":
                    t = morris_indices(names, bounds, X.astype(float), Y,
                                       levels=exp.design.levels, seed=exp.seed)
                    t.insert(0, "outcome", o)
                    tabs.append(t)
                else:
                    t, t2 = sobol_indices(names, bounds, Y,
                                          second_order=exp.design.second_order, seed=exp.seed)
                    t.insert(0, "outcome", o)
                    tabs.append(t)
                    if t2 is not None:
                        t2.insert(0, "outcome", o)
                        tabs2.append(t2)
            if tabs:
                res[kind] = pd.concat(tabs, ignore_index=True)
                notes += index_warnings(kind, res[kind], exp)
                if plots:
                    fn = morris_plot if kind == "morris" else sobol_plot
                    p = fn(res[kind], exp, dest / f"{kind}_indices.png")
                    figs.append((kind.capitalize(), f"{kind} indices", str(p)))
            if tabs2:
                res["sobol_second_order"] = pd.concat(tabs2, ignore_index=True)

    if exp.discovery is not None:
        disc = exp.discovery
        ok = runs[[g.outcome for g in disc.goals]].notna().all(axis=1)
        r = runs[ok]
        y = np.ones(len(r), dtype=bool)
        for g in disc.goals:
            y &= g.met(r[g.outcome].to_numpy())
        fmap = {f.name: f for f in exp.factors}
        boxes, limits, traj = prim_boxes(
            r[list(disc.inputs)], y, factors=[fmap[n] for n in disc.inputs],
            min_density=disc.min_density, max_boxes=disc.max_boxes, mass_min=disc.mass_min)
        res["prim_boxes"], res["prim_limits"] = boxes, limits
        if plots and traj is not None and len(traj):
            p = prim_plot(traj, dest / "prim_tradeoff.png", disc.min_density)
            figs.append(("Scenario discovery", "PRIM peeling trajectories", str(p)))
    res["notes"] = pd.DataFrame({"note": notes})

    if plots:
        for name, df in res.items():
            df.to_csv(dest / f"{name}.csv", index=False)
        if report:
            write_report(dest / "report.html", exp, man, res, figs)
    return res


# ============================================================================ tables
def _ci(values: np.ndarray) -> tuple[float, float, float, float, int]:
    """(mean, sd, low, high, n) with a Student-t interval of the mean."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return (math.nan,) * 4 + (0,)
    m = float(v.mean())
    if n == 1:
        return m, math.nan, math.nan, math.nan, 1
    sd = float(v.std(ddof=1))
    h = float(stats.t.ppf(0.5 + CONF / 2, n - 1)) * sd / math.sqrt(n)
    return m, sd, m - h, m + h, n


def point_table(runs: pd.DataFrame, exp: Experiment) -> pd.DataFrame:
    """One row per design point: factors, then mean, sd, 95 % CI and n of each outcome."""
    rows = []
    for p, g in runs.groupby("point", sort=True):
        row: dict[str, Any] = {"point": p}
        for f in exp.factors:
            row[f.name] = g[f.name].iloc[0]
        for o in exp.outcomes:
            m, sd, lo, hi, n = _ci(g[o.name].to_numpy())
            row.update({f"{o.name}_mean": m, f"{o.name}_sd": sd, f"{o.name}_ci_low": lo,
                        f"{o.name}_ci_high": hi, f"{o.name}_n": n})
        rows.append(row)
    return pd.DataFrame(rows)


def response_table(runs: pd.DataFrame, exp: Experiment) -> pd.DataFrame:
    """Mean response of each outcome to each factor's values (over the other factors).

    The band is the 95 % interval of the mean over runs (replications and the other
    factors' values pooled).
    """
    rows = []
    for f in exp.factors:
        for v, g in runs.groupby(f.name, sort=True):
            for o in exp.outcomes:
                m, sd, lo, hi, n = _ci(g[o.name].to_numpy())
                rows.append({"factor": f.name, "value": v, "outcome": o.name, "mean": m,
                             "sd": sd, "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows)


# ============================================================================ SALib
MIN_REPLICATIONS = 5
"""Fewer replications per design point than this get a warning (intervals unreliable)."""
SOBOL_MAX_CONF = 0.1
"""Sobol indices whose 95 % half-width exceeds this are flagged: the sample is too small."""
MORRIS_MIN_TRAJECTORIES = 10
"""Fewer Morris trajectories than this get a warning (Campolongo et al. 2007 use 10-50)."""


def design_warnings(exp: Experiment) -> list[str]:
    """Warnings that a sweep's design is too small to read as results.

    A ``--quick`` variant and fewer than :data:`MIN_REPLICATIONS` replications per point are
    always flagged; the words travel to the terminal, ``notes.csv`` and the report.
    """
    out = []
    if exp.quick:
        out.append("WARNING: this is the --quick variant, a smoke test of the pipeline "
                   f"({exp.matrix().shape[0]} design points x {exp.replications} "
                   f"replication(s), {exp.n_households:,} households, {exp.years:g} years): "
                   "its figures are not results. Run without --quick before reading them.")
    if exp.replications < MIN_REPLICATIONS:
        out.append(f"WARNING: {exp.replications} replication(s) per design point (fewer than "
                   f"{MIN_REPLICATIONS}): the intervals are wide and themselves uncertain; "
                   "differences between points may be noise.")
    return out


def index_warnings(kind: str, table: pd.DataFrame, exp: Experiment) -> list[str]:
    """Warnings that SALib's Sobol or Morris indices are not reliable at this sample size.

    Sobol: a confidence half-width above :data:`SOBOL_MAX_CONF`, an S1 outside [0, 1] by more
    than its interval, or ST below S1 by more than their intervals. Morris: fewer than
    :data:`MORRIS_MIN_TRAJECTORIES` trajectories, or the top factor's mu* interval wider
    than mu* itself.
    """
    out: list[str] = []
    if kind == "sobol":
        bad = table[(table["S1_conf"] > SOBOL_MAX_CONF) | (table["ST_conf"] > SOBOL_MAX_CONF)
                    | (table["S1"] < -table["S1_conf"]) | (table["S1"] > 1 + table["S1_conf"])
                    | (table["ST"] < table["S1"] - table["S1_conf"] - table["ST_conf"])]
        if len(bad):
            worst = float(np.nanmax(np.r_[table["S1_conf"], table["ST_conf"]]))
            out.append(f"WARNING: the sample is too small for reliable Sobol indices "
                       f"({len(bad)} of {len(table)} factor-outcome pairs have an interval "
                       f"wider than +-{SOBOL_MAX_CONF:g}, an S1 outside [0, 1] or ST below "
                       f"S1; widest half-width {worst:.2f}). Increase base_samples.")
    elif kind == "morris":
        r = exp.design.trajectories or 0
        if r and r < MORRIS_MIN_TRAJECTORIES:
            out.append(f"WARNING: {r} Morris trajectories (fewer than "
                       f"{MORRIS_MIN_TRAJECTORIES}): the ranking of factors is indicative "
                       "only; see each mu*'s confidence interval.")
        for o, g in table.groupby("outcome", sort=False):
            top = g.sort_values("mu_star", ascending=False).iloc[0]
            if float(top["mu_star_conf"]) > float(top["mu_star"]):
                out.append(f"WARNING: {o}: the most influential factor's mu* interval "
                           f"(+-{float(top['mu_star_conf']):.3g}) is wider than mu* "
                           f"({float(top['mu_star']):.3g}); the ranking is not reliable.")
    return out


def morris_indices(names: Sequence[str], bounds: Sequence[tuple[float, float]],
                   X: np.ndarray, Y: np.ndarray, *, levels: int = 4, seed: int = 0,
                   resamples: int = 1000) -> pd.DataFrame:
    """Morris elementary-effects indices (``SALib.analyze.morris``).

    Args:
        names: factor names.
        bounds: (low, high) of each factor.
        X: the Morris design (trajectories x (factors + 1), factors).
        Y: the outcome at each design point.
        levels: the design's levels.
        seed: bootstrap seed.
        resamples: bootstrap resamples for the confidence interval of mu*.

    Returns:
        factor, mu, mu_star, sigma, mu_star_conf (half-width of the 95 % interval), sorted
        by mu* (largest first).
    """
    from SALib.analyze import morris

    from simulation.experiments.design import salib_problem

    r = morris.analyze(salib_problem(names, bounds), np.asarray(X, float),
                       np.asarray(Y, float), num_resamples=resamples, conf_level=CONF,
                       num_levels=levels, seed=seed)
    df = pd.DataFrame({"factor": list(names), "mu": np.asarray(r["mu"], float),
                       "mu_star": np.asarray(r["mu_star"], float),
                       "sigma": np.asarray(r["sigma"], float),
                       "mu_star_conf": np.asarray(r["mu_star_conf"], float)})
    return df.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)


def sobol_indices(names: Sequence[str], bounds: Sequence[tuple[float, float]], Y: np.ndarray,
                  *, second_order: bool = False, seed: int = 0, resamples: int = 1000
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sobol indices (``SALib.analyze.sobol``) of an outcome on a Saltelli design.

    Args:
        names: factor names.
        bounds: (low, high) of each factor.
        Y: the outcome at each point of ``SALib.sample.sobol.sample``'s design, in order.
        second_order: whether the design includes second-order points.
        seed: bootstrap seed.
        resamples: bootstrap resamples for the confidence intervals.

    Returns:
        (factor, S1, S1_conf, ST, ST_conf) with the half-widths of 95 % intervals, and the
        second-order table (factor_i, factor_j, S2, S2_conf) or None.
    """
    from SALib.analyze import sobol

    from simulation.experiments.design import salib_problem

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = sobol.analyze(salib_problem(names, bounds), np.asarray(Y, float),
                          calc_second_order=second_order, num_resamples=resamples,
                          conf_level=CONF, seed=seed)
    df = pd.DataFrame({"factor": list(names), "S1": r["S1"], "S1_conf": r["S1_conf"],
                       "ST": r["ST"], "ST_conf": r["ST_conf"]})
    s2 = None
    if second_order:
        rows = []
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append({"factor_i": names[i], "factor_j": names[j],
                             "S2": r["S2"][i, j], "S2_conf": r["S2_conf"][i, j]})
        s2 = pd.DataFrame(rows)
    return df, s2


# ============================================================================ PRIM
def _fmt(v: float) -> str:
    return f"{v:.3g}"


def describe_limits(limits: Mapping[str, tuple[Any, Any, str]],
                    labels: Mapping[str, str]) -> str:
    """Plain words for box limits: ``platform commission <= 0.12 and places >= 4``."""
    parts = []
    for name, (lo, hi, how) in limits.items():
        lab = labels.get(name, name)
        if how == "in":
            parts.append(f"{lab} in {{{', '.join(str(x) for x in lo)}}}")
        elif how == ">=":
            parts.append(f"{lab} >= {_fmt(lo)}")
        elif how == "<=":
            parts.append(f"{lab} <= {_fmt(hi)}")
        else:
            parts.append(f"{_fmt(lo)} <= {lab} <= {_fmt(hi)}")
    return " and ".join(parts)


def prim_boxes(x: pd.DataFrame, y: np.ndarray, *, factors: Sequence[Factor] | None = None,
               min_density: float = 0.8, max_boxes: int = 3, mass_min: float = 0.05
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Scenario discovery with PRIM (``ema_workbench.analysis.prim.Prim``).

    For each box PRIM finds (at most ``max_boxes``), the point of its peeling trajectory kept
    is the one with the largest coverage among those whose density is at least
    ``min_density`` (else the densest). The search stops when a box falls below
    ``min_density`` or restricts nothing.

    Args:
        x: one row per run, one column per input PRIM may restrict.
        y: whether each run meets the goal.
        factors: the factors of ``x``'s columns (labels in the plain-words text).
        min_density: density a box must reach (share of its runs meeting the goal).
        max_boxes: boxes searched at most.
        mass_min: smallest share of runs in a box.

    Returns:
        (boxes, limits, trajectories): boxes has box, coverage, density, mass, runs,
        restricted, description (plain words); limits has box, factor, low, high, how;
        trajectories has box, coverage, density, res_dim, chosen for every trajectory step.
    """
    y = np.asarray(y, dtype=bool)
    labels = {f.name: f.label for f in (factors or [])}
    n, k = len(y), int(y.sum())
    cols = ["box", "coverage", "density", "mass", "runs", "restricted", "description"]
    if n == 0:
        return pd.DataFrame(columns=cols), pd.DataFrame(), None
    if k == 0 or k == n:
        txt = (f"No run meets the goal ({n} runs); no box." if k == 0 else
               f"Every run meets the goal ({n} runs): no lever restriction is needed.")
        row = {"box": 0, "coverage": float(k > 0), "density": k / n, "mass": 1.0, "runs": n,
               "restricted": 0, "description": txt}
        return pd.DataFrame([row], columns=cols), pd.DataFrame(), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

    xx = x.reset_index(drop=True).copy()
    for c in xx.columns:
        if xx[c].dtype == bool:
            xx[c] = xx[c].astype(str)
        elif pd.api.types.is_integer_dtype(xx[c]):
            xx[c] = xx[c].astype(np.int64)
        elif pd.api.types.is_numeric_dtype(xx[c]):
            xx[c] = xx[c].astype(float)
        else:
            xx[c] = xx[c].astype(str)
    boxes, limits, traj = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alg = prim.Prim(xx, y.astype(int), mass_min=mass_min)
        init = alg.box_init
        remaining = np.arange(n)
        for b in range(max_boxes):
            if not y[remaining].any():      # every goal-meeting run is in a box already
                break
            box = alg.find_box()
            if box is None:
                break
            pt = box.peeling_trajectory
            ok = pt.index[pt["density"] >= min_density]
            i = int(pt.loc[ok, "coverage"].idxmax()) if len(ok) else int(pt["density"].idxmax())
            box.select(i)
            remaining = np.setdiff1d(remaining, box.yi)
            t = pt[["coverage", "density", "res_dim", "mass"]].copy()
            t.insert(0, "box", b + 1)
            t["chosen"] = t.index == i
            traj.append(t)
            lims = box.box_lims[i]
            restricted = _restrictions(lims, init, xx)
            cov, den = float(pt.loc[i, "coverage"]), float(pt.loc[i, "density"])
            mass = float(pt.loc[i, "mass"])
            nin = int(pt.loc[i, "n"])
            where = describe_limits(restricted, labels) or "anywhere (no restriction)"
            txt = (f"{where}: {den:.0%} of runs in the box meet the goal (coverage "
                   f"{cov:.0%}; {nin} runs, {mass:.0%} of those searched)")
            if den < min_density:
                txt += (f"; below the {min_density:.0%} asked: no box of these inputs "
                        "secures the goal across the other factors")
            txt = txt.replace("%", " %")
            boxes.append({"box": b + 1, "coverage": cov, "density": den, "mass": mass,
                          "runs": nin, "restricted": len(restricted), "description": txt})
            for name, (lo, hi, how) in restricted.items():
                if how == "in":
                    lo = hi = ", ".join(str(v) for v in lo)
                limits.append({"box": b + 1, "factor": name, "low": _plain(lo),
                               "high": _plain(hi), "how": how})
            if den < min_density or not restricted:
                break
    return (pd.DataFrame(boxes, columns=cols),
            pd.DataFrame(limits, columns=["box", "factor", "low", "high", "how"]),
            pd.concat(traj, ignore_index=True) if traj else None)


def _plain(v: Any) -> Any:
    if isinstance(v, set | frozenset):
        return ", ".join(sorted(str(x) for x in v))
    if isinstance(v, np.generic):
        return v.item()
    return v


def _restrictions(lims: pd.DataFrame, init: pd.DataFrame, x: pd.DataFrame
                  ) -> dict[str, tuple[Any, Any, str]]:
    """Restricted dimensions of a box: name -> (low, high, how)."""
    out = {}
    for c in lims.columns:
        lo, hi = lims[c].iloc[0], lims[c].iloc[1]
        ilo, ihi = init[c].iloc[0], init[c].iloc[1]
        if isinstance(lo, set | frozenset):
            if set(lo) != set(ilo):
                out[c] = (sorted(lo), sorted(lo), "in")
            continue
        lo_r = not np.isclose(float(lo), float(ilo))
        hi_r = not np.isclose(float(hi), float(ihi))
        if lo_r and hi_r:
            out[c] = (float(lo), float(hi), "between")
        elif lo_r:
            out[c] = (float(lo), float(hi), ">=")
        elif hi_r:
            out[c] = (float(lo), float(hi), "<=")
    return out


# ============================================================================ plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _olabel(exp: Experiment, name: str) -> str:
    o = next(o for o in exp.outcomes if o.name == name)
    return f"{o.label} ({MEASURES[o.measure].unit})"


def response_plots(runs: pd.DataFrame, exp: Experiment, dest: Path) -> list[Path]:
    """Grid responses: each outcome against the first factor, with 95 % bands.

    One line per value of the second factor; the other factors are pooled.
    """
    plt = _plt()
    f1 = exp.factors[0]
    f2 = exp.factors[1] if len(exp.factors) > 1 else None
    n = len(exp.outcomes)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.4 * rows), squeeze=False)
    groups = [(None, runs)] if f2 is None else list(runs.groupby(f2.name, sort=True))
    for ax, o in zip(axes.flat, exp.outcomes, strict=False):
        for v2, g in groups:
            xs, ms, los, his = [], [], [], []
            for v1, gg in g.groupby(f1.name, sort=True):
                m, _sd, lo, hi, _n = _ci(gg[o.name].to_numpy())
                xs.append(v1)
                ms.append(m)
                los.append(lo)
                his.append(hi)
            numeric = f1.kind in ("float", "int")
            xp = np.asarray(xs, float) if numeric else np.arange(len(xs))
            lab = None if f2 is None else f"{f2.label} = {_val(v2)}"
            line, = ax.plot(xp, ms, marker="o", lw=1.6, label=lab)
            if np.isfinite(np.asarray(los, float)).any():
                ax.fill_between(xp, np.asarray(los, float), np.asarray(his, float),
                                alpha=0.2, color=line.get_color())
            if not numeric:
                ax.set_xticks(xp, [str(x) for x in xs])
        ax.set_title(_olabel(exp, o.name), fontsize=9)
        ax.set_xlabel(f"{f1.label} ({f1.unit})" if f1.unit else f1.label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if f2 is not None:
        h, lab = axes.flat[0].get_legend_handles_labels()
        fig.legend(h, lab, loc="lower center", ncol=min(len(lab), 5), fontsize=8)
    extra = "" if len(exp.factors) <= 2 else " (other factors pooled)"
    fig.suptitle(f"{exp.title}: mean and 95 % band over replications{extra}", fontsize=10)
    fig.tight_layout(rect=(0, 0.06 if f2 is not None else 0, 1, 0.95))
    path = dest / "response.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def _val(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def scatter_plots(runs: pd.DataFrame, exp: Experiment, dest: Path) -> list[Path]:
    """Each outcome against each factor (one dot per run, binned means as a line)."""
    plt = _plt()
    nf, no = len(exp.factors), len(exp.outcomes)
    fig, axes = plt.subplots(no, nf, figsize=(2.6 * nf + 1, 2.3 * no + 0.6), squeeze=False)
    for i, o in enumerate(exp.outcomes):
        for j, f in enumerate(exp.factors):
            ax = axes[i, j]
            xv = pd.to_numeric(runs[f.name], errors="coerce").to_numpy(float)
            yv = runs[o.name].to_numpy(float)
            ax.scatter(xv, yv, s=5, alpha=0.4)
            ok = np.isfinite(xv) & np.isfinite(yv)
            if ok.sum() >= 10 and np.ptp(xv[ok]) > 0:
                edges = np.linspace(xv[ok].min(), xv[ok].max(), 7)
                mid = (edges[:-1] + edges[1:]) / 2
                which = np.clip(np.digitize(xv[ok], edges) - 1, 0, 5)
                mb = [yv[ok][which == b].mean() if (which == b).any() else np.nan
                      for b in range(6)]
                ax.plot(mid, mb, color="C3", lw=1.5)
            if i == no - 1:
                ax.set_xlabel(f.label, fontsize=7)
            if j == 0:
                ax.set_ylabel(o.label, fontsize=7)
            ax.tick_params(labelsize=6)
            ax.grid(alpha=0.3)
    fig.suptitle(f"{exp.title}: outcomes against factors (one dot per run)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path = dest / "scatter.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]


def _timeseries_by_point(exp: Experiment, data: pd.DataFrame, dest: Path) -> Path | None:
    """Map-level outcomes over time, one line (with band) per design point."""
    from simulation.reports.plots import timeseries

    ms = [o.measure for o in exp.outcomes if o.territories is None]
    ms = list(dict.fromkeys(ms)) or [m for m in HEADLINE if m != "attractiveness"]
    d = data[data["territory"] == MAP].copy()
    if d.empty:
        return None
    pts = exp.points()
    lab = {i: ", ".join(f"{k.split('.')[-1]}={_val(v)}" for k, v in p.items())
           for i, p in enumerate(pts)}
    d["scenario"] = d["point"].map(lab)
    return timeseries(d, ms[:6], dest / "over_time.png",
                      title=f"{exp.title}: outcomes over time by design point")


def morris_plot(tab: pd.DataFrame, exp: Experiment, path: Path) -> Path:
    """mu* with its confidence interval (bars) and mu* against sigma, for each outcome."""
    plt = _plt()
    outs = list(dict.fromkeys(tab["outcome"]))
    labels = {f.name: f.label for f in exp.factors}
    fig, axes = plt.subplots(len(outs), 2, figsize=(10, 0.35 * len(exp.factors) * len(outs)
                                                     + 1.6 * len(outs)), squeeze=False)
    for i, o in enumerate(outs):
        t = tab[tab["outcome"] == o].sort_values("mu_star")
        ax = axes[i, 0]
        ax.barh([labels.get(f, f) for f in t["factor"]], t["mu_star"], xerr=t["mu_star_conf"],
                color="C0", alpha=0.8)
        ax.set_title(f"{_olabel(exp, o)}: mu* (95 % CI)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax = axes[i, 1]
        ax.scatter(t["mu_star"], t["sigma"])
        for _, r in t.iterrows():
            ax.annotate(labels.get(r["factor"], r["factor"]), (r["mu_star"], r["sigma"]),
                        fontsize=6)
        ax.set_xlabel("mu*", fontsize=8)
        ax.set_ylabel("sigma", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sobol_plot(tab: pd.DataFrame, exp: Experiment, path: Path) -> Path:
    """S1 and ST with their confidence intervals, one panel per outcome."""
    plt = _plt()
    outs = list(dict.fromkeys(tab["outcome"]))
    labels = {f.name: f.label for f in exp.factors}
    fig, axes = plt.subplots(1, len(outs), figsize=(4.2 * len(outs), 0.4 * len(exp.factors)
                                                    + 1.8), squeeze=False)
    for ax, o in zip(axes.flat, outs, strict=True):
        t = tab[tab["outcome"] == o]
        y = np.arange(len(t))
        ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label="S1 (first order)")
        ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label="ST (total)")
        ax.set_yticks(y, [labels.get(f, f) for f in t["factor"]])
        ax.set_title(_olabel(exp, o), fontsize=9)
        ax.axvline(0, color="k", lw=0.5)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Sobol indices with 95 % confidence intervals (SALib)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def prim_plot(traj: pd.DataFrame, path: Path, min_density: float) -> Path:
    """Coverage against density along each box's peeling trajectory (chosen boxes marked)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for b, t in traj.groupby("box"):
        sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=14)
        ch = t[t["chosen"]]
        ax.scatter(ch["coverage"], ch["density"], s=120, facecolors="none", edgecolors="C3")
        for _, r in ch.iterrows():
            ax.annotate(f"box {b}", (r["coverage"], r["density"]), fontsize=8,
                        xytext=(5, 5), textcoords="offset points")
    fig.colorbar(sc, ax=ax, label="restricted dimensions")
    ax.axhline(min_density, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("coverage (share of goal-meeting runs inside)")
    ax.set_ylabel("density (share of runs inside meeting the goal)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ============================================================================ report
_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee}
.q{background:#f6f8fa;border-left:4px solid #4a7;padding:.6em 1em}.note{color:#a50}
code{background:#f4f4f4;padding:0 .2em}li{margin:.3em 0}"""


def _img(path: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame, max_rows: int = 60) -> str:
    if df is None or df.empty:
        return "<p>(empty)</p>"
    more = len(df) - max_rows
    t = df.head(max_rows).to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                  border=0, na_rep="")
    return t + (f"<p>... {more} more rows in the CSV file.</p>" if more > 0 else "")


def write_report(path: Path, exp: Experiment, man: Mapping[str, Any],
                 res: Mapping[str, pd.DataFrame], figs: Sequence[tuple[str, str, str]]
                 ) -> Path:
    """A self-contained HTML report (images as base64, inline CSS, no external resource)."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
             f"{e(exp.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(exp.title)}</h1>"]
    if exp.question:
        parts.append(f"<p class='q'><b>Question.</b> {e(exp.question)}</p>")
    n_done = len(res["runs"])
    parts.append(
        f"<p>Experiment <code>{e(exp.name)}</code>{' (quick variant)' if exp.quick else ''} on "
        f"scenario <code>{e(exp.scenario_ref)}</code>: {e(exp.design.kind)} design, "
        f"{exp.matrix().shape[0]} design points x {exp.replications} replication(s); "
        f"{n_done} of {len(man['runs'])} runs finished; {exp.years:g} years, "
        f"{exp.n_households:,} households per run; master seed {exp.seed}.</p>")
    for note in res["notes"]["note"] if "notes" in res else []:
        parts.append(f"<p class='note'>{e(note)}</p>")
    ft = pd.DataFrame([{"factor": f.name, "label": f.label, "role": f.role,
                        "values": (", ".join(_val(v) for v in f.values) if f.values else
                                   f"{_val(f.lo)} to {_val(f.hi)}"
                                   + (f" ({f.n} points)" if f.n else "")),
                        "unit": f.unit} for f in exp.factors])
    parts += ["<h2>Factors</h2>", _table(ft), "<h2>Outcomes</h2><ul>"]
    parts += [f"<li><code>{e(o.name)}</code>: {e(o.describe())}</li>" for o in exp.outcomes]
    parts.append("</ul>")
    if "prim_boxes" in res and exp.discovery is not None:
        labels = {o.name: o.label for o in exp.outcomes}
        parts.append("<h2>Scenario discovery</h2>")
        parts.append(f"<p>Goal: {e(exp.discovery.describe(labels))}, across the "
                     f"uncertainties; PRIM may restrict: "
                     f"{e(', '.join(exp.discovery.inputs))}. A run meets the goal if every "
                     f"condition holds at the outcome's time.</p><ul>")
        for _, r in res["prim_boxes"].iterrows():
            parts.append(f"<li><b>Box {r['box']}.</b> {e(r['description'])}</li>")
        parts.append("</ul>")
    sections = list(dict.fromkeys(s for s, _t, _p in figs))
    for s in sections:
        if s == "Scenario discovery":
            continue
        parts.append(f"<h2>{e(s)}</h2>")
        for s2, title, p in figs:
            if s2 == s:
                parts.append(f"<h3>{e(title.capitalize())}</h3>{_img(p)}")
        key = {"Morris": "morris", "Sobol": "sobol"}.get(s)
        if key and key in res:
            parts.append(_table(res[key]))
    for s2, title, p in figs:
        if s2 == "Scenario discovery":
            parts.append(f"<h3>{e(title)}</h3>{_img(p)}")
    if "prim_limits" in res and not res["prim_limits"].empty:
        parts.append(_table(res["prim_limits"]))
    if "response" in res:
        parts += ["<h2>Response table</h2>", _table(res["response"])]
    parts += ["<h2>Design points</h2>", _table(res["points"])]
    prov = {"experiment file": man["experiment"].get("file"),
            "experiment sha256": man["experiment"]["sha256"],
            "scenario sha256": man["scenario"].get("sha256"),
            "terrinum": man.get("terrinum_version"), **man.get("versions", {})}
    from simulation.reports.cite import cite_html

    parts += ["<h2>Provenance</h2><pre>", e(json.dumps(prov, indent=1)), "</pre>",
              cite_html(), "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def print_summary(res: Mapping[str, pd.DataFrame], exp: Experiment) -> list[str]:
    """Lines for the terminal: notes, the top indices, the PRIM boxes in plain words."""
    lines = [f"  note: {n}" for n in res["notes"]["note"]] if "notes" in res else []
    if "morris" in res:
        for o, t in res["morris"].groupby("outcome", sort=False):
            top = ", ".join(f"{r.factor} ({r.mu_star:.3g} ± {r.mu_star_conf:.2g})"
                            for r in t.head(3).itertuples())
            lines.append(f"  Morris, {o}: largest mu*: {top}")
    if "sobol" in res:
        for o, t in res["sobol"].groupby("outcome", sort=False):
            t = t.sort_values("ST", ascending=False)
            top = ", ".join(f"{r.factor} (S1 {r.S1:.2f} ± {r.S1_conf:.2f}, ST {r.ST:.2f})"
                            for r in t.head(3).itertuples())
            lines.append(f"  Sobol, {o}: {top}")
    if "prim_boxes" in res and exp.discovery is not None:
        labels = {o.name: o.label for o in exp.outcomes}
        lines.append(f"  Scenario discovery, goal: {exp.discovery.describe(labels)}")
        for r in res["prim_boxes"].itertuples():
            lines.append(f"    box {r.box}: {r.description}")
    return lines
