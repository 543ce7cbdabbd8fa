"""Run an experiment: engines, an on-disk Parquet dataset written run by run, and resume.

Engines (the data are identical whichever runs them: every run is the same call of
:func:`simulation.scenarios.runner.run_replication` with the same seed and inputs):

* ``local`` (default): a process pool over the machine's cores (``--workers 1``:
  in this process, one run after the other);
* ``dask``: an existing Dask distributed cluster (``--scheduler ADDRESS``, e.g. one started
  by ``dask-jobqueue`` on Slurm or PBS; the workers need ``terrinum`` installed), or a local
  one (``--dask-local N``: ``LocalCluster`` with N worker processes of one thread each).

Dataset folder (``--out DIR``)::

    DIR/manifest.json        experiment file (text and SHA-256), scenario, design matrix, seeds,
                             the planned runs, package versions; written once, first
    DIR/design.csv           one row per planned run: run_id, point, replicate, seed, factors
    DIR/runs/<run_id>.parquet  one file per finished run (tidy rows, below)
    DIR/.lock                held (flock) while a sweep writes into DIR; removed when it ends

A run file holds the tidy rows of :meth:`simulation.engine.results.Results.to_df` for the map
(``territory = "_map"``, every measure, every month), one series per territorial outcome
(``territory = "@kinds=rural"`` etc., combined over its territories) and, with
``store_territories = true``, every territory's rows; plus columns ``run_id``, ``point``,
``replicate`` and one column per factor.

Every file is written to a hidden temporary beside it (``.<name>.<random>``) and renamed
when complete (:func:`simulation.experiments.store.atomic_write_bytes`), so a file exists
only complete, and the start is atomic too (:func:`simulation.experiments.store.open_store`):
``manifest.json`` commits it and ``design.csv`` (a function of the same inputs) follows.
Whatever moment a sweep is killed at (SIGKILL of its process group: before or while its
manifest is written, just after it, between runs, while a run file is written), re-running
the same command completes it; temporaries are removed under the lock, and the completed
folder equals an uninterrupted sweep's: the same files, ``runs/*.parquet`` and
``design.csv`` byte for byte, ``manifest.json`` except its ``created`` time
(``tests/test_sweep_kill.py``; its test hook ``TERRINUM_TEST_KILL_AT`` is described in
:mod:`simulation.experiments.store`).

Folder rules:

1. ``DIR`` missing, empty, or holding only what a killed start leaves (the lock file,
   temporaries of ``manifest.json`` / ``design.csv``): a new sweep (manifest written first).
2. ``DIR`` holds a sweep of the *same* experiment (same experiment-file SHA-256, same
   ``--quick`` choice, same scenario SHA-256, same model code (SHA-256 of the model's source
   and data files) and the same planned runs): the sweep continues (a missing
   ``design.csv`` is written); finished runs are skipped. This is what re-running an
   interrupted command does; the final data are identical to an uninterrupted sweep's.
3. ``DIR`` holds a sweep of another experiment (any of the above differs): an error; use
   another folder (nothing is overwritten or mixed).
4. ``DIR`` holds anything else and no manifest: an error.
5. ``--resume`` makes the intent explicit: it requires case 2 (or a killed start, case 1
   with leftovers) and is an error otherwise (there is nothing to resume, e.g. a mistyped
   folder).
6. Two sweeps never write into one folder at once (the lock; an error names the holder). A
   lock file left by a killed sweep does not block: the kernel released its lock.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import UserError
from simulation.experiments.design import MAP, Experiment, Outcome
from simulation.experiments.store import (
    LOCK,  # noqa: F401 - the lock file's name (DIR/.lock)
    FolderLock,
    atomic_write_bytes,
    clean_temporaries,
    csv_bytes,
    kill_point,
    open_store,
    parquet_bytes,
)

FORMAT = "terrinum-sweep/1"
MANIFEST = "manifest.json"
DESIGN = "design.csv"
RUNS = "runs"
RUN_COLUMNS = ["run_id", "point", "replicate"]
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# source files whose content fixes what a run computes (see model_code_sha256)
MODEL_SOURCES = ("engine/*.py", "engine/agents/*.py", "world/*.py", "scenarios/*.py", "data/*",
                 "data/*/*")


class SweepError(UserError, ValueError):
    """A sweep that cannot start or finish (folder clash, failed runs, engine problem)."""


# ============================================================================ one run
@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (picklable, sent to any engine).

    Attributes:
        run_id: stable id of the run.
        point: design point index.
        replicate: replicate index.
        seed: the run's master seed.
        values: factor values of the point.
        scenario: the loaded base scenario.
        years: simulated years.
        n_households: household agents.
        params: parameter overrides (fixed and varied) on top of the scenario's.
        policies: policies added to the scenario's (dicts).
        outcomes: outcomes whose territorial series the run file must hold.
        store_territories: keep every territory's rows.
    """

    run_id: str
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]
    scenario: Any
    years: float
    n_households: int
    params: dict[str, Any]
    policies: list[dict[str, Any]]
    outcomes: tuple[Outcome, ...] = ()
    store_territories: bool = False


