"""Results of a run: tidy tables, a summary, provenance, and files on disk.

``Results.to_df()`` is a long table with one row per (step, territory, measure): columns
``scenario, seed, step, year, territory, measure, value``; ``year`` is the calendar year
(``start_year + step / 12``: step 0 is 1 January of the start year); map-level rows have
territory ``"_map"``. ``Results.summary()`` is one row of map-level measures at the end.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.engine import measures

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel

MAP_CODE = "_map"


def package_version() -> str:
    """Installed version of the terrinum distribution (or the source tree's)."""
    try:
        from importlib.metadata import version

        return version("terrinum")
    except Exception:  # noqa: BLE001 - not installed: running from a source checkout
        return "0.1.0+source"


@dataclass
class Results:
    """Measures of one run, per step, for the map and every territory.

    Attributes:
        scenario: scenario name.
        seed: master seed.
        map_name: map name.
        codes: territory codes (column order of ``territory_values``).
        map_values: DataFrame (steps x map measures), index ``step``.
        territory_values: array (steps, territories, territory measures).
        params: parameter values of the run.
        log: policy and lever changes with their step.
        ledger: per-step totals of money flows by "category:src->dst" (EUR).
        start_year: calendar year of step 0 (1 January).
        draw: number of the posterior draw the run used
            (:mod:`simulation.engine.calibrated`), None for the calibrated defaults.
    """

    scenario: str
    seed: int
    map_name: str
    codes: list[str]
    names: list[str]
    map_values: pd.DataFrame
    territory_values: np.ndarray
    params: dict[str, Any]
    log: list[dict] = field(default_factory=list)
    ledger: list[dict[str, float]] = field(default_factory=list)
    version: str = field(default_factory=package_version)
    tmap: object = field(default=None, repr=False, compare=False)
    start_year: int = 2023
    draw: int | None = None

    @classmethod
    def from_model(cls, model: TerritoryModel) -> Results:
        """Collect the results of a model (steps run so far)."""
        mv = pd.DataFrame(model._history_map)
        mv.index.name = "step"
        ledger = list(model.ledger.history)
        if model.ledger.flows:
            ledger.append(model.ledger.category_totals())
        return cls(
            scenario=model.scenario_name, seed=model.seed, map_name=model.map_name,
            codes=list(model.tmap.codes), names=list(model.tmap.names), map_values=mv,
            territory_values=np.stack(model._history_terr), params=model.p.to_dict(),
            log=list(model.log), ledger=ledger, tmap=model.tmap,
            start_year=int(getattr(model, "start_year", 2023)),
            draw=getattr(model, "draw", None),
        )

    @property
    def steps(self) -> int:
        """Number of recorded steps (step 0 is the initial state)."""
        return len(self.map_values)

    def to_df(self, territories: bool = True) -> pd.DataFrame:
        """Tidy long table: scenario, seed, step, year (calendar), territory, measure, value."""
        mv = self.map_values.reset_index().melt(id_vars="step", var_name="measure",
                                                value_name="value")
        mv.insert(1, "territory", MAP_CODE)
        parts = [mv]
        if territories:
            S, K, M = self.territory_values.shape
            step = np.repeat(np.arange(S), K * M)
            terr = np.tile(np.repeat(np.asarray(self.codes, dtype=object), M), S)
            meas = np.tile(np.asarray(measures.TERRITORY_MEASURES, dtype=object), S * K)
            parts.append(pd.DataFrame({"step": step, "territory": terr, "measure": meas,
                                       "value": self.territory_values.reshape(-1)
                                       .astype(float)}))
        df = pd.concat(parts, ignore_index=True)
        df["value"] = df["value"].astype(float)
        df.insert(0, "seed", self.seed)
        df.insert(0, "scenario", self.scenario)
        df.insert(3, "year", self.start_year + df["step"] / 12.0)
        df["territory"] = df["territory"].astype(str)
        df["measure"] = df["measure"].astype(str)
        return df.sort_values(["step", "territory", "measure"], kind="stable").reset_index(
            drop=True)

    def summary(self) -> pd.DataFrame:
        """One row: map-level measures at the last step, with scenario and seed."""
        row = self.map_values.iloc[[-1]].reset_index()
        row.insert(0, "seed", self.seed)
        row.insert(0, "scenario", self.scenario)
        return row.reset_index(drop=True)

    def territory_frame(self, step: int = -1) -> pd.DataFrame:
        """Territory measures at one step (default: last), one row per territory."""
        vals = self.territory_values[step]
        df = pd.DataFrame(vals, columns=measures.TERRITORY_MEASURES)
        df.insert(0, "name", self.names)
        df.insert(0, "territory", self.codes)
        return df

    def ledger_df(self) -> pd.DataFrame:
        """Money flows per step (EUR), one column per "category:src->dst"."""
        df = pd.DataFrame(self.ledger).fillna(0.0)
        df.index = np.arange(1, len(df) + 1)
        df.index.name = "step"
        return df

    def manifest(self, extra: dict | None = None) -> dict[str, Any]:
        """Provenance: scenario, seed, map, package version, parameters, log."""
        import platform as _pf

        out = {
            "scenario": self.scenario, "seed": self.seed, "map": self.map_name,
            "start_year": self.start_year, "steps": self.steps - 1,
            "terrinum_version": self.version,
            "python": _pf.python_version(), "parameters": self.params,
            "changed_parameters": {k: v for k, v in self.params.items()
                                   if _default(k) != v},
            "log": self.log,
        }
        if self.draw is not None:
            out["draw"] = self.draw
        if extra:
            out.update(extra)
        return out

    def save(self, out_dir: str | Path, *, extra_manifest: dict | None = None) -> Path:
        """Write tidy Parquet and CSV, the ledger and ``manifest.json`` to a folder.

        Plots of the run: :func:`simulation.reports.plots.run_plots` (``terrinum run`` writes
        both).
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        df = self.to_df()
        atomic_write_parquet(df, out / "results.parquet")
        atomic_write_csv(df, out / "results.csv")
        atomic_write_csv(self.summary(), out / "summary.csv")
        atomic_write_csv(self.ledger_df().reset_index(), out / "ledger.csv")
        files = ["results.parquet", "results.csv", "summary.csv", "ledger.csv"]
        atomic_write_text(json.dumps(self.manifest({"files": files, **(extra_manifest or {})}),
                                     indent=2, default=str), out / "manifest.json")
        return out


def _default(name: str) -> Any:
    from simulation.engine.params import PARAMS

    return PARAMS[name].default if name in PARAMS else None


def _atomic(path: Path, write) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to Parquet atomically (temporary file, then rename)."""
    _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to CSV atomically."""
    _atomic(path, lambda tmp: df.to_csv(tmp, index=False))


def atomic_write_text(text: str, path: Path) -> None:
    """Write text atomically."""
    def w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    _atomic(path, w)
