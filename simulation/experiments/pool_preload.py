"""Imported once by the fork server of the worker pools (Linux), before any worker starts.

Workers forked from that server start with the model, its dependencies and the compiled
kernels already loaded, instead of importing them again in every worker (about 2 s of
processor time per worker with ``spawn``). Nothing here draws a random number or keeps
state: a run's results do not depend on how its worker was started.
"""

from __future__ import annotations

import simulation.engine.model  # noqa: F401 - the model and everything it imports
import simulation.experiments.sweep  # noqa: F401
import simulation.scenarios.runner  # noqa: F401

try:
    from simulation.engine import kernels

    kernels.warm_up()
except Exception:  # noqa: BLE001 - a worker then compiles or loads them itself
    pass
