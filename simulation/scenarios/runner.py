"""Running replications of scenarios, in this process or in a pool of worker processes.

Every run is fixed by its scenario, its seed and its overrides, so results never depend on
the number of workers or the order in which runs finish: :func:`run_many` returns them in
task order. Worker processes are forked from a fork server that has loaded the model once
(Linux; :func:`pool_context`) or spawned (elsewhere): never forked from the main process,
which may hold threads and open files. Each receives its scenario as a plain dict
(:meth:`Scenario.to_dict`) that it rebuilds.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.engine import calibrated
from simulation.engine.calibrated import Draw, DrawError
from simulation.engine.results import (
    Results,
    atomic_write_csv,
    atomic_write_text,
    package_version,
)
from simulation.engine.rng import replication_seeds
from simulation.scenarios.files import Scenario, load_scenario

ScenarioLike = Scenario | Mapping[str, Any] | str | Path
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def replication_seed_list(master: int, reps: int) -> list[int]:
    """Seeds of ``reps`` replications derived from a master seed.

    One replication uses the master seed itself (so ``terrinum run FILE`` replays the file's
    seed exactly); several use :func:`simulation.engine.rng.replication_seeds` (``master``,
    ``reps``).
    Replication k of every scenario of a comparison uses the same seed (common random
    numbers).

    Args:
        master: master seed (non-negative integer).
        reps: number of replications (>= 1).
    """
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    return [int(master)] if reps == 1 else replication_seeds(int(master), int(reps))


UNCERTAINTY_NONE = ("replications only (calibrated defaults)",
                    "réplications seules (valeurs calibrées par défaut)")
"""What intervals over replications show without posterior draws (English, French)."""


def uncertainty_text(n_draws: int, lang: str = "en") -> str:
    """Which uncertainty intervals over replications show, in a few words.

    Args:
        n_draws: posterior draws paired with the replications (0: none).
        lang: ``"en"`` or ``"fr"``.

    Returns:
        ``"replications only (calibrated defaults)"`` or ``"replications paired with N
        posterior draws: randomness and parameter uncertainty"`` (or the French).
    """
    if not n_draws:
        return UNCERTAINTY_NONE[1 if lang == "fr" else 0]
    if lang == "fr":
        return (f"réplications appariées à {n_draws} tirage(s) a posteriori : hasard et "
                "incertitude sur les paramètres")
    return (f"replications paired with {n_draws} posterior draw(s): randomness and parameter "
            "uncertainty")


def replication_draw_list(n_draws: int, reps: int, folder: Path | str | None = None,
                          *, option: str = "draws") -> list[Draw] | None:
    """The posterior draw of each replication, or None without draws (``n_draws == 0``).

    ``n_draws`` draws are spread evenly over the shipped ones
    (:func:`simulation.engine.calibrated.select_draws`) and replication k uses draw
    ``k mod n_draws`` (so each is used once when ``n_draws == reps``). Replication k of
    every scenario of a comparison uses the same seed and the same draw.

    Args:
        n_draws: posterior draws (0: none; at most ``reps``).
        reps: replications.
        folder: calibration folder (default: ``TERRINUM_CALIBRATION_DIR`` or the shipped
            one).
        option: how the number is named in messages (``--draws``).

    Raises:
        DrawError: a negative number, no draws shipped, fewer shipped than asked for, more
            draws than replications, or a draw with values its parameters do not allow (the
            message says what exists and what to do).
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 0:
        raise DrawError(f"{option}: {n_draws!r} is not allowed; allowed: a whole number "
                        ">= 0 (0: the calibrated defaults, no draws)")
    if n_draws == 0:
        return None
    if n_draws > reps:
        raise DrawError(f"{option} {n_draws} is more than the {reps} replication(s): each "
                        "replication uses one draw; ask for at least as many replications "
                        f"(--reps {n_draws}), or leave --reps out (it then equals "
                        f"{option})")
    from simulation.engine.params import ParameterError, Parameters

    draws = calibrated.select_draws(n_draws, folder, option=option)
    where = calibrated.draws_path(folder)
    for d in draws:
        try:
            Parameters(d.params, where=f"{where} (draw {d.index})")
        except ParameterError as exc:
            raise DrawError(str(exc)) from None
    return calibrated.replication_draws(draws, reps)


