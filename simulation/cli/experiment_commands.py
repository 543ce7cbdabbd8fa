"""``terrinum sweep`` and ``terrinum analyse``: run an experiment file, analyse its dataset.

Examples::

    terrinum sweep experiments/tiers_lieux_commission.toml --out out/tl   # local pool
    terrinum sweep tiers_lieux_commission --quick                          # built-in, small
    terrinum sweep EXP --out DIR --dask-local 4                            # local Dask cluster
    terrinum sweep EXP --out DIR --scheduler tcp://login1:8786             # existing cluster
    terrinum analyse out/tl                                                # tables, plots, HTML

Re-running an interrupted ``sweep`` command completes it (finished runs are skipped).
User errors are printed as one line on standard error with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from simulation.safe_io import check_output_dir

EXIT_USAGE = 2


def _user_errors() -> tuple[type[BaseException], ...]:
    from simulation.engine.params import ParameterError
    from simulation.errors import InputError, UserError
    from simulation.experiments.design import ExperimentError
    from simulation.experiments.sweep import SweepError
    from simulation.world.maps import MapError

    errs: list[type[BaseException]] = [InputError, ExperimentError, SweepError, UserError,
                                       ParameterError, MapError]
    try:
        from simulation.scenarios.files import ScenarioError

        errs.append(ScenarioError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errs)


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Print user errors as one line with exit status 2, whatever module ``main`` runs as."""
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except _user_errors() as exc:
            from simulation.cli.common import print_error

            print_error(exc)
            return EXIT_USAGE

    run.__doc__ = func.__doc__
    return run


def print_experiments() -> None:
    """Print the built-in experiments (``terrinum list experiments``): name, design, size.

    An experiment file that does not load is listed as INVALID with its message.
    """
    from simulation.experiments.files import (
        available_experiments,
        builtin_experiments_dir,
        load_experiment,
    )

    print("Experiments / Expériences (built-in, in experiments/; run with terrinum sweep NAME):")
    for name in available_experiments():
        try:
            e = load_experiment(builtin_experiments_dir() / f"{name}.toml", with_scenario=False)
        except _user_errors() as exc:
            print(f"  {name:32s} INVALID: {exc}")
            continue
        print(f"  {name:32s} {e.design.kind} design, {len(e.factors)} factor(s), "
              f"{e.n_runs():,} run(s) of {e.years:g} years on scenario {e.scenario_ref}")
        if e.question:
            print(f"      {e.question}")


def default_out(name: str, quick: bool) -> Path:
    """Default dataset folder of an experiment: ``out/sweep-<name>[-quick]``."""
    return Path("out") / f"sweep-{name}{'-quick' if quick else ''}"


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run (or complete) an experiment into a dataset folder."""
    from simulation.experiments.files import load_experiment
    from simulation.experiments.sweep import sweep

    exp = load_experiment(args.experiment, quick=args.quick)
    out = check_output_dir(args.out if args.out else default_out(exp.name, args.quick),
                           "--out (the dataset folder)")
    if not args.quiet:
        print(exp.describe(), file=sys.stderr)
    from simulation.experiments.analysis import design_warnings

    for w in design_warnings(exp):   # also in the analysis's notes.csv and report
        print(f"terrinum: {w}", file=sys.stderr)
    try:
        rep = sweep(exp, out, workers=args.workers, scheduler=args.scheduler,
                    dask_local=args.dask_local, resume=args.resume,
                    progress=not args.quiet, limit=args.max_runs)
    except KeyboardInterrupt:
        print(f"terrinum: sweep interrupted; finished runs are saved in {out}; run the same "
              "command again to complete it", file=sys.stderr)
        raise
    print(rep.describe())
    if args.analyse and rep.skipped + rep.ran == rep.total:
        return _analyse(out, None, plots=True)
    return 0


def _analyse(path: Path, report_dir: str | None, plots: bool) -> int:
    from simulation.experiments.analysis import analyse, load_sweep_experiment, print_summary

    res = analyse(path, report_dir=report_dir, plots=plots, report=plots)
    exp, _man = load_sweep_experiment(path)
    dest = Path(report_dir) if report_dir else path / "analysis"
    print(f"Analysed {len(res['runs'])} runs of '{exp.name}' ({exp.design.kind} design)"
          + (f" -> {dest}/report.html" if plots else ""))
    for line in print_summary(res, exp):
        print(line)
    return 0


def cmd_analyse(args: argparse.Namespace) -> int:
    """Analyse a sweep folder: tables, plots, indices, PRIM boxes and an HTML report."""
    if args.out:
        check_output_dir(args.out, "--out (the report folder)")
    from simulation.calibration.calibrate import is_calibration_folder

    if is_calibration_folder(args.folder):
        if not (Path(args.folder) / "calibrated.json").is_file():
            from simulation.errors import UserError

            raise UserError(f"{args.folder}: the calibration is not finished; run the same "
                            "terrinum calibrate command again to complete it")
        from simulation.calibration.report import write_report

        path = write_report(args.folder, args.out)
        print(f"Calibration report -> {path} (and {path.parent / 'CALIBRATION.md'})")
        return 0
    return _analyse(Path(args.folder), args.out, plots=not args.no_plots)


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--workers`` | ``--scheduler`` | ``--dask-local``: where runs go (sweep, calibrate)."""
    eng = parser.add_mutually_exclusive_group()
    eng.add_argument("--workers", type=_positive, default=None,
                     help="local pool processes (default: the machine's cores)")
    eng.add_argument("--scheduler", metavar="ADDRESS", default=None,
                     help="run on an existing Dask cluster (e.g. tcp://host:8786)")
    eng.add_argument("--dask-local", type=_positive, metavar="N", default=None,
                     help="start a local Dask cluster with N workers")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` and ``analyse`` subcommands to the ``terrinum`` parser."""
    s = subparsers.add_parser(
        "sweep", help="run an experiment file (factors x design x replications) to a dataset",
        description="Run an experiment file into a Parquet dataset folder, run by run. "
                    "Re-running the same command completes an interrupted sweep.")
    s.add_argument("experiment", help="experiment file (TOML) or built-in experiment name")
    s.add_argument("--out", default=None,
                   help="dataset folder (default out/sweep-<name>[-quick])")
    s.add_argument("--quick", action="store_true",
                   help="the small variant of the file's [quick] table")
    add_engine_options(s)
    s.add_argument("--resume", action="store_true",
                   help="require an existing sweep of this experiment in --out")
    s.add_argument("--max-runs", type=_positive, default=None,
                   help="run at most this many of the missing runs now")
    s.add_argument("--analyse", action="store_true", help="analyse when complete")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_guard(cmd_sweep))
    a = subparsers.add_parser(
        "analyse", help="analyse a sweep folder (indices, PRIM, plots, HTML report)",
        description="Analyse a sweep folder: outcome tables, response plots with bands, "
                    "Morris and Sobol indices (SALib), PRIM boxes (EMA Workbench) and a "
                    "self-contained report.html.")
    a.add_argument("folder", help="sweep folder (terrinum sweep --out)")
    a.add_argument("--out", default=None, help="report folder (default FOLDER/analysis)")
    a.add_argument("--no-plots", action="store_true", help="tables only (no PNG, no HTML)")
    a.set_defaults(func=_guard(cmd_analyse))
