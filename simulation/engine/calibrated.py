"""The calibrated defaults and posterior draws shipped with the package.

``terrinum calibrate calibration_france`` (``simulation.calibration``) writes, and
``python scripts/ship_calibration.py OUT`` copies into ``simulation/data/calibration/``:

* ``calibrated.json``: the calibrated parameter values (the posterior median of each
  calibrated parameter), the territory constants of the location choice fitted with them
  (``location_constants``: map name and one value per territory code), and the provenance
  (code version, data files and their SHA-256, seeds, run time, the command);
* ``draws.csv``: posterior draws, one row each (column ``draw`` = 0, 1, ...), with the
  calibrated parameters' values and the territory constants fitted with them (columns
  ``constant:<code>``); an optional column ``particle`` records which particle of the last
  ABC generation the draw was resampled from (provenance, not a parameter).

:mod:`simulation.engine.params` takes the calibrated values as the parameters' defaults and
:class:`~simulation.engine.model.TerritoryModel` takes the constants on the map they were
fitted on. Without these files (a fresh calibration not shipped yet) every default is the
declared one and the constants are 0. The environment variable ``TERRINUM_UNCALIBRATED=1``
ignores them (the calibration itself sets every value it varies explicitly, so it does not
depend on them). The environment variable ``TERRINUM_CALIBRATION_DIR`` reads them from
another folder instead (a calibration not shipped yet, or the small files of the tests);
:func:`clear_cache` forgets files already read. The parameter defaults are taken once, when
:mod:`simulation.engine.params` is imported; the draws and the constants are read when used.

``terrinum run`` and ``terrinum compare`` take ``--draws N``: :func:`select_draws` picks N
draws spread evenly over the shipped ones (numbers ``k * shipped // N``), and replication k
of every scenario uses seed k and the selected draw ``k mod N`` (:func:`replication_draws`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from simulation.errors import InputError

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "calibration"
CALIBRATED_FILE = "calibrated.json"
DRAWS_FILE = "draws.csv"
CONSTANT_PREFIX = "constant:"
META_COLUMNS = ("draw", "particle")
"""Columns of ``draws.csv`` that describe a draw rather than give a parameter's value."""
OFF_ENV = "TERRINUM_UNCALIBRATED"
DIR_ENV = "TERRINUM_CALIBRATION_DIR"
HOW_TO_GET_DRAWS = ("run 'terrinum calibrate calibration_france' and "
                    "'python scripts/ship_calibration.py OUT', or point "
                    f"{DIR_ENV} to a folder holding {DRAWS_FILE} and {CALIBRATED_FILE}")
"""How a user gets posterior draws (quoted by the error messages)."""


class DrawError(InputError):
    """A posterior draw that does not exist (or no draws shipped, or a malformed file)."""


_IMPORT_PROBLEMS: list[str] = []


def import_problem() -> str | None:
    """Why the calibration of ``TERRINUM_CALIBRATION_DIR`` could not give the defaults.

    Recorded when :mod:`simulation.engine.params` was imported (None: no problem). The
    command line reports it as an error (exit status 2) before doing anything.
    """
    return _IMPORT_PROBLEMS[0] if _IMPORT_PROBLEMS else None


def note_import_problem(message: str) -> None:
    """Record why the parameter defaults ignored the calibration (see :func:`import_problem`)."""
    _IMPORT_PROBLEMS.append(message)


def data_dir() -> Path:
    """The folder the calibration is read from.

    ``TERRINUM_CALIBRATION_DIR`` if set (and not empty), else the shipped
    ``simulation/data/calibration/``.
    """
    env = os.environ.get(DIR_ENV, "")
    return Path(env).expanduser() if env else DATA_DIR


def _folder(folder: Path | str | None) -> str:
    return str(folder if folder is not None else data_dir())


def draws_path(folder: Path | str | None = None) -> Path:
    """The ``draws.csv`` read (in ``folder``, default :func:`data_dir`)."""
    return Path(_folder(folder)) / DRAWS_FILE


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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DrawError(f"{path}: not a readable JSON file ({type(exc).__name__}: "
                        f"{str(exc)[:200]})") from None
    allowed = ('an object with "parameters" (name -> number) and "location_constants" '
               '({"map": name, "values": code -> number})')
    if not isinstance(data, dict):
        raise DrawError(f"{path}: not a JSON object; allowed: {allowed}")
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        raise DrawError(f"{path}: key 'parameters' is not an object; allowed: {allowed}")
    lc = data.get("location_constants")
    if lc is not None and not (isinstance(lc, dict) and isinstance(lc.get("map"), str)
                               and isinstance(lc.get("values"), dict)):
        raise DrawError(f"{path}: key 'location_constants' is malformed; allowed: {allowed}")
    for where, values in (("parameters", params), ("location_constants.values",
                                                   (lc or {}).get("values", {}))):
        for k, v in values.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or v != v \
                    or v in (float("inf"), float("-inf")):
                raise DrawError(f"{path}: {where}.{str(k)[:80]}: {str(v)[:80]!r} is not a "
                                "finite number")
    return data


