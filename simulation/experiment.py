"""Experiment files: what to vary, how to sample it, how often to replicate, what to measure.

An experiment is a TOML file (built-in ones live in ``experiments/``). It names a base
scenario, the factors to vary, a design, a number of replications and the outcomes. It is
validated like a scenario file: every error names the file, the key path and what is allowed
(:class:`ExperimentError`, exit status 2 on the command line).

Format (every table but ``[experiment]``, ``[design]``, ``[[factors]]`` and ``[[outcomes]]``
is optional)::

    [experiment]
    name = "tiers_lieux_x_commission"    # default: the file name
    title = "Tiers-lieux support x platform commission"
    question = "Does supporting tiers-lieux still pay when the platform raises its fee?"
    scenario = "teaching_synthetic"     # built-in scenario name, or a path relative to this file
    replace_policies = false            # true: drop the scenario's policies (keep its map, params)
    years = 3                           # default: the scenario's
    n_households = 2000                 # default: the scenario's
    seed = 2024                         # master seed: replication seeds and design samplers
    replications = 3                    # runs per design point (common random numbers)
    store_territories = false           # true: keep every territory's rows in the dataset

    [design]
    kind = "grid"          # "grid" | "lhs" | "sobol" | "morris"
    # lhs: samples = 100; sobol: base_samples = 64 (a power of 2), second_order = false;
    # morris: trajectories = 10, levels = 4

    [params]               # fixed parameter values for every run, on top of the scenario's
    tiers_lieu_seats = 20

    [[policies]]           # policies added to the scenario's in every run
    type = "tiers_lieux"
    territories = { kinds = ["rural", "town"] }
    places = 0

    [[factors]]
    name = "policy.tiers_lieux.places"   # field 'places' of the policy of type tiers_lieux above
    values = [0, 2, 4, 8]                # grid: explicit values ...
    [[factors]]
    name = "global_commission"           # a declared parameter (terrinum list params)
    range = [0.05, 0.30]                 # ... or a range: with n = points for a grid
    n = 4
    role = "lever"                       # optional: lever | uncertainty | parameter
    label = "platform commission"        # optional: words used in reports

    [[outcomes]]
    measure = "attractiveness"           # a declared measure (terrinum list measures)
    territories = { kinds = ["rural"] }  # default: the map level; or a list of codes
    combine = "weighted"                 # over territories: weighted (by households) | mean | sum
    at = "mean"                          # "end" (last month) or "mean" over a window
    last = 1                             # years before the end ... or window = [from, to] years
    name = "rural_attractiveness"        # column name (default: derived from the above)

    [discovery]                          # scenario discovery with PRIM (any design)
    inputs = "levers"                    # "levers" | "all" | a list of factor names
    min_density = 0.8                    # box chosen: most coverage with at least this density
    max_boxes = 3
    [[discovery.goal]]
    outcome = "theil_between"
    below = 0.03
    [[discovery.goal]]
    outcome = "local_value_captured"
    above = 0.35

    [quick]                              # smaller variant used by --quick (and by tests)
    replications = 1
    years = 1
    n_households = 1000
    n = 2                                # grid points of range factors
    samples = 8                          # lhs; base_samples (sobol), trajectories (morris)
    values = { "policy.tiers_lieux.places" = [0, 8] }

Factors:
    * a parameter by its declared name (``simulation.params.PARAMS``): its range or values are
      checked against the declared range and type; booleans only in grids (``values``);
    * ``policy.<type>.<field>``: a number field (or a choice such as ``payer``, grids only) of
      the one policy of that type in the experiment's ``[[policies]]``; values are checked by
      building the policy.

Designs: ``grid`` (full factorial, first factor slowest), ``lhs`` (Latin hypercube,
``scipy.stats.qmc``, seeded), ``sobol`` (Saltelli's scheme, ``SALib.sample.sobol``: base x
(factors + 2) points, x (2 factors + 2) with second order), ``morris`` (``SALib.sample.morris``:
trajectories x (factors + 1) points). Integer parameters are rounded when applied.

Runs: every design point runs ``replications`` times with the seeds
``replication_seeds(seed, replications)``, the same for every point (common random numbers).
Each run has a stable id, a hash of its point index, its factor values and its seed.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.cli import UserError
from simulation.measures import MEASURES
from simulation.params import PARAMS, ParameterError, Parameters, unknown_message
from simulation.resources import builtin_experiments_dir
from simulation.rng import replication_seeds

EXPERIMENTS_DIR = builtin_experiments_dir()  # see simulation.resources
DESIGN_KINDS = ("grid", "lhs", "sobol", "morris")
ROLES = ("lever", "uncertainty", "parameter")
COMBINE = ("weighted", "mean", "sum")
MAX_RUNS = 200_000
MAP = "_map"

_TOP_KEYS = ("experiment", "design", "params", "policies", "factors", "outcomes",
             "discovery", "quick")
_EXP_KEYS = ("name", "title", "question", "scenario", "replace_policies", "years",
             "n_households", "seed", "replications", "store_territories")
_DESIGN_KEYS = {"grid": ("kind",), "lhs": ("kind", "samples"),
                "sobol": ("kind", "base_samples", "second_order"),
                "morris": ("kind", "trajectories", "levels")}
_FACTOR_KEYS = ("name", "values", "range", "n", "role", "label")
_OUTCOME_KEYS = ("measure", "territories", "combine", "at", "last", "window", "name",
                 "label")
_DISCOVERY_KEYS = ("inputs", "min_density", "max_boxes", "mass_min", "goal")
_GOAL_KEYS = ("outcome", "below", "above")
_QUICK_KEYS = ("replications", "years", "n_households", "n", "samples", "base_samples",
               "trajectories", "levels", "values")
_POLICY_FIXED_FIELDS = ("type", "territories", "label", "which")


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
        """Keyword arguments of :func:`simulation.runner.run_replication` for a point.

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
    raise ValueError(f"unknown design kind {kind!r}; allowed: lhs, sobol, morris")


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


