"""Benchmark of the sweep engines (a script, not a test): runs per minute and overheads.

Runs one small experiment (a grid over the platform commission on the synthetic region)
into fresh folders: in this process (the serial reference), on the local pool at 1 and at 2
workers, and on a local Dask cluster of 2 workers. Prints runs per minute, the parallel
efficiency at 2 workers (runs/min at 2 / (2 x runs/min at 1)) and the Dask overhead against
the local pool at 2 workers (extra wall time / local pool wall time), with and without the
cluster's start-up.

Wall times include everything a user waits for: starting the worker processes, running,
writing the Parquet files. Each configuration runs in a fresh process, so that none finds a
pool, fork server or cluster left warm by another. The figures depend on the machine and on
its load: run it on an otherwise idle machine.

Usage::

    python -m benchmarks.bench_sweep                     # 24 runs of 5 years, 3,000 households
    python -m benchmarks.bench_sweep --runs 48 --years 3 --households 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulation.experiments.design import Experiment
from simulation.experiments.files import parse_experiment
from simulation.experiments.sweep import dask_client, read_runs, run_dask, sweep

TEMPLATE = """
[experiment]
name = "bench_sweep"
scenario = "teaching_synthetic"
years = {years}
n_households = {households}
seed = 99
replications = {reps}
[design]
kind = "grid"
[[factors]]
name = "global_commission"
range = [0.05, 0.30]
n = {points}
[[outcomes]]
measure = "gini"
"""


def bench_experiment(runs: int = 24, years: float = 5.0, households: int = 3000
                     ) -> Experiment:
    """The benchmark experiment: ``runs`` runs as points x 3 replications (or 1)."""
    reps = 3 if runs % 3 == 0 and runs >= 6 else 1
    text = TEMPLATE.format(years=years, households=households, reps=reps,
                           points=max(2, runs // reps))
    return parse_experiment(text)


def _cpu() -> float:
    """CPU seconds used by this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def time_local(exp: Experiment, workers: int, root: Path, in_process: bool = False
               ) -> tuple[float, float]:
    """(wall time, CPU time) in seconds of a whole sweep on the local engine, fresh folder."""
    out = root / f"local{workers}-{time.monotonic_ns()}"
    c0 = _cpu()
    t0 = time.perf_counter()
    sweep(exp, out, workers=workers, progress=False, in_process=in_process)
    return time.perf_counter() - t0, _cpu() - c0


def time_dask(exp: Experiment, workers: int, root: Path) -> tuple[float, float]:
    """(total wall time, cluster start-up time) of a whole sweep on a local Dask cluster."""
    out = root / f"dask{workers}-{time.monotonic_ns()}"
    t0 = time.perf_counter()
    sweep(exp, out, dask_local=workers, progress=False)
    total = time.perf_counter() - t0
    t1 = time.perf_counter()
    client, cluster = dask_client(None, workers)
    client.wait_for_workers(workers)
    start = time.perf_counter() - t1
    client.close()
    cluster.close()
    return total, start


def time_dask_warm(exp: Experiment, workers: int) -> float:
    """Wall time (s) of the runs alone on an already started local Dask cluster."""
    from simulation.experiments.sweep import make_tasks

    client, cluster = dask_client(None, workers)
    client.wait_for_workers(workers)
    try:
        t0 = time.perf_counter()
        run_dask(make_tasks(exp), client, lambda t, df, exc: None)
        return time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()


def _one(config: str, exp: Experiment, root: Path) -> dict:
    """Time one configuration in this (fresh) process; return its figures."""
    if config == "serial":
        wall, cpu = time_local(exp, 1, root, in_process=True)
        return {"wall": wall, "cpu": cpu}
    if config in ("local1", "local2"):
        wall, _ = time_local(exp, int(config[-1]), root)
        return {"wall": wall}
    total, start = time_dask(exp, 2, root)
    return {"wall": total, "start": start, "warm": time_dask_warm(exp, 2)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=24, help="runs in the experiment (default 24)")
    ap.add_argument("--years", type=float, default=5.0, help="years per run (default 5)")
    ap.add_argument("--households", type=int, default=3000, help="households (default 3000)")
    ap.add_argument("--repeat", type=int, default=1, help="repeats; medians are shown")
    ap.add_argument("--check", action="store_true",
                    help="also check that the engines wrote identical data")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    exp = bench_experiment(args.runs, args.years, args.households)
    n = exp.n_runs()
    if args.one:
        print(json.dumps(_one(args.one, exp, Path(args.root))))
        return 0
    root = Path(tempfile.mkdtemp(prefix="terrinum-bench-"))
    print(f"benchmark: {n} runs of {args.years:g} years with {args.households:,} households "
          f"on the synthetic region; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f}")

    def child(config: str) -> dict:
        # each configuration in a fresh process: no worker pool, fork server or Dask
        # cluster left warm by another one
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_sweep", "--one", config,
                              "--root", str(root), "--runs", str(args.runs), "--years",
                              str(args.years), "--households", str(args.households)],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        res = {c: [child(c) for _ in range(args.repeat)]
               for c in ("serial", "local1", "local2", "dask")}
        if args.check:
            dirs = sorted(root.iterdir())
            ref = read_runs(dirs[0])
            same = all(read_runs(d).equals(ref) for d in dirs[1:])
            print(f"identical data across {len(dirs)} sweeps: {same}")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def med(c: str, key: str = "wall") -> float:
        return statistics.median(r[key] for r in res[c])

    t0, c0, t1, t2, td = med("serial"), med("serial", "cpu"), med("local1"), med("local2"), \
        med("dask")
    ts, tw = med("dask", "start"), med("dask", "warm")
    rpm = {k: 60.0 * n / v for k, v in (("serial", t0), ("local1", t1), ("local2", t2),
                                         ("dask2", td))}
    eff = rpm["local2"] / (2 * rpm["local1"])
    eff0 = rpm["local2"] / (2 * rpm["serial"])
    print(f"in this process      : {t0:7.1f} s  {rpm['serial']:7.1f} runs/min  "
          f"(CPU {c0:.1f} s: {c0 / t0:.0%} of one core)")
    print(f"local pool, 1 worker : {t1:7.1f} s  {rpm['local1']:7.1f} runs/min  "
          f"(the worker's start-up included)")
    print(f"local pool, 2 workers: {t2:7.1f} s  {rpm['local2']:7.1f} runs/min  "
          f"parallel efficiency {eff:.0%} vs the pool at 1 worker (target >= 85 %), "
          f"{eff0:.0%} vs the serial run")
    print(f"dask local, 2 workers: {td:7.1f} s  {rpm['dask2']:7.1f} runs/min  overhead vs "
          f"local pool {(td - t2) / t2:+.0%} (target < 10 %)")
    print(f"  of which cluster start-up about {ts:.1f} s; runs alone on a started cluster "
          f"{tw:.1f} s ({(tw - t2) / t2:+.0%} vs the local pool's whole sweep)")
    print(f"load average at the end {os.getloadavg()[0]:.2f} (the figures need an otherwise "
          "idle machine)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