def make_tasks(exp: Experiment, runs: Iterable[Any] | None = None) -> list[RunTask]:
    """Tasks of an experiment's runs (all planned runs by default)."""
    groups = tuple(o for o in exp.outcomes if o.territories is not None)
    out = []
    for r in exp.runs() if runs is None else runs:
        inp = exp.run_inputs(r.values)
        out.append(RunTask(run_id=r.run_id, point=r.point, replicate=r.replicate, seed=r.seed,
                           values=dict(r.values), scenario=exp.scenario, years=exp.years,
                           n_households=inp["n_households"], params=inp["params"],
                           policies=inp["policies"], outcomes=groups,
                           store_territories=exp.store_territories))
    return out


_MAPS: dict[tuple, Any] = {}


def _territory_indices(task: RunTask, codes: Sequence[str], sel: dict) -> np.ndarray:
    """Positions (in ``codes``) of the territories an outcome selects, for this run's map."""
    sc = task.scenario
    key = (getattr(sc, "sha256", ""), getattr(sc, "map", ""), task.seed)
    if key not in _MAPS:
        if len(_MAPS) > 64:
            _MAPS.clear()
        _MAPS[key] = sc.load_map(task.seed)
    tmap = _MAPS[key]
    chosen = [tmap.codes[i] for i in tmap.select(**sel)]
    pos = {c: i for i, c in enumerate(codes)}
    return np.array([pos[c] for c in chosen if c in pos], dtype=np.int64)


def execute_run(task: RunTask) -> pd.DataFrame:
    """Run one replication and return the rows of its run file.

    Module-level so that process pools and Dask workers can import it.
    """
    from simulation.scenarios.runner import run_replication

    need_terr = task.store_territories or bool(task.outcomes)
    df = run_replication(task.scenario, task.seed, years=task.years, params=task.params,
                         policies=task.policies, n_households=task.n_households,
                         territories=need_terr)
    parts = [df[df["territory"] == MAP]]
    if need_terr:
        terr = df[df["territory"] != MAP]
        for o in task.outcomes:
            parts.append(_group_series(task, terr, o))
        if task.store_territories:
            parts.append(terr)
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "replicate", np.int64(task.replicate))
    out.insert(0, "point", np.int64(task.point))
    out.insert(0, "run_id", task.run_id)
    for name, v in task.values.items():
        out[name] = v
    return out.reset_index(drop=True)


