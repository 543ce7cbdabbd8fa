"""Calibration runs: one run reduced to a :class:`~.targets.RunSummary`, and where runs go.

A :class:`SimTask` is everything a worker needs (picklable). :func:`run_summary` builds the
calibration's scenario with the task's parameter values and territory constants, runs it and
keeps what the targets and the constants' fixed point need. :class:`Engine` sends tasks to a
local process pool (the sweeps' fork server with the model loaded) or to a Dask cluster, and
keeps one result file per task in a folder (atomic writes): a task whose file exists is not
run again, so a killed calibration loses at most the runs under way.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.calibration.targets import AGE_GROUPS, RunSummary

_SCENARIOS: dict[str, Any] = {}


@dataclass(frozen=True)
class SimTask:
    """One calibration run.

    Attributes:
        key: stable id (file name of its result).
        scenario: the scenario as ``Scenario.to_dict()``.
        seed: master seed of the run.
        params: parameter values (explicit: every calibrated one and the base values).
        constants: territory constants (K values, map order; utility).
        years: simulated years.
        n_households: household agents.
        window: years over which the net-migration flows are summed (from month 0).
    """

    key: str
    scenario: dict
    seed: int
    params: dict[str, Any]
    constants: tuple[float, ...]
    years: float
    n_households: int
    window: float


def task_key(*parts: Any) -> str:
    """A stable 16-hex id of ``parts`` (JSON of floats at full precision)."""
    text = json.dumps(parts, sort_keys=True, default=float)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def base_params() -> dict[str, Any]:
    """Explicit declared values of every parameter whose default is a shipped calibrated one.

    A calibration sets these, so that it never depends on an earlier calibration's results.
    """
    from simulation.engine.params import PARAMS

    return {p.name: p.declared_default for p in PARAMS.values() if p.calibrated}


def _scenario(d: dict) -> Any:
    from simulation.scenarios.files import Scenario

    key = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()
    if key not in _SCENARIOS:
        if len(_SCENARIOS) > 8:
            _SCENARIOS.clear()
        _SCENARIOS[key] = Scenario.from_dict(d)
    return _SCENARIOS[key]


def run_summary(task: SimTask) -> RunSummary:
    """Run one task and return its summary (module level: process pools import it)."""
    from simulation.engine.population import population

    t0 = time.perf_counter()
    scen = _scenario(task.scenario)
    model = scen.build_model(task.seed, params=task.params, n_households=task.n_households,
                             location_constants=list(task.constants))
    K = model.K
    steps = int(round(12 * task.years))
    wsteps = min(int(round(12 * task.window)), steps)
    e_in = np.zeros(K)
    e_out = np.zeros(K)
    e_var = np.zeros(K)
    m_in = np.zeros(K)
    m_out = np.zeros(K)
    n_sum = np.zeros(K)
    yearly: dict[str, np.ndarray | float] = {}
    y0 = int(model.start_year)
    for s in range(1, steps + 1):
        model.step()
        if s <= wsteps:
            c = model.counters
            e_in += c["expected_moves_in"]
            e_out += c["expected_moves_out"]
            e_var += c["expected_stay_var"]
            m_in += c["moves_in"]
            m_out += c["moves_out"]
            n_sum += population(model).n_k
        if s % 12 == 0:
            _year_end(model, y0 + s // 12 - 1, yearly)
    from simulation.engine import measures

    hist = np.stack(model._history_terr)
    col = measures.TERRITORY_MEASURES.index
    hmap = model._history_map
    out = RunSummary(codes=[str(c) for c in model.tmap.codes], start_year=y0,
                     years=float(task.years), seed=int(task.seed))
    n_mean = n_sum / max(wsteps, 1)
    wy = wsteps / 12.0
    out.flows = {"expected_in": e_in, "expected_out": e_out,
                 "expected_stay_var": e_var, "moves_in": m_in,
                 "moves_out": m_out, "households": n_mean, "years": np.array([wy])}
    out.territory["net_migration_rate"] = np.divide(
        100.0 * (m_in - m_out), n_mean * wy, out=np.zeros(K), where=n_mean > 0)
    out.territory["expected_net_migration_rate"] = np.divide(
        100.0 * (e_in - e_out), n_mean * wy, out=np.zeros(K), where=n_mean > 0)
    for y in range(int(steps // 12)):
        sl = slice(12 * y + 1, 12 * y + 13)
        year = y0 + y
        out.territory[f"unemployment_rate_{year}"] = 100.0 * hist[sl, :, col(
            "unemployment_rate")].mean(axis=0)
        out.territory[f"d9_d1_{year}"] = hist[sl, :, col("d9_d1")].mean(axis=0)
        rows = hmap[sl]
        out.national[f"unemployment_{year}"] = 100.0 * float(np.mean(
            [r["unemployment_rate"] for r in rows]))
        out.national[f"online_share_{year}"] = 100.0 * float(np.mean(
            [r["global_platform_share"] + r["local_platform_share"] for r in rows]))
        out.national[f"telework_share_{year}"] = 100.0 * float(np.mean(
            [r["telework_share"] for r in rows]))
        out.national[f"illectronism_{year}"] = 100.0 * float(np.mean(
            [r["illectronism"] for r in rows]))
    for k, v in yearly.items():
        (out.territory if isinstance(v, np.ndarray) else out.national)[k] = v
    hh = hist[:, :, col("households")].astype(float)
    from simulation.calibration.plausible import growth_figures

    g = growth_figures(hh[0], hh[-1], [str(n) for n in model.tmap.names])
    for k in ("zipf_change", "corr_size_growth", "growth_sd_pct", "growth_min_pct",
              "growth_max_pct"):
        out.national[k] = float(g[k])
    out.territory["growth_pct"] = 100.0 * (hh[-1] / np.maximum(hh[0], 1e-9) - 1.0)
    # households at the first and last recorded steps: the ensemble figures of the fit
    out.territory["households_start"] = hh[0].copy()
    out.territory["households_end"] = hh[-1].copy()
    out.seconds = time.perf_counter() - t0
    return out


def _year_end(model: Any, year: int, into: dict) -> None:
    """Snapshots at the end of a calendar year: relative median incomes, illectronism by age."""
    import pandas as pd

    h = model.hh
    alive = np.flatnonzero(h.alive)
    inc = np.maximum(h.income[alive], 1.0)
    home = h.home[alive]
    med = pd.Series(inc).groupby(home).median().reindex(range(model.K)).to_numpy(float)
    n = np.bincount(home, minlength=model.K).astype(float)
    lm = np.log(np.where(np.isfinite(med), med, np.nanmedian(med)))
    into[f"log_median_income_{year}"] = lm - float((lm * n).sum() / n.sum())
    low = h.literacy[alive] < model.p.illiteracy_threshold
    age = h.age[alive]
    for name, (lo, hi) in AGE_GROUPS.items():
        m = (age >= lo) & (age < hi)
        into[f"illectronism_{name}_{year}"] = 100.0 * float(low[m].mean()) if m.any() else 0.0


# ============================================================================ engine
def _init_worker(parent: int) -> None:
    from simulation.experiments.sweep import _watch_parent

    os.environ["TERRINUM_CALIBRATION_WORKER"] = "1"
    _watch_parent(parent)


class Engine:
    """Where calibration runs go: this process, a local pool, or a Dask cluster.

    Args:
        workers: local worker processes (1: in this process).
        client: a ``distributed.Client`` (then ``workers`` is ignored).
    """

    def __init__(self, workers: int = 1, client: Any = None) -> None:
        self.workers = max(1, int(workers))
        self.client = client
        self._pool = None
        self.runs = 0
        self.seconds = 0.0

    def _executor(self):
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            from simulation.scenarios.runner import _THREAD_VARS, pool_context

            for k in _THREAD_VARS:
                os.environ.setdefault(k, "1")
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=pool_context(),
                                             initializer=_init_worker,
                                             initargs=(os.getpid(),))
        return self._pool

    def map(self, func: Callable[[Any], Any], items: Sequence[Any],
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[func(x) for x in items]`` on the engine, results in order.

        ``on_result(i, result)`` is called in this process as each result arrives.
        """
        n = len(items)
        out: list[Any] = [None] * n
        if n == 0:
            return out
        t0 = time.perf_counter()
        if self.client is not None:
            from distributed import as_completed

            futs = self.client.map(func, list(items), pure=False)
            index = {f.key: i for i, f in enumerate(futs)}
            for fut in as_completed(futs):
                i = index[fut.key]
                out[i] = fut.result()
                if on_result:
                    on_result(i, out[i])
        elif self.workers == 1 or n == 1:
            for i, x in enumerate(items):
                out[i] = func(x)
                if on_result:
                    on_result(i, out[i])
        else:
            from concurrent.futures import FIRST_COMPLETED, wait

            ex = self._executor()
            futs = {ex.submit(func, x): i for i, x in enumerate(items)}
            pending = set(futs)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in done:
                        i = futs[f]
                        out[i] = f.result()
                        if on_result:
                            on_result(i, out[i])
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
        self.seconds += time.perf_counter() - t0
        return out

    def close(self) -> None:
        """Stop the pool (if any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class ResultCache:
    """One pickle file per task key in ``folder`` (atomic writes; existing files are reused)."""

    def __init__(self, folder: Path, *, clean: bool = False) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if clean:   # only the calibration's own process, under its folder lock, at start:
            # a worker's temporary is another worker's file being written
            from simulation.experiments.store import clean_temporaries

            clean_temporaries(self.folder)

    def path(self, key: str) -> Path:
        """The result file of ``key``."""
        return self.folder / f"{key}.pkl"

    def get(self, key: str) -> Any | None:
        """The stored result of ``key``, or None."""
        p = self.path(key)
        if not p.is_file():
            return None
        with p.open("rb") as fh:
            return pickle.load(fh)

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (atomically)."""
        from simulation.experiments.store import atomic_write_bytes, kill_point

        atomic_write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
                           self.path(key), kill_phase="run-write")
        kill_point("between-runs")


