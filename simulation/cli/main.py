"""The ``terrinum`` command line.

Every user error (bad parameter, bad file, unknown map) is printed as one clear message on
standard error with exit status 2, never as a Python traceback.
"""

from __future__ import annotations

import argparse
import sys

from simulation.cli.common import EXIT_USAGE, print_error
from simulation.errors import InputError, UserError


def cmd_run(args: argparse.Namespace) -> int:
    """Run N replications of a scenario (default: the baseline) and save everything.

    Implemented in :func:`simulation.cli.scenario_commands.cmd_run`: seeds from
    ``replication_seeds(--seed, --reps)`` (one replication uses the seed itself), runs in
    parallel with a progress bar; ``--map``, ``--years`` and ``--set`` override the scenario.
    """
    from simulation.cli.scenario_commands import cmd_run as _run

    return _run(args)


def cmd_list(args: argparse.Namespace) -> int:
    """Print what is available (maps, scenarios, experiments, parameters...) or territories."""
    from simulation.engine.measures import MEASURES
    from simulation.engine.params import PARAMS
    from simulation.world.maps import available_maps

    what = args.what
    map_name = getattr(args, "map", None)
    if what == "territories":
        print_territories(map_name)
        return 0
    if map_name is not None:
        raise UserError(f"list {what}: unexpected argument {map_name!r}; a map name is "
                        "allowed only after 'list territories'")
    if what in ("all", "maps"):
        print("Maps / Cartes:")
        for m in available_maps():
            print(f"  {m}")
    if what in ("all", "params"):
        print("Parameters / Paramètres (name, group, default, range, label):")
        for p in PARAMS.values():
            print(f"  {p.name:28s} {p.group:11s} {p.default!s:>10s}  {p.range_text():40s} "
                  f"{p.label_en}")
    if what in ("all", "measures"):
        print("Measures / Indicateurs:")
        for m in MEASURES.values():
            print(f"  {m.name:26s} {m.unit:30s} {m.label_en} / {m.label_fr}")
    _list_extra(what)
    if what in ("all", "experiments"):
        from simulation.cli.experiment_commands import print_experiments

        print_experiments()
    return 0



def default_map() -> str:
    """The map a :class:`~simulation.engine.model.TerritoryModel` uses when none is given."""
    import inspect

    from simulation.engine.model import TerritoryModel

    return str(inspect.signature(TerritoryModel).parameters["map"].default)


def print_territories(map_name: str | None = None) -> None:
    """Print a map's territories: code, name, kind, region and population (persons).

    Args:
        map_name: a built-in map name or the path of a nodes CSV; default: the model's
            default map (:func:`default_map`).

    Raises:
        UserError: unknown map name (with the names allowed).
        MapError: an invalid CSV map.
    """
    from simulation.world.maps import KINDS, load_map

    name = map_name or default_map()
    try:
        tmap = load_map(name)
    except ValueError as exc:
        raise UserError(f"list territories: {exc}") from None
    rows = [(tmap.codes[i], tmap.names[i], KINDS[int(tmap.kind[i])], tmap.region[i] or "-",
             f"{tmap.population[i]:,.0f}") for i in range(tmap.n)]
    head = ("code", "name", "kind", "region", "population")
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(head)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if k == 4 else c.ljust(w)
                         for k, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    print(f"Territories / Territoires of map '{tmap.name}' ({tmap.n}; population in "
          f"persons, {tmap.population.sum():,.0f} in all):")
    print(line(head))
    for r in rows:
        print(line(r))


def _list_extra(what: str) -> None:
    """Scenarios and policy types, once those modules exist."""
    from simulation.scenarios import files as _sc

    _sc.print_list(what)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``terrinum`` command."""
    ap = argparse.ArgumentParser(
        prog="terrinum",
        description="Terrinum: what digital technology does to territories (agent-based).")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run N replications of a scenario and write results, "
                                   "plots and a manifest")
    r.add_argument("scenario", nargs="?", default=None,
                   help="scenario file (TOML) or built-in name; default: baseline")
    r.add_argument("--map", default=None,
                   help="override the scenario's map (built-in name or nodes CSV)")
    r.add_argument("--seed", type=int, default=None,
                   help="master seed (default: the scenario's); with --reps N > 1 the "
                        "replication seeds derive from it")
    r.add_argument("--years", type=float, default=None,
                   help="simulated years (default: the scenario's)")
    r.add_argument("--reps", type=int, default=None,
                   help="replications (default 1, or N with --draws N)")
    r.add_argument("--draws", type=int, default=0, metavar="N",
                   help="N posterior draws of the calibrated parameters, spread evenly over "
                        "the shipped ones (N <= --reps): replication k uses seed k and "
                        "selected draw k mod N, so the spread shows randomness and parameter "
                        "uncertainty (default 0: the calibrated defaults)")
    r.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the machine's cores)")
    r.add_argument("--households", type=int, default=None,
                   help="household agents (default: the scenario's)")
    r.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a parameter (repeatable)")
    r.add_argument("--out", default="out/run", help="output folder (default out/run)")
    r.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    ls = sub.add_parser("list", help="list maps, scenarios, experiments, policy types, "
                                     "parameters, measures, or a map's territories")
    ls.add_argument("what", nargs="?", default="all",
                    choices=["all", "maps", "scenarios", "experiments", "policies", "params",
                             "measures", "territories"])
    ls.add_argument("map", nargs="?", default=None, metavar="MAP",
                    help="with 'territories': a built-in map name or a nodes CSV (default: "
                         "the model's default map, france-departements)")
    ls.set_defaults(func=cmd_list)
    _extend(sub)
    return ap


def _extend(sub) -> None:
    """Subcommands of the scenario, experiment and dashboard modules."""
    from simulation.cli import (
        calibration_commands,
        debrief_commands,
        experiment_commands,
        scenario_commands,
    )
    from simulation.dashboard import cli as dashboard_cli

    for mod in (scenario_commands, experiment_commands, calibration_commands, dashboard_cli,
                debrief_commands):
        mod.register(sub)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``terrinum`` command."""
    from simulation.engine.params import ParameterError
    from simulation.scenarios.files import ScenarioError
    from simulation.world.maps import MapError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for provenance records
    try:
        from simulation.engine import calibrated

        if calibrated.import_problem():   # a TERRINUM_CALIBRATION_DIR that cannot be used
            raise UserError(f"{calibrated.DIR_ENV}: {calibrated.import_problem()}")
        return int(args.func(args) or 0)
    except (InputError, UserError, ParameterError, MapError, ScenarioError) as exc:
        print_error(exc)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        print_error(f"file not found: {exc.filename or exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("terrinum: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (e.g. ``| head``)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

