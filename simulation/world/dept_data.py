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

import numpy as np
import pandas as pd

DEPT_DIR = Path(__file__).resolve().parents[1] / "data" / "dept"


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


# ------------------------------------------------------------------ start-year inputs
START_YEARS = (2019, 2023)  # years with census population, Q1 unemployment and prior-Q4 FttH
LATEST_START_YEAR = START_YEARS[-1]
AGE_CLASSES = ("20_39", "40_59", "60_74", "75plus")  # adult age classes of the estimates


class StartYearError(ValueError):
    """A start year without the data to initialise the map from it."""


def check_start_year(year: object) -> int:
    """The start year as an int, or StartYearError naming the years allowed."""
    if isinstance(year, bool) or not isinstance(year, int) or year not in START_YEARS:
        raise StartYearError(
            f"start_year must be one of {', '.join(map(str, START_YEARS))} (the years with "
            f"census population, unemployment and FttH data by département), got {year!r}")
    return int(year)


def ftth_quarterly() -> pd.DataFrame:
    """ARCEP FttH coverage (% of premises passed), columns ``YYYYQn``, end of quarter.

    The two-decimal series (2022Q2 onwards) is preferred where both exist; before 2022Q2
    the integer series.
    """
    fine = _series("ftth_deployment_dept_2017_2024.csv", r"ftth_deployment_pct_(\d{4}Q\d)")
    coarse = _series("ftth_deployment_dept_2017_2024.csv",
                     r"ftth_deployment_pct_(\d{4}Q\d)_etalab_integer")
    out = pd.concat([coarse.drop(columns=[c for c in coarse.columns if c in fine.columns]),
                     fine], axis=1)
    return out[sorted(out.columns)]


def france_services_quarterly() -> pd.DataFrame:
    """Labelled France services houses (cumulative count), columns ``YYYY-MM-DD`` (quarter end)."""
    return _series("france_services_count_dept_2020_2022.csv",
                   r"france_services_labelled_count_(\d{4}-\d{2}-\d{2})")


def census_population() -> pd.DataFrame:
    """INSEE population municipale (inhabitants), columns: census years (int)."""
    return _series("population_census_dept_2016_2023.csv",
                   r"pop_municipale_(\d{4})_inhabitants", int)


def adults_by_age(year: int) -> pd.DataFrame:
    """Adults by age class (inhabitants at 1 January), columns :data:`AGE_CLASSES`.

    Years of the file (1975, 1990, 2000, 2010, 2023) are read as they are; a year between two
    of them is interpolated linearly (e.g. 2019 from 2010 and 2023).
    """
    df = read("population_estimates_by_age_dept_selected_years.csv")
    years = sorted({int(m.group(1)) for c in df.columns
                    if (m := re.fullmatch(r"pop_estimate_1jan_(\d{4})_age_.*", c))})

    def at(y: int) -> pd.DataFrame:
        return pd.DataFrame({a: df[f"pop_estimate_1jan_{y}_age_{a}_inhabitants"].astype(float)
                             for a in AGE_CLASSES})

    if year in years:
        return at(year)
    lo = max((y for y in years if y < year), default=None)
    hi = min((y for y in years if y > year), default=None)
    if lo is None or hi is None:
        raise StartYearError(f"no age structure around {year} (file years {years})")
    w = (year - lo) / (hi - lo)
    return at(lo) * (1 - w) + at(hi) * w


def filosofi_deciles() -> pd.DataFrame:
    """Filosofi 2019 disposable income per consumption unit (EUR/yr): D1, median, D9."""
    df = read("income_filosofi_dept_2019.csv")
    return pd.DataFrame({
        "d1": df["decile1_disposable_income_per_cu_2019_eur"].astype(float),
        "median": df["median_disposable_income_per_cu_2019_eur"].astype(float),
        "d9": df["decile9_disposable_income_per_cu_2019_eur"].astype(float),
    })


def start_inputs(year: int, codes: list[str]) -> dict[str, tuple[object, str]]:
    """Observed inputs of the map at 1 January ``year``, in the order of ``codes``.

    Returns a dict: name -> (values, provenance note). ``population`` (inhabitants, census
    of ``year``), ``broadband`` (share 0-1, FttH at the end of the previous quarter),
    ``france_services`` (count labelled at the end of the previous quarter; 0 before the
    label's creation in 2020), ``unemployment`` (share 0-1, ILO rate of the first quarter),
    ``adults`` (K x 4 persons by age class), ``income_deciles`` (K x 3, D1/median/D9,
    Filosofi 2019 in every start year).
    """
    year = check_start_year(year)
    idx = pd.Index(codes)
    prev_q = f"{year - 1}Q4"
    ftth = ftth_quarterly()
    fs = france_services_quarterly()
    fs_col = f"{year - 1}-12-31"
    if fs_col in fs.columns:
        fs_vals = fs.loc[idx, fs_col].to_numpy()
        fs_note = f"observed: labelled France services at {fs_col} (ANCT via the Baromètre)"
    else:
        fs_vals = np.zeros(len(codes))
        fs_note = ("observed: 0, the France services label was created on 1 January 2020 "
                   "(the maisons de services au public that preceded it are not in the data)")
    u_col = f"{year}Q1"
    dec = filosofi_deciles().loc[idx]
    return {
        "population": (census_population().loc[idx, year].to_numpy(),
                       f"observed: INSEE population municipale {year}"),
        "broadband": (ftth.loc[idx, prev_q].to_numpy() / 100.0,
                      f"observed: ARCEP FttH coverage of premises at the end of {prev_q}"),
        "france_services": (fs_vals, fs_note),
        "unemployment": (unemployment_quarterly().loc[idx, u_col].to_numpy() / 100.0,
                         f"observed: INSEE localised unemployment rate (ILO), {u_col}"),
        "adults": (adults_by_age(year).loc[idx].to_numpy(),
                   f"observed: INSEE population estimates by age at 1 January {year}"
                   + ("" if year in (2010, 2023) else
                      " (interpolated linearly between 2010 and 2023)")),
        "income_deciles": (dec[["d1", "median", "d9"]].to_numpy(),
                           "observed: INSEE Filosofi 2019, D1 / median / D9 of disposable "
                           "income per consumption unit (EUR/yr; 2019 in every start year)"),
    }
