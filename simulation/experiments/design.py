"""What an experiment is: factors, outcomes, a design, replications; and the designs' samples.

:class:`Experiment` is the validated content of an experiment file
(:mod:`simulation.experiments.files` reads and checks the TOML). Designs: a full grid, or
Latin hypercube, Sobol (Saltelli) and Morris samples drawn with SALib. Run identifiers hash a
design point's values and its seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.engine.measures import MEASURES
from simulation.engine.rng import replication_seeds
from simulation.errors import UserError
from simulation.errors import clip_repr as _q

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris")


ROLES = ("lever", "uncertainty", "parameter")


COMBINE = ("weighted", "mean", "sum")


MAX_RUNS = 200_000


MAP = "_map"


class ExperimentError(UserError, ValueError):
    """An experiment file that cannot be used; the message names the file and key path."""


# ============================================================================ data classes
@dataclass(frozen=True)
class Factor:
    """One varied input.

    Attributes:
        name: as written in the file: a parameter name or ``policy.<type>.<field>``.
        target: ``"param"`` or ``"policy"``.
        kind: ``"float"``, ``"int"``, ``"bool"`` or ``"choice"`` (text values).
        role: ``"lever"``, ``"uncertainty"`` or ``"parameter"``.
        label: words used in reports.
        unit: unit of the values.
        lo: lower end of the range (None when given by values).
        hi: upper end of the range.
        values: explicit grid values (None when given by a range).
        n: grid points over the range.
        policy_type: the policy type for policy fields.
        field: the policy field for policy fields.
    """

    name: str
    target: str
    kind: str
    role: str
    label: str
    unit: str
    lo: float | None = None
    hi: float | None = None
    values: tuple | None = None
    n: int | None = None
    policy_type: str | None = None
    field: str | None = None

    def grid_values(self) -> list:
        """Values of this factor in a full grid (explicit values or ``n`` evenly spaced)."""
        if self.values is not None:
            return list(self.values)
        assert self.lo is not None and self.hi is not None and self.n is not None
        xs = np.linspace(self.lo, self.hi, self.n)
        if self.kind == "int":
            return sorted({int(round(x)) for x in xs})
        return [float(f"{x:.12g}") for x in xs]

    def bounds(self) -> tuple[float, float]:
        """(low, high) of the factor's range, or of its values."""
        if self.lo is not None and self.hi is not None:
            return float(self.lo), float(self.hi)
        vals = [float(v) for v in (self.values or ()) if not isinstance(v, str)]
        return (min(vals), max(vals)) if vals else (0.0, 1.0)

    def apply(self, x: Any) -> Any:
        """The value given to the model for a sampled ``x`` (integers rounded)."""
        if self.kind == "int":
            return int(round(float(x)))
        if self.kind == "bool":
            return bool(x)
        if self.kind == "choice":
            return str(x)
        return float(x)


@dataclass(frozen=True)
class Outcome:
    """One measured outcome of a run (a number per run).

    Attributes:
        name: column name in the analysis tables.
        measure: declared measure name.
        territories: None for the map level, else a selector dict (codes, kinds, regions).
        combine: how territories are combined: ``weighted`` (by households), ``mean``, ``sum``.
        at: ``"end"`` (last month) or ``"mean"`` (mean over a window).
        window: (from, to) in years from the start, inclusive, for ``at = "mean"``.
        label: words used in reports.
    """

    name: str
    measure: str
    territories: dict | None = None
    combine: str = "weighted"
    at: str = "end"
    window: tuple[float, float] | None = None
    label: str = ""

    @property
    def series(self) -> str:
        """Value of the ``territory`` column holding this outcome's series in run files."""
        return MAP if self.territories is None else "@" + selector_tag(self.territories)

    def describe(self) -> str:
        """Plain words: what, where, when."""
        m = MEASURES[self.measure]
        where = "map" if self.territories is None else selector_tag(self.territories)
        when = ("at the end" if self.at == "end" else
                f"mean over years {self.window[0]:g}-{self.window[1]:g}")
        return f"{m.label_en} ({m.unit}), {where}, {when}"


