"""Plausibility of the baseline against France's data (not a test).

Usage: ``python -m benchmarks.plausibility [--households N] [--years Y] [--seeds 1 2 ...]
[--workers W]``. Runs the default baseline on ``france-departements`` for each seed (default
8 seeds, in parallel) and prints, with the bound of issue 11, each run's figures and the
figures of the **ensemble** (the mean trajectory over the runs), with PASS/FAIL on the
ensemble, and the sampling noise of département growth:

- the change of the rank-size (Zipf) exponent of département populations over the run (OLS
  of log(rank - 1/2) on log(size), exponent = minus the slope; Gabaix and Ibragimov 2011);
- the correlation of log initial size with growth over the run;
- the standard deviation of growth across départements, and its range (min and max, named);
- unemployment by département at the end: standard deviation (points) and maximum (%);
- the largest firm agent's share of its sector's national jobs.

Model populations are resident households (the model's unit); the observed figures are
computed from the INSEE files shipped in ``simulation/data/dept/`` over the same number of
years, ending in the latest year of the estimates (2003-2023 for 20 years), and the
unemployment figures at 2019Q4 (the last quarter before the 2020 break) and 2023Q4.

Why the verdict is on the ensemble: at 50,000 household agents the smallest départements
hold 90 to 150 agents, and their 20-year growth varies between runs by 8 to 12 points of %
from sampling alone. France's figures (millions of people) have no such noise. Extremes and
spreads across 96 départements computed run by run are biased by it (the smallest growth
downwards, the spread upwards), so one run's figure mixes the model's dynamics with noise.
The ensemble keeps the dynamics and divides the noise variance by the number of runs; the
noise line says what noise alone would make of one run's smallest growth.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from simulation.calibration.plausible import growth_figures, zipf_exponent  # noqa: F401

# bounds of issue 11 ("Plausibility of the baseline"), for 20 years
BOUNDS = {
    "zipf_change": (-0.12, 0.03),
    "corr_size_growth": (0.0, None),
    "growth_sd_pct": (None, 13.5),
    "growth_min_pct": (-25.0, None),
    "growth_max_pct": (None, 50.0),
    "unemployment_sd_pts": (None, 3.0),
    "unemployment_max_pct": (None, 20.0),
    "largest_firm_share_pct": (None, 2.0),
}
LABELS = {
    "zipf_change": "change of the Zipf exponent",
    "corr_size_growth": "corr(log size, growth)",
    "growth_sd_pct": "sd of growth (%)",
    "growth_min_pct": "min growth (%)",
    "growth_max_pct": "max growth (%)",
    "unemployment_sd_pts": "unemployment sd (points)",
    "unemployment_max_pct": "unemployment max (%)",
    "largest_firm_share_pct": "largest firm, share of its sector's jobs (%)",
}


def observed(years: int) -> dict:
    """Observed France figures from the shipped INSEE files over ``years`` years."""
    from simulation.world import dept_data

    pop = dept_data.population_estimates()
    last = int(max(pop.columns))
    first = max(last - int(years), int(min(pop.columns)))
    names = dept_data.names().loc[pop.index].tolist()
    out = growth_figures(pop[first].to_numpy(), pop[last].to_numpy(), names)
    out["period"] = f"{first}-{last}"
    out["national_growth_pct"] = float((pop[last].sum() / pop[first].sum() - 1.0) * 100.0)
    u = dept_data.unemployment_quarterly()
    for q in ("2019Q4", "2023Q4"):
        out[f"unemployment_sd_pts_{q}"] = float(u[q].std(ddof=1))
        out[f"unemployment_max_pct_{q}"] = float(u[q].max())
        out[f"unemployment_max_name_{q}"] = dept_data.names()[u[q].idxmax()]
    out["unemployment_sd_pts"] = out["unemployment_sd_pts_2019Q4"]
    out["unemployment_max_pct"] = out["unemployment_max_pct_2019Q4"]
    return out


@dataclass
class RunFigures:
    """Figures of one model run (see the module docstring)."""

    seed: int
    values: dict
    seconds: float
    start: np.ndarray | None = None         # households by département, first recorded step
    end: np.ndarray | None = None           # households by département, last step
    unemployment: np.ndarray | None = None  # unemployment rate by département at the end (%)
    names: list[str] | None = None          # département names, map order


def run_arrays(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last households and last unemployment (%) by département of a run.

    Households at the first recorded step and at the last one; the unemployment rate by
    département at the last step.
    """
    from simulation.engine import measures

    hist = np.stack(model._history_terr)
    col = measures.TERRITORY_MEASURES.index
    hh = hist[:, :, col("households")].astype(float)
    return hh[0], hh[-1], hist[-1, :, col("unemployment_rate")].astype(float) * 100.0


