"""ABC-SMC with pyabc, on the calibration's engines, seeded and resumable.

pyabc (Klinger, Rickert and Hasenauer 2018; Schälte et al. 2022) runs the sequential Monte
Carlo: priors, perturbation kernels (multivariate normal transitions), the epsilon schedule
(median of the previous generation's distances) and the weights. What this module adds is
one :class:`pyabc.sampler.Sampler`, :class:`SeededSampler`, which

* sends the work of a generation as ``population`` tasks to a
  :class:`~simulation.calibration.runs.Engine` (this process, the local pool or Dask);
* seeds each task from (master seed, generation, task): a task draws parameters and
  simulates until it has one accepted particle, so a generation's particles do not depend on
  the number of workers or on the order in which tasks finish;
* keeps each finished task in a result file, so a generation killed half-way is resumed
  without re-running its finished tasks (the generations already done are in pyabc's
  SQLite history, which :meth:`pyabc.ABCSMC.load` continues).
"""

from __future__ import annotations

import pickle
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyabc
from pyabc.sampler import Sampler

from simulation.calibration.runs import Engine, ResultCache


def quiet_pyabc() -> None:
    """Pyabc's loggers at WARNING (the calibration prints its own progress)."""
    import logging

    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon",
                 "ABC.Acceptor", "ABC.Transition", "ABC.Predictor", "ABC.Population",
                 "ABC.Adaptation"):
        logging.getLogger(name).setLevel(logging.WARNING)


def task_seed(master: int, t: int, i: int) -> int:
    """Seed of task ``i`` of generation ``t`` (t = -1: the calibration sample)."""
    return int(zlib.crc32(f"{master}:{t}:{i}".encode()) & 0x7FFFFFFF)


class _Task:
    """One task: seed numpy's and Python's generators, then simulate until one is accepted."""

    def __init__(self, simulate_one: bytes, seed: int, sample_factory: Any) -> None:
        self.simulate_one = simulate_one
        self.seed = seed
        self.sample_factory = sample_factory

    def __call__(self) -> tuple[Any, int]:
        import cloudpickle

        simulate_one = cloudpickle.loads(self.simulate_one)
        np.random.seed(self.seed)  # noqa: NPY002 - pyabc draws from the global generator
        random.seed(self.seed)
        sample = self.sample_factory()
        n = 0
        while True:
            particle = simulate_one()
            n += 1
            sample.append(particle)
            if particle.accepted:
                return sample, n


def _run_task(task: _Task) -> tuple[Any, int]:
    return task()


class SeededSampler(Sampler):
    """A pyabc sampler on an :class:`Engine`, seeded per task, with a result file per task.

    Args:
        engine: where tasks run.
        folder: where finished tasks are kept (``t<generation>_<task>.pkl``).
        master_seed: the calibration's seed.
        on_task: called with (accepted so far, population, simulations so far) as tasks end.
    """

    def __init__(self, engine: Engine, folder: Path, master_seed: int,
                 on_task: Callable[[int, int, int], None] | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.cache = ResultCache(Path(folder))
        self.master_seed = int(master_seed)
        self.on_task = on_task

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,  # noqa: D102
                                all_accepted=False, ana_vars=None):
        import cloudpickle

        payload = cloudpickle.dumps(simulate_one)
        keys = [f"t{t}_{i}" for i in range(n)]
        results: list[tuple[Any, int] | None] = [self.cache.get(k) for k in keys]
        todo = [i for i, r in enumerate(results) if r is None]
        done_n = [sum(1 for r in results if r is not None)]
        sims = [sum(r[1] for r in results if r is not None)]
        if self.on_task:
            self.on_task(done_n[0], n, sims[0])

        def arrived(j: int, res: tuple[Any, int]) -> None:
            i = todo[j]
            self.cache.put(keys[i], res)
            results[i] = res
            done_n[0] += 1
            sims[0] += res[1]
            if self.on_task:
                self.on_task(done_n[0], n, sims[0])

        tasks = [_Task(payload, task_seed(self.master_seed, t, i), self.sample_factory)
                 for i in todo]
        self.engine.map(_run_task, tasks, arrived)
        sample = self._create_empty_sample()
        total = 0
        for res in results:
            s, k = res
            sample += s
            total += k
        self.nr_evaluations_ = total
        return sample


def prior_of(priors) -> pyabc.Distribution:
    """Pyabc's uniform priors on the calibration's ranges."""
    return pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.lo, p.hi - p.lo)
                                 for p in priors})


def distance(x: dict, x0: dict) -> float:
    """Pyabc distance: the model already returns its distance to the data."""
    return float(x["distance"])


def make_abc(model: Callable[[dict], dict], priors, population: int,
             sampler: Sampler) -> pyabc.ABCSMC:
    """The ABCSMC object (median epsilon schedule, multivariate normal transitions)."""
    return pyabc.ABCSMC(model, prior_of(priors), distance, population_size=population,
                        sampler=sampler, eps=pyabc.MedianEpsilon())


def history_generations(db: Path) -> int:
    """Number of generations stored in pyabc's database (0 when none)."""
    if not db.is_file():
        return 0
    h = pyabc.History(f"sqlite:///{db}")
    try:
        return int(h.n_populations)
    except Exception:  # noqa: BLE001 - an empty or unfinished database
        return 0


def dump(obj: Any) -> bytes:
    """Pickle (helper for result files)."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
