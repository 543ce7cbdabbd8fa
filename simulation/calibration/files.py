"""Calibration files: the model configuration, the parameters, the targets and the method.

A calibration is a TOML file (built-in ones live in ``experiments/``, beside the sweeps),
validated like the other input files: every error names the file, the key path and what is
allowed (:class:`CalibrationError`, exit status 2 on the command line). Format::

    [calibration]
    name = "calibration_france"       # default: the file name
    title = "..."
    scenario = "history"              # built-in scenario name, or a path relative to this file
    years = 20                        # simulated years of an evaluation run
    n_households = 20000              # household agents of a run
    seed = 2026                       # master seed: every seed of the calibration

    [constants]                       # territory constants of the location choice (ODD 7.9)
    target = "net_migration"          # the territory target they are fitted to
    iterations = 8                    # fixed-point iterations at the reference parameters
    inner_iterations = 1              # corrections for each parameter vector tried
    replications = 2                  # runs averaged in each iteration (common seeds)
    damping = 1.0                     # share of the log-ratio step taken (0-1]
    years = 5                         # length of a fixed-point run (the target's window)
    n_households = 50000

    [screening]                       # Morris elementary effects (SALib) on the targets
    trajectories = 4
    levels = 4
    keep = 5                          # parameters kept for ABC (largest normalised mu*)

    [abc]                             # ABC-SMC (pyabc)
    population = 48                   # particles per generation
    generations = 5                   # at most
    min_acceptance = 0.02             # stop when the acceptance rate falls below
    draws = 60                        # posterior draws shipped (resampled, weighted)
    check_replications = 3            # runs of the calibrated model for the fit report
    plausibility_replications = 8     # runs whose mean trajectory gives the plausibility
    plausibility_households = 50000   # figures (default: [constants] n_households)

    [[parameters]]                    # candidates (uniform prior on the range)
    name = "move_rate"
    range = [0.002, 0.015]            # within the declared range (terrinum list params)

    [[targets]]
    name = "net_migration"            # unique
    kind = "net_migration_rate"       # see simulation.calibration.targets.KINDS
    sd = 0.3                          # error model: Normal with this sd (the kind's unit)
    weight = 1.0                      # weight of the target in the distance
    observed = 12.5                   # optional: replaces the kind's data (a number, or a
                                      # table {code = value} for a territory kind); needs source
    year = 2019                       # calendar year simulated (kinds that take one)
    source = "INSEE ..."

    [quick]                           # smaller variant for --quick (and the tests)
    years = 5
    n_households = 4000
    ...                               # any key of [constants], [screening], [abc]
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simulation.engine.params import PARAMS
from simulation.errors import InputError, InputFileError
from simulation.errors import clip_repr as _q
from simulation.resources import builtin_experiments_dir
from simulation.safe_io import (
    MAX_TOML_BYTES,
    TomlSyntaxError,
    parse_toml,
    path_state,
    read_text_file,
)


class CalibrationError(InputError):
    """A calibration file (or folder) that cannot be used, with what is allowed."""


_TOP = ("calibration", "constants", "screening", "abc", "parameters", "targets", "quick")
_CAL = ("name", "title", "question", "scenario", "years", "n_households", "seed")
_CONST = ("target", "iterations", "inner_iterations", "replications", "damping", "years",
          "n_households")
_SCREEN = ("trajectories", "levels", "keep")
_ABC = ("population", "generations", "min_acceptance", "draws", "check_replications",
        "plausibility_replications", "plausibility_households")
_PARAM = ("name", "range")
_TARGET = ("name", "kind", "sd", "weight", "year", "source", "label", "observed")
_QUICK = ("years", "n_households", *(f"constants.{k}" for k in _CONST if k != "target"),
          *(f"screening.{k}" for k in _SCREEN), *(f"abc.{k}" for k in _ABC))


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter's uniform prior on ``[lo, hi]`` (the parameter's unit)."""

    name: str
    lo: float
    hi: float
    integer: bool = False

    @property
    def centre(self) -> float:
        """Middle of the range."""
        return 0.5 * (self.lo + self.hi)