def draws_manifest(seeds: Sequence[int], draws: Sequence[Draw] | None,
                   folder: Path | str | None = None) -> dict[str, Any]:
    """The manifest entries that record the posterior draws of the replications.

    Args:
        seeds: replication seeds, in order.
        draws: the draw of each replication (:func:`replication_draw_list`), or None.
        folder: calibration folder the draws were read from.

    Returns:
        ``{"uncertainty", "draws", "calibration"}``: the sentence on what intervals show;
        None or ``{"n", "selection", "by_replication": [{"replication", "seed", "draw",
        "params", "map"}]}``; and the calibration folder with the SHA-256 of its files.
    """
    out: dict[str, Any] = {"uncertainty": uncertainty_text(
        len({d.index for d in draws}) if draws else 0)}
    if not draws:
        out["draws"] = None
    else:
        n = len({d.index for d in draws})
        out["draws"] = {
            "n": n,
            "selection": f"{n} of the {calibrated.n_draws(folder)} shipped draws, spread "
                         "evenly (number k * shipped // n); replication k of every scenario "
                         "uses seeds[k] and the selected draw k mod n "
                         "(by_replication gives its number)",
            "by_replication": [{"replication": k, "seed": int(sd), "draw": int(d.index),
                                "params": dict(d.params), "map": d.map}
                               for k, (sd, d) in enumerate(zip(seeds, draws, strict=True))]}
    out["calibration"] = calibrated.provenance(folder)
    return out


