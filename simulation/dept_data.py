"""Observed figures by département (metropolitan France), read from ``simulation/data/dept/``.

Every file has one row per département (``code`` as text: ``01`` ... ``95``, ``2A``, ``2B``),
a ``name``, value columns whose names give unit and date, and a ``source`` column (producer,
file, and where the untouched producer file is stored); ``simulation/data/SOURCES.md``
describes them. The readers below return tidy numeric tables indexed by code, with the date
as a column label (an ``int`` year, a ``"YYYYQn"`` quarter or a ``"YYYY-MM-DD"`` date).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd

DEPT_DIR = Path(__file__).resolve().parent / "data" / "dept"


@cache
def _read(filename: str) -> pd.DataFrame:
    path = DEPT_DIR / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: not found in simulation/data/dept/")
    return pd.read_csv(path, dtype={"code": str}).set_index("code")


def read(filename: str) -> pd.DataFrame:
    """A copy of one data file as shipped (codes as text, index ``code``).

    Raises:
        FileNotFoundError: the file is not in ``simulation/data/dept/``.
    """
    return _read(filename).copy()


def _series(filename: str, pattern: str, key=str) -> pd.DataFrame:
    """Columns of ``filename`` matching ``pattern`` (one group: the date), renamed to it."""
    df = read(filename)
    cols = {}
    for c in df.columns:
        m = re.fullmatch(pattern, c)
        if m:
            cols[c] = key(m.group(1))
    out = df[list(cols)].rename(columns=cols).astype(float)
    return out


def names() -> pd.Series:
    """Département names by code."""
    return read("population_estimates_dept_1975_2023.csv")["name"].copy()


def population_estimates() -> pd.DataFrame:
    """INSEE population estimates at 1 January (inhabitants), columns: years 1975-2023."""
    return _series("population_estimates_dept_1975_2023.csv",
                   r"pop_estimate_1jan_(\d{4})_inhabitants", int)


def unemployment_quarterly() -> pd.DataFrame:
    """INSEE localised unemployment rate (ILO, seasonally adjusted, %), columns ``YYYYQn``."""
    return _series("unemployment_rate_dept_quarterly_1982_2019_and_2023.csv",
                   r"unemployment_rate_pct_(\d{4}Q\d)")