def calibrated(folder: Path | None = None) -> dict[str, Any]:
    """The shipped ``calibrated.json`` as a dict ({} when absent or disabled)."""
    if not enabled():
        return {}
    return _calibrated(_folder(folder))


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
    import numpy as np
    import pandas as pd

    path = Path(folder) / DRAWS_FILE
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DrawError(f"{path}: not a readable CSV table ({type(exc).__name__}: "
                        f"{str(exc)[:200]})") from None
    if "draw" not in df.columns:
        raise DrawError(f"{path}: no 'draw' column; allowed: columns draw (0, 1, ...), "
                        f"particle (optional), the calibrated parameters and "
                        f"{CONSTANT_PREFIX}<territory code>")
    for c in df.columns:
        values = pd.to_numeric(df[c], errors="coerce").astype(float)
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise DrawError(f"{path}: column {str(c)[:80]!r}, row {row + 1}: "
                            f"{str(df[c].iloc[row])[:80]!r} is not a finite number")
        df[c] = values
    if not (df["draw"] == df["draw"].round()).all() or df["draw"].duplicated().any():
        raise DrawError(f"{path}: column 'draw' must hold distinct whole numbers (0, 1, ...)")
    return df


def n_draws(folder: Path | None = None) -> int:
    """Number of shipped posterior draws (0 when none, or when disabled)."""
    if not enabled():
        return 0
    df = _draws(_folder(folder))
    return 0 if df is None else len(df)


def draw(k: int, folder: Path | None = None) -> Draw:
    """Posterior draw ``k`` (0-based).

    Raises:
        DrawError: no draws shipped, or ``k`` outside 0 .. n_draws - 1.
    """
    n = n_draws(folder)
    if n == 0:
        raise DrawError(no_draws_message(folder))
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        raise DrawError(f"posterior draw must be an integer from 0 to {n - 1}, got {k!r}")
    df = _draws(_folder(folder))
    row = df.iloc[k]
    params = {c: float(row[c]) for c in df.columns
              if c not in META_COLUMNS and not c.startswith(CONSTANT_PREFIX)}
    consts = {c[len(CONSTANT_PREFIX):]: float(row[c]) for c in df.columns
              if c.startswith(CONSTANT_PREFIX)}
    map_name = calibrated(folder).get("location_constants", {}).get("map",
                                                                     "france-departements")
    return Draw(index=int(row["draw"]), params=params, map=map_name, constants=consts)


def no_draws_message(folder: Path | str | None = None) -> str:
    """Why no draw is available and how to get some (for error messages)."""
    path = Path(_folder(folder)) / DRAWS_FILE
    if not enabled():
        why = f"{OFF_ENV} is set, so the calibration in {path.parent} is ignored"
    else:
        why = f"{path} does not exist"
    return f"no posterior draws are shipped ({why}): {HOW_TO_GET_DRAWS}"


def spread(n: int, available: int) -> list[int]:
    """``n`` draw numbers spread evenly over ``available`` draws: ``k * available // n``.

    Args:
        n: draws wanted (1 <= n <= available).
        available: draws shipped.

    Returns:
        Increasing distinct numbers from 0; all of 0 .. available - 1 when ``n == available``.
    """
    return [k * available // n for k in range(n)]


def select_draws(n: int, folder: Path | str | None = None, *, option: str = "draws"
                 ) -> list[Draw]:
    """``n`` posterior draws spread evenly over the shipped ones (:func:`spread`).

    The parameter values are checked against their declarations where they are used
    (:class:`~simulation.engine.params.Parameters`;
    :func:`simulation.scenarios.runner.replication_draw_list` checks them before any run).

    Args:
        n: number of draws (>= 1).
        folder: calibration folder (default :func:`data_dir`).
        option: how the number is named in messages (``--draws`` on the command line).

    Raises:
        DrawError: ``n`` not a whole number >= 1, no draws shipped, fewer than ``n``
            shipped, or a malformed ``draws.csv`` (the message says which).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise DrawError(f"{option}: {n!r} is not allowed; allowed: a whole number >= 1 "
                        "(0 or no option: the calibrated defaults, no draws)")
    available = n_draws(folder)
    if available == 0:
        raise DrawError(f"{option} {n}: {no_draws_message(folder)}")
    if n > available:
        path = Path(_folder(folder)) / DRAWS_FILE
        raise DrawError(f"{option} {n}: only {available} posterior draw(s) are shipped (in "
                        f"{path}); allowed: {option} 1 to {available}; to get more, "
                        f"{HOW_TO_GET_DRAWS} (a calibration with more draws)")
    return [draw(k, folder) for k in spread(n, available)]


def replication_draws(draws: Sequence[Draw], reps: int) -> list[Draw]:
    """The draw of each replication: replication k uses ``draws[k % len(draws)]``.

    Args:
        draws: the selected draws (:func:`select_draws`), at most ``reps`` of them.
        reps: number of replications.

    Raises:
        DrawError: more draws than replications (each draw needs a replication).
    """
    if len(draws) > reps:
        raise DrawError(f"draws: {len(draws)} draws need at least as many replications, got "
                        f"{reps}")
    return [draws[k % len(draws)] for k in range(reps)]


def provenance(folder: Path | str | None = None) -> dict[str, Any]:
    """Where the calibration was read from, with the SHA-256 of its files (for manifests).

    Returns:
        ``{"folder", "enabled", "n_draws", "files": [{"path", "sha256"}]}`` (files that
        exist only).
    """
    base = Path(_folder(folder))
    files = []
    for name in (CALIBRATED_FILE, DRAWS_FILE):
        f = base / name
        if f.is_file():
            files.append({"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()})
    return {"folder": str(base), "enabled": enabled(), "n_draws": n_draws(folder),
            "files": files}


def clear_cache() -> None:
    """Forget the files read (tests that write their own)."""
    _calibrated.cache_clear()
    _draws.cache_clear()