# ============================================================================ loading
def experiment_path(path_or_name: str | Path) -> Path:
    """Resolve an experiment argument: a file path, or the name of a built-in experiment."""
    p = Path(path_or_name)
    if p.suffix.lower() == ".toml" or p.exists() or len(p.parts) > 1:
        if not p.exists():
            raise ExperimentError(f"{p}: no such experiment file")
        return p
    cand = builtin_experiments_dir() / f"{p.name}.toml"
    if cand.exists():
        return cand
    names = available_experiments()
    close = difflib.get_close_matches(str(path_or_name), names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ExperimentError(
        f"{path_or_name}: no such experiment file or built-in experiment{hint} "
        f"(built-in: {', '.join(names) or 'none'})")


def available_experiments() -> list[str]:
    """Names of the built-in experiments (files in ``experiments/``)."""
    return sorted(p.stem for p in builtin_experiments_dir().glob("*.toml"))


def load_experiment(path_or_name: str | Path, *, quick: bool = False,
                    with_scenario: bool = True) -> Experiment:
    """Read and validate an experiment file.

    Args:
        path_or_name: a TOML file, or the name of a built-in experiment.
        quick: apply the file's ``[quick]`` table (a small variant).
        with_scenario: load the base scenario (needed to run; analysis does not need it).

    Returns:
        The validated :class:`Experiment`.

    Raises:
        ExperimentError: naming the file, the key path and what is allowed.
    """
    path = experiment_path(path_or_name)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ExperimentError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    return parse_experiment(text, path=path, quick=quick, with_scenario=with_scenario)


def parse_experiment(text: str, *, path: Path | None = None, quick: bool = False,
                     with_scenario: bool = True, scenario_info: Mapping[str, Any] | None = None
                     ) -> Experiment:
    """Validate an experiment given as TOML text.

    Args:
        text: the file's text.
        path: where it comes from (for messages and relative scenario paths).
        quick: apply the ``[quick]`` table.
        with_scenario: load the base scenario.
        scenario_info: when the scenario is not loaded, its ``years``, ``n_households`` and
            ``map`` (e.g. from a sweep manifest).
    """
    where = str(path) if path is not None else "<experiment>"
    ctx = _Ctx(where)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{where}: not valid TOML: {exc}") from None
    ctx.keys(raw, "", _TOP_KEYS)
    for key in ("experiment", "design"):
        if key not in raw:
            raise ctx.err(key, f"missing table [{key}]")
    for key in ("factors", "outcomes"):
        if key not in raw:
            raise ctx.err(key, f"missing [[{key}]] (at least one)")
    exp = ctx.table(raw["experiment"], "experiment")
    ctx.keys(exp, "experiment", _EXP_KEYS)
    quick_t = ctx.table(raw.get("quick", {}), "quick")
    ctx.keys(quick_t, "quick", _QUICK_KEYS)
    if quick and not quick_t:
        raise ctx.err("quick", "--quick needs a [quick] table in the experiment file")
    q = quick_t if quick else {}

    name = ctx.text(exp.get("name", path.stem if path else "experiment"), "experiment.name")
    scenario_ref = exp.get("scenario")
    if scenario_ref is None:
        raise ctx.err("experiment.scenario", "missing; give a built-in scenario name or the "
                      "path of a scenario file")
    scenario_ref = ctx.text(scenario_ref, "experiment.scenario")
    replace = exp.get("replace_policies", False)
    if not isinstance(replace, bool):
        raise ctx.err("experiment.replace_policies", f"must be true or false, got {replace!r}")
    scenario = None
    if with_scenario:
        scenario = _load_scenario(scenario_ref, path, ctx)
        if replace:
            scenario = scenario.with_overrides(replace_policies=True)
        info = {"years": scenario.years, "n_households": scenario.n_households,
                "map": scenario.map}
    else:
        info = dict(scenario_info or {})
    years = q.get("years", exp.get("years", info.get("years")))
    if years is None:
        raise ctx.err("experiment.years", "missing (the scenario gives none)")
    years = ctx.number(years, "quick.years" if "years" in q else "experiment.years",
                       lo=1 / 12, hi=200, what="years")
    nh_key = "quick.n_households" if "n_households" in q else "experiment.n_households"
    nh = q.get("n_households", exp.get("n_households", info.get("n_households")))
    if nh is None:
        nh = PARAMS["n_households"].default
    nh = ctx.param("n_households", nh, nh_key)
    seed = exp.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ctx.err("experiment.seed", f"must be a non-negative whole number, got {seed!r}")
    rep_key = "quick.replications" if "replications" in q else "experiment.replications"
    reps = q.get("replications", exp.get("replications", 1))
    reps = ctx.integer(reps, rep_key, lo=1, hi=10_000)
    store = exp.get("store_territories", False)
    if not isinstance(store, bool):
        raise ctx.err("experiment.store_territories", f"must be true or false, got {store!r}")

    params = _parse_params(raw.get("params", {}), ctx)
    policies = _parse_policies(raw.get("policies", []), ctx)
    design = _parse_design(raw["design"], q, ctx)
    factors = _parse_factors(raw["factors"], design.kind, policies, q, ctx)
    names = [f.name for f in factors]
    for n in names:
        if n in params:
            raise ctx.err("params", f"'{n}' is both fixed in [params] and varied in "
                          "[[factors]]; remove one")
    if len(factors) < 2 and design.kind in ("sobol", "morris"):
        raise ctx.err("factors", f"a {design.kind} design needs at least 2 factors")
    if "values" in q:
        unknown = set(q["values"]) - set(names)
        if unknown:
            raise ctx.err("quick.values", f"names no factor: {', '.join(sorted(unknown))}; "
                          f"factors: {', '.join(names)}")
    base_params = dict(getattr(scenario, "params", {}) or {}) if scenario is not None else {}
    _check_param_corners(base_params, params, factors, ctx)
    outcomes = _parse_outcomes(raw["outcomes"], years, ctx)
    discovery = _parse_discovery(raw.get("discovery"), factors, outcomes, ctx)
    n_points = design_size(design, factors)
    if n_points * reps > MAX_RUNS:
        raise ctx.err("design", f"{n_points} points x {reps} replications = "
                      f"{n_points * reps:,} runs; at most {MAX_RUNS:,} allowed")
    if scenario is not None:
        _check_selectors(outcomes, scenario, ctx)

    return Experiment(
        name=name, path=path, text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), quick=quick,
        title=ctx.text(exp.get("title", name), "experiment.title"),
        question=ctx.text(exp.get("question", ""), "experiment.question"),
        scenario_ref=scenario_ref, scenario=scenario, years=years, n_households=nh,
        seed=seed, replications=reps, store_territories=store, params=params,
        policies=policies, factors=factors, design=design, outcomes=outcomes,
        discovery=discovery)


