"""``terrinum calibrate``: fit the model to France's data (a calibration file), resumably.

Examples::

    terrinum calibrate calibration_france --out out/calib            # about an hour, 2 cores
    terrinum calibrate calibration_france --quick --out out/calib-q  # a few minutes
    terrinum analyse out/calib                                       # the calibration report

Re-running the same command continues a killed calibration: finished stages, runs and ABC
generations are kept in the folder. User errors print one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulation.safe_io import check_output_dir


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run (or continue) a calibration into its folder."""
    from simulation.calibration.calibrate import calibrate
    from simulation.calibration.files import load_calibration

    cal = load_calibration(args.calibration, quick=args.quick)
    default = Path("out") / f"calib-{cal.name}{'-quick' if args.quick else ''}"
    out = check_output_dir(args.out or default, "--out (the calibration folder)")
    client = cluster = None
    if args.scheduler or args.dask_local:
        from simulation.experiments.sweep import dask_client

        client, cluster = dask_client(args.scheduler, args.dask_local)
    command = "terrinum " + " ".join(getattr(args, "argv", []) or sys.argv[1:])
    try:
        res = calibrate(cal, out, workers=args.workers, client=client,
                        progress=not args.quiet, command=command)
    except KeyboardInterrupt:
        print(f"terrinum: calibration interrupted; what is done is kept in {out}; run the "
              "same command again to continue it", file=sys.stderr)
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    print(f"Calibrated {', '.join(f'{k} = {v:.4g}' for k, v in res['parameters'].items())}; "
          f"{res['provenance']['draws']} posterior draws; folder {out}")
    print(f"Report: terrinum analyse {out}   Ship it: python scripts/ship_calibration.py {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand."""
    from simulation.cli.experiment_commands import _guard, add_engine_options

    c = subparsers.add_parser(
        "calibrate", help="fit territory constants and behavioural parameters to France's "
                          "data (ABC-SMC with pyabc); resumable",
        description="Run a calibration file: territory constants by fixed point, Morris "
                    "screening, ABC-SMC (pyabc), calibrated defaults, posterior draws and "
                    "the fit. Re-running the same command continues an interrupted one.")
    c.add_argument("calibration", help="calibration file (TOML) or built-in name "
                                       "(calibration_france)")
    c.add_argument("--out", default=None,
                   help="calibration folder (default out/calib-<name>[-quick])")
    c.add_argument("--quick", action="store_true",
                   help="the small variant of the file's [quick] table (minutes)")
    add_engine_options(c)
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=_guard(cmd_calibrate))
