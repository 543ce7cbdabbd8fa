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

from simulation.safe_io import check_output_dir

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
def is_experiment(ref: str) -> bool:
    """True if ``ref`` names an experiment file rather than a scenario.

    That is a TOML file with a table only experiments have (``[experiment]``, ``[design]``,
    ``[[factors]]``, ...), or a built-in experiment that is not
    also a scenario. Never raises; reads nothing that is not a small regular file.
    """
    import re

    from simulation.errors import InputError
    from simulation.safe_io import MAX_TOML_BYTES, path_state, read_text_file

    state = path_state(ref)
    if state == "missing":
        from simulation.experiments.files import available_experiments
        from simulation.scenarios.files import builtin_path

        return builtin_path(ref) is None and ref.removesuffix(".toml") in \
            available_experiments()
    if state != "file":
        return False
    try:
        text = read_text_file(ref, "a TOML file", MAX_TOML_BYTES)
    except InputError:
        return False
    tables = r"^\s*\[+\s*(experiment|design|factors|outcomes|quick|discovery)\s*\]"
    return re.search(tables, text, flags=re.MULTILINE) is not None


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario and experiment files: "OK" per good file, one message per bad one.

    An experiment is checked with its base scenario, as ``sweep`` would. Exit status 2 if any
    file is bad.
    """
    from simulation.cli.common import print_error
    from simulation.errors import InputError
    from simulation.scenarios.files import load_scenario

    bad = 0
    for f in args.files:
        try:
            if is_experiment(f):
                from simulation.experiments.files import load_experiment

                e = load_experiment(f)
                print(f"OK {f} (experiment {e.name}: {e.design.kind} design, "
                      f"{len(e.factors)} factor(s), {e.n_runs():,} run(s) of {e.years:g} years)")
                continue
            s = load_scenario(f)
        except InputError as exc:
            print_error(exc)
            bad += 1
            continue
        print(f"OK {f} ({s.name}: {s.map}, {s.years:g} years, {s.n_households:,} households, "
              f"{len(s.params)} parameter(s), {len(s.policies)} policy(ies))")
        if s.name_note:
            print(f"  note: {s.name_note}")
        for line in policy_selection_lines(s):
            print(f"  {line}")
    return EXIT_USAGE if bad else 0


def policy_selection_lines(scen, shown: int = 3) -> list[str]:
    """One line per policy: how many territories it resolves to and the first few names.

    For example ``policy 2 broadband_rollout: 12 territories: Ain, Allier, Ardèche, ... (+9)``.
    All names are printed when only one more would be hidden. Map-wide policy types say so
    instead (they act on the whole map).

    Args:
        scen: a loaded :class:`~simulation.scenarios.files.Scenario`.
        shown: how many names to print before "... (+N)".

    Returns:
        The lines, in policy order (empty when the scenario has no policy).
    """
    from simulation.engine.policies import MAP_WIDE

    if not scen.policies:
        return []
    tmap = scen.load_map()
    lines = []
    for i, pol in enumerate(scen.policies, start=1):
        head = f"policy {i} {pol.type}"
        if pol.type in MAP_WIDE:
            lines.append(f"{head}: map-wide (all {tmap.n} territories of {tmap.name})")
            continue
        idx = pol.resolve(tmap)
        names = [tmap.names[j] for j in idx]
        if len(names) <= shown + 1:  # "... (+1)" would be longer than the name
            listed = ", ".join(names)
        else:
            listed = ", ".join(names[:shown]) + f", ... (+{len(names) - shown})"
        every = " (all)" if len(idx) == tmap.n else ""
        noun = "territory" if len(idx) == 1 else "territories"
        lines.append(f"{head}: {len(idx)} {noun}{every}: {listed}")
    return lines


# ============================================================================ run
def map_options_for(scen, map_: str | None, *, announce: bool = True) -> dict | None:
    """The map options ``--map MAP`` gives a scenario (None: keep the scenario's).

    Another map than the scenario's starts with no options (they belong to a map). A nodes
    CSV takes the edges CSV beside it (:func:`~simulation.world.maps.edges_beside`) unless
    the scenario already names an edges file for that same map; that is printed on the
    console when ``announce``.

    Args:
        scen: the loaded scenario.
        map_: the ``--map`` value (a built-in map name or a nodes CSV path), or None.
        announce: print which edges file is used.
    """
    import os

    from simulation.safe_io import path_state
    from simulation.world.maps import edges_beside

    if map_ is None:
        return None
    same = scen.map in (map_, os.path.abspath(map_))
    opts = dict(scen.map_options) if same else {}
    if path_state(map_) == "file" and not opts.get("edges"):
        edges = edges_beside(map_)
        if edges is not None:
            opts["edges"] = os.path.abspath(edges)
            if announce:
                print(f"Map {map_}: links from the edges file {edges} beside it (another "
                      "edges file: [run] map_options = { edges = \"...\" } in a scenario "
                      "file, see docs/MAPS.md)")
        elif announce:
            print(f"Map {map_}: no edges file beside it (looked for "
                  f"{Path(map_).stem.replace('nodes', 'edges')}.csv and edges.csv): each "
                  "territory is linked to its 3 nearest")
    return None if same and opts == dict(scen.map_options) else opts


def reps_and_draws(args: argparse.Namespace, default_reps: int) -> tuple[int, int]:
    """``(replications, posterior draws)`` from ``--reps`` and ``--draws``.

    ``--draws N`` without ``--reps`` runs N replications (one per draw); with ``--reps R``
    it needs ``N <= R`` (replication k uses selected draw k mod N). No ``--draws`` (or 0): no draws.

    Raises:
        UserError: ``--reps`` below 1 or ``--draws`` below 0.
    """
    from simulation.errors import UserError

    draws = getattr(args, "draws", None) or 0
    if draws < 0:
        raise UserError(f"--draws must be 0 (no posterior draws: the calibrated defaults) or "
                        f"more, got {draws}")
    reps = args.reps if args.reps is not None else (draws or default_reps)
    if reps < 1:
        raise UserError(f"--reps must be at least 1, got {reps}")
    return reps, draws


def cmd_run(args: argparse.Namespace) -> int:
    """Run N replications of a scenario (default: the baseline) and save everything."""
    from simulation.cli.common import parse_set as _parse_set
    from simulation.scenarios.files import load_scenario
    from simulation.scenarios.runner import (
        replication_draw_list,
        replication_seed_list,
        replication_warnings,
        run_many,
        run_results,
        save_runs,
        uncertainty_text,
    )

    reps, n_draws = reps_and_draws(args, 1)
    scen = load_scenario(args.scenario or "baseline")
    sets = _parse_set(args.set)
    nh = sets.pop("n_households", None)
    if getattr(args, "households", None) is not None:
        nh = args.households
    scen = scen.with_overrides(params=sets or None, map=args.map, years=args.years,
                               n_households=nh, map_options=map_options_for(scen, args.map))
    master = scen.seed if args.seed is None else args.seed
    seeds = replication_seed_list(master, reps)
    draws = replication_draw_list(n_draws, reps, option="--draws")
    out = check_output_dir(args.out, "--out (the results folder)")
    t0 = time.perf_counter()
    tasks = [dict(scenario=scen, seed=s, **({} if draws is None else {"draw": draws[k]}))
             for k, s in enumerate(seeds)]
    results = run_many(tasks, workers=args.workers, progress=not args.quiet,
                       desc=f"{scen.name}", func=run_results)
    save_runs(results, out, scen, master_seed=master, command=command_line(args),
              plots=not args.no_plots, draws=draws)
    drawn = "" if draws is None else \
        f", posterior draws {', '.join(str(d.index) for d in draws)}"
    print(f"Ran {scen.name}: {len(seeds)} replication(s) of {scen.years:g} years on "
          f"{results[0].map_name} (seeds {', '.join(map(str, seeds))}{drawn}) in "
          f"{time.perf_counter() - t0:.1f} s -> {out}/")
    print(f"  spread over replications: {uncertainty_text(n_draws)}")
    for w in replication_warnings(reps):    # also in notes.csv and manifest.json
        print(f"terrinum: {w}", file=sys.stderr)
    if scen.name_note:                      # also in notes.csv and manifest.json
        print(f"terrinum: note: {scen.name_note}", file=sys.stderr)
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
    from simulation.scenarios.runner import uncertainty_text

    reps, n_draws = reps_and_draws(args, args.default_reps)
    check_output_dir(args.out, "--out (the report folder)")
    baseline, scenarios, nh = _with_map_and_sets(args, baseline, scenarios)
    if n_draws:  # checked before any run, with the option's name in the messages
        from simulation.scenarios.runner import replication_draw_list

        replication_draw_list(n_draws, reps, option="--draws")
    cmp = compare(baseline, scenarios, reps=reps, seed=args.seed, years=args.years,
                  n_households=nh, workers=args.workers,
                  progress=not args.quiet, draws=n_draws)
    t0 = time.perf_counter()
    lang = getattr(args, "lang", None)
    report = write_outputs(cmp, args.out, command=command_line(args),
                           plots=not getattr(args, "no_plots", False), title=title,
                           langs=(lang,) if lang else ("en", "fr"))
    em = cmp.effects_map
    print(f"Compared {len(cmp.scenarios)} scenario(s) with {cmp.labels[0]}: "
          f"{len(cmp.seeds)} replication(s) x {cmp.years:g} years, {cmp.n_households:,} "
          f"households, seeds {cmp.seeds}"
          + (f", posterior draws {[d.index for d in cmp.draws]}" if cmp.draws else "")
          + f"; runs {cmp.elapsed_s:.0f} s, report {time.perf_counter() - t0:.0f} s.")
    print(f"Intervals show: {uncertainty_text(cmp.n_draws)}.")
    for note in cmp.notes:      # also in notes.csv, manifest.json and the report
        if note.startswith("WARNING"):
            print(f"terrinum: {note}", file=sys.stderr)
    for s in cmp.all_scenarios:  # a copied file's new name (also in the notes)
        if s.name_note:
            print(f"terrinum: note: {s.name_note}", file=sys.stderr)
    from simulation.scenarios.compare import effect_sentence
    from simulation.scenarios.report import question_measures

    for label, scen in zip(cmp.labels[1:], cmp.scenarios, strict=True):
        print(f"  {scen.title()} ({label}):")
        sub = em[em["scenario"] == label].set_index("measure")
        for m in question_measures(scen):
            print("    " + effect_sentence(sub.loc[m].to_dict() | {"measure": m},
                                        draws=bool(cmp.draws)))
    from simulation.scenarios.report import REPORT_FILES

    others = [REPORT_FILES[x] for x in ("en", "fr") if not lang or x == lang][1:]
    print(f"Report: {report}" + (f" (French: {report.parent / others[0]})" if others else ""))
    return 0


def _with_map_and_sets(args: argparse.Namespace, baseline, scenarios: list):
    """Apply ``--map`` and ``--set`` to the baseline and every scenario (as ``run`` does).

    Returns:
        ``(baseline, scenarios, n_households)``: scenarios (loaded when overridden, else as
        given) and the household count (``--households``, else ``--set n_households=``,
        else None: the baseline's).
    """
    from simulation.cli.common import parse_set
    from simulation.scenarios.files import load_scenario

    sets = parse_set(getattr(args, "set", None))
    nh = sets.pop("n_households", None)
    if getattr(args, "households", None) is not None:
        nh = args.households
    map_ = getattr(args, "map", None)
    if not sets and map_ is None:
        return baseline, scenarios, nh

    def over(ref, announce: bool = False):
        scen = load_scenario(ref)
        return scen.with_overrides(params=sets or None, map=map_,
                                   map_options=map_options_for(scen, map_, announce=announce))

    return over(baseline, announce=True), [over(s) for s in scenarios], nh


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
    p.add_argument("--lang", choices=("en", "fr"), default=None,
                   help="write the report in this language only (default: both, report.html "
                        "in English and report.fr.html in French)")
    p.add_argument("--reps", type=int, default=None,
                   help=f"replications per scenario (default {reps}, or N with --draws N)")
    p.add_argument("--draws", type=int, default=0, metavar="N",
                   help="N posterior draws of the calibrated parameters, spread evenly over "
                        "the shipped ones (N <= --reps): replication k of every scenario uses "
                        "seed k and selected draw k mod N, so intervals show randomness and "
                        "parameter uncertainty (default 0: the calibrated defaults)")
    p.set_defaults(default_reps=reps)
    p.add_argument("--seed", type=int, default=None,
                   help="master seed of the replication seeds (default: the baseline's seed)")
    p.add_argument("--years", type=float, default=years,
                   help="simulated years (default: "
                        + (f"{years:g})" if years else "the baseline's)"))
    p.add_argument("--households", type=int, default=None,
                   help="household agents (default: the baseline's)")
    p.add_argument("--map", default=None,
                   help="override every scenario's map (built-in name or nodes CSV)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a parameter in every scenario (repeatable)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the machine's cores)")
    p.add_argument("--out", default=out, help=f"output folder (default {out})")
    p.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``validate``, ``compare`` and ``demo`` to the ``terrinum`` command."""
    v = subparsers.add_parser("validate", help="check scenario and experiment files (exit 2 "
                                               "on any error)")
    v.add_argument("files", nargs="+", metavar="FILE",
                   help="scenario or experiment files, or built-in names")
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


__all__ = ["register", "cmd_run", "reps_and_draws", "cmd_validate", "cmd_compare", "cmd_demo",
           "policy_selection_lines", "DEMO_SCENARIOS"]