@dataclass(frozen=True)
class TargetSpec:
    """One target as declared: kind, error model, weight and source (see ``targets``)."""

    name: str
    kind: str
    sd: float
    weight: float
    year: int | None
    source: str
    label: str
    observed: Any = None     # None: the kind's data; a number, or {code = value} by territory


@dataclass(frozen=True)
class ConstantsSpec:
    """How the territory constants are fitted (iterative fixed point)."""

    target: str
    iterations: int = 8
    inner_iterations: int = 1
    replications: int = 2
    damping: float = 1.0
    years: float = 5.0
    n_households: int = 50_000


@dataclass(frozen=True)
class ScreeningSpec:
    """Morris screening of the candidate parameters."""

    trajectories: int = 4
    levels: int = 4
    keep: int = 5


@dataclass(frozen=True)
class AbcSpec:
    """ABC-SMC settings (pyabc)."""

    population: int = 48
    generations: int = 5
    min_acceptance: float = 0.02
    draws: int = 60
    check_replications: int = 3
    # the plausibility ensemble of the fit stage: runs of the calibrated model whose mean
    # trajectory gives the plausibility figures (0 households: the constants' size); a
    # --quick calibration uses its check runs instead
    plausibility_replications: int = 8
    plausibility_households: int = 0


@dataclass(frozen=True)
class Calibration:
    """A validated calibration file."""

    name: str
    title: str
    question: str
    scenario: Any
    scenario_ref: str
    years: float
    n_households: int
    seed: int
    constants: ConstantsSpec
    screening: ScreeningSpec
    abc: AbcSpec
    priors: tuple[Prior, ...]
    targets: tuple[TargetSpec, ...]
    path: str
    sha256: str
    quick: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def prior(self, name: str) -> Prior:
        """The prior of parameter ``name``."""
        return next(p for p in self.priors if p.name == name)

    def target(self, name: str) -> TargetSpec:
        """The target called ``name``."""
        return next(t for t in self.targets if t.name == name)


