"""The ``terrinum`` command line (the application layer, with the dashboard).

Every user error (bad parameter, bad file, unknown map) is printed as one clear message on
standard error with exit status 2, never as a Python traceback.

Modules:
    main: the parser, ``run`` and ``list``, and :func:`main` (the ``terrinum`` entry point).
    scenario_commands: ``validate``, ``compare``, ``demo`` and the body of ``run``.
    experiment_commands: ``sweep`` and ``analyse``.
    common: helpers shared by them (``--set`` parsing, exit status).
"""

from simulation.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
