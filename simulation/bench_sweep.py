"""Benchmark of the sweep engines (a script, not a test): runs per minute and overheads.

Runs one small experiment (a grid over the platform commission on the synthetic region)
into fresh folders: in this process (the serial reference), on the local pool at 1 and at 2
workers, and on a local Dask cluster of 2 workers. Prints runs per minute, the parallel
efficiency at 2 workers (runs/min at 2 / (2 x runs/min at 1)) and the Dask overhead against
the local pool at 2 workers (extra wall time / local pool wall time), with and without the
cluster's start-up.

Wall times include everything a user waits for: starting the worker processes, running,
writing the Parquet files. The figures depend on the machine and on its load: run it on an
otherwise idle machine.

Usage::

    python -m simulation.bench_sweep                     # 24 runs of 5 years, 3,000 households
    python -m simulation.bench_sweep --runs 48 --years 3 --households 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from simulation.experiment import Experiment, parse_experiment
from simulation.sweep import dask_client, read_runs, run_dask, sweep

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
    from simulation.sweep import make_tasks

    client, cluster = dask_client(None, workers)
    client.wait_for_workers(workers)
    try:
        t0 = time.perf_counter()
        run_dask(make_tasks(exp), client, lambda t, df, exc: None)
        return time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=24, help="runs in the experiment (default 24)")
    ap.add_argument("--years", type=float, default=5.0, help="years per run (default 5)")
    ap.add_argument("--households", type=int, default=3000, help="households (default 3000)")
    ap.add_argument("--repeat", type=int, default=1, help="repeats; medians are shown")
    ap.add_argument("--check", action="store_true",
                    help="also check that the engines wrote identical data")
    args = ap.parse_args(argv)
    exp = bench_experiment(args.runs, args.years, args.households)
    n = exp.n_runs()
    root = Path(tempfile.mkdtemp(prefix="terrinum-bench-"))
    print(f"benchmark: {n} runs of {args.years:g} years with {args.households:,} households "
          f"on the synthetic region; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f}")
    try:
        l0 = [time_local(exp, 1, root, in_process=True) for _ in range(args.repeat)]
        l1 = [time_local(exp, 1, root) for _ in range(args.repeat)]
        l2 = [time_local(exp, 2, root) for _ in range(args.repeat)]
        t0, c0 = statistics.median(x[0] for x in l0), statistics.median(x[1] for x in l0)
        t1, c1 = statistics.median(x[0] for x in l1), statistics.median(x[1] for x in l1)
        t2, c2 = statistics.median(x[0] for x in l2), statistics.median(x[1] for x in l2)
        dk = [time_dask(exp, 2, root) for _ in range(args.repeat)]
        td = statistics.median(d[0] for d in dk)
        ts = statistics.median(d[1] for d in dk)
        tw = statistics.median(time_dask_warm(exp, 2) for _ in range(args.repeat))
        if args.check:
            dirs = sorted(root.iterdir())
            ref = read_runs(dirs[0])
            same = all(read_runs(d).equals(ref) for d in dirs[1:])
            print(f"identical data across {len(dirs)} sweeps: {same}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rpm = {k: 60.0 * n / v for k, v in (("serial", t0), ("local1", t1), ("local2", t2),
                                         ("dask2", td))}
    eff = rpm["local2"] / (2 * rpm["local1"])
    eff0 = rpm["local2"] / (2 * rpm["serial"])
    print(f"in this process      : {t0:7.1f} s  {rpm['serial']:7.1f} runs/min  "
          f"(CPU {c0:.1f} s: {c0 / t0:.0%} of one core)")
    print(f"local pool, 1 worker : {t1:7.1f} s  {rpm['local1']:7.1f} runs/min  "
          f"(CPU {c1:.1f} s; the worker's start-up included)")
    print(f"local pool, 2 workers: {t2:7.1f} s  {rpm['local2']:7.1f} runs/min  "
          f"parallel efficiency {eff:.0%} vs the pool at 1 worker (target >= 85 %), "
          f"{eff0:.0%} vs the serial run")
    print(f"  CPU {c2:.1f} s = {c2 / (2 * t2):.0%} of two cores; if well below 100 %, other "
          f"programs took the cores and the efficiency above understates the pool's")
    print(f"dask local, 2 workers: {td:7.1f} s  {rpm['dask2']:7.1f} runs/min  overhead vs "
          f"local pool {(td - t2) / t2:+.0%} (target < 10 %)")
    print(f"  of which cluster start-up about {ts:.1f} s; runs alone on a started cluster "
          f"{tw:.1f} s ({(tw - t2) / t2:+.0%} vs the local pool's whole sweep)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
