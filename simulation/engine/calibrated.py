"""The calibrated defaults and posterior draws shipped with the package.

``terrinum calibrate calibration_france`` (``simulation.calibration``) writes, and
``python scripts/ship_calibration.py OUT`` copies into ``simulation/data/calibration/``:

* ``calibrated.json``: the calibrated parameter values (the posterior median of each
  calibrated parameter), the territory constants of the location choice fitted with them
  (``location_constants``: map name and one value per territory code), and the provenance
  (code version, data files and their SHA-256, seeds, run time, the command);
* ``draws.csv``: posterior draws, one row each (column ``draw`` = 0, 1, ...), with the
  calibrated parameters' values and the territory constants fitted with them (columns
  ``constant:<code>``).

:mod:`simulation.engine.params` takes the calibrated values as the parameters' defaults and
:class:`~simulation.engine.model.TerritoryModel` takes the constants on the map they were
fitted on. Without these files (a fresh calibration not shipped yet) every default is the
declared one and the constants are 0. The environment variable ``TERRINUM_UNCALIBRATED=1``
ignores them (the calibration itself sets every value it varies explicitly, so it does not
depend on them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "calibration"
CALIBRATED_FILE = "calibrated.json"
DRAWS_FILE = "draws.csv"
CONSTANT_PREFIX = "constant:"
OFF_ENV = "TERRINUM_UNCALIBRATED"


class DrawError(ValueError):
    """A posterior draw that does not exist (or no draws shipped)."""


@dataclass(frozen=True)
class Draw:
    """One posterior draw.

    Attributes:
        index: the draw's number (0-based).
        params: calibrated parameter values of the draw.
        map: name of the map the constants were fitted on.
        constants: territory code -> alternative-specific constant (utility).
    """

    index: int
    params: dict[str, float]
    map: str
    constants: dict[str, float]


def enabled() -> bool:
    """Whether the shipped calibration is used (``TERRINUM_UNCALIBRATED`` unset or 0)."""
    return os.environ.get(OFF_ENV, "0") in ("", "0")


@cache
def _calibrated(folder: str) -> dict[str, Any]:
    path = Path(folder) / CALIBRATED_FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def calibrated(folder: Path | None = None) -> dict[str, Any]:
    """The shipped ``calibrated.json`` as a dict ({} when absent or disabled)."""
    if not enabled():
        return {}
    return _calibrated(str(folder or DATA_DIR))


def parameter_values(folder: Path | None = None) -> dict[str, float]:
    """Calibrated parameter values by name ({} when none are shipped)."""
    return dict(calibrated(folder).get("parameters", {}))


def location_constants(map_name: str, folder: Path | None = None) -> dict[str, float] | None:
    """Calibrated territory constants by code for ``map_name``, or None if not fitted there."""
    lc = calibrated(folder).get("location_constants")
    if not lc or lc.get("map") != map_name:
        return None
    return {str(k): float(v) for k, v in lc["values"].items()}


@cache
def _draws(folder: str):
    import pandas as pd

    path = Path(folder) / DRAWS_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path)


def n_draws(folder: Path | None = None) -> int:
    """Number of shipped posterior draws (0 when none, or when disabled)."""
    if not enabled():
        return 0
    df = _draws(str(folder or DATA_DIR))
    return 0 if df is None else len(df)


def draw(k: int, folder: Path | None = None) -> Draw:
    """Posterior draw ``k`` (0-based).

    Raises:
        DrawError: no draws shipped, or ``k`` outside 0 .. n_draws - 1.
    """
    n = n_draws(folder)
    if n == 0:
        raise DrawError("no posterior draws are shipped (simulation/data/calibration/draws.csv "
                        "is missing, or TERRINUM_UNCALIBRATED is set): run "
                        "'terrinum calibrate calibration_france' and "
                        "'python scripts/ship_calibration.py OUT'")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        raise DrawError(f"posterior draw must be an integer from 0 to {n - 1}, got {k!r}")
    df = _draws(str(folder or DATA_DIR))
    row = df.iloc[k]
    params = {c: float(row[c]) for c in df.columns
              if c != "draw" and not c.startswith(CONSTANT_PREFIX)}
    consts = {c[len(CONSTANT_PREFIX):]: float(row[c]) for c in df.columns
              if c.startswith(CONSTANT_PREFIX)}
    map_name = calibrated(folder).get("location_constants", {}).get("map",
                                                                     "france-departements")
    return Draw(index=int(row["draw"]), params=params, map=map_name, constants=consts)


def clear_cache() -> None:
    """Forget the files read (tests that write their own)."""
    _calibrated.cache_clear()
    _draws.cache_clear()
