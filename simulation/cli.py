"""The ``terrinum`` command line.

Every user error (bad parameter, bad file, unknown map) is printed as one clear message on
standard error with exit status 2, never as a Python traceback.
"""

from __future__ import annotations

import argparse
import sys

from simulation.errors import InputError

EXIT_USAGE = 2
MAX_ERROR_CHARS = 2_000
"""Longest error message printed (characters)."""


class UserError(InputError):
    """An error caused by the user's input; printed without a traceback (exit 2)."""


def _parse_set(items: list[str] | None) -> dict:
    """Parse ``--set name=value`` overrides (numbers, true/false)."""
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects name=value, got '{item:.80}'")
        k, v = item.split("=", 1)
        v = v.strip()
        if v.lower() in ("true", "false"):
            out[k.strip()] = v.lower() == "true"
            continue
        try:
            out[k.strip()] = int(v) if v.lstrip("-").isdigit() else float(v)
        except ValueError:
            raise UserError(f"--set {k:.80}: '{v:.80}' is not a number or true/false") from None
    return out


def cmd_run(args: argparse.Namespace) -> int:
    """Run N replications of a scenario (default: the baseline) and save everything.

    Implemented in :func:`simulation.scenario_cli.cmd_run`: seeds from
    ``replication_seeds(--seed, --reps)`` (one replication uses the seed itself), runs in
    parallel with a progress bar; ``--map``, ``--years`` and ``--set`` override the scenario.
    """
    from simulation.scenario_cli import cmd_run as _run

    return _run(args)


def cmd_list(args: argparse.Namespace) -> int:
    """Print maps, parameters (with units and ranges) and measures."""
    from simulation.measures import MEASURES
    from simulation.params import PARAMS
    from simulation.territory import available_maps

    what = args.what
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
    return 0


def _list_extra(what: str) -> None:
    """Scenarios and policy types, once those modules exist."""
    try:
        from simulation import scenario as _sc
    except ImportError:
        return
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
    r.add_argument("--reps", type=int, default=1, help="replications (default 1)")
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
    ls = sub.add_parser("list", help="list maps, scenarios, policy types, parameters, measures")
    ls.add_argument("what", nargs="?", default="all",
                    choices=["all", "maps", "scenarios", "policies", "params", "measures"])
    ls.set_defaults(func=cmd_list)
    _extend(sub)
    return ap


def _extend(sub) -> None:
    """Subcommands added by later modules (scenarios, experiments, dashboard)."""
    for modname in ("simulation.scenario_cli", "simulation.experiment_cli",
                    "simulation.dashboard.cli"):
        try:
            mod = __import__(modname, fromlist=["register"])
        except ImportError:
            continue
        mod.register(sub)


def print_error(exc: BaseException | str) -> None:
    """Print a user error as one bounded message on standard error (``terrinum: error: ...``)."""
    from simulation.errors import bound_message

    print(f"terrinum: error: {bound_message(str(exc), MAX_ERROR_CHARS)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``terrinum`` command."""
    from simulation.params import ParameterError
    from simulation.territory import MapError

    try:
        from simulation.scenario import ScenarioError
    except ImportError:  # pragma: no cover - scenario module absent
        ScenarioError = UserError  # noqa: N806

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for provenance records
    try:
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


if __name__ == "__main__":  # pragma: no cover
    # run the package module's main, not this __main__ copy: otherwise the error classes
    # other modules raise (simulation.cli.UserError) differ from the ones caught here
    from simulation.cli import main as _main

    sys.exit(_main())
