"""Speed benchmark (not a test): ``python -m benchmarks.bench``.

Prints, for the default configuration on ``france-departements`` and at 10x its number of
households: wall time of initialisation and of 20 simulated years, the cost per
household-agent-step in microseconds, the cost of a trivial Mesa agent step measured in the
same run (give one coin to a random agent), their ratio, and the peak memory of the process;
then the processor time of the run per household-agent-step (``cpu us``), which other
processes on a busy machine disturb less than wall time. Each configuration runs in a fresh
child process so that peak memory is its own. The compiled kernels
(:mod:`simulation.engine.kernels`) are compiled or loaded from their cache first; loading them from
the cache in each child (about 0.3 s) is part of ``init``.

Options: ``--years Y`` (default 20), ``--sizes 50000,500000``, ``--map NAME``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def trivial_mesa_step_us(n: int = 10_000, steps: int = 50) -> float:
    """Cost of a trivial Mesa agent step (µs): each agent gives a coin to a random agent."""
    import mesa

    class Coin(mesa.Agent):
        def __init__(self, model):
            super().__init__(model)
            self.wealth = 1

        def step(self):
            if self.wealth > 0:
                other = self.random.choice(self.model.agent_list)
                other.wealth += 1
                self.wealth -= 1

    class Money(mesa.Model):
        def __init__(self, n, rng=0):
            super().__init__(rng=rng)
            Coin.create_agents(self, n)
            self.agent_list = list(self.agents)

        def step(self):
            self.agents.shuffle_do("step")

    m = Money(n)
    m.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        m.step()
    return (time.perf_counter() - t0) / (n * steps) * 1e6


def one(n: int, years: float, map_name: str) -> dict:
    """Run one configuration in this process; return its figures."""
    from simulation import TerritoryModel

    t0 = time.perf_counter()
    model = TerritoryModel(map=map_name, seed=1, n_households=n)
    t_init = time.perf_counter() - t0
    steps = int(round(12 * years))
    t1 = time.perf_counter()
    c1 = time.process_time()
    for _ in range(steps):
        model.step()
    t_run = time.perf_counter() - t1
    c_run = time.process_time() - c1
    hh_steps = float(sum(h["households"] for h in model._history_map[1:])) \
        / model.household_weight
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"n_households": n, "years": years, "init_s": t_init, "run_s": t_run,
            "wall_s": t_init + t_run, "us_per_household_step": t_run / hh_steps * 1e6,
            "cpu_us_per_household_step": c_run / hh_steps * 1e6,
            "peak_mb": peak_mb, "firms_end": int(model.firms.alive.sum())}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--years", type=float, default=20.0)
    ap.add_argument("--sizes", default="50000,500000")
    ap.add_argument("--map", default="france-departements")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(one(a.one, a.years, a.map)))
        return 0
    # compile the numba kernels (or load them from the on-disk cache) before timing: a
    # one-time cost per machine, which setup.sh pays at install
    from simulation.engine import kernels

    t0 = time.perf_counter()
    kernels.warm_up()
    print(f"kernels compiled or loaded from cache in {time.perf_counter() - t0:.1f} s "
          "(once per machine; not in the figures below)")
    trivial = trivial_mesa_step_us()
    print(f"trivial Mesa agent step: {trivial:.3f} us/agent-step (10,000 agents, 50 steps)")
    print(f"{'households':>10} {'init s':>7} {'20y run s':>9} {'wall s':>7} "
          f"{'us/hh-step':>10} {'ratio':>6} {'peak MB':>8} {'cpu us':>7}")
    for n in (int(x) for x in a.sizes.split(",")):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--one", str(n),
                              "--years", str(a.years), "--map", a.map],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{n:>10,} {r['init_s']:>7.2f} {r['run_s']:>9.2f} {r['wall_s']:>7.2f} "
              f"{r['us_per_household_step']:>10.3f} {r['us_per_household_step'] / trivial:>6.3f} "
              f"{r['peak_mb']:>8.0f} {r['cpu_us_per_household_step']:>7.3f}")
    print("targets: default run < 10 s; at 10x, ratio <= 0.2; peak memory at 10x < 2,000 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
