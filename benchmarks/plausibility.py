"""Plausibility of the baseline against France's data (not a test).

Usage: ``python -m benchmarks.plausibility [--households N] [--years Y] [--seeds 1 2 3]``.
Runs the default baseline on ``france-departements`` for each seed and prints, with the
bound of issue 11 and PASS/FAIL:

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


def model_figures(model) -> dict:
    """Figures of a model that has run (its first recorded step against its current one)."""
    from simulation.engine import measures
    from simulation.engine.agents.firm import SECTORS

    hist = np.stack(model._history_terr)
    col = measures.TERRITORY_MEASURES.index
    hh = hist[:, :, col("households")].astype(float)
    names = list(model.tmap.names)
    out = growth_figures(hh[0], hh[-1], names)
    u = hist[-1, :, col("unemployment_rate")].astype(float) * 100.0
    out["unemployment_sd_pts"] = float(u.std(ddof=1))
    k = int(np.argmax(u))
    out["unemployment_max_pct"] = float(u[k])
    out["unemployment_max_name"] = names[k]
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
    return RunFigures(seed, model_figures(model), time.perf_counter() - t0)


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
    """Run the seeds and print the table; exit status 0 (the verdicts are information)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--years", type=float, default=20.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    a = ap.parse_args(argv)
    if a.households < 500 or a.years <= 0 or any(s < 0 for s in a.seeds):
        print("plausibility: --households must be >= 500, --years > 0, seeds >= 0",
              file=sys.stderr)
        return 2
    obs = observed(int(round(a.years)))
    runs = [run_one(s, a.households, a.years) for s in a.seeds]
    print(f"baseline, france-departements, {a.households:,} households, {a.years:g} years, "
          f"seeds {' '.join(map(str, a.seeds))} (bounds of issue 11 for 20 years)")
    head = f"{'figure':<46} {'bound':>14} {'France':>8} " + " ".join(
        f"{'seed ' + str(r.seed):>14}" for r in runs)
    print(head)
    print("-" * len(head))
    for name in BOUNDS:
        o = obs.get(name)
        cells = []
        for r in runs:
            v = r.values[name]
            cells.append(f"{v:>+9.3f} {'PASS' if verdict(name, v) else 'FAIL'}")
        print(f"{LABELS[name]:<46} {_bound_text(name):>14} "
              f"{(f'{o:+8.3f}' if o is not None else 'n/a'):>8} " + " ".join(cells))
    print()
    print(f"France: population estimates {obs['period']}: growth from "
          f"{obs['growth_min_pct']:+.1f} % ({obs['growth_min_name']}) to "
          f"{obs['growth_max_pct']:+.1f} % ({obs['growth_max_name']}); unemployment 2019Q4 "
          f"sd {obs['unemployment_sd_pts_2019Q4']:.2f} points, max "
          f"{obs['unemployment_max_pct_2019Q4']:.1f} % ({obs['unemployment_max_name_2019Q4']});"
          f" 2023Q4 sd {obs['unemployment_sd_pts_2023Q4']:.2f}, max "
          f"{obs['unemployment_max_pct_2023Q4']:.1f} % ({obs['unemployment_max_name_2023Q4']})"
          "; largest firm: no firm-level data (many thousands of firms per sector)")
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