def _group_series(task: RunTask, terr: pd.DataFrame, o: Outcome) -> pd.DataFrame:
    """One outcome's measure combined over its territories, month by month."""
    codes = sorted(terr["territory"].unique())
    idx = _territory_indices(task, codes, o.territories)
    chosen = [codes[i] for i in idx]
    sub = terr[terr["territory"].isin(chosen)]
    wide = sub[sub["measure"] == o.measure].pivot(index="step", columns="territory",
                                                  values="value")[chosen]
    if o.combine == "sum":
        val = wide.sum(axis=1, min_count=1)
    elif o.combine == "mean":
        val = wide.mean(axis=1)
    else:
        w = sub[sub["measure"] == "households"].pivot(index="step", columns="territory",
                                                      values="value")[chosen]
        num = (wide * w).sum(axis=1, min_count=1)
        den = w.where(wide.notna()).sum(axis=1)
        val = num / den.where(den > 0)
    steps = val.index.to_numpy()
    first = terr.drop_duplicates("step").set_index("step")
    return pd.DataFrame({
        "scenario": first.loc[steps, "scenario"].to_numpy(),
        "seed": first.loc[steps, "seed"].to_numpy(),
        "step": steps, "year": first.loc[steps, "year"].to_numpy(),
        "territory": o.series, "measure": o.measure,
        "value": val.to_numpy(dtype=float)})