def run_tasks(engine: Engine, cache: ResultCache, tasks: Sequence[SimTask],
              on_result: Callable[[int, RunSummary], None] | None = None
              ) -> list[RunSummary]:
    """Summaries of ``tasks``: stored ones read, the others run on ``engine`` and stored."""
    out: list[RunSummary | None] = [cache.get(t.key) for t in tasks]
    todo = [i for i, r in enumerate(out) if r is None]
    if on_result:
        for i, r in enumerate(out):
            if r is not None:
                on_result(i, r)

    def done(j: int, r: RunSummary) -> None:
        i = todo[j]
        cache.put(tasks[i].key, r)
        out[i] = r
        engine.runs += 1
        if on_result:
            on_result(i, r)

    engine.map(run_summary, [tasks[i] for i in todo], done)
    return out  # type: ignore[return-value]


def mean_summary(runs: Sequence[RunSummary]) -> RunSummary:
    """Element-wise mean of several runs' summaries (same map and years)."""
    first = runs[0]
    out = RunSummary(codes=first.codes, start_year=first.start_year, years=first.years,
                     seed=first.seed)
    # the keys every run has (summaries cached by an older version may lack newer keys)
    for attr in ("territory", "flows"):
        src: Mapping[str, Any] = getattr(first, attr)
        setattr(out, attr, {k: np.mean([getattr(r, attr)[k] for r in runs], axis=0)
                            for k in src if all(k in getattr(r, attr) for r in runs)})
    out.national = {k: float(np.mean([r.national[k] for r in runs])) for k in first.national
                    if all(k in r.national for r in runs)}
    out.seconds = float(sum(r.seconds for r in runs))
    return out