class _Ctx:
    def __init__(self, where: str) -> None:
        self.where = where

    def err(self, key: str, msg: str) -> CalibrationError:
        return CalibrationError(f"{self.where}: {key}: {msg}" if key else f"{self.where}: {msg}")

    def keys(self, table: Mapping[str, Any], key: str, allowed: Sequence[str]) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(k, allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.err(f"{key}.{k}" if key else k,
                               f"unknown key{hint}; allowed: {', '.join(allowed)}")

    def table(self, v: Any, key: str) -> dict:
        if not isinstance(v, dict):
            raise self.err(key, f"must be a table, got {type(v).__name__}")
        return v

    def text(self, v: Any, key: str) -> str:
        if not isinstance(v, str):
            raise self.err(key, f"must be a string, got {type(v).__name__} {_q(v)}")
        return v

    def number(self, v: Any, key: str, lo: float, hi: float, *, open_lo: bool = False) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.err(key, f"must be a number, got {type(v).__name__} {_q(v)}")
        if v < lo or v > hi or (open_lo and v == lo):
            lo_txt = f"more than {lo:g}" if open_lo else f"{lo:g}"
            raise self.err(key, f"{_q(v)} is out of range; allowed: {lo_txt} to {hi:g}")
        return float(v)

    def integer(self, v: Any, key: str, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, f"must be a whole number, got {type(v).__name__} {_q(v)}")
        if not lo <= v <= hi:
            raise self.err(key, f"{_q(v)} is out of range; allowed: {lo} to {hi}")
        return int(v)


def available_calibrations() -> list[str]:
    """Names of the built-in calibration files (``experiments/calibration_*.toml``)."""
    return sorted(p.stem for p in builtin_experiments_dir().glob("calibration_*.toml"))


def calibration_path(path_or_name: str | Path) -> Path:
    """A calibration file path, or the path of a built-in calibration named so."""
    text = str(path_or_name)
    state = path_state(text)
    allowed = ("a calibration file (TOML) or a built-in calibration: "
               f"{', '.join(available_calibrations()) or 'none'}")
    if state == "file":
        return Path(text)
    if state != "missing":
        raise CalibrationError(f"{text}: not a calibration file ({state}); allowed: {allowed}")
    p = Path(text)
    if p.suffix.lower() != ".toml" and len(p.parts) == 1:
        cand = builtin_experiments_dir() / f"{p.name}.toml"
        if path_state(cand) == "file" and p.name.startswith("calibration_"):
            return cand
        close = difflib.get_close_matches(p.name, available_calibrations(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CalibrationError(f"{text}: no such calibration{hint}; allowed: {allowed}")
    raise CalibrationError(f"{text}: no such calibration file; allowed: {allowed}")


def load_calibration(path_or_name: str | Path, *, quick: bool = False) -> Calibration:
    """Read and validate a calibration file (``quick``: apply its ``[quick]`` table).

    Raises:
        CalibrationError: naming the file, the key path and what is allowed.
    """
    path = calibration_path(path_or_name)
    try:
        text = read_text_file(path, "a calibration file (UTF-8 TOML)", MAX_TOML_BYTES)
    except InputFileError as exc:
        raise CalibrationError(str(exc)) from None
    return parse_calibration(text, path=path, quick=quick)


def parse_calibration(text: str, *, path: Path | None = None, quick: bool = False
                      ) -> Calibration:
    """Validate a calibration given as TOML text (see the module docstring)."""
    from simulation.calibration.targets import KINDS

    where = str(path) if path is not None else "<calibration>"
    ctx = _Ctx(where)
    try:
        raw = parse_toml(text, where)
    except TomlSyntaxError as exc:
        raise CalibrationError(str(exc)) from None
    ctx.keys(raw, "", _TOP)
    for key in ("calibration", "constants", "parameters", "targets"):
        if key not in raw:
            raise ctx.err(key, "missing; a calibration needs [calibration], [constants], "
                          "[[parameters]] and [[targets]]")
    cal = ctx.table(raw["calibration"], "calibration")
    ctx.keys(cal, "calibration", _CAL)
    q = ctx.table(raw.get("quick", {}), "quick")
    flat_q: dict[str, Any] = {}
    for k, v in q.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                flat_q[f"{k}.{kk}"] = vv
        else:
            flat_q[k] = v
    ctx.keys(flat_q, "quick", _QUICK)

    def pick(table: Mapping[str, Any], prefix: str, key: str, default: Any) -> tuple[Any, str]:
        full = f"{prefix}.{key}" if prefix else key
        if quick and full in flat_q:
            return flat_q[full], f"quick.{full}"
        return table.get(key, default), f"{prefix or 'calibration'}.{key}"

    name = ctx.text(cal.get("name", path.stem if path else "calibration"), "calibration.name")
    title = ctx.text(cal.get("title", name), "calibration.title")
    question = ctx.text(cal.get("question", ""), "calibration.question")
    ref = ctx.text(cal.get("scenario", "history"), "calibration.scenario")
    scenario = _load_scenario(ref, path, ctx)
    v, k = pick(cal, "", "years", scenario.years)
    years = ctx.number(v, k, 0.0, 60.0, open_lo=True)
    v, k = pick(cal, "", "n_households", scenario.n_households)
    nh = ctx.integer(v, k, 500, 2_000_000)
    seed = ctx.integer(cal.get("seed", 2026), "calibration.seed", 0, 2**31 - 1)

    c = ctx.table(raw["constants"], "constants")
    ctx.keys(c, "constants", _CONST)
    target_name = ctx.text(c.get("target", ""), "constants.target")
    vals: dict[str, Any] = {}
    for key, lo, hi, kind in (("iterations", 0, 100, int), ("inner_iterations", 0, 20, int),
                              ("replications", 1, 50, int), ("damping", 0.0, 1.0, float),
                              ("years", 0.0, 60.0, float), ("n_households", 500, 2_000_000,
                                                            int)):
        v, kk = pick(c, "constants", key, getattr(ConstantsSpec, key))
        vals[key] = (ctx.integer(v, kk, lo, hi) if kind is int else
                     ctx.number(v, kk, lo, hi, open_lo=key in ("damping", "years")))
    constants = ConstantsSpec(target=target_name, **vals)

    s = ctx.table(raw.get("screening", {}), "screening")
    ctx.keys(s, "screening", _SCREEN)
    svals = {}
    for key, lo, hi in (("trajectories", 2, 100), ("levels", 2, 20), ("keep", 1, 50)):
        v, kk = pick(s, "screening", key, getattr(ScreeningSpec, key))
        svals[key] = ctx.integer(v, kk, lo, hi)
    screening = ScreeningSpec(**svals)

    a = ctx.table(raw.get("abc", {}), "abc")
    ctx.keys(a, "abc", _ABC)
    avals: dict[str, Any] = {}
    for key, lo, hi, kind in (("population", 4, 10_000, int), ("generations", 1, 50, int),
                              ("min_acceptance", 0.0, 1.0, float), ("draws", 1, 10_000, int),
                              ("check_replications", 1, 50, int),
                              ("plausibility_replications", 2, 100, int)):
        v, kk = pick(a, "abc", key, getattr(AbcSpec, key))
        avals[key] = ctx.integer(v, kk, lo, hi) if kind is int else ctx.number(v, kk, lo, hi)
    v, kk = pick(a, "abc", "plausibility_households", None)
    avals["plausibility_households"] = 0 if v is None else ctx.integer(v, kk, 500, 2_000_000)
    abc = AbcSpec(**avals)

    priors = _parse_priors(raw["parameters"], ctx)
    if screening.keep > len(priors):
        raise ctx.err("screening.keep", f"{screening.keep} is more than the "
                      f"{len(priors)} [[parameters]]; allowed: 1 to {len(priors)}")
    targets = _parse_targets(raw["targets"], ctx, KINDS)
    names = [t.name for t in targets]
    if target_name not in names:
        raise ctx.err("constants.target", f"{_q(target_name)} is not a target; allowed: "
                      f"{', '.join(names)}")
    if KINDS[targets[names.index(target_name)].kind].level != "territory" or \
            targets[names.index(target_name)].kind != "net_migration_rate":
        raise ctx.err("constants.target", "the constants are fitted to a target of kind "
                      "net_migration_rate")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Calibration(name=name, title=title, question=question, scenario=scenario,
                       scenario_ref=ref, years=years, n_households=nh, seed=seed,
                       constants=constants, screening=screening, abc=abc,
                       priors=tuple(priors), targets=tuple(targets),
                       path=str(path) if path else "", sha256=sha, quick=quick, raw=raw)


def _load_scenario(ref: str, path: Path | None, ctx: _Ctx) -> Any:
    from simulation.scenarios.files import ScenarioError, builtin_path, load_scenario

    try:
        if builtin_path(ref) is None and path is not None and not Path(ref).is_absolute():
            cand = path.parent / ref
            if cand.is_file():
                return load_scenario(cand)
        return load_scenario(ref)
    except ScenarioError as exc:
        raise ctx.err("calibration.scenario", str(exc)) from None


def _parse_priors(raw: Any, ctx: _Ctx) -> list[Prior]:
    if not isinstance(raw, list) or not raw:
        raise ctx.err("parameters", "must be one or more [[parameters]] tables")
    out: list[Prior] = []
    for i, pr in enumerate(raw):
        key = f"parameters[{i}]"
        pr = ctx.table(pr, key)
        ctx.keys(pr, key, _PARAM)
        name = ctx.text(pr.get("name", ""), f"{key}.name")
        if name not in PARAMS:
            close = difflib.get_close_matches(name, PARAMS, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ctx.err(f"{key}.name", f"unknown parameter {_q(name)}{hint} (terrinum list "
                          "params)")
        decl = PARAMS[name]
        if decl.kind == "bool":
            raise ctx.err(f"{key}.name", f"{name} is true/false: it cannot be calibrated")
        if name in (p.name for p in out):
            raise ctx.err(f"{key}.name", f"{name} is listed twice")
        r = pr.get("range", [decl.lo, decl.hi])
        if not isinstance(r, list) or len(r) != 2:
            raise ctx.err(f"{key}.range", "must be [low, high]")
        lo = ctx.number(r[0], f"{key}.range", decl.lo, decl.hi)
        hi = ctx.number(r[1], f"{key}.range", decl.lo, decl.hi)
        if not lo < hi:
            raise ctx.err(f"{key}.range", f"low {lo:g} must be below high {hi:g}")
        out.append(Prior(name, lo, hi, decl.kind == "int"))
    return out


def _parse_targets(raw: Any, ctx: _Ctx, kinds: Mapping[str, Any]) -> list[TargetSpec]:
    if not isinstance(raw, list) or not raw:
        raise ctx.err("targets", "must be one or more [[targets]] tables")
    out: list[TargetSpec] = []
    for i, tr in enumerate(raw):
        key = f"targets[{i}]"
        tr = ctx.table(tr, key)
        ctx.keys(tr, key, _TARGET)
        name = ctx.text(tr.get("name", ""), f"{key}.name")
        if not name or name in (t.name for t in out):
            raise ctx.err(f"{key}.name", f"{_q(name)}: a target needs a unique name")
        kind = ctx.text(tr.get("kind", ""), f"{key}.kind")
        if kind not in kinds:
            close = difflib.get_close_matches(kind, kinds, n=2, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ctx.err(f"{key}.kind", f"unknown kind {_q(kind)}{hint}; allowed: "
                          f"{', '.join(kinds)}")
        k = kinds[kind]
        sd = ctx.number(tr.get("sd", None) if "sd" in tr else None, f"{key}.sd", 0.0, 1e6,
                        open_lo=True) if "sd" in tr else None
        if sd is None:
            raise ctx.err(f"{key}.sd", f"missing: the error model's standard deviation "
                          f"({k.unit})")
        weight = ctx.number(tr.get("weight", 1.0), f"{key}.weight", 0.0, 100.0)
        year = None
        if k.years:
            year = ctx.integer(tr.get("year", k.years[0]), f"{key}.year", 1900, 2100)
            if year not in k.years and "observed" not in tr:
                raise ctx.err(f"{key}.year", f"{year}: the data give {kind} for "
                              f"{', '.join(map(str, k.years))}; for another year give "
                              f"`observed` and its `source`")
        elif "year" in tr:
            raise ctx.err(f"{key}.year", f"kind {kind} takes no year")
        source = ctx.text(tr.get("source", k.source), f"{key}.source")
        label = ctx.text(tr.get("label", k.label), f"{key}.label")
        observed = None
        if "observed" in tr:
            if "source" not in tr:
                raise ctx.err(f"{key}.source", "an explicit observed value needs its source")
            ov = tr["observed"]
            if k.level == "territory":
                ov = ctx.table(ov, f"{key}.observed")
                observed = {str(c): ctx.number(v, f"{key}.observed.{c}", -1e9, 1e9)
                            for c, v in ov.items()}
            else:
                observed = ctx.number(ov, f"{key}.observed", -1e9, 1e9)
        out.append(TargetSpec(name, kind, sd, weight, year, source, label, observed))
    return out


def with_priors(cal: Calibration, names: Sequence[str]) -> Calibration:
    """The calibration restricted to the priors ``names`` (after screening)."""
    return replace(cal, priors=tuple(p for p in cal.priors if p.name in set(names)))
