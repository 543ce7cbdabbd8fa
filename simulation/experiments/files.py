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
    * a parameter by its declared name (``simulation.engine.params.PARAMS``): its range or values
    are
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
import json
import math
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simulation.engine.measures import MEASURES
from simulation.engine.params import PARAMS, ParameterError, Parameters, unknown_message
from simulation.errors import InputFileError, clip
from simulation.errors import clip_repr as _q
from simulation.experiments.design import (
    COMBINE,
    DESIGN_KINDS,
    MAX_RUNS,
    ROLES,
    Design,
    Discovery,
    Experiment,
    ExperimentError,
    Factor,
    Goal,
    Outcome,
    design_size,
    selector_tag,
)
from simulation.resources import builtin_experiments_dir
from simulation.safe_io import (
    MAX_TOML_BYTES,
    TomlSyntaxError,
    parse_toml,
    path_state,
    read_text_file,
)

EXPERIMENTS_DIR = builtin_experiments_dir()  # see simulation.resources

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
































# ============================================================================ loading
def experiment_path(path_or_name: str | Path) -> Path:
    """Resolve an experiment argument: a file path, or the name of a built-in experiment."""
    text = str(path_or_name)
    state = path_state(text)
    allowed = (f"a regular experiment file (TOML, at most {MAX_TOML_BYTES:,} bytes) or a "
               f"built-in experiment: {', '.join(available_experiments()) or 'none'}")
    if state == "file":
        return Path(text)
    if state != "missing":
        what = f"is {state}" if state.startswith(("a ", "not ")) else state
        raise ExperimentError(f"{clip(text or repr(text), 200)}: not an experiment file: "
                              f"{what}; allowed: {allowed}")
    p = Path(text)
    if p.suffix.lower() == ".toml" or len(p.parts) > 1:
        raise ExperimentError(f"{clip(text, 200)}: no such experiment file; allowed: {allowed}")
    cand = EXPERIMENTS_DIR / f"{p.name}.toml"
    if path_state(cand) == "file":
        return cand
    names = available_experiments()
    close = difflib.get_close_matches(str(path_or_name), names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ExperimentError(
        f"{path_or_name}: no such experiment file or built-in experiment{hint} "
        f"(built-in: {', '.join(names) or 'none'})")


def available_experiments() -> list[str]:
    """Names of the built-in experiments (files in ``experiments/``).

    Calibration files (``calibration_*.toml``) live in the same folder but are not
    experiments (``terrinum calibrate`` runs them, :mod:`simulation.calibration.files`).
    """
    return sorted(p.stem for p in builtin_experiments_dir().glob("*.toml")
                  if not p.stem.startswith("calibration_"))


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
        text = read_text_file(path, "an experiment file (UTF-8 TOML)", MAX_TOML_BYTES)
    except InputFileError as exc:
        raise ExperimentError(str(exc)) from None
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
    if len(text) > MAX_TOML_BYTES:
        raise ctx.err("", f"the text is {len(text):,} characters; allowed: at most "
                      f"{MAX_TOML_BYTES:,}")
    try:
        raw = parse_toml(text, where)
    except TomlSyntaxError as exc:
        raise ExperimentError(str(exc).replace("not a valid TOML file", "not valid TOML")
                              ) from None
    if not raw:
        raise ctx.err("", "the file is empty; allowed: an experiment with [experiment], "
                      "[design], [[factors]] and [[outcomes]] tables")
    ctx.keys(raw, "", _TOP_KEYS)
    for key in ("experiment", "design"):
        if key not in raw:
            raise ctx.err(key, f"missing table [{key}]; required: [experiment], [design], "
                          "[[factors]] and [[outcomes]]")
    for key in ("factors", "outcomes"):
        if key not in raw:
            raise ctx.err(key, f"missing [[{key}]]; required: at least one [[{key}]] table")
    exp = ctx.table(raw["experiment"], "experiment")
    ctx.keys(exp, "experiment", _EXP_KEYS)
    quick_t = ctx.table(raw.get("quick", {}), "quick")
    ctx.keys(quick_t, "quick", _QUICK_KEYS)
    if quick and not quick_t:
        raise ctx.err("quick", "--quick needs a [quick] table in the experiment file")
    if "values" in quick_t:
        qv = ctx.table(quick_t["values"], "quick.values")
        for k, v in qv.items():
            if not isinstance(v, list) or not v:
                raise ctx.err(f"quick.values.{k}", f"must be a non-empty array of values, got "
                              f"{_q(v)}")
    q = quick_t if quick else {}

    name = ctx.text(exp.get("name", path.stem if path else "experiment"), "experiment.name")
    scenario_ref = exp.get("scenario")
    if scenario_ref is None:
        raise ctx.err("experiment.scenario", "missing; give a built-in scenario name or the "
                      "path of a scenario file")
    scenario_ref = ctx.text(scenario_ref, "experiment.scenario")
    replace = exp.get("replace_policies", False)
    if not isinstance(replace, bool):
        raise ctx.err("experiment.replace_policies", f"must be true or false, got {_q(replace)}")
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
        raise ctx.err("experiment.seed", f"must be a non-negative whole number, got {_q(seed)}")
    rep_key = "quick.replications" if "replications" in q else "experiment.replications"
    reps = q.get("replications", exp.get("replications", 1))
    reps = ctx.integer(reps, rep_key, lo=1, hi=10_000)
    store = exp.get("store_territories", False)
    if not isinstance(store, bool):
        raise ctx.err("experiment.store_territories", f"must be true or false, got {_q(store)}")

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
        _check_against_scenario(scenario, years, "quick.years" if "years" in q else
                                "experiment.years", nh, params, policies, factors, ctx)

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
            raise self.err(key, f"must be a string, got {_tname(v)} {_q(v)}")
        return v

    def number(self, v: Any, key: str, *, lo: float, hi: float, what: str = "") -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.err(key, f"must be a number, got {_tname(v)} {_q(v)}")
        if not (lo <= v <= hi):
            raise self.err(key, f"{_q(v)} is out of range; allowed: {lo:g} to {hi:g} {what}")
        return float(v)

    def integer(self, v: Any, key: str, *, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, f"must be a whole number, got {_tname(v)} {_q(v)}")
        if not (lo <= v <= hi):
            raise self.err(key, f"{_q(v)} is out of range; allowed: {lo} to {hi}")
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
        from simulation.scenarios.files import load_scenario
    except ImportError as exc:  # pragma: no cover - scenario module missing
        raise ctx.err("experiment.scenario", f"scenario files are not available ({exc})") \
            from None
    target: str | Path = ref
    if path is not None and (ref.endswith(".toml") or "/" in ref):
        cand = (path.parent / ref)
        if path_state(cand) != "missing":
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
    from simulation.engine.policies import POLICY_TYPES
    from simulation.scenarios.files import ScenarioError, _build_policy

    if not isinstance(raw, list):
        raise ctx.err("policies", "must be an array of tables ([[policies]])")
    out = []
    for i, p in enumerate(raw):
        key = f"policies[{i}]"
        p = ctx.table(p, key)
        if "type" not in p:
            raise ctx.err(f"{key}.type", f"missing; allowed: {', '.join(POLICY_TYPES)}")
        try:
            _build_policy(ctx.where, key, p)
        except ScenarioError as exc:  # the scenario loader's messages: key path and allowed
            raise ctx.err(exc.key, exc.problem + (f"; allowed: {exc.allowed}" if exc.allowed
                                                  else "")) from None
        out.append(dict(p))
    return out


def _pydantic_msg(exc: Exception) -> str:
    """One line from a pydantic ValidationError (or any ValueError)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            loc = ".".join(str(x) for x in e.get("loc", ())
                           if not str(x).startswith(("function", "literal[", "Selector")))
            parts.append(f"{loc + ': ' if loc else ''}{e.get('msg')} (got "
                         f"{_q(e.get('input'))})")
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
            raise ctx.err("design.second_order", f"must be true or false, got {_q(so)}")
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
    from simulation.engine.policies import POLICY_CLASSES

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
    from simulation.engine.policies import POLICY_CLASSES

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
            raise fctx.err(f"{key}.role", f"{_q(role)}; allowed: {', '.join(ROLES)}")
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
            raise ctx.err(f"{key}.values", f"must be a non-empty array, got {_q(values)}")
        if len({json.dumps(v, default=str) for v in values}) != len(values):
            raise ctx.err(f"{key}.values", f"has duplicates: {_q(values)}")
    if rng is not None:
        if (not isinstance(rng, list) or len(rng) != 2
                or any(isinstance(x, bool) or not isinstance(x, int | float) for x in rng)):
            raise ctx.err(f"{key}.range", f"must be [low, high] (two numbers), got {_q(rng)}")
        if any(isinstance(x, float) and not math.isfinite(x) for x in rng):
            raise ctx.err(f"{key}.range", f"must be two finite numbers, got {_q(rng)}")
        if not rng[0] < rng[1]:
            raise ctx.err(f"{key}.range", f"low ({_q(rng[0])}) must be below high ({_q(rng[1])})")
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
    vkey = (f"quick.values.{name}" if "values" in q and name in q["values"]
            else f"{key}.values")
    if values is not None:
        values = [ctx.param(name, v, vkey) for v in values]
    lo = hi = None
    if rng is not None:
        lo, hi = (ctx.param(name, x, f"{key}.range") for x in rng)
        if p.kind == "int" and kind == "grid" and n is not None and n > hi - lo + 1:
            raise ctx.err(f"{key}.n", f"{n} points over the whole numbers {lo}..{hi} would "
                          "repeat values")
    role = role or (p.group if p.group in ("lever", "uncertainty") else "parameter")
    return Factor(name=name, target="param", kind=p.kind, role=role,
                  label=_label(fr, key, ctx) or p.label_en, unit=p.unit, lo=lo, hi=hi,
                  values=tuple(values) if values is not None else None, n=n)


def _policy_factor(name: str, fr: Mapping[str, Any], kind: str, policies: list[dict],
                   q: Mapping[str, Any], key: str, role: str | None, ctx: _Ctx) -> Factor:
    from simulation.engine.policies import POLICY_CLASSES, POLICY_TYPES, make_policy

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
                raise ctx.err(f"{key}.values", f"must be numbers, got {_q(v)}")

    def check(v: Any, k: str) -> None:
        try:
            make_policy({**mine[0], fname: v})
        except ValueError as exc:
            raise ctx.err(k, f"{fname} = {_q(v)} is not allowed: {_pydantic_msg(exc)} "
                          f"(declared range {_range(flo, fhi)})") from None

    vkey = (f"quick.values.{name}" if "values" in q and name in q["values"]
            else f"{key}.values")
    for v in values or []:
        check(v, vkey)
    for v in rng or []:
        check(v, f"{key}.range")
    label = _label(fr, key, ctx) or f"{ptype.replace('_', ' ')} {fname.replace('_', ' ')}"
    return Factor(name=name, target="policy", kind="choice" if fkind == "choice" else "float",
                  role=role or "lever", label=label, unit=desc,
                  lo=float(rng[0]) if rng else None, hi=float(rng[1]) if rng else None,
                  values=tuple(float(v) if fkind != "choice" else v for v in values)
                  if values is not None else None, n=n, policy_type=ptype, field=fname)


def _check_against_scenario(scenario: Any, years: float, years_key: str, nh: int,
                            params: Mapping[str, Any], policies: list[dict],
                            factors: Sequence[Factor], ctx: _Ctx) -> None:
    """Everything the scenario loader checks, for the experiment's runs, before any is run.

    The experiment's years, households, fixed parameters and added policies are applied to
    the base scenario as overrides (so a policy naming a territory not on the map, or starting
    or ramping past the end of the run, is refused here); a policy factor's values and range
    ends are checked the same way.
    """
    from simulation.engine.policies import make_policy
    from simulation.scenarios.files import ScenarioError, _check_start

    try:
        scenario.with_overrides(params=dict(params) or None, policies=list(policies) or None,
                                years=years, n_households=nh)
    except ScenarioError as exc:
        allowed = f"; allowed: {exc.allowed}" if exc.allowed else ""
        if exc.file == "<overrides>":
            key = {"years": years_key, "n_households": "experiment.n_households"}.get(
                exc.key, exc.key.replace("params.", "params.", 1))
            raise ctx.err(key, f"{exc.problem}{allowed}") from None
        raise ctx.err(years_key, f"with a run of {years:g} years, the scenario's "
                      f"{exc.key or 'content'} ({exc.file}) does not fit: {exc.problem}"
                      f"{allowed}") from None
    for i, f in enumerate(factors):
        if f.target != "policy":
            continue
        spec = next(p for p in policies if p["type"] == f.policy_type)
        for sub, vals in (("values", f.values or ()), ("range", (f.lo, f.hi) if f.values is None
                                                         else ())):
            for v in vals:
                try:
                    _check_start(ctx.where, f"factors[{i}].{sub}",
                                 make_policy({**spec, f.field: v}), years)
                except ScenarioError as exc:
                    raise ctx.err(f"factors[{i}].{sub}", f"{f.field} = {_q(v)}: "
                                  f"{exc.problem}; allowed: {exc.allowed}") from None


def _label(fr: Mapping[str, Any], key: str, ctx: _Ctx) -> str | None:
    """A factor's optional ``label`` (a string of at most 200 characters)."""
    label = fr.get("label")
    if label is None:
        return None
    label = ctx.text(label, f"{key}.label")
    if not 0 < len(label) <= 200:
        raise ctx.err(f"{key}.label", f"a string of {len(label):,} characters; allowed: 1 to "
                      "200 characters")
    return label


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
        if not isinstance(measure, str) or measure not in MEASURES:
            close = difflib.get_close_matches(str(measure), MEASURES, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ctx.err(f"{key}.measure", f"unknown measure {_q(measure)}{hint} (run "
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
                                      f"of strings, got {_q(v)}")
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
            raise ctx.err(f"{key}.combine", f"{_q(combine)}; allowed: {', '.join(COMBINE)}")
        at = o.get("at", "end")
        if at not in ("end", "mean"):
            raise ctx.err(f"{key}.at", f"{_q(at)}; allowed: end, mean")
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
                    raise ctx.err(f"{key}.window", f"must be [from, to] in years, got {_q(w)}")
                if not (0 <= w[0] < w[1] <= years + 1e-9):
                    raise ctx.err(f"{key}.window", f"{_q(w)} must satisfy 0 <= from < to <= "
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
            raise ctx.err(f"{key}.outcome", f"{_q(oc)} is not an outcome of this experiment; "
                          f"allowed: {', '.join(names)}")
        ops = [k for k in ("below", "above") if k in g]
        if len(ops) != 1:
            raise ctx.err(key, "give exactly one of below = <value> or above = <value>")
        v = g[ops[0]]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ctx.err(f"{key}.{ops[0]}", f"must be a number, got {_q(v)}")
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
                raise ctx.err("discovery.inputs", f"{_q(x)} is not a factor; allowed: "
                              f"{', '.join(fnames)}")
    else:
        raise ctx.err("discovery.inputs", f"{_q(inputs)}; allowed: \"levers\", \"all\" or a "
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
