"""France's reference figures, read from the built-in data, that every map's rules use.

The metropolitan totals (population, area), the regional income table and the national median
income: synthetic and user maps allocate national counts (counters, France services) with them, so
they sit below the builders. Read once and cached.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from simulation.resources import data_dir
from simulation.world.territory_map import MapError, kind_from_density

NATIONAL_MEDIAN_2018 = 21_650.0  # EUR/yr per consumption unit, Filosofi 2018 (INSEE)


DATA_DIR = data_dir()  # simulation/data, wherever the package lives (simulation.resources)


@functools.lru_cache(maxsize=4)
def _read_builtin_csv(filename: str) -> pd.DataFrame:
    path = DATA_DIR / filename
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:  # pragma: no cover - shipped data
        raise MapError(f"cannot read built-in data: {exc}", file=path) from None


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.replace("", np.nan), errors="coerce").to_numpy(dtype=float)


@functools.lru_cache(maxsize=1)
def _region_table() -> dict[str, dict]:
    """Per-region observed figures and imputed median income (cached; read-only)."""
    reg = _read_builtin_csv("france_regions.csv")
    m21 = _num(reg["median_living_standard_2021_eur"])
    m18 = _num(reg["median_living_standard_2018_eur"])
    ftth = _num(reg["ftth_coverage_pct_circa_2023"]) / 100.0
    both = np.isfinite(m21) & np.isfinite(m18)
    ratio = float(np.mean(m21[both] / m18[both]))
    table = {}
    for i, code in enumerate(reg["code_insee"]):
        if np.isfinite(m21[i]):
            income, note = m21[i], "observed: Filosofi 2021 regional median (INSEE)"
        elif np.isfinite(m18[i]):
            income = m18[i] * ratio
            note = f"imputed: regional Filosofi 2018 median x {ratio:.4f} (mean 2021/2018 ratio)"
        else:
            income = NATIONAL_MEDIAN_2018 * ratio
            note = f"imputed: national 2018 median 21,650 x {ratio:.4f} (mean 2021/2018 ratio)"
        table[code] = {
            "income": float(income),
            "income_note": note,
            "ftth": float(ftth[i]) if np.isfinite(ftth[i]) else None,
        }
    table["_ratio"] = {"ratio": ratio}
    return table


def _income_ratio() -> float:
    return _region_table()["_ratio"]["ratio"]


def _national_income() -> float:
    return NATIONAL_MEDIAN_2018 * _income_ratio()


@functools.lru_cache(maxsize=1)
def _france_reference() -> dict[str, float]:
    """Metropolitan totals used to allocate national counts (from the département table)."""
    dep = _read_builtin_csv("france_departements.csv")
    pop = _num(dep["population_municipale_2023"])
    area = _num(dep["area_km2_computed"])
    kind = kind_from_density(pop / area)
    return {
        "population": float(pop.sum()),
        "area_km2": float(area.sum()),
        "town_rural_area_km2": float(area[kind >= 2].sum()),
    }
