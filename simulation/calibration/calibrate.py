"""``terrinum calibrate``: fit the model to France's data, in five resumable stages.

1. **Reference constants.** The territory constants of the location choice are fitted by the
   fixed point of :mod:`simulation.calibration.constants` at the centre of the priors.
2. **Screening.** Morris elementary effects (SALib) of every ``[[parameters]]`` candidate on
   every target's discrepancy; the ``keep`` candidates with the largest mean normalised
   ``mu*`` are calibrated, the others keep their declared (sourced) defaults.
3. **ABC-SMC** (pyabc, :mod:`simulation.calibration.smc`) of the kept parameters. Each
   parameter vector tried is evaluated by :class:`Evaluator`: ``inner_iterations``
   fixed-point corrections of the reference constants for these parameters, then one run of
   ``years`` years whose targets give the distance.
4. **Calibrated defaults.** The posterior median of each parameter, with constants fitted by
   the full fixed point (warm start); ``draws`` posterior draws (weighted resampling of the
   last generation), each with its own corrected constants.
5. **Fit.** ``check_replications`` runs of the calibrated model: every target observed vs
   simulated (``fit.csv``); then ``plausibility_replications`` runs at
   ``plausibility_households`` (default 8 at the constants' size): the plausibility figures
   of their mean trajectory, the verdict, and each run's beside it (``plausibility.csv``;
   a ``--quick`` calibration uses its check runs).

Everything lands in the output folder (``manifest.json`` first); each stage's result is a
file written atomically, each run's summary too: re-running the same command continues a
killed calibration where it stopped (the same seeds give the same results). ``calibrated.json``
and ``draws.csv`` are what ``scripts/ship_calibration.py`` copies into the package.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.calibration import constants as fp
from simulation.calibration import targets as tg
from simulation.calibration.files import Calibration, CalibrationError, with_priors
from simulation.calibration.runs import (
    Engine,
    ResultCache,
    RunSummary,
    SimTask,
    base_params,
    run_summary,
    run_tasks,
    task_key,
)

FORMAT = "terrinum-calibration-1"
MANIFEST = "manifest.json"
PLAUSIBILITY_BOUNDS = {  # issue 11's bounds for 20 years
    "zipf_change": (-0.12, 0.03), "corr_size_growth": (0.0, None),
    "growth_sd_pct": (None, 13.5), "growth_min_pct": (-25.0, None),
    "growth_max_pct": (None, 50.0),
}


# ============================================================================ evaluation
@dataclass(frozen=True)
class Evaluator:
    """pyabc's model: parameter values -> distance to the data (picklable, runs anywhere).

    Attributes:
        scenario: the scenario as a dict.
        base: explicit values of the parameters not calibrated here (declared defaults).
        reference: reference constants (K).
        target_rate: observed net migration rate by territory (%/year, mean 0).
        targets: the resolved targets.
        years, n_households: the evaluation run.
        window: the net-migration window (years).
        inner_iterations, inner_households, damping: the constants' corrections.
        cache_dir: where run summaries are kept.
        integers: names of integer parameters (rounded).
    """

    scenario: dict
    base: dict
    reference: tuple[float, ...]
    target_rate: tuple[float, ...]
    targets: tuple[tg.Target, ...]
    years: float
    n_households: int
    window: float
    inner_iterations: int
    inner_households: int
    damping: float
    cache_dir: str
    integers: tuple[str, ...] = ()

    def params(self, theta: dict) -> dict:
        """The run's parameter values: the base values, then ``theta``."""
        out = dict(self.base)
        for k, v in theta.items():
            out[k] = int(round(float(v))) if k in self.integers else float(v)
        return out

    def constants_for(self, theta: dict, seed: int, start: Sequence[float] | None = None,
                      iterations: int | None = None) -> np.ndarray:
        """Constants for ``theta``: corrections of ``start`` (default the reference)."""
        cache = ResultCache(Path(self.cache_dir))
        c = np.asarray(self.reference if start is None else start, float)
        params = self.params(theta)
        its = self.inner_iterations if iterations is None else iterations
        for j in range(its):
            key = task_key("inner", self.scenario.get("sha256"), params, list(c), seed, j,
                           self.inner_households, self.window)
            task = SimTask(key, self.scenario, seed + 7919 * (j + 1), params, tuple(c),
                           self.window, self.inner_households, self.window)
            run = cache.get(key)
            if run is None:
                run = run_summary(task)
                cache.put(key, run)
            c = fp.update(c, run, np.asarray(self.target_rate), self.damping)
        return c

    def evaluate(self, theta: dict, seed: int, constants: Sequence[float] | None = None,
                 refresh: bool = False) -> tuple[RunSummary, np.ndarray]:
        """The evaluation run of ``theta`` (constants corrected unless given).

        ``refresh`` runs it again even when its summary is cached (and replaces it).
        """
        c = self.constants_for(theta, seed) if constants is None else np.asarray(constants)
        params = self.params(theta)
        key = task_key("eval", self.scenario.get("sha256"), params, list(c), seed,
                       self.years, self.n_households, self.window)
        cache = ResultCache(Path(self.cache_dir))
        run = None if refresh else cache.get(key)
        if run is None:
            run = run_summary(SimTask(key, self.scenario, seed, params, tuple(c), self.years,
                                      self.n_households, self.window))
            cache.put(key, run)
        return run, c

    def __call__(self, theta: dict) -> dict:
        """Pyabc model: ``{"distance", "seed", components...}`` of one run of ``theta``."""
        # pyabc seeds numpy's global generator per task (SeededSampler): draw from it
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002
        run, _ = self.evaluate(dict(theta), seed)
        comp = tg.components(list(self.targets), run)
        out = {"distance": tg.distance(list(self.targets), run), "seed": seed}
        out.update({f"c:{k}": v for k, v in comp.items()})
        return out