def unemployment_figures(u: np.ndarray, names: list[str]) -> dict:
    """Spread (sd, points) and maximum (%, named) of unemployment rates by département."""
    k = int(np.argmax(u))
    return {"unemployment_sd_pts": float(np.std(u, ddof=1)),
            "unemployment_max_pct": float(u[k]), "unemployment_max_name": names[k]}


def model_figures(model) -> dict:
    """Figures of a model that has run (its first recorded step against its current one)."""
    from simulation.engine.agents.firm import SECTORS

    start, end, u = run_arrays(model)
    names = list(model.tmap.names)
    out = growth_figures(start, end, names)
    out.update(unemployment_figures(u, names))
    f = model.firms
    best = (0.0, "", "", 0)
    for s, sector in enumerate(SECTORS):
        m = f.alive & (f.sector == s)
        jobs = f.employees[m].astype(float)
        if jobs.sum() <= 0:
            continue
        i = int(np.argmax(jobs))
        share = jobs[i] / jobs.sum() * 100.0
        if share > best[0]:
            best = (share, sector, names[int(f.terr[np.flatnonzero(m)[i]])], int(m.sum()))
    out["largest_firm_share_pct"] = best[0]
    out["largest_firm_sector"] = best[1]
    out["largest_firm_territory"] = best[2]
    out["largest_firm_sector_firms"] = best[3]
    return out


def run_one(seed: int, households: int, years: float, **params) -> RunFigures:
    """Run the default baseline on france-departements and return its figures."""
    from simulation import TerritoryModel

    t0 = time.perf_counter()
    model = TerritoryModel(map="france-departements", seed=seed, n_households=households,
                           scenario="baseline", **params)
    for _ in range(int(round(12 * years))):
        model.step()
    return RunFigures(seed, model_figures(model), time.perf_counter() - t0, *run_arrays(model),
                      list(model.tmap.names))


def _run(args: tuple[int, int, float]) -> RunFigures:
    return run_one(*args)


def run_many(seeds: list[int], households: int, years: float, workers: int = 1
             ) -> list[RunFigures]:
    """:func:`run_one` for each seed on ``workers`` local processes, in seed order.

    The runs go through the calibration's :class:`~simulation.calibration.runs.Engine`.
    """
    from simulation.calibration.runs import Engine

    engine = Engine(min(workers, max(len(seeds), 1)))
    try:
        return engine.map(_run, [(s, households, years) for s in seeds])
    finally:
        engine.close()


def ensemble(runs: list[RunFigures], names: list[str]) -> dict:
    """The figures of the replication-mean trajectory (the model's expected dynamics).

    Growth figures from the mean households by département over the runs
    (:func:`~simulation.calibration.plausible.ensemble_growth_figures`), unemployment figures
    from the mean rates, the largest firm share the largest over the runs (the conservative
    choice; it is no extreme across territories); ``noise`` holds each département's sd of
    growth across runs and what that noise alone would make of one run's extremes.
    """
    from simulation.calibration.plausible import (
        ensemble_growth_figures,
        growth_noise,
        noise_extremes,
    )

    starts = np.array([r.start for r in runs])
    ends = np.array([r.end for r in runs])
    out = ensemble_growth_figures(starts, ends, names)
    out["national_growth_pct"] = float((ends.mean(axis=0).sum() / starts.mean(axis=0).sum()
                                        - 1.0) * 100.0)
    out.update(unemployment_figures(np.mean([r.unemployment for r in runs], axis=0), names))
    out["largest_firm_share_pct"] = float(max(r.values["largest_firm_share_pct"]
                                              for r in runs))
    if len(runs) >= 2:
        sd = growth_noise(starts, ends)
        mean_g = (ends.mean(axis=0) / starts.mean(axis=0) - 1.0) * 100.0
        out["noise"] = {"growth_sd": sd, "size": starts.mean(axis=0),
                        **noise_extremes(mean_g, sd)}
    return out


def verdict(name: str, value: float, bounds: dict | None = None) -> bool:
    """Whether ``value`` lies within the bound of ``name``."""
    lo, hi = (bounds or BOUNDS)[name]
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _bound_text(name: str) -> str:
    lo, hi = BOUNDS[name]
    if lo is not None and hi is not None:
        return f"[{lo:+g}, {hi:+g}]"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


