"""Shared fixtures: small, fast model configurations."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SMALL = {"n_households": 3_000}


@pytest.fixture(scope="session")
def small_kwargs() -> dict:
    return dict(SMALL)


@pytest.fixture(scope="session")
def synthetic_run():
    """A 3-year run on the synthetic map, shared by read-only tests."""
    from simulation import TerritoryModel

    m = TerritoryModel(map="synthetic", seed=3, n_households=2_000)
    res = m.run(years=3)
    return m, res
