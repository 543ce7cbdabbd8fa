"""``terrinum debrief``: the printable one-page debrief of a saved workshop."""

from __future__ import annotations

import argparse
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``debrief`` to the ``terrinum`` command."""
    from simulation.dashboard.debrief import DEFAULT_REPS

    d = subparsers.add_parser(
        "debrief", help="the printable one-page debrief of a saved workshop: decisions, "
                        "votes, before/after of the question's measures with their "
                        "uncertainty",
        description="Rebuild a workshop saved from the dashboard, run the reference and the "
                    "room's decisions with N paired replications over the workshop's "
                    "length, and write DIR/debrief.html (one A4 page) with the two "
                    "scenario files it ran.")
    d.add_argument("workshop", metavar="WORKSHOP.json",
                   help="workshop file saved from the dashboard (JSON)")
    d.add_argument("--reps", type=int, default=DEFAULT_REPS,
                   help=f"paired replications (common random numbers; default {DEFAULT_REPS})")
    d.add_argument("--lang", default="fr",
                   help="language of the page: fr (default) or en")
    d.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the machine's cores)")
    d.add_argument("--out", default="out/debrief", help="output folder (default out/debrief)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_debrief)


def cmd_debrief(args: argparse.Namespace) -> int:
    """Write the debrief page; errors (file, key, what is allowed) exit with status 2."""
    from simulation.dashboard.debrief import check_options, make_debrief

    check_options(args.workshop, args.reps, args.lang)   # before the workshop is replayed
    if args.workers is not None and args.workers < 1:
        from simulation.errors import UserError

        raise UserError(f"--workers must be at least 1, got {args.workers}")
    t0 = time.perf_counter()
    d = make_debrief(args.workshop, args.out, reps=args.reps, lang=args.lang,
                     workers=args.workers, progress=not args.quiet)
    print(f"Debrief of {args.workshop}: {len(d.decisions)} decision(s), {len(d.votes)} "
          f"vote(s), {d.months} months, {d.reps} paired replication(s) in "
          f"{time.perf_counter() - t0:.0f} s -> {d.files['page']}")
    for r in d.table:
        print(f"  {r['label']}: {r['reference']} -> {r['after']} ({r['diff']}; "
              f"{r['verdict']})")
    return 0


__all__ = ["register", "cmd_debrief"]
