"""Print the model side of docs/ODD.md section 1.3 (patterns for calibration and validation).

Usage: python scripts/calibration_figures.py [--seed 1] [--years 20]

Runs the default configuration (map france-departements, default parameters) and prints, for
each pattern of the table, the values the table quotes, so that the table can be updated
after a change of the model. Takes about 10 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulation import TerritoryModel  # noqa: E402
from simulation.engine.agents.household import AGE_BANDS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the default configuration and print the figures of ODD section 1.3."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--years", type=int, default=20)
    a = ap.parse_args(argv)
    model = TerritoryModel(seed=a.seed)
    online0 = 100 * model.platforms.global_share  # initial channel shares (a flow: NaN at 0)
    h, p = model.hh, model.p
    alive = h.alive
    lit = h.literacy[alive] < p.illiteracy_threshold
    age = h.age[alive]
    by_age = [100 * lit[(age >= lo) & (age < hi)].mean() for lo, hi in AGE_BANDS]
    intensive = []
    steps = 12 * a.years
    for _ in range(steps):
        model.step()
        emp = h.alive & (h.employer >= 0)
        intensive.append(100 * float((h.telework_days[emp] >= 3).mean()) if emp.any() else 0.0)
    mv = model.results().map_values

    def at(name: str, *when: int, pct: bool = True) -> str:
        f = 100.0 if pct else 1.0
        return ", ".join(f"step {w}: {f * mv[name].iloc[w]:.{1 if pct else 2}f}"
                         for w in when if w < len(mv))

    marks = [m for m in (0, 1, 12, 60, 120, 240) if m <= steps]
    print(f"map france-departements, seed {a.seed}, {a.years} years (step 0 = initial state)")
    print(f"online share (global_platform_share, %): initial {online0:.1f},",
          at("global_platform_share", *marks[1:]))
    print("illectronism (%):", at("illectronism", 0, 120, 240))
    print("illectronism by age band at start (%):",
          ", ".join(f"{lo}-{hi}: {v:.1f}" for (lo, hi), v in zip(AGE_BANDS, by_age,
                                                                    strict=True)))
    print("telework share (%):", at("telework_share", 0, 12, 240))
    print("telework >= 3 days/week (% of employed):",
          ", ".join(f"step {w}: {intensive[w - 1]:.1f}" for w in (12, 240) if w <= steps))
    print("telework days a week:", at("telework_days", 0, 12, 240, pct=False))
    ntu = 100 * mv["non_take_up"].iloc[1:]
    print(f"non-take-up (%): step 1: {ntu.iloc[0]:.1f}, range over the run "
          f"{ntu.min():.1f}-{ntu.max():.1f}, end: {ntu.iloc[-1]:.1f}")
    print("unemployment (%):", at("unemployment_rate", *marks))
    print("broadband coverage at start (%):", at("broadband_coverage", 0))
    print("households, change since start (%):",
          at("population_change", *[m for m in (60, 120, 240) if m <= steps], pct=False))
    print("local value captured (%):", at("local_value_captured", 1, 240))
    print("between-territory Theil:",
          ", ".join(f"step {w}: {mv['theil_between'].iloc[w]:.3f}" for w in (1, 240)
                    if w < len(mv)))
    print(f"(mean over the last 12 months of unemployment: "
          f"{100 * float(np.mean(mv['unemployment_rate'].iloc[-12:])):.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
