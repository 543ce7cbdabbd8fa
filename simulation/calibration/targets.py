"""Calibration targets: what France's data say, what a run says, and how far apart they are.

Each target *kind* (:data:`KINDS`) knows its observed value (from the INSEE, ARCEP and ANCT
files in ``simulation/data/dept/`` or from figures of ``docs/DATA.md`` with their source), its
unit, and how to read the same quantity off a run (:class:`RunSummary`). Three levels:

* ``territory``: one value per département (96 values);
* ``national``: one value;
* ``plausibility``: the figures of the plausibility benchmark (issue 11) over the run.

The distance between a run and the data (:func:`distance`) is the weighted mean over targets
of the mean squared standardised residual ``((simulated - observed) / sd)^2`` (averaged
over départements for a territory target): the error model is Normal with the declared sd,
which stands for both the data's and the model's error (sampling noise of agents included).

Conventions of the comparison (ODD 1.3):

* net migration: INSEE's apparent net migration rate 2014-2019 (%/year, all migration,
  international included) minus its population-weighted national mean (+0.07 %/year): the
  model is a closed country, its net migration sums to zero; the simulated rate is
  ``100 x (moves in - moves out) / mean households / years`` over the first ``years`` of the
  run (household agents), with the moves *expected* given the movers' logit probabilities
  (the realised moves add the choice draws' noise: about 1 %/year by département at 20,000
  households; both are kept in a run's summary);
* median income: the log of each département's Filosofi 2019 median minus the
  household-weighted mean of these logs, against the same of the model's household incomes
  in its first year (the model's incomes are per household, Filosofi's per consumption unit:
  only relative levels are compared);
* unemployment: INSEE's localised rate, annual mean of the four quarters, against the
  model's rate by residence averaged over the months of the same calendar year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulation.world import dept_data

FEVAD = ("FEVAD, e-commerce 2023: 146.9 bn EUR, 12.5 % of retail trade (via L'Usine "
         "Nouvelle; FACTS.md C)")
DARES = ("DARES, 5 Nov 2024 (via Vie publique): employees teleworking at least occasionally "
         "9 % (2019), 31 % (early 2021), 26 % (2023) (FACTS.md B)")
INSEE_ILLECT_2019 = "INSEE Première n°1780 (2019): illectronism 16.5 % of persons 15+ (FACTS.md B)"
INSEE_ILLECT_2021 = ("INSEE Première n°1953 (June 2023): illectronism 15.4 % of persons 15+ in "
                     "2021; by age 25-39: 4 %, 60-74: 24 %, 75+: 62 % (FACTS.md B)")
INSEE_MIGRATION = ("INSEE, Estimations de population, 'Évolution de la population par "
                   "département': apparent net migration 2014-2019, %/year "
                   "(simulation/data/dept/population_change_components_dept_2008_2019.csv)")
INSEE_UNEMPLOYMENT = ("INSEE, taux de chômage localisés (ILO, seasonally adjusted), annual mean "
                      "of the quarters (simulation/data/dept/"
                      "unemployment_rate_dept_quarterly_1982_2019_and_2023.csv)")
FILOSOFI = ("INSEE, Filosofi 2019 by département (simulation/data/dept/"
            "income_filosofi_dept_2019.csv)")
ESTIMATES = ("INSEE population estimates at 1 January 1975-2023 (simulation/data/dept/"
             "population_estimates_dept_1975_2023.csv), same number of years ending in 2023")


# ============================================================================ a run's summary
@dataclass
class RunSummary:
    """What one run says, reduced to what the targets need (plain arrays; picklable).

    Attributes:
        codes: territory codes (map order).
        start_year: calendar year of month 0.
        years: simulated years.
        territory: per-territory arrays by name (K values each).
        national: map-level values by name.
        flows: the fixed point's inputs over the constants' window: expected moves in and
            out (household agents, summed over months) and mean households (agents).
        seed: the run's seed.
        seconds: wall time of the run.
    """

    codes: list[str]
    start_year: int
    years: float
    territory: dict[str, np.ndarray] = field(default_factory=dict)
    national: dict[str, float] = field(default_factory=dict)
    flows: dict[str, np.ndarray] = field(default_factory=dict)
    seed: int = 0
    seconds: float = 0.0


# ============================================================================ kinds
@dataclass(frozen=True)
class Kind:
    """A kind of target.

    Attributes:
        name: kind name (used in calibration files).
        level: ``territory``, ``national`` or ``plausibility``.
        unit: unit of the observed and simulated values (and of the sd).
        label: words for reports.
        source: default source text.
        years: calendar years the data give (empty: no year).
        observed: ``(year, years_run) -> value`` (a Series by code for territory kinds).
        key: name of the value in :class:`RunSummary` (``{year}`` replaced).
    """

    name: str
    level: str
    unit: str
    label: str
    source: str
    years: tuple[int, ...]
    observed: Callable[[int | None, float], Any]
    key: str


def _migration_observed(_year: int | None, _years: float):
    df = dept_data.read("population_change_components_dept_2008_2019.csv")
    r = df["annual_growth_apparent_net_migration_pct_per_year_2014-2019"].astype(float)
    w = df["pop_estimate_1jan_2019_inhabitants_ed2021"].astype(float)
    return r - float((r * w).sum() / w.sum())


def _unemployment_observed(year: int | None, _years: float):
    u = dept_data.unemployment_quarterly()
    return u[[f"{year}Q{q}" for q in range(1, 5)]].mean(axis=1)


def _unemployment_national(year: int | None, years: float) -> float:
    u = _unemployment_observed(year, years)
    pop = dept_data.population_estimates()
    w = pop[min(int(year), int(max(pop.columns)))].reindex(u.index)
    return float((u * w).sum() / w.sum())


def _filosofi() -> Any:
    return dept_data.read("income_filosofi_dept_2019.csv")


def _log_median_observed(_year: int | None, _years: float):
    df = _filosofi()
    lm = np.log(df["median_disposable_income_per_cu_2019_eur"].astype(float))
    w = df["n_fiscal_households_2019"].astype(float)
    return lm - float((lm * w).sum() / w.sum())


def _d9d1_observed(_year: int | None, _years: float):
    return _filosofi()["interdecile_ratio_D9_D1_2019"].astype(float)


def _by_year(values: Mapping[int, float]) -> Callable[[int | None, float], float]:
    return lambda year, _years: values[int(year)]


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("net_migration_rate", "territory", "%/year", "Net migration rate 2014-2019",
         INSEE_MIGRATION, (), _migration_observed, "expected_net_migration_rate"),
    Kind("unemployment_rate", "territory", "%", "Unemployment rate", INSEE_UNEMPLOYMENT,
         (2019, 2023), _unemployment_observed, "unemployment_rate_{year}"),
    Kind("log_median_income", "territory", "log points",
         "Median income, relative (log, 2019)", FILOSOFI, (2019,), _log_median_observed,
         "log_median_income_{year}"),
    Kind("d9_d1", "territory", "ratio", "Interdecile ratio D9/D1 (2019)", FILOSOFI, (2019,),
         _d9d1_observed, "d9_d1_{year}"),
    Kind("unemployment_national", "national", "%", "Unemployment rate, France",
         INSEE_UNEMPLOYMENT + ", population-weighted mean of the départements", (2019, 2023),
         _unemployment_national, "unemployment_{year}"),
    Kind("online_retail_share", "national", "%", "Online share of retail", FEVAD, (2023,),
         _by_year({2023: 12.5}), "online_share_{year}"),
    Kind("telework_share", "national", "%", "Telework share of employees", DARES,
         (2019, 2021, 2023), _by_year({2019: 9.0, 2021: 31.0, 2023: 26.0}),
         "telework_share_{year}"),
    Kind("illectronism", "national", "%", "Illectronism", INSEE_ILLECT_2021,
         (2019, 2021), _by_year({2019: 16.5, 2021: 15.4}), "illectronism_{year}"),
    Kind("illectronism_25_39", "national", "%", "Illectronism, aged 25-39", INSEE_ILLECT_2021,
         (2021,), _by_year({2021: 4.0}), "illectronism_25_39_{year}"),
    Kind("illectronism_60_74", "national", "%", "Illectronism, aged 60-74", INSEE_ILLECT_2021,
         (2021,), _by_year({2021: 24.0}), "illectronism_60_74_{year}"),
    Kind("illectronism_75_plus", "national", "%", "Illectronism, aged 75+", INSEE_ILLECT_2021,
         (2021,), _by_year({2021: 62.0}), "illectronism_75_plus_{year}"),
    Kind("zipf_change", "plausibility", "exponent", "Change of the Zipf exponent", ESTIMATES,
         (), None, "zipf_change"),
    Kind("corr_size_growth", "plausibility", "correlation", "corr(log size, growth)",
         ESTIMATES, (), None, "corr_size_growth"),
    Kind("growth_sd", "plausibility", "%", "sd of growth across départements", ESTIMATES, (),
         None, "growth_sd_pct"),
)}

AGE_GROUPS = {"25_39": (25.0, 40.0), "60_74": (60.0, 75.0), "75_plus": (75.0, 200.0)}


def observed_growth(years: float) -> dict[str, float]:
    """Observed plausibility figures over ``years`` years ending in 2023 (INSEE estimates)."""
    from simulation.calibration.plausible import growth_figures

    pop = dept_data.population_estimates()
    last = int(max(pop.columns))
    first = max(last - int(round(years)), int(min(pop.columns)))
    names = dept_data.names().loc[pop.index].tolist()
    return growth_figures(pop[first].to_numpy(), pop[last].to_numpy(), names)


# ============================================================================ resolved targets
@dataclass(frozen=True)
class Target:
    """A target resolved against the data: observed value(s), error model, source."""

    name: str
    kind: str
    level: str
    unit: str
    label: str
    source: str
    year: int | None
    sd: float
    weight: float
    observed: Any            # np.ndarray (territory, map order) or float
    key: str


def resolve(specs, codes: list[str], years_run: float) -> list[Target]:
    """The targets of a calibration with their observed values in the map's code order."""
    out = []
    for s in specs:
        k = KINDS[s.kind]
        if s.observed is not None:
            obs = pd.Series(s.observed, dtype=float) if k.level == "territory" else s.observed
        elif k.level == "plausibility":
            obs = observed_growth(years_run)[k.key]
        else:
            obs = k.observed(s.year, years_run)
        if k.level == "territory":
            obs = obs.reindex(codes)
            if obs.isna().any():
                missing = [c for c, v in obs.items() if np.isnan(v)][:5]
                raise ValueError(f"target {s.name}: no observed value for {missing}")
            obs = obs.to_numpy(dtype=float)
        out.append(Target(s.name, s.kind, k.level, k.unit, s.label, s.source, s.year, s.sd,
                          s.weight, obs if k.level == "territory" else float(obs),
                          k.key.format(year=s.year)))
    return out


def simulated(t: Target, run: RunSummary) -> Any:
    """The run's value of target ``t`` (array for a territory target)."""
    if t.level == "territory":
        return np.asarray(run.territory[t.key], dtype=float)
    return float(run.national[t.key])


def residuals(t: Target, run: RunSummary) -> np.ndarray:
    """Standardised residuals ``(simulated - observed) / sd`` (K values or one)."""
    return np.atleast_1d((simulated(t, run) - t.observed) / t.sd)


def components(targets: list[Target], run: RunSummary) -> dict[str, float]:
    """Mean squared standardised residual of each target."""
    return {t.name: float(np.mean(residuals(t, run) ** 2)) for t in targets}


def distance(targets: list[Target], run: RunSummary) -> float:
    """Weighted mean of :func:`components` (weights of the calibration file)."""
    comp = components(targets, run)
    w = np.array([t.weight for t in targets], float)
    v = np.array([comp[t.name] for t in targets], float)
    return float((w * v).sum() / w.sum()) if w.sum() > 0 else float(v.mean())


def latest_year(targets: list[Target]) -> int | None:
    """The latest calendar year a target needs (None if none)."""
    ys = [t.year for t in targets if t.year is not None]
    return max(ys) if ys else None


