"""Named random streams derived from one master seed.

A run has one master seed. Each stochastic process draws from its own
:class:`numpy.random.Generator`, derived from the master seed and the stream's name through
:class:`numpy.random.SeedSequence`. Adding draws to one process (a policy acting on
relocation, say) therefore never shifts the draws of another (labour matching, demography):
scenarios compared with the same seed differ by their mechanisms, not by reshuffled noise
(common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = (
    "init",          # initial population and firms
    "labour",        # separations, matching, layoffs
    "consumption",   # reserved (consumption is deterministic given shares)
    "services",      # claims and take-up of rights
    "literacy",      # mediated learning
    "relocation",    # who considers moving and the logit draws
    "demography",    # ageing, dissolution, household formation
    "firms",         # creation, listing on platforms
    "observation",   # the sample of households whose location choices measure attractiveness
)


def stream_key(name: str) -> int:
    """Stable integer key for a stream name (CRC-32, independent of Python's hash seed)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """A master seed and one generator per named stream.

    Args:
        seed: master seed (non-negative integer).
    """

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._gens:
            if name not in STREAMS:
                raise KeyError(f"unknown random stream '{name}'; declared: {', '.join(STREAMS)}")
            ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(stream_key(name),))
            self._gens[name] = np.random.Generator(np.random.PCG64(ss))
        return self._gens[name]

    def state(self) -> dict[str, dict]:
        """Bit-generator states of the streams created so far (for snapshots)."""
        return {k: g.bit_generator.state for k, g in self._gens.items()}

    def set_state(self, state: dict[str, dict]) -> None:
        """Restore states saved with :meth:`state`."""
        for k, s in state.items():
            self[k].bit_generator.state = s


def replication_seeds(master: int, n: int) -> list[int]:
    """Derive ``n`` replication seeds from a master seed (stable across machines)."""
    ss = np.random.SeedSequence(master)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in ss.spawn(n)]
