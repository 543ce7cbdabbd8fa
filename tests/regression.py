"""The regression configuration shared by the test and the update script."""

from __future__ import annotations

from simulation import TerritoryModel

CONFIG = {"map": "synthetic", "seed": 42, "n_households": 2_000}
YEARS = 3


def summary() -> dict[str, float]:
    """Map-level measures at the end of the fixed-seed regression run."""
    res = TerritoryModel(**CONFIG).run(years=YEARS)
    row = res.summary().iloc[0]
    return {k: float(v) for k, v in row.items() if k not in ("scenario", "seed", "step")}