def _screen_point(args: tuple[Evaluator, dict, int]) -> dict:
    ev, theta, seed = args
    run, _ = ev.evaluate(theta, seed)
    return tg.components(list(ev.targets), run)


def _correct_draw(args: tuple[Evaluator, dict, int, tuple[float, ...]]) -> np.ndarray:
    ev, theta, seed, start = args
    return ev.constants_for(theta, seed, start=start)


def _check_run(args: tuple[Evaluator, dict, int, tuple[float, ...]]) -> RunSummary:
    ev, theta, seed, consts = args
    run, _ = ev.evaluate(theta, seed, constants=consts)
    if "households_start" not in run.territory:
        # cached by a version without the households the ensemble figures need: the same
        # run again (same seed and values, so the same results) with them
        run, _ = ev.evaluate(theta, seed, constants=consts, refresh=True)
    return run


# ============================================================================ the folder
def _atomic_json(path: Path, obj: Any) -> None:
    from simulation.experiments.store import atomic_write_bytes

    atomic_write_bytes(json.dumps(obj, indent=1, default=_plain).encode(), path)


def _atomic_csv(path: Path, df: pd.DataFrame) -> None:
    from simulation.experiments.store import atomic_write_bytes, csv_bytes

    atomic_write_bytes(csv_bytes(df), path)


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def data_hashes() -> list[dict[str, str]]:
    """SHA-256 of every shipped data file the targets and the map read."""
    import hashlib

    from simulation.world.dept_data import DEPT_DIR

    out = []
    for p in sorted(DEPT_DIR.glob("*.csv")) + sorted(DEPT_DIR.parent.glob("*.csv")):
        out.append({"file": f"simulation/data/{p.relative_to(DEPT_DIR.parent).as_posix()}",
                    "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    return out


def manifest_for(cal: Calibration, command: str) -> dict[str, Any]:
    """The calibration folder's manifest (JSON-ready)."""
    from simulation.engine.results import package_version
    from simulation.experiments.sweep import _versions, model_code_sha256

    return {
        "format": FORMAT, "kind": "calibration",
        "calibration": {"name": cal.name, "file": cal.path, "sha256": cal.sha256,
                        "quick": cal.quick},
        "scenario": {"ref": cal.scenario_ref, "name": cal.scenario.name,
                     "sha256": getattr(cal.scenario, "sha256", None)},
        "seed": cal.seed, "years": cal.years, "n_households": cal.n_households,
        "command": command,
        "terrinum_version": package_version(), "model_code_sha256": model_code_sha256(),
        "data": data_hashes(), "versions": {**_versions(), "pyabc": pyabc_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def pyabc_version() -> str:
    """Pyabc's version."""
    from importlib.metadata import version

    return version("pyabc")


def _check_same(path: Path, cal: Calibration) -> None:
    man = json.loads(path.read_text())
    if man.get("kind") != "calibration":
        raise CalibrationError(f"{path.parent}: holds no calibration; choose a new folder")
    old = man["calibration"]
    if old["sha256"] != cal.sha256 or bool(old["quick"]) != cal.quick:
        raise CalibrationError(
            f"{path.parent}: holds a calibration of another file or variant "
            f"({old['name']}, quick={old['quick']}); use a new --out folder to start this one")
    from simulation.experiments.sweep import model_code_sha256

    if man.get("model_code_sha256") != model_code_sha256():
        raise CalibrationError(
            f"{path.parent}: was started with another version of the model code; its runs "
            "cannot be mixed with this version's: use a new --out folder")


# ============================================================================ the stages
class _Bar:
    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr,
                        unit="run", dynamic_ncols=True)

    def set(self, n: int, **post: Any) -> None:
        self.bar.n = n
        if post:
            self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def calibrate(cal: Calibration, out: str | Path, *, workers: int | None = None,
              client: Any = None, progress: bool = True, command: str = "",
              log: Any = None) -> dict[str, Any]:
    """Run (or continue) the calibration ``cal`` into folder ``out``.

    Args:
        cal: the validated calibration.
        out: output folder (created; continued when it holds this calibration).
        workers: local worker processes (default: the usable cores).
        client: a Dask ``distributed.Client`` instead of the local pool.
        progress: progress bars on standard error.
        command: the command line, recorded.
        log: where messages go (default: standard error).

    Returns:
        ``calibrated.json``'s content.
    """
    from simulation.calibration import smc
    from simulation.experiments.store import FolderLock, open_store
    from simulation.experiments.sweep import usable_cores

    smc.quiet_pyabc()
    log = log or sys.stderr
    out = Path(out)
    t_start = time.perf_counter()
    with FolderLock(out, what="calibration", error=CalibrationError) as lock:
        open_store(out, MANIFEST,
                   lambda: json.dumps(manifest_for(cal, command), indent=1).encode(), {},
                   lambda p: _check_same(p, cal), interrupted=lock.found_stale,
                   what="calibration", error=CalibrationError)
        engine = Engine(workers or usable_cores(), client)
        try:
            return _stages(cal, out, engine, progress, log, t_start, command)
        finally:
            engine.close()


def _say(log: Any, text: str) -> None:
    print(text, file=log, flush=True)


def _stages(cal: Calibration, out: Path, engine: Engine, progress: bool, log: Any,
            t_start: float, command: str) -> dict[str, Any]:
    scen = cal.scenario
    sd = scen.to_dict()
    codes = [str(c) for c in scen.load_map(cal.seed).codes]
    targets = tg.resolve(cal.targets, codes, cal.years)
    last = tg.latest_year(targets)
    start_year = _start_year(scen)
    if last is not None and last >= start_year + int(cal.years):
        raise CalibrationError(f"{cal.path}: a target needs {last}, but runs of "
                               f"{cal.years:g} years from {start_year} end in "
                               f"{start_year + int(cal.years) - 1}")
    tmap = next(t for t in targets if t.name == cal.constants.target)
    target_rate = np.asarray(tmap.observed, float)
    cache_dir = out / "runs"
    cache = ResultCache(cache_dir, clean=True)
    ResultCache(out / "abc_tasks", clean=True)
    base = base_params()
    cs = cal.constants
    K = len(codes)

    # ---------------------------------------------------------------- 1. reference
    centre = {p.name: p.centre for p in cal.priors}
    ref_file = out / "constants_reference.json"
    if ref_file.is_file():
        ref = json.loads(ref_file.read_text())
        reference = np.asarray(ref["constants"], float)
        _say(log, f"1/5 reference constants: done (gap {ref['trace'][-1]['rms_gap']:.3f} "
                  "%/year)")
    else:
        _say(log, f"1/5 reference constants: fixed point, {cs.iterations} iterations x "
                  f"{cs.replications} runs of {cs.years:g} years, {cs.n_households:,} households")
        reference, trace = _fixed_point(cal, sd, {**base, **_ev_params(cal, centre)},
                                        np.zeros(K), target_rate, cs.iterations, engine, cache,
                                        progress, "reference constants")
        _atomic_json(ref_file, {"params": centre, "constants": reference,
                                "codes": codes, "trace": trace})
    ev = Evaluator(scenario=sd, base=base, reference=tuple(map(float, reference)),
                   target_rate=tuple(map(float, target_rate)), targets=tuple(targets),
                   years=cal.years, n_households=cal.n_households, window=cs.years,
                   inner_iterations=cs.inner_iterations, inner_households=cs.n_households,
                   damping=cs.damping, cache_dir=str(cache_dir),
                   integers=tuple(p.name for p in cal.priors if p.integer))

    # ---------------------------------------------------------------- 2. screening
    scr_file = out / "screening.csv"
    if scr_file.is_file():
        scr = pd.read_csv(scr_file)
        _say(log, "2/5 screening: done")
    else:
        scr = _screening(cal, ev, engine, progress, log)
        _atomic_csv(scr_file, scr)
    kept = scr.loc[scr["selected"], "parameter"].tolist()
    _say(log, f"    calibrated: {', '.join(kept)}; the others keep their declared defaults")
    cal_k = with_priors(cal, kept)

    # ---------------------------------------------------------------- 3. ABC-SMC
    post = _abc(cal_k, ev, out, engine, progress, log)

    # ---------------------------------------------------------------- 4. calibrated
    cal_file = out / "calibrated_stage.json"
    if cal_file.is_file():
        st = json.loads(cal_file.read_text())
        theta = st["params"]
        constants = np.asarray(st["constants"], float)
        _say(log, "4/5 calibrated defaults: done")
    else:
        w = post["weight"].to_numpy()
        theta = {p: float(_wquantile(post[p].to_numpy(), w, 0.5)) for p in kept}
        _say(log, "4/5 calibrated defaults: posterior medians "
                  + ", ".join(f"{k} = {v:.4g}" for k, v in theta.items())
                  + f"; constants: fixed point from the reference, {cs.iterations} iterations")
        constants, trace = _fixed_point(cal, sd, ev.params(theta), reference, target_rate,
                                        cs.iterations, engine, cache, progress,
                                        "calibrated constants")
        _atomic_json(cal_file, {"params": theta, "constants": constants, "trace": trace})
    draws = _draws(cal_k, ev, post, theta, constants, codes, out, engine, progress, log)

    # ---------------------------------------------------------------- 5. fit
    fit, plaus = _fit(cal, ev, theta, constants, targets, codes, out, engine, progress, log)
    man = json.loads((out / MANIFEST).read_text())
    result = {
        "format": FORMAT,
        "parameters": {k: (int(round(v)) if k in ev.integers else float(v))
                       for k, v in theta.items()},
        "location_constants": {"map": scen.map if isinstance(scen.map, str) else
                               "france-departements",
                               "start_year": start_year,
                               "values": {c: float(v) for c, v in zip(codes, constants,
                                                                        strict=True)}},
        "screened": scr["parameter"].tolist(),
        "provenance": {
            "calibration": man["calibration"], "command": command or man.get("command"),
            "terrinum_version": man["terrinum_version"],
            "model_code_sha256": man["model_code_sha256"], "data": man["data"],
            "seed": cal.seed, "versions": man["versions"],
            "runs": _n_runs(out),
            "run_time_s": round(time.perf_counter() - t_start, 1),
            "draws": int(len(draws)),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    }
    old = out / "calibrated.json"
    if old.is_file():   # a resumed, finished calibration keeps its first provenance
        prev = json.loads(old.read_text())
        if prev.get("parameters") == result["parameters"]:
            result["provenance"] = prev["provenance"]
    _atomic_json(old, result)
    bad = [f for f in plaus.itertuples() if not f.passes]
    _say(log, f"calibrated in {time.perf_counter() - t_start:.0f} s ({_n_runs(out)} runs in all); "
              f"plausibility: {len(plaus) - len(bad)} of {len(plaus)} figures within bounds; "
              f"report: terrinum analyse {out}")
    return result


def _n_runs(out: Path) -> int:
    """Model runs the calibration made (one result file each in ``runs/``)."""
    return sum(1 for _ in (out / "runs").glob("*.pkl"))


def _start_year(scen: Any) -> int:
    opts = dict(getattr(scen, "map_options", {}) or {})
    if "start_year" in opts:
        return int(opts["start_year"])
    from simulation.world.dept_data import LATEST_START_YEAR

    return LATEST_START_YEAR


def _ev_params(cal: Calibration, theta: dict) -> dict:
    ints = {p.name for p in cal.priors if p.integer}
    return {k: (int(round(v)) if k in ints else float(v)) for k, v in theta.items()}


def _fixed_point(cal: Calibration, sd: dict, params: dict, start: np.ndarray,
                 target_rate: np.ndarray, iterations: int, engine: Engine,
                 cache: ResultCache, progress: bool, desc: str
                 ) -> tuple[np.ndarray, list[dict]]:
    cs = cal.constants
    seeds = [cal.seed + 101 * (r + 1) for r in range(cs.replications)]
    bar = _Bar((iterations + 1) * len(seeds), desc, progress)
    done = [0]

    def simulate(c: np.ndarray, it: int) -> list[RunSummary]:
        tasks = [SimTask(task_key("fixed", sd.get("sha256"), params, list(c), s, cs.years,
                                  cs.n_households), sd, s, params, tuple(map(float, c)),
                         cs.years, cs.n_households, cs.years) for s in seeds]

        def tick(_i: int, _r: RunSummary) -> None:
            done[0] += 1
            bar.set(done[0])
        return run_tasks(engine, cache, tasks, tick)

    trace_rows: list[dict] = []

    def step(s: fp.FixedPointStep) -> None:
        trace_rows.append({"iteration": s.iteration, "rms_gap": s.rms_gap,
                           "max_abs_constant": float(np.abs(s.constants).max())})
        bar.set(done[0], gap=f"{s.rms_gap:.3f} %/yr")

    try:
        c, _ = fp.fixed_point(start, target_rate, iterations, simulate, cs.damping, step)
    finally:
        bar.close()
    return c, trace_rows


def _screening(cal: Calibration, ev: Evaluator, engine: Engine, progress: bool,
               log: Any) -> pd.DataFrame:
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    sc = cal.screening
    problem = {"num_vars": len(cal.priors), "names": [p.name for p in cal.priors],
               "bounds": [[p.lo, p.hi] for p in cal.priors]}
    X = morris_sample.sample(problem, N=sc.trajectories, num_levels=sc.levels,
                             seed=cal.seed)
    _say(log, f"2/5 screening: Morris, {sc.trajectories} trajectories x "
              f"({len(cal.priors)} + 1) = {len(X)} parameter vectors")
    seed = cal.seed + 5
    items = [(ev, dict(zip(problem["names"], map(float, row), strict=True)), seed)
             for row in X]
    bar = _Bar(len(items), "screening", progress)
    n = [0]

    def tick(_i: int, _r: dict) -> None:
        n[0] += 1
        bar.set(n[0])
    try:
        comps = engine.map(_screen_point, items, tick)
    finally:
        bar.close()
    rows = {p: {"parameter": p} for p in problem["names"]}
    scores = np.zeros(len(problem["names"]))
    for t in ev.targets:
        y = np.array([c[t.name] for c in comps], float)
        if np.allclose(y, y[0]):
            mu = np.zeros(len(problem["names"]))
        else:
            si = morris_analyze.analyze(problem, X, y, num_levels=sc.levels,
                                        print_to_console=False, seed=cal.seed)
            mu = np.asarray(si["mu_star"], float)
        for j, p in enumerate(problem["names"]):
            rows[p][f"mu_star:{t.name}"] = float(mu[j])
        if mu.max() > 0:
            scores += t.weight * mu / mu.max()
    wsum = sum(t.weight for t in ev.targets) or 1.0
    df = pd.DataFrame(list(rows.values()))
    df["score"] = scores / wsum
    df = df.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    df["selected"] = False
    df.loc[: sc.keep - 1, "selected"] = True
    return df


def _abc(cal: Calibration, ev: Evaluator, out: Path, engine: Engine, progress: bool,
         log: Any) -> pd.DataFrame:
    from simulation.calibration import smc

    a = cal.abc
    post_file = out / "posterior.csv"
    gen_file = out / "generations.csv"
    if post_file.is_file():
        _say(log, "3/5 ABC-SMC: done")
        return pd.read_csv(post_file)
    db = out / "abc.db"
    done = smc.history_generations(db)
    if not done:
        # Killed before pyabc stored a first generation: the database holds a run with no
        # population, which abc.load cannot continue and abc.new would add to. Start it
        # again; every simulation already made is in abc_tasks/ and is not re-run.
        for f in (db, db.with_name(db.name + "-journal")):
            f.unlink(missing_ok=True)
    _say(log, f"3/5 ABC-SMC (pyabc {pyabc_version()}): {a.population} particles, at most "
              f"{a.generations} generations, stop below {a.min_acceptance:.0%} acceptance"
              + (f"; continuing after generation {done}" if done else ""))
    gens = pd.read_csv(gen_file).to_dict("records") if gen_file.is_file() else []
    bar = _Bar(a.population, f"generation {done + 1}/{a.generations}", progress)

    def on_task(n_acc: int, n: int, sims: int) -> None:
        bar.set(n_acc, simulations=sims,
                acceptance=f"{n_acc / sims:.0%}" if sims else "-")

    sampler = smc.SeededSampler(engine, out / "abc_tasks", cal.seed, on_task)
    t_gen = time.perf_counter()
    stop_reason = "generations"
    try:
        while True:
            done = smc.history_generations(db)
            if done >= a.generations:
                break
            abc = smc.make_abc(ev, cal.priors, a.population, sampler)
            if done:
                abc.load(f"sqlite:///{db}", 1)
            else:
                abc.new(f"sqlite:///{db}", {"distance": 0.0})
            bar.bar.set_description(f"generation {done + 1}/{a.generations}")
            bar.set(0)
            t_gen = time.perf_counter()
            h = abc.run(max_nr_populations=1)
            pops = h.get_all_populations()
            row = pops.iloc[-1]
            sims = int(row["samples"])
            rate = a.population / sims if sims else 1.0
            secs = time.perf_counter() - t_gen
            gens = [g for g in gens if int(g["t"]) != int(row["t"])]
            gens.append({"t": int(row["t"]), "epsilon": float(row["epsilon"]),
                         "simulations": sims, "acceptance_rate": rate,
                         "seconds": round(secs, 1)})
            _atomic_csv(gen_file, pd.DataFrame(gens))
            left = a.generations - int(row["t"]) - 1
            _say(log, f"    generation {int(row['t']) + 1}: epsilon {row['epsilon']:.3g}, "
                      f"acceptance {rate:.0%} ({sims} simulations), {secs:.0f} s"
                      + (f"; at most {left} left, about {left * secs / 60:.0f} min"
                         if left > 0 else ""))
            if rate < a.min_acceptance:
                stop_reason = "acceptance"
                break
    finally:
        bar.close()
    h = smc.pyabc.History(f"sqlite:///{db}")
    df, w = h.get_distribution(m=0, t=h.max_t)
    pop = h.get_population(t=h.max_t)
    dist = [p.distance for p in pop.particles]
    seeds = [int(p.sum_stat["seed"]) for p in pop.particles]
    post = df.reset_index(drop=True).copy()
    post.insert(0, "particle", np.arange(len(post)))
    post["weight"] = np.asarray(w, float)
    post["distance"] = np.asarray(dist, float)
    post["seed"] = seeds
    post["generation"] = int(h.max_t)
    post["stopped_by"] = stop_reason
    _atomic_csv(post_file, post)
    return post


def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    return float(x[order][np.searchsorted(cw, q)])


def _draws(cal: Calibration, ev: Evaluator, post: pd.DataFrame, theta: dict,
           constants: np.ndarray, codes: list[str], out: Path, engine: Engine,
           progress: bool, log: Any) -> pd.DataFrame:
    f = out / "draws.csv"
    if f.is_file():
        return pd.read_csv(f, dtype={"draw": int})
    n = cal.abc.draws
    rng = np.random.default_rng(cal.seed + 77)
    w = post["weight"].to_numpy(float)
    pick = rng.choice(len(post), size=n, replace=True, p=w / w.sum())
    names = [p.name for p in cal.priors]
    thetas = [{p: float(post[p].iloc[i]) for p in names} for i in pick]
    _say(log, f"    {n} posterior draws (weighted resampling of the last generation), each "
              f"with {cal.constants.inner_iterations} correction(s) of the calibrated "
              "constants")
    bar = _Bar(n, "posterior draws", progress)
    k = [0]

    def tick(_i: int, _r: Any) -> None:
        k[0] += 1
        bar.set(k[0])
    items = [(ev, th, cal.seed + 1000 + j, tuple(map(float, constants)))
             for j, th in enumerate(thetas)]
    try:
        consts = engine.map(_correct_draw, items, tick)
    finally:
        bar.close()
    rows = []
    for j, (th, c) in enumerate(zip(thetas, consts, strict=True)):
        row = {"draw": j, "particle": int(pick[j])}
        row.update({p: (int(round(v)) if p in ev.integers else v) for p, v in th.items()})
        row.update({f"constant:{code}": float(v) for code, v in zip(codes, c, strict=True)})
        rows.append(row)
    df = pd.DataFrame(rows)
    _atomic_csv(f, df)
    return df


def _fit(cal: Calibration, ev: Evaluator, theta: dict, constants: np.ndarray,
         targets: list[tg.Target], codes: list[str], out: Path, engine: Engine,
         progress: bool, log: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    fit_file, pl_file = out / "fit.csv", out / "plausibility.csv"
    if fit_file.is_file() and pl_file.is_file():
        return pd.read_csv(fit_file, dtype={"code": str}), pd.read_csv(pl_file)
    n = cal.abc.check_replications
    seeds = [cal.seed + 3000 + r for r in range(n)]
    _say(log, f"5/5 fit: {n} runs of the calibrated model (seeds {seeds[0]}..{seeds[-1]})")
    bar = _Bar(n, "fit", progress)
    k = [0]

    def tick(_i: int, _r: Any) -> None:
        k[0] += 1
        bar.set(k[0])
    items = [(ev, theta, s, tuple(map(float, constants))) for s in seeds]
    try:
        runs = engine.map(_check_run, items, tick)
    finally:
        bar.close()
    from simulation.world import dept_data

    names = dept_data.names()
    rows = []
    for t in targets:
        sims = np.array([np.atleast_1d(tg.simulated(t, r)) for r in runs])
        obs = np.atleast_1d(t.observed)
        for j in range(obs.size):
            code = codes[j] if t.level == "territory" else ""
            rows.append({"target": t.name, "kind": t.kind, "level": t.level,
                         "unit": t.unit, "year": t.year, "code": code,
                         "name": names.get(code, "") if code else "",
                         "observed": float(obs[j]), "simulated": float(sims[:, j].mean()),
                         "simulated_sd": float(sims[:, j].std(ddof=1)) if n > 1 else 0.0,
                         "sd": t.sd, "z": float((sims[:, j].mean() - obs[j]) / t.sd),
                         "runs": n, "source": t.source})
    fit = pd.DataFrame(rows)
    obs_g = tg.observed_growth(cal.years)
    from simulation.calibration.plausible import ensemble_growth_figures

    # the plausibility ensemble: its mean trajectory's figures are the verdict (the expected
    # dynamics; one run's extremes across départements are biased by the sampling noise of
    # the small ones, ODD 1.4); a --quick calibration uses its check runs
    if cal.quick:
        p_runs, p_seeds, p_hh = runs, seeds, cal.n_households
    else:
        p_hh = cal.abc.plausibility_households or cal.constants.n_households
        p_seeds = [cal.seed + 5000 + r for r in range(cal.abc.plausibility_replications)]
        params = ev.params(theta)
        consts = tuple(map(float, constants))
        _say(log, f"    plausibility: {len(p_seeds)} runs of {p_hh:,} households (seeds "
                  f"{p_seeds[0]}..{p_seeds[-1]}), the figures of their mean trajectory")
        tasks = [SimTask(task_key("plausibility", ev.scenario.get("sha256"), params,
                                  list(consts), s, ev.years, p_hh), ev.scenario, s, params,
                         consts, ev.years, p_hh, ev.window) for s in p_seeds]
        bar = _Bar(len(tasks), "plausibility", progress)
        k[0] = 0
        try:
            p_runs = run_tasks(engine, ResultCache(Path(ev.cache_dir)), tasks, tick)
        finally:
            bar.close()
    ens = ensemble_growth_figures(
        np.array([r.territory["households_start"] for r in p_runs]),
        np.array([r.territory["households_end"] for r in p_runs]), codes)
    pl_rows = []
    for fig, (lo, hi) in PLAUSIBILITY_BOUNDS.items():
        vals = [r.national[fig] for r in p_runs]
        row = {"figure": fig, "lo": lo, "hi": hi, "france": float(obs_g[fig]),
               "ensemble": float(ens[fig]), "runs": len(p_runs), "households": int(p_hh),
               "mean": float(np.mean(vals))}
        row.update({f"seed_{s}": float(v) for s, v in zip(p_seeds, vals, strict=True)})
        row["runs_out"] = int(sum(not ((lo is None or v >= lo) and (hi is None or v <= hi))
                                  for v in vals))
        row["passes"] = bool((lo is None or ens[fig] >= lo) and (hi is None or ens[fig] <= hi))
        pl_rows.append(row)
    plaus = pd.DataFrame(pl_rows)
    _atomic_csv(fit_file, fit)
    _atomic_csv(pl_file, plaus)
    return fit, plaus


def is_calibration_folder(path: str | Path) -> bool:
    """Whether ``path`` is a calibration output folder."""
    p = Path(path) / MANIFEST
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text()).get("kind") == "calibration"
    except (OSError, ValueError):
        return False