def main(argv: list[str] | None = None) -> int:
    """Run the seeds and print the tables; exit status 0 (the verdicts are information)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--years", type=float, default=20.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)),
                    help="replications (default 1 to 8); the verdict is on their ensemble")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker processes (default: the usable cores)")
    a = ap.parse_args(argv)
    if a.households < 500 or a.years <= 0 or any(s < 0 for s in a.seeds) \
            or (a.workers is not None and a.workers < 1):
        print("plausibility: --households must be >= 500, --years > 0, seeds >= 0, "
              "--workers >= 1", file=sys.stderr)
        return 2
    from simulation.experiments.sweep import usable_cores

    obs = observed(int(round(a.years)))
    t0 = time.perf_counter()
    runs = run_many(list(a.seeds), a.households, a.years, a.workers or usable_cores())
    names = runs[0].names
    ens = ensemble(runs, names)
    print(f"baseline, france-departements, {a.households:,} households, {a.years:g} years, "
          f"{len(runs)} runs (seeds {' '.join(map(str, a.seeds))}), "
          f"{time.perf_counter() - t0:.0f} s; bounds of issue 11 for 20 years")
    print()
    print("One run per seed (* outside the bound):")
    head = f"{'figure':<46} {'bound':>14} {'France':>8} " + " ".join(
        f"{'s' + str(r.seed):>8}" for r in runs)
    print(head)
    print("-" * len(head))
    for name in BOUNDS:
        o = obs.get(name)
        cells = [f"{r.values[name]:>+7.2f}{' ' if verdict(name, r.values[name]) else '*'}"
                 for r in runs]
        print(f"{LABELS[name]:<46} {_bound_text(name):>14} "
              f"{(f'{o:+8.3f}' if o is not None else 'n/a'):>8} " + " ".join(cells))
    print()
    print(f"The ensemble: figures of the mean trajectory over the {len(runs)} runs (the "
          "model's expected dynamics; the verdict):")
    head = f"{'figure':<46} {'bound':>14} {'France':>8} {'ensemble':>10} {'':>4}  runs"
    print(head)
    print("-" * (len(head) + 16))
    for name in BOUNDS:
        o = obs.get(name)
        v = ens[name]
        vals = [r.values[name] for r in runs]
        out = sum(not verdict(name, x) for x in vals)
        print(f"{LABELS[name]:<46} {_bound_text(name):>14} "
              f"{(f'{o:+8.3f}' if o is not None else 'n/a'):>8} {v:>+10.3f} "
              f"{'PASS' if verdict(name, v) else 'FAIL'}  {min(vals):+.2f} to {max(vals):+.2f}"
              f" ({out} of {len(vals)} out)")
    print()
    print(f"France: population estimates {obs['period']}: growth from "
          f"{obs['growth_min_pct']:+.1f} % ({obs['growth_min_name']}) to "
          f"{obs['growth_max_pct']:+.1f} % ({obs['growth_max_name']}); unemployment 2019Q4 "
          f"sd {obs['unemployment_sd_pts_2019Q4']:.2f} points, max "
          f"{obs['unemployment_max_pct_2019Q4']:.1f} % ({obs['unemployment_max_name_2019Q4']});"
          f" 2023Q4 sd {obs['unemployment_sd_pts_2023Q4']:.2f}, max "
          f"{obs['unemployment_max_pct_2023Q4']:.1f} % ({obs['unemployment_max_name_2023Q4']})"
          "; largest firm: no firm-level data (many thousands of firms per sector)")
    print(f"ensemble: growth from {ens['growth_min_pct']:+.1f} % ({ens['growth_min_name']}) to "
          f"{ens['growth_max_pct']:+.1f} % ({ens['growth_max_name']}); unemployment max in "
          f"{ens['unemployment_max_name']}")
    print(f"national growth: France {obs['national_growth_pct']:+.1f} % (population), the model "
          f"{ens['national_growth_pct']:+.1f} % (households; a closed country whose household "
          "count is kept about stable, ODD 1.3)")
    nz = ens.get("noise")
    if nz is not None:
        size, sd = nz["size"], nz["growth_sd"]
        small = np.argsort(size)[:10]
        lo_run = [r.values["growth_min_pct"] for r in runs]
        print(f"sampling noise: a département's growth differs between runs by a median sd of "
              f"{np.median(sd):.1f} points; {np.mean(sd[small]):.1f} points for the 10 smallest "
              f"({np.mean(size[small]) / size.sum() * a.households:.0f} household agents "
              f"each on average). The expected "
              f"growth plus that noise would give one run a smallest growth of "
              f"{nz['min_median']:+.1f} % (5-95 %: {nz['min_lo']:+.1f} to {nz['min_hi']:+.1f});"
              f" the runs show {min(lo_run):+.1f} to {max(lo_run):+.1f} %.")
    for r in runs:
        v = r.values
        print(f"seed {r.seed} ({r.seconds:.0f} s): growth from {v['growth_min_pct']:+.1f} % "
              f"({v['growth_min_name']}) to {v['growth_max_pct']:+.1f} % "
              f"({v['growth_max_name']}); unemployment max in {v['unemployment_max_name']}; "
              f"largest firm: {v['largest_firm_sector']} in {v['largest_firm_territory']} "
              f"({v['largest_firm_sector_firms']} firm agents in its sector)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
