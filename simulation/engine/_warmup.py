"""Compile the numba kernels once: ``python -m simulation.engine._warmup`` (used by setup.sh).

A module of its own because ``python -m simulation.engine.kernels`` runs a module that the
package ``simulation.engine`` has already imported, which Python reports with a
``RuntimeWarning`` ("found in sys.modules ... prior to execution").
"""

from __future__ import annotations

import time

from simulation.engine.kernels import warm_up


def main() -> None:
    """Compile (or load from numba's cache) every kernel and print the time taken (s)."""
    t0 = time.perf_counter()
    warm_up()
    print(f"kernels ready in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
