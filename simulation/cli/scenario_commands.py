"""Command-line commands for scenarios: ``validate``, ``compare``, ``demo`` (and ``run``).

``simulation.cli.main`` calls :func:`register` to add the subcommands; ``terrinum run`` is
implemented here too (:func:`cmd_run`) and wired by ``simulation.cli.main``. Every user error is a
:class:`~simulation.scenarios.files.ScenarioError` (or another user error of
``simulation.cli.main``):
one message on standard error, exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

EXIT_USAGE = 2

DEMO_SCENARIOS = ["broadband_rollout", "office_closures", "office_closures_with_mediators",
                  "gafa_dependence", "local_platform", "numerique_choisi"]
"""Scenarios compared with the baseline by ``terrinum demo``."""

SUMMARY_MEASURES = ("attractiveness", "theil_between", "gini", "local_value_captured",
                    "unemployment_rate", "global_platform_share", "non_take_up")


def command_line(args: argparse.Namespace) -> str:
    """The command line as typed (``terrinum ...``), for provenance."""
    argv = getattr(args, "argv", None)
    if argv is None:
        argv = sys.argv[1:]
    return shlex.join(["terrinum", *[str(a) for a in argv]])


# ============================================================================ validate
def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files: "OK" per good file; one message per bad file; exit 2 if any."""
    from simulation.scenarios.files import ScenarioError, load_scenario

    bad = 0
    for f in args.files:
        try:
            s = load_scenario(f)
        except ScenarioError as exc:
            print(f"terrinum: error: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(f"OK {f} ({s.name}: {s.map}, {s.years:g} years, {s.n_households:,} households, "
              f"{len(s.params)} parameter(s), {len(s.policies)} policy(ies))")
    return EXIT_USAGE if bad else 0


# ============================================================================ run
def cmd_run(args: argparse.Namespace) -> int:
    """Run N replications of a scenario (default: the baseline) and save everything."""
    from simulation.cli.common import parse_set as _parse_set
    from simulation.scenarios.files import load_scenario
    from simulation.scenarios.runner import replication_seed_list, run_many, run_results, save_runs

    if args.reps < 1:
        from simulation.errors import UserError

        raise UserError(f"--reps must be at least 1, got {args.reps}")
    scen = load_scenario(args.scenario or "baseline")
    sets = _parse_set(args.set)
    nh = sets.pop("n_households", None)
    if getattr(args, "households", None) is not None:
        nh = args.households
    scen = scen.with_overrides(params=sets or None, map=args.map, years=args.years,
                               n_households=nh)
    master = scen.seed if args.seed is None else args.seed
    seeds = replication_seed_list(master, args.reps)
    out = Path(args.out)
    t0 = time.perf_counter()
    tasks = [dict(scenario=scen, seed=s) for s in seeds]
    results = run_many(tasks, workers=args.workers, progress=not args.quiet,
                       desc=f"{scen.name}", func=run_results)
    save_runs(results, out, scen, master_seed=master, command=command_line(args),
              plots=not args.no_plots)
    print(f"Ran {scen.name}: {len(seeds)} replication(s) of {scen.years:g} years on "
          f"{results[0].map_name} (seeds {', '.join(map(str, seeds))}) in "
          f"{time.perf_counter() - t0:.1f} s -> {out}/")
    import numpy as np

    for name in SUMMARY_MEASURES:
        vals = [float(np.nanmean(r.map_values[name].iloc[-12:])) for r in results]
        print(f"  {name:24s} {np.mean(vals):.4g}  (last 12 months, mean of "
              f"{len(vals)} replication(s))")
    return 0


# ============================================================================ compare, demo
def _compare(args: argparse.Namespace, baseline: str, scenarios: list[str], *,
             title: str | None = None) -> int:
    from simulation.scenarios.compare import compare, write_outputs

    if args.reps < 1:
        from simulation.errors import UserError

        raise UserError(f"--reps must be at least 1, got {args.reps}")
    cmp = compare(baseline, scenarios, reps=args.reps, seed=args.seed, years=args.years,
                  n_households=args.households, workers=args.workers,
                  progress=not args.quiet)
    t0 = time.perf_counter()
    report = write_outputs(cmp, args.out, command=command_line(args),
                           plots=not getattr(args, "no_plots", False), title=title)
    em = cmp.effects_map
    print(f"Compared {len(cmp.scenarios)} scenario(s) with {cmp.labels[0]}: "
          f"{len(cmp.seeds)} replication(s) x {cmp.years:g} years, {cmp.n_households:,} "
          f"households, seeds {cmp.seeds}; runs {cmp.elapsed_s:.0f} s, report "
          f"{time.perf_counter() - t0:.0f} s.")
    from simulation.scenarios.compare import effect_sentence

    for label in cmp.labels[1:]:
        print(f"  {label}:")
        sub = em[em["scenario"] == label].set_index("measure")
        for m in ("local_value_captured", "theil_between", "gini", "non_take_up"):
            print("    " + effect_sentence(sub.loc[m].to_dict() | {"measure": m}))
    print(f"Report: {report}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare scenarios with a baseline (common random numbers) and write a report."""
    return _compare(args, args.baseline, args.scenarios)


def cmd_demo(args: argparse.Namespace) -> int:
    """The demonstration: the main scenarios against the baseline, on the map of France."""
    return _compare(args, "baseline", list(DEMO_SCENARIOS),
                    title="Terrinum demo: digital choices for French territories / "
                          "choix numériques pour les territoires")


def _add_compare_options(p: argparse.ArgumentParser, *, reps: int, years: float | None,
                         out: str) -> None:
    p.add_argument("--reps", type=int, default=reps,
                   help=f"replications per scenario (default {reps})")
    p.add_argument("--seed", type=int, default=None,
                   help="master seed of the replication seeds (default: the baseline's seed)")
    p.add_argument("--years", type=float, default=years,
                   help="simulated years (default: "
                        + (f"{years:g})" if years else "the baseline's)"))
    p.add_argument("--households", type=int, default=None,
                   help="household agents (default: the baseline's)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the machine's cores)")
    p.add_argument("--out", default=out, help=f"output folder (default {out})")
    p.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``validate``, ``compare`` and ``demo`` to the ``terrinum`` command."""
    v = subparsers.add_parser("validate", help="check scenario files (exit 2 on any error)")
    v.add_argument("files", nargs="+", metavar="FILE", help="scenario files or built-in names")
    v.set_defaults(func=cmd_validate)
    c = subparsers.add_parser(
        "compare", help="compare scenarios with a baseline (common random numbers) and "
                        "write data, plots and an HTML report")
    c.add_argument("baseline", metavar="BASELINE", help="baseline scenario (file or name)")
    c.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="scenarios to compare (files or names)")
    _add_compare_options(c, reps=3, years=None, out="out/compare")
    c.set_defaults(func=cmd_compare)
    d = subparsers.add_parser(
        "demo", help="compare the main scenarios with the baseline on the map of France "
                     "(3 replications x 10 years) and write a report")
    _add_compare_options(d, reps=3, years=10.0, out="out/demo")
    d.set_defaults(func=cmd_demo)


__all__ = ["register", "cmd_run", "cmd_validate", "cmd_compare", "cmd_demo",
           "DEMO_SCENARIOS"]