# ============================================================================ validation
class _Ctx:
    """Error helper: messages start with the file and the key path."""

    def __init__(self, where: str, tag: str = "") -> None:
        self.where = where
        self.tag = tag

    def err(self, key: str, msg: str) -> ExperimentError:
        return ExperimentError(f"{self.where}: {key}{self.tag}: {msg}" if key else
                               f"{self.where}: {msg}")

    def keys(self, table: Mapping[str, Any], key: str, allowed: Sequence[str]) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(k, allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.err(f"{key}.{k}" if key else k,
                               f"unknown key{hint}; allowed: {', '.join(allowed)}")

    def table(self, v: Any, key: str) -> dict:
        if not isinstance(v, dict):
            raise self.err(key, f"must be a table, got {_tname(v)}")
        return v

    def text(self, v: Any, key: str) -> str:
        if not isinstance(v, str):
            raise self.err(key, f"must be a string, got {_tname(v)} {v!r}")
        return v

    def number(self, v: Any, key: str, *, lo: float, hi: float, what: str = "") -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.err(key, f"must be a number, got {_tname(v)} {v!r}")
        if not (lo <= v <= hi):
            raise self.err(key, f"{v!r} is out of range; allowed: {lo:g} to {hi:g} {what}")
        return float(v)

    def integer(self, v: Any, key: str, *, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, f"must be a whole number, got {_tname(v)} {v!r}")
        if not (lo <= v <= hi):
            raise self.err(key, f"{v!r} is out of range; allowed: {lo} to {hi}")
        return int(v)

    def param(self, name: str, v: Any, key: str) -> Any:
        try:
            return PARAMS[name].check(v)
        except ParameterError as exc:
            raise self.err(key, str(exc)) from None


def _tname(v: Any) -> str:
    return {dict: "table", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number"}.get(type(v), type(v).__name__)


def _load_scenario(ref: str, path: Path | None, ctx: _Ctx) -> Any:
    try:
        from simulation.scenario import load_scenario
    except ImportError as exc:  # pragma: no cover - scenario module missing
        raise ctx.err("experiment.scenario", f"scenario files are not available ({exc})") \
            from None
    target: str | Path = ref
    if path is not None and (ref.endswith(".toml") or "/" in ref):
        cand = (path.parent / ref)
        if cand.exists():
            target = cand
    try:
        return load_scenario(target)
    except (ValueError, FileNotFoundError) as exc:
        raise ctx.err("experiment.scenario", f"cannot load scenario '{ref}': {exc}") from None


def _parse_params(raw: Any, ctx: _Ctx) -> dict[str, Any]:
    tab = ctx.table(raw, "params")
    out = {}
    for k, v in tab.items():
        if k not in PARAMS:
            raise ctx.err(f"params.{k}", unknown_message(k))
        out[k] = ctx.param(k, v, f"params.{k}")
    return out


def _parse_policies(raw: Any, ctx: _Ctx) -> list[dict[str, Any]]:
    from simulation.policies import POLICY_TYPES, make_policy

    if not isinstance(raw, list):
        raise ctx.err("policies", "must be an array of tables ([[policies]])")
    out = []
    for i, p in enumerate(raw):
        key = f"policies[{i}]"
        p = ctx.table(p, key)
        if "type" not in p:
            raise ctx.err(f"{key}.type", f"missing; allowed: {', '.join(POLICY_TYPES)}")
        try:
            make_policy(p)
        except ValueError as exc:
            raise ctx.err(key, _pydantic_msg(exc)) from None
        out.append(dict(p))
    return out


def _pydantic_msg(exc: Exception) -> str:
    """One line from a pydantic ValidationError (or any ValueError)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if not str(x).startswith("function"))
            parts.append(f"{loc + ': ' if loc else ''}{e.get('msg')} (got "
                         f"{e.get('input')!r})")
        return "; ".join(parts)
    return str(exc)


def _parse_design(raw: Any, q: Mapping[str, Any], ctx: _Ctx) -> Design:
    d = ctx.table(raw, "design")
    kind = d.get("kind")
    if kind not in DESIGN_KINDS:
        raise ctx.err("design.kind", f"{'missing' if kind is None else repr(kind)}; allowed: "
                      f"{', '.join(DESIGN_KINDS)}")
    ctx.keys(d, "design", _DESIGN_KEYS[kind])

    def get(k: str) -> tuple[Any, str]:
        if k in q:
            return q[k], f"quick.{k}"
        return d.get(k), f"design.{k}"

    if kind == "lhs":
        v, key = get("samples")
        if v is None:
            raise ctx.err("design.samples", "missing (number of Latin hypercube points)")
        return Design(kind, samples=ctx.integer(v, key, lo=2, hi=MAX_RUNS))
    if kind == "sobol":
        v, key = get("base_samples")
        if v is None:
            raise ctx.err("design.base_samples", "missing (Sobol base sample size, a power "
                          "of 2 such as 64)")
        n = ctx.integer(v, key, lo=2, hi=MAX_RUNS)
        if n & (n - 1):
            raise ctx.err(key, f"{n} is not a power of 2 (Sobol sequences need 2, 4, 8, ..., "
                          "64, 128, ...)")
        so = d.get("second_order", False)
        if not isinstance(so, bool):
            raise ctx.err("design.second_order", f"must be true or false, got {so!r}")
        return Design(kind, base_samples=n, second_order=so)
    if kind == "morris":
        v, key = get("trajectories")
        if v is None:
            raise ctx.err("design.trajectories", "missing (number of Morris trajectories, "
                          "e.g. 10)")
        r = ctx.integer(v, key, lo=2, hi=MAX_RUNS)
        lv, lkey = get("levels")
        levels = ctx.integer(4 if lv is None else lv, lkey, lo=2, hi=100)
        if levels % 2:
            raise ctx.err(lkey, f"{levels} is odd; Morris levels must be even (4 is usual)")
        return Design(kind, trajectories=r, levels=levels)
    return Design(kind)


def _policy_field_info(ptype: str, fname: str) -> tuple[str, float | None, float | None,
                                                         tuple | None, str]:
    """(kind, low, high, choices, description) of a policy field that may vary."""
    from simulation.policies import POLICY_CLASSES

    fi = POLICY_CLASSES[ptype].model_fields[fname]
    ann = fi.annotation
    args = typing.get_args(ann)
    if typing.get_origin(ann) is typing.Literal:
        return "choice", None, None, tuple(args), fi.description or ""
    base = [a for a in args if a is not type(None)] if args else [ann]
    if base and all(a in (float, int) for a in base):
        lo = hi = None
        for m in fi.metadata:
            for attr in ("ge", "gt"):
                if getattr(m, attr, None) is not None:
                    lo = float(getattr(m, attr))
            for attr in ("le", "lt"):
                if getattr(m, attr, None) is not None:
                    hi = float(getattr(m, attr))
        return "float", lo, hi, None, fi.description or ""
    return "other", None, None, None, ""


def _varyable_fields(ptype: str) -> list[str]:
    from simulation.policies import POLICY_CLASSES

    return [f for f in POLICY_CLASSES[ptype].model_fields
            if f not in _POLICY_FIXED_FIELDS and _policy_field_info(ptype, f)[0] != "other"]


def _parse_factors(raw: Any, kind: str, policies: list[dict], q: Mapping[str, Any],
                   ctx: _Ctx) -> list[Factor]:
    if not isinstance(raw, list) or not raw:
        raise ctx.err("factors", "must be a non-empty array of tables ([[factors]])")
    out: list[Factor] = []
    for i, fr in enumerate(raw):
        key = f"factors[{i}]"
        fr = ctx.table(fr, key)
        ctx.keys(fr, key, _FACTOR_KEYS)
        name = fr.get("name")
        if name is None:
            raise ctx.err(f"{key}.name", "missing (a parameter name or "
                          "policy.<type>.<field>)")
        name = ctx.text(name, f"{key}.name")
        fctx = _Ctx(ctx.where, f" (factor '{name}')")
        if name in [f.name for f in out]:
            raise fctx.err(key, "this factor is listed twice")
        role = fr.get("role")
        if role is not None and role not in ROLES:
            raise fctx.err(f"{key}.role", f"{role!r}; allowed: {', '.join(ROLES)}")
        if name.startswith("policy."):
            out.append(_policy_factor(name, fr, kind, policies, q, key, role, fctx))
        else:
            out.append(_param_factor(name, fr, kind, q, key, role, fctx))
    return out


def _values_and_range(fr: Mapping[str, Any], kind: str, q: Mapping[str, Any], name: str,
                      key: str, ctx: _Ctx) -> tuple[list | None, list | None, int | None]:
    values = fr.get("values")
    rng = fr.get("range")
    n = fr.get("n")
    if kind != "grid":
        if values is not None:
            raise ctx.err(f"{key}.values", f"values are for grid designs; a {kind} design "
                          "samples a range: give range = [low, high]")
        if n is not None:
            raise ctx.err(f"{key}.n", f"n is for grid designs; a {kind} design sets its size "
                          "in [design]")
        if rng is None:
            raise ctx.err(f"{key}.range", f"missing; a {kind} design needs range = "
                          "[low, high]")
    else:
        if (values is None) == (rng is None):
            raise ctx.err(key, "give either values = [...] or range = [low, high] with n "
                          "(grid points)")
        if rng is not None and n is None:
            raise ctx.err(f"{key}.n", "missing; a grid over a range needs n (number of "
                          "evenly spaced values, ends included)")
        if "values" in q and name in q["values"]:
            values, rng, n = q["values"][name], None, None
            key = f"quick.values.{name}"
        elif rng is not None and "n" in q:
            n = q["n"]
    if values is not None:
        if not isinstance(values, list) or not values:
            raise ctx.err(f"{key}.values", f"must be a non-empty array, got {values!r}")
        if len({json.dumps(v) for v in values}) != len(values):
            raise ctx.err(f"{key}.values", f"has duplicates: {values!r}")
    if rng is not None:
        if (not isinstance(rng, list) or len(rng) != 2
                or any(isinstance(x, bool) or not isinstance(x, int | float) for x in rng)):
            raise ctx.err(f"{key}.range", f"must be [low, high] (two numbers), got {rng!r}")
        if not rng[0] < rng[1]:
            raise ctx.err(f"{key}.range", f"low ({rng[0]!r}) must be below high ({rng[1]!r})")
    if n is not None:
        n = ctx.integer(n, f"{key}.n" if "n" not in q else "quick.n", lo=2, hi=10_000)
    return values, rng, n


def _param_factor(name: str, fr: Mapping[str, Any], kind: str, q: Mapping[str, Any],
                  key: str, role: str | None, ctx: _Ctx) -> Factor:
    if name not in PARAMS:
        raise ctx.err(f"{key}.name", unknown_message(name) + "; policy fields are written "
                      "policy.<type>.<field>")
    p = PARAMS[name]
    values, rng, n = _values_and_range(fr, kind, q, name, key, ctx)
    if p.kind == "bool" and values is None:
        raise ctx.err(f"{key}", f"'{name}' is true or false: only a grid with values = "
                      "[true, false] can vary it")
    if values is not None:
        values = [ctx.param(name, v, f"{key}.values") for v in values]
    lo = hi = None
    if rng is not None:
        lo, hi = (ctx.param(name, x, f"{key}.range") for x in rng)
        if p.kind == "int" and kind == "grid" and n is not None and n > hi - lo + 1:
            raise ctx.err(f"{key}.n", f"{n} points over the whole numbers {lo}..{hi} would "
                          "repeat values")
    role = role or (p.group if p.group in ("lever", "uncertainty") else "parameter")
    return Factor(name=name, target="param", kind=p.kind, role=role,
                  label=fr.get("label") or p.label_en, unit=p.unit, lo=lo, hi=hi,
                  values=tuple(values) if values is not None else None, n=n)


def _policy_factor(name: str, fr: Mapping[str, Any], kind: str, policies: list[dict],
                   q: Mapping[str, Any], key: str, role: str | None, ctx: _Ctx) -> Factor:
    from simulation.policies import POLICY_CLASSES, POLICY_TYPES, make_policy

    parts = name.split(".")
    if len(parts) != 3:
        raise ctx.err(f"{key}.name", "a policy field is written policy.<type>.<field>, e.g. "
                      "policy.tiers_lieux.places")
    _, ptype, fname = parts
    if ptype not in POLICY_CLASSES:
        raise ctx.err(f"{key}.name", f"unknown policy type '{ptype}'; allowed: "
                      f"{', '.join(POLICY_TYPES)}")
    fields = _varyable_fields(ptype)
    if fname not in fields:
        raise ctx.err(f"{key}.name", f"'{fname}' is not a field of {ptype} that can vary; "
                      f"allowed: {', '.join(fields)}")
    mine = [p for p in policies if p["type"] == ptype]
    if len(mine) != 1:
        raise ctx.err(f"{key}.name", (
            f"the experiment adds no policy of type '{ptype}': add a [[policies]] table with "
            f"type = \"{ptype}\" (its territories and fixed fields) for this factor to vary"
            if not mine else
            f"the experiment adds {len(mine)} policies of type '{ptype}'; a factor can vary "
            "only a type that appears once in [[policies]]"))
    fkind, flo, fhi, choices, desc = _policy_field_info(ptype, fname)
    values, rng, n = _values_and_range(fr, kind, q, name, key, ctx)
    if fkind == "choice":
        if values is None:
            raise ctx.err(key, f"'{fname}' is a choice ({', '.join(choices)}): only a grid "
                          "with values = [...] can vary it")
    elif values is not None:
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ctx.err(f"{key}.values", f"must be numbers, got {v!r}")

    def check(v: Any, k: str) -> None:
        try:
            make_policy({**mine[0], fname: v})
        except ValueError as exc:
            raise ctx.err(k, f"{fname} = {v!r} is not allowed: {_pydantic_msg(exc)} "
                          f"(declared range {_range(flo, fhi)})") from None

    for v in values or []:
        check(v, f"{key}.values")
    for v in rng or []:
        check(v, f"{key}.range")
    label = fr.get("label") or f"{ptype.replace('_', ' ')} {fname.replace('_', ' ')}"
    return Factor(name=name, target="policy", kind="choice" if fkind == "choice" else "float",
                  role=role or "lever", label=label, unit=desc,
                  lo=float(rng[0]) if rng else None, hi=float(rng[1]) if rng else None,
                  values=tuple(float(v) if fkind != "choice" else v for v in values)
                  if values is not None else None, n=n, policy_type=ptype, field=fname)


def _range(lo: float | None, hi: float | None) -> str:
    return f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"


def _check_param_corners(base: Mapping[str, Any], fixed: Mapping[str, Any],
                         factors: Sequence[Factor], ctx: _Ctx) -> None:
    """Joint constraints (e.g. skill shares) at the extreme values of the factors."""
    pf = [f for f in factors if f.target == "param" and f.kind in ("int", "float")]
    if not pf:
        return
    for hi_side in (False, True):
        vals = {f.name: f.apply(f.bounds()[1] if hi_side else f.bounds()[0]) for f in pf}
        try:
            Parameters({**base, **fixed, **vals})
        except ParameterError as exc:
            raise ctx.err("factors", f"at the {'upper' if hi_side else 'lower'} ends of the "
                          f"ranges: {exc}") from None


def _parse_outcomes(raw: Any, years: float, ctx: _Ctx) -> list[Outcome]:
    if not isinstance(raw, list) or not raw:
        raise ctx.err("outcomes", "must be a non-empty array of tables ([[outcomes]])")
    out: list[Outcome] = []
    for i, o in enumerate(raw):
        key = f"outcomes[{i}]"
        o = ctx.table(o, key)
        ctx.keys(o, key, _OUTCOME_KEYS)
        measure = o.get("measure")
        if measure is None:
            raise ctx.err(f"{key}.measure", "missing (run 'terrinum list measures')")
        if measure not in MEASURES:
            close = difflib.get_close_matches(str(measure), MEASURES, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ctx.err(f"{key}.measure", f"unknown measure {measure!r}{hint} (run "
                          "'terrinum list measures')")
        m = MEASURES[measure]
        sel = o.get("territories")
        if sel is not None:
            if isinstance(sel, str):
                sel = {"codes": [sel]}
            elif isinstance(sel, list):
                if not sel or not all(isinstance(c, str) for c in sel):
                    raise ctx.err(f"{key}.territories", "a list of territory codes must be "
                                  "non-empty strings")
                sel = {"codes": list(sel)}
            elif isinstance(sel, dict):
                ctx.keys(sel, f"{key}.territories", ("codes", "kinds", "regions"))
                for k, v in sel.items():
                    if (not isinstance(v, list) or not v
                            or not all(isinstance(x, str) for x in v)):
                        raise ctx.err(f"{key}.territories.{k}", f"must be a non-empty array "
                                      f"of strings, got {v!r}")
                if not sel:
                    raise ctx.err(f"{key}.territories", "empty selector; omit it for the map "
                                  "level")
                sel = {k: list(sel[k]) for k in ("codes", "kinds", "regions") if k in sel}
            else:
                raise ctx.err(f"{key}.territories", "must be a territory code, a list of codes "
                              "or a table with codes, kinds and/or regions")
            if m.scope == "map":
                raise ctx.err(f"{key}.territories", f"'{measure}' exists only at the map "
                              "level; remove territories")
        elif m.scope == "territory":
            raise ctx.err(f"{key}.territories", f"'{measure}' is a territory measure; give "
                          "territories")
        combine = o.get("combine", "weighted")
        if combine not in COMBINE:
            raise ctx.err(f"{key}.combine", f"{combine!r}; allowed: {', '.join(COMBINE)}")
        at = o.get("at", "end")
        if at not in ("end", "mean"):
            raise ctx.err(f"{key}.at", f"{at!r}; allowed: end, mean")
        window = None
        if at == "end":
            for k in ("last", "window"):
                if k in o:
                    raise ctx.err(f"{key}.{k}", "only with at = \"mean\"")
        else:
            if "last" in o and "window" in o:
                raise ctx.err(key, "give last or window, not both")
            if "window" in o:
                w = o["window"]
                if (not isinstance(w, list) or len(w) != 2 or any(
                        isinstance(x, bool) or not isinstance(x, int | float) for x in w)):
                    raise ctx.err(f"{key}.window", f"must be [from, to] in years, got {w!r}")
                if not (0 <= w[0] < w[1] <= years + 1e-9):
                    raise ctx.err(f"{key}.window", f"{w!r} must satisfy 0 <= from < to <= "
                                  f"{years:g} (the run's years)")
                window = (float(w[0]), float(w[1]))
            else:
                last = ctx.number(o.get("last", 1.0), f"{key}.last", lo=1 / 12, hi=200,
                                  what="years")
                last = min(last, years)
                window = (float(f"{years - last:.10g}"), float(years))
        name = o.get("name")
        if name is None:
            name = measure
            if sel is not None:
                name += "_" + "_".join(v for k in ("codes", "kinds", "regions")
                                       for v in sel.get(k, []))
        name = ctx.text(name, f"{key}.name")
        if name in [x.name for x in out]:
            raise ctx.err(f"{key}.name" if "name" in o else key,
                          f"'{name}' is used by another outcome; give each a distinct name = "
                          "\"...\"")
        label = o.get("label") or (m.label_en if sel is None
                                   else f"{m.label_en} ({selector_tag(sel)})")
        out.append(Outcome(name=name, measure=measure, territories=sel, combine=combine,
                           at=at, window=window, label=ctx.text(label, f"{key}.label")))
    return out


def _parse_discovery(raw: Any, factors: Sequence[Factor], outcomes: Sequence[Outcome],
                     ctx: _Ctx) -> Discovery | None:
    if raw is None:
        return None
    d = ctx.table(raw, "discovery")
    ctx.keys(d, "discovery", _DISCOVERY_KEYS)
    goals_raw = d.get("goal")
    if not isinstance(goals_raw, list) or not goals_raw:
        raise ctx.err("discovery.goal", "missing; give one or more [[discovery.goal]] tables "
                      "with outcome and below or above")
    names = [o.name for o in outcomes]
    goals = []
    for i, g in enumerate(goals_raw):
        key = f"discovery.goal[{i}]"
        g = ctx.table(g, key)
        ctx.keys(g, key, _GOAL_KEYS)
        oc = g.get("outcome")
        if oc not in names:
            raise ctx.err(f"{key}.outcome", f"{oc!r} is not an outcome of this experiment; "
                          f"allowed: {', '.join(names)}")
        ops = [k for k in ("below", "above") if k in g]
        if len(ops) != 1:
            raise ctx.err(key, "give exactly one of below = <value> or above = <value>")
        v = g[ops[0]]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ctx.err(f"{key}.{ops[0]}", f"must be a number, got {v!r}")
        goals.append(Goal(oc, ops[0], float(v)))
    inputs = d.get("inputs", "levers")
    fnames = [f.name for f in factors]
    if inputs == "levers":
        inputs = [f.name for f in factors if f.role == "lever"]
        if not inputs:
            raise ctx.err("discovery.inputs", "no factor has the role 'lever'; give inputs = "
                          "\"all\" or a list of factor names")
    elif inputs == "all":
        inputs = fnames
    elif isinstance(inputs, list) and inputs:
        for x in inputs:
            if x not in fnames:
                raise ctx.err("discovery.inputs", f"{x!r} is not a factor; allowed: "
                              f"{', '.join(fnames)}")
    else:
        raise ctx.err("discovery.inputs", f"{inputs!r}; allowed: \"levers\", \"all\" or a "
                      "list of factor names")
    md = ctx.number(d.get("min_density", 0.8), "discovery.min_density", lo=0, hi=1)
    mb = ctx.integer(d.get("max_boxes", 3), "discovery.max_boxes", lo=1, hi=20)
    mm = ctx.number(d.get("mass_min", 0.05), "discovery.mass_min", lo=0, hi=0.5)
    return Discovery(tuple(goals), tuple(inputs), md, mb, mm)


def _check_selectors(outcomes: Sequence[Outcome], scenario: Any, ctx: _Ctx) -> None:
    """Check that outcome territories exist on the scenario's map."""
    sels = [(i, o) for i, o in enumerate(outcomes) if o.territories is not None]
    if not sels:
        return
    try:
        tmap = scenario.load_map()
    except Exception:  # noqa: BLE001 - the scenario loader reports map problems itself
        return
    for i, o in sels:
        try:
            idx = tmap.select(**o.territories)
        except ValueError as exc:
            raise ctx.err(f"outcomes[{i}].territories", str(exc)) from None
        if len(idx) == 0:
            raise ctx.err(f"outcomes[{i}].territories", f"selects no territory on map "
                          f"'{tmap.name}'")