def as_scenario(scenario: ScenarioLike) -> Scenario:
    """A :class:`Scenario` from a scenario, its ``to_dict()``, a path or a built-in name."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.from_dict(scenario)
    return load_scenario(scenario)


def run_results(scenario: ScenarioLike, seed: int, *, years: float | None = None,
                params: dict | None = None, policies: list | None = None,
                n_households: int | None = None, draw: int | Draw | None = None) -> Results:
    """Build and run one replication and return its :class:`Results` (without the map).

    Args:
        scenario: the scenario (object, dict, path or built-in name).
        seed: master seed of this replication.
        years: simulated years (default: the scenario's).
        params: extra parameter overrides on top of the scenario's.
        policies: extra policies after the scenario's.
        n_households: household agents (default: the scenario's).
        draw: posterior draw (number, or a :class:`~simulation.engine.calibrated.Draw`
            already read: what the pools send, so workers never read the calibration
            files); its values sit under the scenario's and ``params``; None: the calibrated
            defaults.
    """
    scen = as_scenario(scenario)
    model = scen.build_model(seed, params=params, policies=policies, n_households=n_households,
                             draw=draw)
    res = model.run(years=scen.years if years is None else years)
    res.tmap = None  # the map (outlines included) is large; callers reload it by name
    return res


def run_replication(scenario: ScenarioLike, seed: int, *, years: float | None = None,
                    params: dict | None = None, policies: list | None = None,
                    n_households: int | None = None, territories: bool = True,
                    draw: int | Draw | None = None) -> pd.DataFrame:
    """Build and run one replication and return its tidy table.

    Args:
        scenario: the scenario (object, ``to_dict()`` dict, path or built-in name).
        seed: master seed of this replication.
        years: simulated years (default: the scenario's).
        params: extra parameter overrides on top of the scenario's.
        policies: extra policies (dicts or objects) after the scenario's.
        n_households: household agents (default: the scenario's).
        territories: include per-territory rows (else only ``territory == "_map"``).
        draw: posterior draw (see :func:`run_results`); None: the calibrated defaults.

    Returns:
        ``Results.to_df(territories)``: columns scenario, seed, step, year, territory,
        measure, value.
    """
    res = run_results(scenario, seed, years=years, params=params, policies=policies,
                      n_households=n_households, draw=draw)
    return res.to_df(territories=territories)


def _portable(task: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(task)
    scen = out.get("scenario")
    if isinstance(scen, Scenario):
        out["scenario"] = scen.to_dict()
    elif isinstance(scen, Path):
        out["scenario"] = str(scen)
    pols = out.get("policies")
    if pols:
        out["policies"] = [p.to_dict() if hasattr(p, "to_dict") else p for p in pols]
    return out


def _call(func: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return func(**kwargs)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Ask numerical libraries in worker processes for one thread each (cores are the pool's)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    for k in _THREAD_VARS:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pool_context() -> Any:
    """The multiprocessing context of the worker pools.

    On Linux a fork server that has imported the model and loaded its compiled kernels
    (:mod:`simulation.experiments.pool_preload`): workers forked from it start in milliseconds
    instead
    of re-importing everything. Elsewhere, ``spawn``. The fork server is started by the
    first pool, with the environment of that moment (one numerical-library thread per
    worker, see :func:`_single_threaded_children`); the main process itself never forks.
    """
    import multiprocessing as mp
    import sys

    if sys.platform == "linux" and "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["simulation.experiments.pool_preload"])
        return ctx
    return mp.get_context("spawn")


def default_workers(n_tasks: int) -> int:
    """Worker processes for ``n_tasks`` runs: the machine's usable cores, at most one a task."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_tasks))


def run_many(tasks: Sequence[Mapping[str, Any]], workers: int | None = None,
             progress: bool = True, desc: str = "", *,
             func: Callable[..., Any] | None = None) -> list[Any]:
    """Run tasks in parallel; results in task order, identical for any number of workers.

    Args:
        tasks: keyword arguments of ``func`` (by default :func:`run_replication`), each with a
            ``scenario`` (object, dict, path or name: objects are sent as dicts) and a ``seed``.
        workers: worker processes (default: the usable cores, at most one per task);
            ``1`` runs everything in this process.
        progress: show a progress bar on standard error (runs done, runs per minute).
        desc: label of the progress bar.
        func: a module-level function to call (picklable); default :func:`run_replication`.

    Returns:
        One result per task (DataFrames for the default ``func``), in task order.

    Note:
        Worker processes do not fork the calling process: a script that calls this with
        ``workers > 1`` must guard its top level with ``if __name__ == "__main__":`` (as for
        any ``multiprocessing`` code).
    """
    func = run_replication if func is None else func
    todo = [_portable(t) for t in tasks]
    n = len(todo)
    if n == 0:
        return []
    workers = default_workers(n) if workers is None else max(1, min(int(workers), n))
    out: list[Any] = [None] * n
    bar = _Progress(n, desc, progress)
    try:
        if workers == 1:
            for i, t in enumerate(todo):
                out[i] = _call(func, t)
                bar.update()
            return out
        with _single_threaded_children(), ProcessPoolExecutor(
                max_workers=workers, mp_context=pool_context()) as pool:
            futures = {pool.submit(_call, func, t): i for i, t in enumerate(todo)}
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        out[futures[fut]] = fut.result()
                        bar.update()
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
        return out
    finally:
        bar.close()


class _Progress:
    """A tqdm bar counting runs, with runs per minute."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        self.t0 = time.perf_counter()
        self.done = 0
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc or "runs", unit="run", leave=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs "
                                       "[{elapsed}<{remaining}{postfix}]")

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9) * 60.0
            self.bar.set_postfix_str(f"{rate:.1f} runs/min", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ============================================================================ saving runs
def write_parquet_parts(frames: Iterator[pd.DataFrame] | Sequence[pd.DataFrame],
                        path: Path) -> int:
    """Write DataFrames with the same columns to one Parquet file, part by part, atomically.

    Returns:
        Number of rows written.
    """
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    rows = 0
    writer = None
    try:
        for df in frames:
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
            rows += len(df)
        if writer is None:
            raise ValueError("no data to write")
        writer.close()
        writer = None
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rows


def write_csv_parts(frames: Iterator[pd.DataFrame] | Sequence[pd.DataFrame],
                    path: Path) -> int:
    """Write DataFrames with the same columns to one CSV file, part by part, atomically."""
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    rows = 0
    try:
        first = True
        for df in frames:
            df.to_csv(tmp, mode="w" if first else "a", header=first, index=False)
            first = False
            rows += len(df)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rows


def map_files(scenario: Scenario) -> list[Path]:
    """The files a scenario's map is read from (empty for generated maps).

    A nodes CSV and its ``edges`` option; for ``france-departements`` the shipped
    départements table, outlines and yearly series (``simulation/data/dept/``); for
    ``france-regions`` the regions table and outlines plus the départements table and
    series it aggregates.
    """
    from simulation.resources import data_dir

    DATA_DIR = data_dir()

    dept = [DATA_DIR / "france_departements.csv",
            DATA_DIR / "france_departements_simplified.geojson",
            *sorted((DATA_DIR / "dept").glob("*.csv"))]
    if scenario.map == "france-departements":
        return dept
    if scenario.map == "france-regions":
        return [DATA_DIR / "france_regions.csv", DATA_DIR / "france_regions_simplified.geojson",
                dept[0], *dept[2:]]
    if scenario.map in ("synthetic", "random-geometric"):
        return []
    files = [Path(scenario.map)]
    if scenario.map_options.get("edges"):
        files.append(Path(scenario.map_options["edges"]))
    return files


def map_file_hashes(scenario: Scenario) -> list[dict[str, str]]:
    """``[{"path", "sha256"}]`` of :func:`map_files` (SHA-256 of the bytes, hex)."""
    import hashlib

    out = []
    for f in map_files(scenario):
        try:
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
        except OSError as exc:  # pragma: no cover - the map was just read from it
            digest = f"unreadable: {exc.strerror}"
        out.append({"path": str(f), "sha256": digest})
    return out


MIN_REPLICATIONS = 5
"""Fewer replications than this get a warning: the interval is itself too uncertain."""


def replication_warnings(reps: int, lang: str = "en") -> list[str]:
    """The warning printed and recorded (``notes.csv``, manifest, report) for few replications.

    Args:
        reps: replications per scenario.
        lang: ``"en"`` or ``"fr"``.
    """
    if reps >= MIN_REPLICATIONS:
        return []
    if lang == "fr":
        return [f"ATTENTION : {reps} réplication(s) (moins de {MIN_REPLICATIONS}) : les "
                "intervalles sont larges et eux-mêmes incertains" + (
                    " ; une seule réplication ne donne aucun intervalle" if reps < 2 else "")
                + f". Relancer avec --reps {MIN_REPLICATIONS} ou plus avant de conclure."]
    return [f"WARNING: {reps} replication(s) (fewer than {MIN_REPLICATIONS}): the intervals "
            "are wide and themselves uncertain" + (
                "; a single replication gives no interval at all" if reps < 2 else "")
            + f". Re-run with --reps {MIN_REPLICATIONS} or more before drawing conclusions."]


def save_runs(results: Sequence[Results], out: str | Path, scenario: Scenario, *,
              master_seed: int, command: str = "", plots: bool = True,
              extra_manifest: dict | None = None, draws: Sequence[Draw] | None = None,
              calibration_dir: Path | str | None = None) -> Path:
    """Write the replications of one scenario to a folder.

    Files: ``results.parquet`` and ``results.csv`` (tidy, every replication, map-level and
    per territory), ``summary.csv`` (map-level measures at the last step, one row per seed),
    ``ledger.csv`` (money flows per step and seed), ``scenario.toml`` (the scenario exactly as
    run), PNG plots (measures over time with 95 % bands over replications; maps of
    attractiveness and local value captured, mean of the last 12 months over replications)
    and ``manifest.json`` (scenario, seeds, version, command, hashes, parameters).

    Args:
        results: one :class:`Results` per replication.
        out: output folder (created).
        scenario: the scenario that was run.
        master_seed: the seed the replication seeds were derived from.
        command: command line to record.
        plots: write PNG plots.
        extra_manifest: more entries for ``manifest.json``.
        draws: the posterior draw of each replication (None: calibrated defaults); the
            manifest records them (:func:`draws_manifest`), with the calibration files'
            SHA-256.
        calibration_dir: the folder the draws were read from (default: the current one).

    Returns:
        The output folder.
    """
    from simulation.engine.measures import TERRITORY_MEASURES

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet_parts((r.to_df() for r in results), out / "results.parquet")
    write_csv_parts((r.to_df() for r in results), out / "results.csv")
    atomic_write_csv(pd.concat([r.summary() for r in results], ignore_index=True),
                     out / "summary.csv")
    ledgers = []
    for r in results:
        lg = r.ledger_df().reset_index()
        lg.insert(0, "seed", r.seed)
        ledgers.append(lg)
    atomic_write_csv(pd.concat(ledgers, ignore_index=True).fillna(0.0), out / "ledger.csv")
    atomic_write_text(scenario.to_toml(), out / "scenario.toml")
    warned = replication_warnings(len(results))
    notes = [f"{scenario.name_note}."] * bool(scenario.name_note) + warned
    atomic_write_csv(pd.DataFrame({"note": notes}, dtype=object), out / "notes.csv")
    files = ["results.parquet", "results.csv", "summary.csv", "ledger.csv", "scenario.toml",
             "notes.csv"]
    if plots:
        from simulation.reports import plots as _plots

        df_map = pd.concat([r.to_df(territories=False) for r in results], ignore_index=True)
        seeds = ", ".join(str(r.seed) for r in results)
        p = _plots.timeseries(df_map, _plots.TIME_MEASURES, out / "measures_over_time.png",
                              title=(f"{scenario.name} — {results[0].map_name} — "
                                     f"{len(results)} replication(s), seeds {seeds}"[:150]
                                     + ("\nfewer than 5 replications: bands uncertain / "
                                        "moins de 5 réplications : bandes incertaines"
                                        if warned else "")))
        files.append(p.name)
        try:
            tmap = scenario.load_map(results[0].seed)
        except Exception:  # noqa: BLE001 - plots are optional; data files are written
            tmap = None
        if tmap is not None and tmap.n == len(results[0].codes):
            for name, fname in (("attractiveness", "map_attractiveness.png"),
                                ("local_value_captured", "map_local_value.png")):
                j = TERRITORY_MEASURES.index(name)
                vals = np.nanmean(np.stack([r.territory_values[-12:, :, j] for r in results]),
                                  axis=(0, 1))
                _plots.territory_map(tmap, vals, name, out / fname,
                                     title=f"{_plots.label(name)}\n(last 12 months, mean of "
                                           f"{len(results)} replication(s))")
                files.append(fname)
    manifest = results[0].manifest({
        "kind": "terrinum run", "scenario": scenario.name, "seed": int(master_seed),
        "seeds": [int(r.seed) for r in results], "replications": len(results),
        "years": float((results[0].steps - 1) / 12.0),
        "n_households": int(results[0].params.get("n_households", scenario.n_households)),
        "terrinum_version": package_version(), "command": command,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "scenario_sha256": scenario.sha256,
        "scenario_files": [{"path": str(f), "sha256": scenario.file_hashes.get(str(f), "")}
                           for f in scenario.files],
        "scenario_overrides": scenario.overrides,
        "map_files": map_file_hashes(scenario),
        "policies": scenario.policy_dicts(),
        "logs": {str(r.seed): r.log for r in results},
        "notes": notes,
        "files": files + ["manifest.json"],
        **draws_manifest([r.seed for r in results], draws, calibration_dir),
        **(extra_manifest or {}),
    })
    manifest.pop("log", None)
    manifest.pop("draw", None)   # per replication, in "draws"
    if draws:
        manifest["parameters_note"] = ("'parameters' are replication 0's values; each "
                                       "replication's drawn values are in "
                                       "draws.by_replication")
    atomic_write_text(json.dumps(manifest, indent=2, default=str), out / "manifest.json")
    return out


__all__ = ["run_replication", "run_results", "run_many", "replication_seed_list",
           "replication_warnings", "MIN_REPLICATIONS",
           "replication_draw_list", "draws_manifest", "uncertainty_text",
           "as_scenario", "save_runs", "default_workers", "write_parquet_parts",
           "write_csv_parts", "map_files", "map_file_hashes"]