@dataclass(frozen=True)
class Design:
    """How design points are generated.

    Attributes:
        kind: ``grid``, ``lhs``, ``sobol`` or ``morris``.
        samples: LHS points.
        base_samples: Sobol base sample size N (a power of 2).
        second_order: Sobol second-order indices (more runs).
        trajectories: Morris trajectories r.
        levels: Morris grid levels p (even).
    """

    kind: str
    samples: int | None = None
    base_samples: int | None = None
    second_order: bool = False
    trajectories: int | None = None
    levels: int = 4

    def to_dict(self) -> dict[str, Any]:
        """The design's settings (no None)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Goal:
    """One condition of the scenario-discovery goal: ``outcome`` below or above ``value``."""

    outcome: str
    op: str
    value: float

    def describe(self, label: str | None = None) -> str:
        """Plain words, e.g. 'theil_between below 0.03'."""
        return f"{label or self.outcome} {self.op} {self.value:g}"

    def met(self, values: np.ndarray) -> np.ndarray:
        """Boolean array: which values meet the condition (strictly)."""
        v = np.asarray(values, dtype=float)
        return v < self.value if self.op == "below" else v > self.value


@dataclass(frozen=True)
class Discovery:
    """Scenario-discovery settings (PRIM).

    Attributes:
        goals: conditions that must all hold for a run to meet the goal.
        inputs: names of the factors PRIM may restrict.
        min_density: a box is chosen on the peeling trajectory as the one with most coverage
            among those with at least this density (share of its runs meeting the goal).
        max_boxes: boxes searched at most.
        mass_min: smallest share of runs in a box (PRIM's mass_min).
    """

    goals: tuple[Goal, ...]
    inputs: tuple[str, ...]
    min_density: float = 0.8
    max_boxes: int = 3
    mass_min: float = 0.05

    def describe(self, labels: Mapping[str, str] | None = None) -> str:
        """The goal in plain words."""
        labels = labels or {}
        return " and ".join(g.describe(labels.get(g.outcome)) for g in self.goals)


@dataclass(frozen=True)
class Run:
    """One planned run: a design point, a replicate and its seed."""

    run_id: str
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]


@dataclass
class Experiment:
    """A validated experiment (see the module docstring for the file format).

    Attributes:
        name: experiment name.
        path: the file it was read from (None when parsed from text).
        text: the file's text.
        sha256: SHA-256 of the file's bytes (UTF-8 text).
        quick: whether the ``[quick]`` variant was applied.
        title: one-line title.
        question: the question it answers.
        scenario_ref: the scenario as written (name or path).
        scenario: the loaded scenario (None when loaded without it, e.g. for analysis).
        years: simulated years per run.
        n_households: household agents per run.
        seed: master seed.
        replications: runs per design point.
        store_territories: keep every territory's rows in run files.
        params: fixed parameter overrides (on top of the scenario's).
        policies: policies added to the scenario's (plain dicts).
        factors: the varied factors.
        design: the design.
        outcomes: the outcomes.
        discovery: PRIM settings (None: no scenario discovery).
    """

    name: str
    path: Path | None
    text: str
    sha256: str
    quick: bool
    title: str
    question: str
    scenario_ref: str
    scenario: Any
    years: float
    n_households: int
    seed: int
    replications: int
    store_territories: bool
    params: dict[str, Any]
    policies: list[dict[str, Any]]
    factors: list[Factor]
    design: Design
    outcomes: list[Outcome]
    discovery: Discovery | None = None
    _matrix: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ design
    @property
    def factor_names(self) -> list[str]:
        """Names of the factors, in file order."""
        return [f.name for f in self.factors]

    def problem(self) -> dict[str, Any]:
        """The SALib problem dict (names and bounds of the factors)."""
        return salib_problem(self.factor_names, [f.bounds() for f in self.factors])

    def matrix(self) -> np.ndarray:
        """The design matrix: one row per design point, one column per factor (raw samples).

        Grids give an object array of the values; other designs a float array.
        """
        if self._matrix is None:
            d = self.design
            if d.kind == "grid":
                self._matrix = grid_design([f.grid_values() for f in self.factors])
            else:
                self._matrix = sample_design(
                    d.kind, [f.bounds() for f in self.factors], seed=self.seed,
                    samples=d.samples, base_samples=d.base_samples,
                    second_order=d.second_order, trajectories=d.trajectories, levels=d.levels)
        return self._matrix

    def set_matrix(self, matrix: np.ndarray) -> None:
        """Use a stored design matrix (from a sweep's manifest) instead of sampling again."""
        self._matrix = np.asarray(matrix)

    def points(self) -> list[dict[str, Any]]:
        """Applied factor values of every design point (integers rounded)."""
        return [{f.name: f.apply(x) for f, x in zip(self.factors, row, strict=True)}
                for row in self.matrix()]

    def seeds(self) -> list[int]:
        """Replication seeds, common to all design points."""
        return replication_seeds(self.seed, self.replications)

    def runs(self) -> list[Run]:
        """Every planned run, point by point, replicate by replicate."""
        seeds = self.seeds()
        out = []
        for p, values in enumerate(self.points()):
            for r, s in enumerate(seeds):
                out.append(Run(run_id(p, values, s), p, r, s, values))
        return out

    def n_runs(self) -> int:
        """Number of planned runs (points x replications)."""
        return design_size(self.design, self.factors) * self.replications

    # ------------------------------------------------------------------ runs
    def run_inputs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of :func:`simulation.scenarios.runner.run_replication` for a point.

        Returns:
            dict with ``params`` (the experiment's fixed parameters and the varied ones),
            ``policies`` (the experiment's policies with varied fields set, as dicts) and
            ``n_households``.
        """
        params = dict(self.params)
        pols = [dict(p) for p in self.policies]
        n_households = self.n_households
        for f in self.factors:
            v = values[f.name]
            if f.target == "param":
                if f.name == "n_households":
                    n_households = int(v)
                else:
                    params[f.name] = v
            else:
                for p in pols:
                    if p["type"] == f.policy_type:
                        p[f.field] = v
        return {"params": params, "policies": pols, "n_households": n_households}

    def describe(self) -> str:
        """One paragraph: what will run."""
        d = self.design
        pts = design_size(d, self.factors)
        return (f"experiment '{self.name}'{' (quick)' if self.quick else ''}: {d.kind} design "
                f"over {len(self.factors)} factor(s) ({', '.join(self.factor_names)}), "
                f"{pts} points x {self.replications} replication(s) = {self.n_runs()} runs of "
                f"{self.years:g} years with {self.n_households:,} households on scenario "
                f"'{self.scenario_ref}'")

    def spec(self) -> dict[str, Any]:
        """A JSON-ready description (stored in the sweep manifest)."""
        return {
            "name": self.name, "title": self.title, "question": self.question,
            "scenario": self.scenario_ref, "years": self.years,
            "n_households": self.n_households, "seed": self.seed,
            "replications": self.replications, "quick": self.quick,
            "store_territories": self.store_territories, "params": self.params,
            "policies": self.policies, "design": self.design.to_dict(),
            "factors": [{k: v for k, v in f.__dict__.items() if v is not None}
                        for f in self.factors],
            "outcomes": [{"name": o.name, "measure": o.measure, "territories": o.territories,
                          "combine": o.combine, "at": o.at, "window": o.window,
                          "label": o.label} for o in self.outcomes],
            "discovery": None if self.discovery is None else {
                "goals": [g.__dict__ for g in self.discovery.goals],
                "inputs": list(self.discovery.inputs),
                "min_density": self.discovery.min_density,
                "max_boxes": self.discovery.max_boxes, "mass_min": self.discovery.mass_min},
        }


# ============================================================================ designs
def salib_problem(names: Sequence[str], bounds: Sequence[tuple[float, float]]
                  ) -> dict[str, Any]:
    """A SALib problem dict from factor names and (low, high) bounds."""
    return {"num_vars": len(names), "names": list(names),
            "bounds": [[float(lo), float(hi)] for lo, hi in bounds]}


def grid_design(values: Sequence[Sequence[Any]]) -> np.ndarray:
    """Full factorial design: every combination, the first factor varying slowest."""
    rows = list(itertools.product(*values))
    out = np.empty((len(rows), len(values)), dtype=object)
    for i, row in enumerate(rows):
        out[i, :] = row
    return out


def sample_design(kind: str, bounds: Sequence[tuple[float, float]], *, seed: int,
                  samples: int | None = None, base_samples: int | None = None,
                  second_order: bool = False, trajectories: int | None = None,
                  levels: int = 4) -> np.ndarray:
    """Sample a design over a box of continuous factors.

    Args:
        kind: ``"lhs"``, ``"sobol"`` or ``"morris"``.
        bounds: (low, high) of each factor.
        seed: sampler seed (the same seed gives the same design).
        samples: LHS points.
        base_samples: Sobol base sample size N (power of 2); N x (D + 2) points, or
            N x (2 D + 2) with ``second_order``.
        second_order: Sobol second-order indices.
        trajectories: Morris trajectories r; r x (D + 1) points.
        levels: Morris levels p.

    Returns:
        Float array (points, factors).
    """
    names = [f"x{i}" for i in range(len(bounds))]
    problem = salib_problem(names, bounds)
    if kind == "lhs":
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=len(bounds), rng=np.random.default_rng(seed))
        lo = np.array([b[0] for b in bounds], float)
        hi = np.array([b[1] for b in bounds], float)
        return qmc.scale(sampler.random(int(samples)), lo, hi)
    if kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, int(base_samples), calc_second_order=second_order,
                            seed=seed)
    if kind == "morris":
        from SALib.sample import morris

        return morris.sample(problem, int(trajectories), num_levels=int(levels), seed=seed)
    raise ValueError(f"unknown design kind {_q(kind)}; allowed: lhs, sobol, morris")


def design_size(design: Design, factors: Sequence[Factor]) -> int:
    """Number of design points, without sampling."""
    D = len(factors)
    if design.kind == "grid":
        return math.prod(len(f.grid_values()) for f in factors)
    if design.kind == "lhs":
        return int(design.samples or 0)
    if design.kind == "sobol":
        return int(design.base_samples or 0) * ((2 * D + 2) if design.second_order else (D + 2))
    return int(design.trajectories or 0) * (D + 1)


def run_id(point: int, values: Mapping[str, Any], seed: int) -> str:
    """Stable id of a run: hash of its design point index, factor values and seed."""
    key = json.dumps({"point": int(point), "seed": int(seed),
                      "values": {k: _jsonable(v) for k, v in sorted(values.items())}},
                     sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def selector_tag(sel: Mapping[str, Sequence[str]]) -> str:
    """Short text for a territory selector, e.g. ``kinds=rural`` or ``codes=R01+R02``."""
    parts = [f"{k}={'+'.join(sel[k])}" for k in ("codes", "kinds", "regions") if sel.get(k)]
    return ";".join(parts)