# ============================================================================ the folder
def manifest_for(exp: Experiment) -> dict[str, Any]:
    """The manifest of a sweep of ``exp`` (JSON-ready)."""
    from simulation.engine.results import package_version

    sc = exp.scenario
    runs = exp.runs()
    mat = exp.matrix()
    return {
        "format": FORMAT,
        "experiment": {"name": exp.name, "file": str(exp.path) if exp.path else None,
                       "sha256": exp.sha256, "quick": exp.quick, "text": exp.text},
        "scenario": {"ref": exp.scenario_ref, "name": getattr(sc, "name", None),
                     "sha256": getattr(sc, "sha256", None),
                     "map": _plain(getattr(sc, "map", None)),
                     "years": getattr(sc, "years", None),
                     "n_households": getattr(sc, "n_households", None)},
        "spec": exp.spec(),
        "design": {**exp.design.to_dict(), "factors": exp.factor_names,
                   "points": int(mat.shape[0]),
                   "matrix": [[_plain(x) for x in row] for row in mat.tolist()]},
        "replications": exp.replications,
        "seeds": exp.seeds(),
        "runs": [{"run_id": r.run_id, "point": r.point, "replicate": r.replicate,
                  "seed": r.seed} for r in runs],
        "terrinum_version": package_version(),
        "model_code_sha256": model_code_sha256(),
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def model_code_sha256() -> str:
    """SHA-256 of the model's source and data files (:data:`MODEL_SOURCES`).

    Recorded in the manifest: a sweep is only continued by the same model code, so its
    runs never mix two versions of the model.
    """
    import hashlib

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for pattern in MODEL_SOURCES:
        for p in sorted(root.glob(pattern)):
            if p.is_file():
                h.update(p.relative_to(root).as_posix().encode())
                h.update(b"\0")
                h.update(p.read_bytes())
    return h.hexdigest()


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, str | int | float | bool) or x is None:
        return x
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return str(x)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("numpy", "numba", "scipy", "pandas", "mesa", "SALib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            out[pkg] = "?"
    return out


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep folder (SweepError if there is none)."""
    from simulation.errors import InputFileError
    from simulation.safe_io import path_state, read_text_file

    path = Path(out) / MANIFEST
    if path_state(path) == "missing":
        raise SweepError(f"{out}: not a sweep folder (no {MANIFEST}); run 'terrinum sweep "
                         "EXPERIMENT --out DIR' first")
    try:  # never read a device, a directory or a huge file as a manifest
        man = json.loads(read_text_file(path, "a sweep manifest (JSON)", 100_000_000))
    except InputFileError as exc:
        raise SweepError(f"unreadable manifest: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SweepError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(man, dict):
        raise SweepError(f"{path}: unreadable manifest (not a JSON object)")
    if man.get("format") != FORMAT:
        raise SweepError(f"{path}: {_not_a_sweep(out, man)}")
    return man


def _not_a_sweep(out: str | Path, man: dict[str, Any]) -> str:
    """What a folder whose manifest is not a sweep's is, and what to run instead."""
    sweep_hint = ("'terrinum analyse' takes a sweep folder: run 'terrinum sweep EXPERIMENT "
                  "--out DIR' first")
    if man.get("kind") == "terrinum comparison":
        return (f"this is a comparison folder (written by 'terrinum compare' or 'terrinum "
                f"demo'), not a sweep; its analysis is already in {Path(out) / 'report.html'}; "
                + sweep_hint)
    if man.get("kind") == "terrinum run" or {"scenario", "seeds", "replications"} <= set(man):
        return (f"this is a run folder (written by 'terrinum run'), not a sweep; its results "
                f"are in {Path(out) / 'results.parquet'} and its plots beside it; to compare "
                "scenarios run 'terrinum compare BASELINE SCENARIO...'; " + sweep_hint)
    if "format" not in man:
        return f"not a sweep manifest (no 'format' key); {sweep_hint}"
    return f"unknown sweep format {man.get('format')!r}; this version reads {FORMAT}"


def finished_runs(out: str | Path) -> set[str]:
    """Ids of the runs whose file exists in ``out/runs``."""
    d = Path(out) / RUNS
    if not d.is_dir():
        return set()
    return {p.stem for p in d.glob("*.parquet") if not p.name.startswith(".")}


def _compare(man: dict[str, Any], new: dict[str, Any], out: Path) -> list[str]:
    """Differences that forbid continuing ``man``'s sweep with ``new`` (plain words)."""
    diffs = []
    a, b = man["experiment"], new["experiment"]
    if a["sha256"] != b["sha256"]:
        diffs.append(f"experiment file differs (folder: '{a['name']}' sha256 "
                     f"{a['sha256'][:12]}, now: '{b['name']}' sha256 {b['sha256'][:12]})")
    if bool(a.get("quick")) != bool(b.get("quick")):
        diffs.append(f"--quick differs (folder: {'with' if a.get('quick') else 'without'} "
                     f"--quick)")
    if man["scenario"].get("sha256") != new["scenario"].get("sha256"):
        diffs.append(f"scenario '{new['scenario']['ref']}' changed since the sweep started "
                     f"(sha256 {str(man['scenario'].get('sha256'))[:12]} -> "
                     f"{str(new['scenario'].get('sha256'))[:12]})")
    if man.get("model_code_sha256") != new.get("model_code_sha256"):
        diffs.append(f"the model's code changed since the sweep started (code sha256 "
                     f"{str(man.get('model_code_sha256'))[:12]} -> "
                     f"{str(new.get('model_code_sha256'))[:12]}); its runs would mix two model "
                     "versions")
    if not diffs and [r["run_id"] for r in man["runs"]] != [r["run_id"] for r in new["runs"]]:
        diffs.append("the planned runs differ (another SALib/scipy version sampled a "
                     "different design?)")
    return diffs


def prepare_folder(exp: Experiment, out: str | Path, *, resume: bool = False,
                   interrupted: bool = False) -> tuple[dict[str, Any], set[str]]:
    """Create or check a sweep folder atomically (rules in the module docstring).

    Call it while holding the folder's lock (:func:`sweep` does). The start is
    :func:`simulation.experiments.store.open_store`: ``manifest.json`` commits it,
    ``design.csv`` follows and is written again if a kill came between the two; temporaries
    of both are removed.

    Args:
        exp: the experiment.
        out: the folder.
        resume: require a sweep (or an interrupted start) to continue.
        interrupted: the caller found a stale lock file (a sweep was killed in ``out``).

    Returns:
        The manifest and the ids of finished runs.

    Raises:
        SweepError: the folder belongs to another experiment, is not a sweep folder, or
            ``resume`` is asked with nothing to resume.
    """
    out = Path(out)
    new = manifest_for(exp)

    def check(_path: Path) -> None:
        man = read_manifest(out)
        diffs = _compare(man, new, out)
        if diffs:
            done = len(finished_runs(out))
            raise SweepError(
                f"{out} holds another sweep ({done} of {len(man['runs'])} runs of experiment "
                f"'{man['experiment']['name']}'): " + "; ".join(diffs) + ". Use another "
                "--out folder (a sweep folder only ever holds one experiment's runs).")

    started = open_store(out, MANIFEST, lambda: json.dumps(new, indent=1).encode("utf-8"),
                         {DESIGN: lambda: csv_bytes(design_table(exp))}, check,
                         resume=resume, interrupted=interrupted, what="sweep",
                         error=SweepError)
    if started:
        return new, set()
    man = read_manifest(out)
    planned = {r["run_id"] for r in man["runs"]}
    done = finished_runs(out)
    foreign = done - planned
    if foreign:
        raise SweepError(f"{out / RUNS}: {len(foreign)} run file(s) not planned by this "
                         f"experiment (e.g. {sorted(foreign)[0]}.parquet); remove them")
    return man, done


def design_table(exp: Experiment) -> pd.DataFrame:
    """One row per planned run: run_id, point, replicate, seed and the factor values."""
    rows = [{"run_id": r.run_id, "point": r.point, "replicate": r.replicate, "seed": r.seed,
             **r.values} for r in exp.runs()]
    return pd.DataFrame(rows)


def _clean_temporaries(runs_dir: Path) -> None:
    """Remove temporary files left by an interrupted writer (the folder is the sweep's)."""
    clean_temporaries(runs_dir)


# ============================================================================ engines
def usable_cores() -> int:
    """Cores this process may use (CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _watch_parent(parent: int) -> None:
    """Pool-worker initialiser: exit when the sweep process dies (no orphan workers).

    ``parent`` is the sweep process; the worker's own parent may be a fork server that
    ends with it. The worker exits when its parent changes or the sweep process is gone.
    """
    ppid = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != ppid:
                os._exit(1)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - a pid reused by another user
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_local(tasks: Sequence[RunTask], workers: int,
              on_done: Callable[[RunTask, pd.DataFrame | None, BaseException | None], None],
              *, in_process: bool | None = None) -> None:
    """Run tasks on a local process pool; ``on_done`` is called in this process.

    Workers come from :func:`simulation.scenarios.runner.pool_context` (a fork server with the model
    loaded on Linux, ``spawn`` elsewhere).

    Args:
        tasks: the runs.
        workers: pool processes.
        on_done: called with (task, rows, None) or (task, None, exception) for each run.
        in_process: run in this process, one run after the other (no start-up cost, same
            results); default: when ``workers`` is 1.
    """
    if in_process is None:
        in_process = workers <= 1
    if in_process:
        for t in tasks:
            try:
                df = execute_run(t)
            except Exception as exc:  # noqa: BLE001 - reported with the run's id
                on_done(t, None, exc)
            else:
                on_done(t, df, None)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # one numerical-library thread per worker (the cores belong to the pool); the workers
    # start at the first submissions and inherit this environment
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    for k in _THREAD_VARS:
        os.environ.setdefault(k, "1")
    from simulation.scenarios.runner import pool_context

    ex = ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(),
                             initializer=_watch_parent, initargs=(os.getpid(),))
    try:
        futs = {ex.submit(execute_run, t): t for t in tasks}
        _restore_env(saved)
        for fut in as_completed(futs):
            t = futs[fut]
            exc = fut.exception()
            on_done(t, None if exc else fut.result(), exc)
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        _restore_env(saved)
    ex.shutdown(wait=True)


def _restore_env(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def run_dask(tasks: Sequence[RunTask], client: Any,
             on_done: Callable[[RunTask, pd.DataFrame | None, BaseException | None], None]
             ) -> None:
    """Run tasks on a Dask distributed client; ``on_done`` is called in this process."""
    from distributed import as_completed

    futs = {}
    for t in tasks:
        f = client.submit(execute_run, t, key=f"terrinum-run-{t.run_id}", pure=False)
        futs[f.key] = (f, t)
    try:
        for fut in as_completed([f for f, _ in futs.values()]):
            t = futs[fut.key][1]
            if fut.status == "finished":
                on_done(t, fut.result(), None)
            elif fut.status == "error":
                on_done(t, None, fut.exception())
            else:       # cancelled or lost (a worker died and the scheduler gave up)
                on_done(t, None, RuntimeError(f"task {fut.status} on the Dask cluster"))
            fut.release()
    except BaseException:
        client.cancel([f for f, _ in futs.values()])
        raise


def dask_client(scheduler: str | None = None, local_workers: int | None = None
                ) -> tuple[Any, Any]:
    """A Dask client: on ``scheduler`` (an address) or on a new local cluster.

    Returns:
        (client, cluster); cluster is None for an existing scheduler. Close both after use.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover
        raise SweepError(f"the Dask engine needs 'distributed' ({exc}); pip install "
                         "'dask[distributed]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start "
                             "it first (dask scheduler, or a dask-jobqueue cluster)") from None
    cluster = LocalCluster(n_workers=int(local_workers or 1), threads_per_worker=1,
                           processes=True, host="127.0.0.1", dashboard_address=None)
    return Client(cluster), cluster


# ============================================================================ the sweep
@dataclass
class SweepReport:
    """What a sweep did.

    Attributes:
        out: the folder.
        total: planned runs.
        skipped: runs already finished before this call.
        ran: runs finished by this call.
        failed: (run_id, message) of runs that failed.
        seconds: wall time of this call (s).
        engine: engine description.
    """

    out: Path
    total: int
    skipped: int
    ran: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    engine: str = ""

    @property
    def runs_per_minute(self) -> float:
        """Runs finished per minute of wall time in this call."""
        return 60.0 * self.ran / self.seconds if self.seconds > 0 else float("nan")

    def describe(self) -> str:
        """One line."""
        return (f"{self.ran} run(s) in {self.seconds:.1f} s ({self.runs_per_minute:.1f} "
                f"runs/min, {self.engine}); {self.skipped} already done; "
                f"{self.skipped + self.ran} of {self.total} in {self.out}")


def sweep(exp: Experiment, out: str | Path, *, workers: int | None = None,
          scheduler: str | None = None, dask_local: int | None = None, resume: bool = False,
          progress: bool = True, limit: int | None = None, in_process: bool | None = None
          ) -> SweepReport:
    """Run an experiment's missing runs into a dataset folder.

    Args:
        exp: a loaded experiment (with its scenario).
        out: dataset folder (rules in the module docstring).
        workers: local pool processes (default: the machine's cores).
        scheduler: address of a Dask scheduler (``tcp://host:8786``): use that cluster.
        dask_local: start a local Dask cluster with this many workers.
        resume: require an existing sweep of the same experiment in ``out``.
        progress: show a progress bar (runs done, runs per minute, time left) on stderr.
        limit: run at most this many of the missing runs (for tests and benchmarks).
        in_process: local engine: run in this process instead of a pool (default: when
            ``workers`` is 1).

    Returns:
        A :class:`SweepReport`.

    Raises:
        SweepError: folder problems, or some runs failed (the finished ones are kept; run the
            same command again to retry the others).
    """
    if exp.scenario is None:
        raise SweepError("the experiment was loaded without its scenario")
    if scheduler and dask_local:
        raise SweepError("give either --scheduler or --dask-local, not both")
    out = Path(out)
    if resume and not out.is_dir():
        raise SweepError(f"{out}: nothing to resume (no such folder); leave out --resume to "
                         "start a new sweep")
    with FolderLock(out, what="sweep", error=SweepError) as lock:
        man, done = prepare_folder(exp, out, resume=resume, interrupted=lock.found_stale)
        runs_dir = out / RUNS
        runs_dir.mkdir(exist_ok=True)
        _clean_temporaries(runs_dir)
        todo = [r for r in exp.runs() if r.run_id not in done]
        if limit is not None:
            todo = todo[:limit]
        tasks = make_tasks(exp, todo)
        if scheduler:
            engine = f"dask scheduler {scheduler}"
        elif dask_local:
            engine = f"dask local cluster, {dask_local} worker(s)"
        else:
            workers = max(1, int(workers or usable_cores()))
            serial = in_process if in_process is not None else workers == 1
            engine = "this process" if serial else f"local pool, {workers} worker(s)"
        rep = SweepReport(out=out, total=len(man["runs"]), skipped=len(done), engine=engine)
        if not tasks:
            kill_point("after-runs")
            return rep
        bar = _Progress(rep.total, len(done), exp.name, progress)
        t0 = time.perf_counter()

        def on_done(task: RunTask, df: pd.DataFrame | None, exc: BaseException | None
                    ) -> None:
            if exc is not None:
                rep.failed.append((task.run_id, f"point {task.point}, seed {task.seed}: "
                                   f"{type(exc).__name__}: {exc}"))
            else:
                atomic_write_bytes(parquet_bytes(df), runs_dir / f"{task.run_id}.parquet",
                                   kill_phase="run-write")
                rep.ran += 1
                kill_point("between-runs")
            bar.update(rep.ran, len(rep.failed), time.perf_counter() - t0)

        try:
            if scheduler or dask_local:
                client, cluster = dask_client(scheduler, dask_local)
                try:
                    run_dask(tasks, client, on_done)
                finally:
                    client.close()
                    if cluster is not None:
                        cluster.close()
            else:
                run_local(tasks, min(workers, len(tasks)), on_done, in_process=in_process)
        finally:
            bar.close()
            rep.seconds = time.perf_counter() - t0
        kill_point("after-runs")
    if rep.failed:
        first = rep.failed[0]
        raise SweepError(
            f"{len(rep.failed)} of {len(tasks)} run(s) failed; first: run {first[0]} "
            f"({first[1]}). The {rep.skipped + rep.ran} finished runs are saved in {out}; "
            "run the same command again to retry the failed ones.")
    return rep


class _Progress:
    """A tqdm bar with runs per minute; silent when disabled."""

    def __init__(self, total: int, initial: int, name: str, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="run", desc=name,
                            file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def update(self, ran: int, failed: int, seconds: float) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        rate = 60.0 * ran / seconds if seconds > 0 else 0.0
        post = {"runs/min": f"{rate:.1f}"}
        if failed:
            post["failed"] = failed
        self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ============================================================================ reading
def read_runs(out: str | Path, *, measures: Sequence[str] | None = None,
              territories: Sequence[str] | None = None) -> pd.DataFrame:
    """All finished runs of a sweep folder as one tidy DataFrame.

    Args:
        out: the sweep folder.
        measures: keep only these measures (default: all).
        territories: keep only these ``territory`` values (``"_map"``, ``"@..."``, codes).

    Returns:
        Rows sorted by point, replicate, territory, measure and step (an empty frame when no
        run has finished).
    """
    d = Path(out) / RUNS
    files = sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".")) \
        if d.is_dir() else []
    if not files:
        return pd.DataFrame(columns=["run_id", "point", "replicate", "scenario", "seed",
                                     "step", "year", "territory", "measure", "value"])
    import pyarrow.dataset as pads

    dset = pads.dataset([str(f) for f in files], format="parquet")
    cond = None
    if measures is not None:
        cond = pads.field("measure").isin(list(measures))
    if territories is not None:
        c2 = pads.field("territory").isin(list(territories))
        cond = c2 if cond is None else cond & c2
    df = dset.to_table(filter=cond).to_pandas()
    return df.sort_values(["point", "replicate", "territory", "measure", "step"],
                          kind="stable").reset_index(drop=True)
