"""Session state of the workshop dashboard: runs, levers, branches, log and export.

Nothing here imports Solara: the page (:mod:`simulation.dashboard.app`) holds one
:class:`Session` per browser tab and draws what this module computes, so the whole logic is
testable without a browser.

How a session works:

* The **live run** starts from a scenario file (:mod:`simulation.scenario`) with the seed and the
  number of household agents of the session. ``Session.step`` advances it one month.
* A **lever** is a policy (:mod:`simulation.policies`) added with ``start = months / 12``, so it
  takes effect at the next step, exactly as a scenario file's policy with that start would. A
  map-wide setting (a parameter of group ``lever`` or ``uncertainty``) changed during the run is
  expressed as the policy that sets it (``equalisation``, ``telework_norm``,
  ``platform_dependence``, ``platform_tax``); at month 0 any such setting becomes a starting
  parameter of the run. Every choice is therefore replayable from a scenario file.
* The **baseline** is the scenario as loaded, same seed, without the session's choices. While no
  choice differs from it, it *is* the live run (no extra cost); from the first choice on it is a
  copy that advances in step with the live run.
* A **branch** is a copy of the live run saved by the facilitator; it keeps its choices and
  advances with the live run while it is compared side by side. "Back to its starting point"
  rebuilds the live run at the branch's fork by replaying the scenario, the seed and the timed
  choices (the model is deterministic for a seed), so another choice can be tried from there.
* **Export** writes the starting scenario plus the choices (each a policy with its start year,
  or a starting parameter) as a scenario file that ``terrinum run`` replays to the same numbers.
"""

from __future__ import annotations

import copy
import functools
import io
import math
import threading
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.dashboard import i18n
from simulation.dashboard.i18n import t
from simulation.errors import InputError, bound_message
from simulation.measures import MAP_MEASURES, MEASURES, TERRITORY_MEASURES
from simulation.params import PARAMS, Param, ParameterError
from simulation.policies import MAP_WIDE, POLICY_CLASSES, Policy, make_policy
from simulation.territory import KINDS, TerritoryMap, load_map

# ------------------------------------------------------------------------------- defaults
DEFAULT_SCENARIO = "baseline"
DEFAULT_HOUSEHOLDS: dict[str, int] = {
    "france-regions": 5_000,
    "france-departements": 10_000,
    "synthetic": 3_000,
}
"""Household agents per map in the dashboard: a step then takes well under 100 ms."""
FALLBACK_HOUSEHOLDS = 5_000
MAX_BRANCHES = 4
STEPS_PER_YEAR = 12
SPEEDS: dict[str, float] = {"slow": 1.0, "normal": 0.35, "fast": 0.0}
"""Seconds between two steps while playing (0: as fast as the machine goes)."""
DEFAULT_SPEED = "normal"

MAP_MEASURE_CHOICES: tuple[str, ...] = (
    "attractiveness", "population_change", "net_migration", "local_value_captured",
    "leakage_global", "global_platform_share", "mean_income", "gini", "d9_d1",
    "non_take_up", "non_take_up_low_literacy", "service_access", "broadband_coverage",
    "illectronism", "telework_share", "employment_rate", "unemployment_rate",
    "local_tax_base", "budget_balance", "housing_price", "commute_km",
)  # fmt: skip
DEFAULT_MAP_MEASURE = "attractiveness"
CHART_CHOICES: tuple[str, ...] = tuple(
    m for m in MAP_MEASURES if m not in ("attractiveness", "households")
)
DEFAULT_CHARTS: tuple[str, ...] = (
    "local_value_captured", "theil_between", "gini", "non_take_up",
    "global_platform_share", "unemployment_rate",
)  # fmt: skip
DIVERGING_AT: dict[str, float] = {
    "population_change": 0.0, "net_migration": 0.0, "budget_balance": 0.0,
    "attractiveness": 1.0,
}  # fmt: skip
"""Measures coloured on a diverging scale, with their neutral value."""

_COMMON_FIELDS = frozenset(Policy.model_fields)
"""Fields every policy has (type, territories, start, end, ramp, label): not lever widgets."""

# Initial widget values for required policy fields (the ranges come from the declarations).
FIELD_START: dict[tuple[str, str], Any] = {
    ("public_counters", "change"): -1.0,
    ("platform_tax", "rate"): 0.03,
    ("new_deal", "offers_per_year"): 500.0,
    ("equalisation", "level"): 0.6,
    ("telework_norm", "days"): 2.5,
    ("tiers_lieux", "places"): 10.0,
    ("france_services", "per_territory"): 2.0,
    ("digital_mediators", "per_10k_households"): 1.0,
}

# Map-wide parameters that can change during a run, and the policy that changes them.
PARAM_POLICY: dict[str, str] = {
    "equalisation": "equalisation",
    "telework_days": "telework_norm",
    "global_commission": "platform_dependence",
    "global_commission_dominant": "platform_dependence",
    "platform_push": "platform_dependence",
    "platform_tax": "platform_tax",
}


class LeverError(InputError):
    """A lever that cannot be applied, or a scenario the picker cannot load.

    A lever: a bad value, no territory, the wrong moment. A scenario: the message names the
    file, the key and what is allowed.
    """


# ------------------------------------------------------------------------------- scenarios
def _scenario_module() -> types.ModuleType:
    """The scenario module (:mod:`simulation.scenario`), imported on first use."""
    import importlib

    return importlib.import_module("simulation.scenario")


def scenario_names() -> list[str]:
    """Names of the built-in scenarios (for the picker)."""
    mod = _scenario_module()
    if hasattr(mod, "builtin_names"):
        return list(mod.builtin_names())
    items = mod.list_scenarios()
    names = []
    for it in items:
        if isinstance(it, str):
            names.append(it)
        elif isinstance(it, tuple | list):
            names.append(str(it[0]))
        else:
            names.append(str(getattr(it, "name", it)))
    return names


def load_scenario(name_or_path: str) -> Any:
    """Load a scenario by built-in name or path (see :func:`simulation.scenario.load_scenario`)."""
    return _scenario_module().load_scenario(name_or_path)


def scenario_description(sc: Any, lang: str) -> str:
    """The scenario's description in ``lang`` (empty when it has none)."""
    for attr in (f"description_{lang}", "description", f"question_{lang}", "question"):
        v = getattr(sc, attr, None)
        if isinstance(v, dict):
            v = v.get(lang) or v.get("en") or next(iter(v.values()), "")
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def scenario_title(sc: Any, lang: str) -> str:
    """The scenario's title in ``lang``, else its name."""
    for attr in (f"title_{lang}", "title"):
        v = getattr(sc, attr, None)
        if isinstance(v, dict):
            v = v.get(lang) or v.get("en")
        if isinstance(v, str) and v.strip():
            return v.strip()
    return str(getattr(sc, "name", "scenario"))


# ------------------------------------------------------------------------------- lever specs
@dataclass(frozen=True)
class FieldSpec:
    """One widget of a policy lever, generated from the policy's pydantic field.

    Attributes:
        name: field name.
        kind: "float", "int", "bool", "choice" (one of ``choices``), "multi" (several of
            ``choices``) or "optional" (a float that may be left unset: a switch plus a slider).
        lo: smallest allowed value (numeric kinds).
        hi: largest allowed value.
        lo_open: the lower bound is exclusive (``gt``).
        step: slider step.
        default: initial value of the widget.
        choices: allowed values (choice and multi kinds).
        slider: True when a slider suits the range (else a number field only).
    """

    name: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    step: float | None = None
    default: Any = None
    choices: tuple[str, ...] = ()
    slider: bool = True

    def check(self, value: Any) -> Any:
        """Convert a widget value to the field's type, raising :class:`LeverError` if invalid."""
        if self.kind == "bool":
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise LeverError(f"{self.name} must be one of {', '.join(self.choices)}")
            return value
        if self.kind == "multi":
            vals = [v for v in (value or []) if v in self.choices]
            if not vals:
                raise LeverError(f"{self.name}: choose at least one of {', '.join(self.choices)}")
            return vals
        if self.kind == "optional" and value is None:
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise LeverError(f"{self.name} must be a number, got {value!r}") from None
        if not math.isfinite(x):
            raise LeverError(f"{self.name} must be a finite number")
        if self.lo is not None and (x < self.lo or (self.lo_open and x <= self.lo)):
            raise LeverError(f"{self.name} = {x:g} is below its range ({self.lo:g} to {self.hi:g})")
        if self.hi is not None and x > self.hi:
            raise LeverError(f"{self.name} = {x:g} is above its range ({self.lo:g} to {self.hi:g})")
        return int(round(x)) if self.kind == "int" else x


@dataclass(frozen=True)
class PolicySpec:
    """The widgets of one policy type and whether it applies map-wide."""

    type: str
    fields: tuple[FieldSpec, ...]
    map_wide: bool

    def defaults(self) -> dict[str, Any]:
        """Initial widget values."""
        return {f.name: f.default for f in self.fields}


def _nice_step(lo: float, hi: float, integer: bool) -> float:
    span = hi - lo
    if span <= 0:
        return 1.0
    raw = span / 200.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            step = m * mag
            break
    if integer:
        step = max(1.0, round(step))
    return float(step)


def _bounds(metadata: Iterable[Any]) -> tuple[float | None, float | None, bool]:
    lo = hi = None
    lo_open = False
    for m in metadata:
        if getattr(m, "ge", None) is not None:
            lo = float(m.ge)
        if getattr(m, "gt", None) is not None:
            lo, lo_open = float(m.gt), True
        if getattr(m, "le", None) is not None:
            hi = float(m.le)
        if getattr(m, "lt", None) is not None:
            hi = float(m.lt)
    return lo, hi, lo_open


def _field_spec(ptype: str, name: str, info: Any) -> FieldSpec:
    ann = info.annotation
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    default = info.get_default(call_default_factory=True)
    required = info.is_required()
    lo, hi, lo_open = _bounds(info.metadata)
    if origin is typing.Literal:
        return FieldSpec(name, "choice", default=default, choices=tuple(args))
    if origin is list and args and typing.get_origin(args[0]) is typing.Literal:
        choices = tuple(typing.get_args(args[0]))
        return FieldSpec(name, "multi", default=list(default or choices), choices=choices)
    if ann is bool:
        return FieldSpec(name, "bool", default=bool(default))
    optional = origin in (typing.Union, types.UnionType) and type(None) in args
    number_types = {a for a in args if a is not type(None)} if optional else {ann}
    if not number_types <= {float, int}:
        raise TypeError(f"policy {ptype}: field {name} has an unsupported type {ann}")
    integer = number_types == {int}
    if lo is None or hi is None:
        raise TypeError(f"policy {ptype}: field {name} declares no range (ge/le)")
    start = FIELD_START.get((ptype, name))
    if start is None:
        if required or default is None:
            start = lo if not lo_open else lo + _nice_step(lo, hi, integer)
            if lo < 0 < hi:
                start = 0.0
        else:
            start = default
    kind = "optional" if optional else ("int" if integer else "float")
    return FieldSpec(name, kind, lo=lo, hi=hi, lo_open=lo_open, step=_nice_step(lo, hi, integer),
                     default=None if (optional and (ptype, name) not in FIELD_START) else start,
                     slider=(hi - lo) <= 1_000)


@functools.cache
def policy_specs() -> dict[str, PolicySpec]:
    """Lever widgets of every policy type, generated from :data:`POLICY_CLASSES`."""
    out = {}
    for ptype, cls in POLICY_CLASSES.items():
        fields = tuple(_field_spec(ptype, n, f) for n, f in cls.model_fields.items()
                       if n not in _COMMON_FIELDS)
        out[ptype] = PolicySpec(ptype, fields, ptype in MAP_WIDE)
    return out


@dataclass(frozen=True)
class ParamLever:
    """A map-wide setting generated from a declared parameter.

    Attributes:
        param: the declaration (name, range, unit, labels).
        step: slider step.
        mid_run: True when it can change during the run (through a policy).
    """

    param: Param
    step: float
    mid_run: bool

    @property
    def name(self) -> str:
        """Parameter name."""
        return self.param.name


@functools.cache
def param_levers() -> tuple[ParamLever, ...]:
    """Settings generated from the parameters of groups ``lever`` and ``uncertainty``."""
    out = []
    for p in PARAMS.values():
        if p.group not in ("lever", "uncertainty"):
            continue
        integer = p.kind == "int"
        step = 1.0 if p.kind == "bool" else _nice_step(p.lo, p.hi, integer)
        out.append(ParamLever(p, step, p.name in PARAM_POLICY))
    out.sort(key=lambda pl: (not pl.mid_run, pl.param.group != "lever", pl.name))
    return tuple(out)


def param_policy(name: str, value: Any, current: Any) -> dict[str, Any]:
    """The policy that moves map-wide parameter ``name`` from ``current`` to ``value``.

    Raises:
        LeverError: the parameter cannot change during a run, or the change cannot be
            expressed (a platform tax can only rise during a run).
    """
    ptype = PARAM_POLICY.get(name)
    if ptype is None:
        raise LeverError(f"{name} is a starting assumption: change it at month 0")
    if name == "equalisation":
        return {"type": ptype, "level": float(value)}
    if name == "telework_days":
        return {"type": ptype, "days": float(value)}
    if name == "global_commission":
        return {"type": ptype, "commission": float(value)}
    if name == "global_commission_dominant":
        return {"type": ptype, "dominant_commission": float(value)}
    if name == "platform_push":
        return {"type": ptype, "push": float(value) - float(current)}
    if name == "platform_tax":
        delta = float(value) - float(current)
        if delta < 0:
            raise LeverError("the platform tax can only rise during a run (it is a policy rate)")
        return {"type": ptype, "rate": delta}
    raise LeverError(f"no policy sets {name}")  # pragma: no cover


# ------------------------------------------------------------------------------- territories
@dataclass(frozen=True)
class Where:
    """Which territories a lever applies to.

    Attributes:
        mode: "all", "kinds", "regions" or "codes".
        values: kinds, region codes or territory codes (ignored for "all").
    """

    mode: str = "all"
    values: tuple[str, ...] = ()

    def to_policy(self) -> str | dict[str, list[str]]:
        """The ``territories`` value of a policy.

        Raises:
            LeverError: no territory chosen.
        """
        if self.mode == "all":
            return "all"
        if not self.values:
            raise LeverError("choose at least one territory")
        return {self.mode: list(self.values)}


def region_names() -> dict[str, str]:
    """Region code -> name of the built-in regions map."""
    return _region_names()


@functools.cache
def _region_names() -> dict[str, str]:
    try:
        rm = load_map("france-regions")
    except Exception:  # pragma: no cover - built-in data missing
        return {}
    return dict(zip(rm.codes, rm.names, strict=True))


def describe_territories(territories: Any, tmap: TerritoryMap, lang: str) -> str:
    """Plain words for a policy's ``territories`` value."""
    if territories in (None, "all") or not territories:
        return t("where_all", lang)
    if hasattr(territories, "model_dump"):
        territories = territories.model_dump()
    parts = []
    if territories.get("kinds"):
        parts.append(", ".join(i18n.kind_label(k, lang) for k in territories["kinds"]))
    if territories.get("regions"):
        rn = region_names()
        parts.append(", ".join(rn.get(r, r) for r in territories["regions"]))
    if territories.get("codes"):
        names = []
        for c in territories["codes"]:
            try:
                names.append(f"{tmap.names[tmap.index(c)]} ({c})")
            except KeyError:
                names.append(c)
        if len(names) > 6:
            names = [*names[:6], f"+{len(names) - 6}"]
        parts.append(", ".join(names))
    return " ; ".join(parts) if lang == "fr" else "; ".join(parts)


def describe_policy(spec: dict[str, Any], tmap: TerritoryMap, lang: str) -> str:
    """One line for a policy in ``lang``: type, field values with units, territories.

    Example: "Public counters (close or open): change = −100 %, counters = tax — rural
    territories".
    """
    ptype = spec["type"]
    parts = []
    for f in policy_specs().get(ptype, PolicySpec(ptype, (), False)).fields:
        if f.name not in spec:
            continue
        v = spec[f.name]
        label, unit = i18n.field_label(ptype, f.name, lang)
        if f.kind == "multi":
            vs = ", ".join(i18n.choice_label(x, lang) for x in v)
        elif f.kind == "choice":
            vs = i18n.choice_label(v, lang)
        elif f.name == "change":  # relative changes read best as percentages
            vs = i18n.fmt_value(float(v), "share 0-1", lang)
            vs = ("+" if v > 0 else "") + vs.replace(",0\u202f%", "\u202f%").replace(".0 %", " %")
        else:
            vs = i18n.fmt_plain(v, lang)
            if unit and not unit.startswith(("relative", "part 0", "share 0")) \
                    and unit.lower() not in label.lower():
                vs += f" ({unit})"
        parts.append(f"{label.lower()} = {vs}")
    head = i18n.policy_label(ptype, lang)
    where = describe_territories(spec.get("territories", "all"), tmap, lang)
    sep = " : " if lang == "fr" else ": "
    return f"{head}{sep}{', '.join(parts)} — {where}" if parts else f"{head} — {where}"


# ------------------------------------------------------------------------------- model copies
def fork_model(model: Any) -> Any:
    """An independent copy of a model that continues exactly as the original would.

    The parameters (read-only: a change replaces the object) and the map (never changed by a
    run) are shared with the copy instead of being copied, which saves time and memory.
    """
    memo = {id(model.p): model.p, id(model.tmap): model.tmap}
    return copy.deepcopy(model, memo)


# ------------------------------------------------------------------------------- runs
@dataclass
class Choice:
    """One thing the room decided.

    Attributes:
        step: months done when it was chosen (it takes effect from month ``step + 1``).
        policy: the policy (validated dict, with ``start = step / 12``), or None.
        param: for a starting parameter (chosen at month 0): its name; for a map-wide
            setting changed during the run: the parameter the policy sets.
        value: the parameter's new value.
    """

    step: int
    policy: dict[str, Any] | None = None
    param: str | None = None
    value: Any = None

    @property
    def is_start_param(self) -> bool:
        """True for a starting parameter (no policy)."""
        return self.policy is None


@dataclass
class Run:
    """A model and the choices that made it (on top of the session's scenario)."""

    model: Any
    choices: list[Choice] = field(default_factory=list)

    @property
    def steps(self) -> int:
        """Months simulated."""
        return int(self.model.steps)

    def advance_to(self, step: int) -> None:
        """Step the model until it has simulated ``step`` months (never backwards)."""
        while self.model.steps < step:
            self.model.step()

    def fork(self) -> Run:
        """An independent copy (model and choices)."""
        return Run(fork_model(self.model), [copy.deepcopy(c) for c in self.choices])

    def map_history(self) -> list[dict[str, float]]:
        """Map-level measures of every month so far (month 0 first)."""
        return self.model._history_map

    def territory_values(self, measure: str, step: int) -> np.ndarray:
        """One value per territory of ``measure`` at month ``step`` (<= months simulated)."""
        j = TERRITORY_MEASURES.index(measure)
        hist = self.model._history_terr
        return np.asarray(hist[min(step, len(hist) - 1)][:, j], dtype=float)

    def series(self, measure: str, upto: int) -> np.ndarray:
        """Map-level ``measure`` for months 0..``upto`` (NaN where not yet simulated)."""
        hist = self.model._history_map
        out = np.full(upto + 1, np.nan)
        n = min(len(hist), upto + 1)
        out[:n] = [hist[i].get(measure, np.nan) for i in range(n)]
        return out


@dataclass
class Branch:
    """A saved run, its name and the point it was saved at."""

    name: str
    run: Run
    fork_step: int
    fork_choices: int


@dataclass
class LogEntry:
    """A line of the session log (choices, branches)."""

    step: int
    kind: str  # "policy" | "start_param" | "branch_saved" | "branch_back" | "scenario"
    choice: Choice | None = None
    name: str = ""


class Session:
    """The state of one browser tab: scenario, live run, baseline, branches and log.

    Args:
        scenario: built-in scenario name or path to a scenario file.
        households: household agents (default: :data:`DEFAULT_HOUSEHOLDS` for the map).
        seed: master seed (default: the scenario's).
        map_name: another map than the scenario's (its policies must fit the new map).

    Every public method takes the session's lock: the play loop steps from another thread.
    """

    def __init__(self, scenario: str = DEFAULT_SCENARIO, households: int | None = None,
                 seed: int | None = None, map_name: str | None = None) -> None:
        self.lock = threading.RLock()
        self._households_arg = households
        self._seed_arg = seed
        self._map_arg = map_name
        self.log: list[LogEntry] = []
        self.branches: list[Branch] = []
        self.compare: int | None = None
        self.start_params: dict[str, Any] = {}
        self._load(scenario)

    # ------------------------------------------------------------------ construction
    def _load(self, scenario: str) -> None:
        sc = load_scenario(scenario)
        if self._map_arg and self._map_arg != sc.map:
            sc = sc.with_overrides(map=self._map_arg)
        self.scenario = sc
        self.scenario_ref = scenario
        self.scenario_name = str(sc.name)
        self.seed = int(sc.seed if self._seed_arg is None else self._seed_arg)
        self.households = int(self._households_arg or DEFAULT_HOUSEHOLDS.get(
            Path(str(sc.map)).name, FALLBACK_HOUSEHOLDS))
        self.scenario_params: dict[str, Any] = dict(sc.params)
        self.scenario_policies: list[dict[str, Any]] = sc.policy_dicts()
        self.start_params = {}
        self.branches = []
        self.compare = None
        self.log = [LogEntry(0, "scenario", name=self.scenario_name)]
        self.live = Run(self._build(self.start_params))
        self.map_name = self.live.model.map_name
        self.baseline: Run | None = None

    def _build(self, params: dict[str, Any]) -> Any:
        return self.scenario.build_model(seed=self.seed, params=dict(params) or None,
                                         n_households=self.households)

    @property
    def tmap(self) -> TerritoryMap:
        """The map of the session."""
        return self.live.model.tmap

    @property
    def steps(self) -> int:
        """Months simulated by the live run."""
        return self.live.steps

    # ------------------------------------------------------------------ running
    def step(self, n: int = 1) -> None:
        """Advance the live run ``n`` months; the baseline and compared branch follow."""
        with self.lock:
            for _ in range(n):
                self.live.model.step()
            target = self.live.steps
            if self.baseline is not None:
                self.baseline.advance_to(target)
            if self.compare is not None:
                self.branches[self.compare].run.advance_to(target)

    def reset(self) -> None:
        """Back to month 0 of the scenario: choices, baseline and branches are dropped.

        Starting parameters set at month 0 are kept (they are part of the starting point).
        """
        with self.lock:
            self.branches = []
            self.compare = None
            self.log = [LogEntry(0, "scenario", name=self.scenario_name)]
            self.log += [LogEntry(0, "start_param", Choice(0, None, k, v))
                         for k, v in self.start_params.items()]
            self.live = Run(self._build(self.start_params))
            self.baseline = None if not self.start_params else Run(self._build({}))

    def load(self, scenario: str) -> None:
        """Start over from another scenario (starting parameters are dropped).

        Raises:
            LeverError: the scenario cannot be loaded (a bad file, map or policy); the
                session is left as it was, on its current scenario.
        """
        with self.lock:
            before = dict(self.__dict__)
            try:
                self._load(scenario)
            except (InputError, ValueError, TypeError, OSError) as exc:
                self.__dict__.clear()
                self.__dict__.update(before)
                raise LeverError(bound_message(str(exc))) from None

    # ------------------------------------------------------------------ levers
    def _ensure_baseline(self) -> None:
        """Keep the choice-free run before the live run departs from it."""
        if self.baseline is None:
            self.baseline = self.live.fork()
            self.baseline.choices = []

    def pull(self, spec: dict[str, Any]) -> Choice:
        """Pull a policy lever now: it takes effect from the next month.

        Args:
            spec: a policy as a dict (type, fields, territories); ``start`` is set here.

        Raises:
            LeverError, pydantic.ValidationError, ValueError: an invalid policy or territory.
        """
        with self.lock:
            spec = {k: v for k, v in spec.items() if k not in ("start", "end")}
            spec["start"] = self.live.steps / STEPS_PER_YEAR
            pol = make_policy(spec)
            pol.indices(self.live.model)  # unknown codes fail here, before anything changes
            choice = Choice(self.live.steps, _policy_dict(pol, spec))
            self._ensure_baseline()
            self.live.model.add_policy(choice.policy)
            self.live.choices.append(choice)
            self.log.append(LogEntry(choice.step, "policy", choice))
            return choice

    def set_param(self, name: str, value: Any) -> Choice:
        """Change a map-wide setting: a starting parameter at month 0, else a policy.

        Raises:
            LeverError: a starting assumption changed after month 0, or an inexpressible change.
            ParameterError: a value out of the parameter's declared range.
        """
        with self.lock:
            p = PARAMS[name]
            value = p.check(value, "dashboard")
            if self.live.steps == 0:
                return self._set_start_param(name, value)
            spec = param_policy(name, value, self.live.model.p[name])
            choice = self.pull(spec)
            choice.param, choice.value = name, value
            return choice

    def _set_start_param(self, name: str, value: Any) -> Choice:
        params = {**self.start_params, name: value}
        base = self.scenario_params.get(name, PARAMS[name].default)
        if value == base:
            params.pop(name)
        model = self._build(params)  # validates the combination (ParameterError)
        self.start_params = params
        policies = [c for c in self.live.choices if not c.is_start_param]
        self.live = Run(model)
        for c in policies:
            self.live.model.add_policy(c.policy)
            self.live.choices.append(c)
        choice = Choice(0, None, name, value)
        self.live.choices.insert(0, choice)
        self.baseline = Run(self._build({})) if self.start_params else None
        if not self.start_params and policies:
            self.baseline = Run(self._build({}))
        self.log.append(LogEntry(0, "start_param", choice))
        return choice

    # ------------------------------------------------------------------ branches
    def save_branch(self) -> Branch:
        """Save the live run as a new branch (compared side by side from now on).

        Raises:
            LeverError: already :data:`MAX_BRANCHES` branches.
        """
        with self.lock:
            if len(self.branches) >= MAX_BRANCHES:
                raise LeverError(f"at most {MAX_BRANCHES} branches")
            used = {b.name for b in self.branches}
            name = next(c for c in "ABCDEFGH" if c not in used)
            br = Branch(name, self.live.fork(), self.live.steps, len(self.live.choices))
            self.branches.append(br)
            self.compare = len(self.branches) - 1
            self.log.append(LogEntry(self.live.steps, "branch_saved", name=name))
            return br

    def set_compare(self, index: int | None) -> None:
        """Show branch ``index`` beside the live run (None: no comparison)."""
        with self.lock:
            if index is not None and not 0 <= index < len(self.branches):
                raise LeverError(f"no branch {index}")
            self.compare = index
            if index is not None:
                self.branches[index].run.advance_to(self.live.steps)

    def back_to(self, index: int) -> None:
        """Rebuild the live run at the starting point of branch ``index`` (by replay)."""
        with self.lock:
            br = self.branches[index]
            choices = [copy.deepcopy(c) for c in br.run.choices[:br.fork_choices]]
            self.live = Run(self.replay(choices, br.fork_step), choices)
            self.log.append(LogEntry(br.fork_step, "branch_back", name=br.name))

    def replay(self, choices: Sequence[Choice], to_step: int) -> Any:
        """Rebuild a run from the scenario, the seed and timed choices, up to ``to_step``."""
        params = {**self.start_params}
        for c in choices:
            if c.is_start_param:
                params[c.param] = c.value
        model = self._build(params)
        pending = [c for c in choices if not c.is_start_param]
        for s in range(to_step + 1):
            for c in pending:
                if c.step == s:
                    model.add_policy(c.policy)
            if s < to_step:
                model.step()
        return model

    def compared(self) -> Branch | None:
        """The branch shown beside the live run, if any."""
        return None if self.compare is None else self.branches[self.compare]

    # ------------------------------------------------------------------ reading
    def baseline_run(self) -> Run:
        """The run without the session's choices (the live run itself while there are none)."""
        return self.baseline if self.baseline is not None else self.live

    def has_choices(self) -> bool:
        """True once the live run departs from the baseline."""
        return self.baseline is not None

    def map_values(self, measure: str, run: Run | None = None, mode: str = "value"
                   ) -> np.ndarray:
        """One value per territory at the live run's month.

        Args:
            measure: a territory measure.
            run: which run (default: live).
            mode: "value", or "diff" for the difference from the baseline.
        """
        with self.lock:
            run = run or self.live
            s = self.live.steps
            vals = run.territory_values(measure, s)
            if mode == "diff":
                vals = vals - self.baseline_run().territory_values(measure, s)
            return vals

    def value_range(self, measure: str, runs: Sequence[Run]) -> tuple[float, float]:
        """Colour range of ``measure``: over territories and months so far, across ``runs``.

        With many territories the 2nd and 98th percentiles are used, so that one outlier
        (Paris) does not wash out the others' colours.
        """
        with self.lock:
            j = TERRITORY_MEASURES.index(measure)
            s = self.live.steps
            chunks = []
            for r in runs:
                hist = r.model._history_terr[: s + 1]
                chunks.append(np.stack([h[:, j] for h in hist]).astype(float).ravel())
            arr = np.concatenate(chunks)
            fin = arr[np.isfinite(arr)]
            if not fin.size:
                return 0.0, 1.0
            if self.tmap.n >= 30:
                lo, hi = np.quantile(fin, [0.02, 0.98])
            else:
                lo, hi = fin.min(), fin.max()
            return float(lo), float(hi)

    def series(self, measure: str) -> dict[str, np.ndarray]:
        """Map-level ``measure`` over months 0..now: live, baseline, compared branch."""
        with self.lock:
            s = self.live.steps
            out = {"live": self.live.series(measure, s)}
            if self.baseline is not None:
                out["baseline"] = self.baseline.series(measure, s)
            br = self.compared()
            if br is not None:
                out["branch"] = br.run.series(measure, s)
            return out

    def choice_steps(self) -> list[int]:
        """Months at which the live run's policy choices take effect."""
        return sorted({c.step + 1 for c in self.live.choices if not c.is_start_param})

    def applied(self, choice: Choice, run: Run | None = None) -> bool:
        """True once the model has applied the choice (its log shows the policy's step)."""
        run = run or self.live
        if choice.is_start_param:
            return True
        want = choice.step + 1
        return any(e.get("step") == want and e.get("what") == choice.policy["type"]
                   for e in run.model.log)

    # ------------------------------------------------------------------ export
    def export_policies(self) -> list[dict[str, Any]]:
        """The live run's policy choices (added after the scenario's own policies)."""
        with self.lock:
            return [copy.deepcopy(c.policy) for c in self.live.choices if not c.is_start_param]

    def export_params(self) -> dict[str, Any]:
        """Parameters the session sets on top of the scenario's, with the household agents."""
        with self.lock:
            params = dict(self.start_params)
            for c in self.live.choices:
                if c.is_start_param:
                    params[c.param] = c.value
            params["n_households"] = self.households
            return params

    def export_scenario(self) -> Any:
        """The session as a scenario object: the starting scenario plus the choices."""
        with self.lock:
            years = float(self.scenario.years)
            if self.steps > years * STEPS_PER_YEAR:
                years = float(math.ceil(self.steps / STEPS_PER_YEAR))
            return self.scenario.with_overrides(
                params=self.export_params(), policies=self.export_policies(),
                name=f"{self.scenario_name}_workshop_m{self.steps}", seed=self.seed,
                years=years)

    def export_toml(self, lang: str = "en") -> str:
        """The session as a scenario file (TOML text) that ``terrinum run`` replays exactly.

        The file starts with comment lines listing the session's choices in plain words.
        """
        with self.lock:
            text = self.export_scenario().to_toml()
            head = [f"# Workshop session (Terrinum dashboard) at month {self.steps}, seed "
                    f"{self.seed}, {self.households} household agents, map {self.map_name}."]
            undone = t("log_undone", lang)
            for row in reversed(_log_rows(self, lang)):
                if row["kind"] in ("policy", "start_param") and row["status"] != undone:
                    head.append(f"#   {row['month']}: {row['text']}")
            head.append(f"# Replay: terrinum run FILE  (month {self.steps} = step {self.steps})")
            return "\n".join(head) + "\n" + text

    def export_charts_png(self, measures: Sequence[str], lang: str) -> bytes:
        """PNG of the charts (live, baseline, compared branch) in ``lang``."""
        with self.lock:
            return charts_png(self, measures, lang)


def _policy_dict(pol: Policy, spec: dict[str, Any]) -> dict[str, Any]:
    """The policy as a dict for a scenario file, keeping ``start`` even when it is 0."""
    d = pol.to_dict()
    out = {"type": d.pop("type"), "territories": d.pop("territories", "all"),
           "start": float(spec["start"])}
    d.pop("start", None)
    out.update(d)
    return out


# ------------------------------------------------------------------------------- map layout
@dataclass(frozen=True)
class MapLayout:
    """Everything needed to draw a map in SVG (computed once per map, shared read-only).

    Attributes:
        name: map name.
        viewbox: SVG viewBox.
        shapes: per territory (outline maps): ``{"i", "code", "d"}`` path data.
        nodes: per territory (node maps): ``{"i", "code", "x", "y", "r"}``.
        circles: population circles (outline maps): ``{"i", "x", "y", "r"}``.
        links: transport links: ``{"x1", "y1", "x2", "y2", "sea"}``.
        labels: ``{"i", "x", "y", "text", "size"}``.
        inset: a zoomed box for small territories (Paris area), or None.
        attribution: source of the outlines or description of the map.
    """

    name: str
    viewbox: str
    width: float
    height: float
    shapes: tuple[dict, ...]
    nodes: tuple[dict, ...]
    circles: tuple[dict, ...]
    links: tuple[dict, ...]
    labels: tuple[dict, ...]
    inset: dict | None
    attribution: str

    def as_props(self) -> dict[str, Any]:
        """Plain lists and dicts for the page."""
        return {"viewbox": self.viewbox, "shapes": list(self.shapes), "nodes": list(self.nodes),
                "circles": list(self.circles), "links": list(self.links),
                "labels": list(self.labels), "inset": self.inset}


INSET_CODES = ("75", "92", "93", "94")
MAP_WIDTH = 1000.0


def _rings(geometry: dict) -> list[list[np.ndarray]]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[np.asarray(r, dtype=float)[:, :2] for r in poly] for poly in polys]


def _decimate(pts: np.ndarray, tol: float) -> np.ndarray:
    keep = [0]
    last = pts[0]
    for i in range(1, len(pts) - 1):
        if abs(pts[i, 0] - last[0]) + abs(pts[i, 1] - last[1]) >= tol:
            keep.append(i)
            last = pts[i]
    keep.append(len(pts) - 1)
    return pts[keep]


def _path_d(rings: list[np.ndarray], tol: float = 0.8) -> str:
    parts = []
    for r in rings:
        pts = _decimate(r, tol) if len(r) > 8 else r
        if len(pts) < 3:
            continue
        coords = " ".join(f"{x:.1f} {y:.1f}" for x, y in pts)
        parts.append(f"M{coords}Z")
    return "".join(parts)


def _ring_centroid(r: np.ndarray) -> tuple[float, float, float]:
    x, y = r[:, 0], r[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    a = cross.sum() / 2.0
    if abs(a) < 1e-12:
        return float(x.mean()), float(y.mean()), 0.0
    cx = ((x + x1) * cross).sum() / (6 * a)
    cy = ((y + y1) * cross).sum() / (6 * a)
    return float(cx), float(cy), abs(float(a))


_LAYOUTS: dict[tuple, MapLayout] = {}
_LAYOUT_LOCK = threading.Lock()


def map_layout(tmap: TerritoryMap) -> MapLayout:
    """The SVG layout of ``tmap`` (cached: it never changes during a run)."""
    key = (tmap.name, tuple(tmap.codes), tmap.geometry is not None)
    with _LAYOUT_LOCK:
        if key not in _LAYOUTS:
            _LAYOUTS[key] = (_outline_layout(tmap) if tmap.geometry else _node_layout(tmap))
        return _LAYOUTS[key]


def _outline_layout(tmap: TerritoryMap) -> MapLayout:
    geo = {c: _rings(tmap.geometry[c]) for c in tmap.codes}
    allpts = np.concatenate([r for c in tmap.codes for poly in geo[c] for r in poly])
    lon0, lat0 = allpts.min(axis=0)
    lon1, lat1 = allpts.max(axis=0)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    scale = (MAP_WIDTH - 20) / ((lon1 - lon0) * kx)
    pad = 10.0

    def proj(a: np.ndarray) -> np.ndarray:
        return np.column_stack([pad + (a[:, 0] - lon0) * kx * scale,
                                pad + (lat1 - a[:, 1]) * scale])

    height = (lat1 - lat0) * scale + 2 * pad
    shapes, labels, circles = [], [], []
    label_xy = np.zeros((tmap.n, 2))
    for i, c in enumerate(tmap.codes):
        rings = []
        best = (0.0, 0.0, -1.0)
        for poly in geo[c]:
            pr = [proj(r) for r in poly]
            rings.extend(pr)
            cx, cy, area = _ring_centroid(pr[0])
            if area > best[2]:
                best = (cx, cy, area)
        shapes.append({"i": i, "code": c, "d": _path_d(rings)})
        label_xy[i] = best[:2]
    cap = np.column_stack([tmap.lon, tmap.lat])
    cap_ok = np.isfinite(cap).all(axis=1)
    cap_xy = np.where(cap_ok[:, None], proj(np.nan_to_num(cap)), label_xy)
    pop = np.asarray(tmap.population, dtype=float)
    rmax = 48.0 if tmap.n <= 20 else 26.0
    radius = rmax * np.sqrt(pop / pop.max()) if pop.max() > 0 else np.full(tmap.n, 5.0)
    for i in range(tmap.n):
        circles.append({"i": i, "x": round(float(cap_xy[i, 0]), 1),
                        "y": round(float(cap_xy[i, 1]), 1), "r": round(float(radius[i]), 1)})
    big = tmap.n <= 20
    inset = None
    if not big and all(c in tmap._pos for c in INSET_CODES):
        inset = _inset(tmap, geo, proj)
    inset_set = set(INSET_CODES) if inset else set()
    for i, c in enumerate(tmap.codes):
        if c in inset_set:
            continue
        text = tmap.names[i] if big else c
        labels.append({"i": i, "x": round(float(label_xy[i, 0]), 1),
                       "y": round(float(label_xy[i, 1]), 1), "text": text,
                       "size": 18 if big else 13})
    links = _links(tmap, cap_xy)
    return MapLayout(tmap.name, f"0 0 {MAP_WIDTH:.0f} {height:.0f}", MAP_WIDTH, height,
                     tuple(shapes), (), tuple(circles), tuple(links), tuple(labels), inset,
                     tmap.attribution)


def _inset(tmap: TerritoryMap, geo: dict, proj: Any) -> dict:
    """A zoomed box (top left, over the sea) for the Paris area's small départements."""
    idx = [tmap.index(c) for c in INSET_CODES]
    proj_rings = {i: [proj(r) for poly in geo[tmap.codes[i]] for r in poly] for i in idx}
    pts = np.concatenate([r for i in idx for r in proj_rings[i]])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    box_w = 190.0
    k = box_w / (x1 - x0)
    box_h = (y1 - y0) * k
    ox, oy = 14.0, 14.0
    shapes = []
    labels = []
    for i in idx:
        rings = [np.column_stack([ox + (r[:, 0] - x0) * k, oy + (r[:, 1] - y0) * k])
                 for r in proj_rings[i]]
        shapes.append({"i": i, "code": tmap.codes[i], "d": _path_d(rings, tol=0.6)})
        cx, cy, _ = max((_ring_centroid(r) for r in rings), key=lambda q: q[2])
        labels.append({"i": i, "x": round(cx, 1), "y": round(cy, 1), "text": tmap.codes[i],
                       "size": 13})
    return {"x": ox - 4, "y": oy - 4, "w": round(box_w + 8, 1), "h": round(box_h + 8, 1),
            "shapes": shapes, "labels": labels,
            "mark": {"x": round(float(x0) - 2, 1), "y": round(float(y0) - 2, 1),
                     "w": round(float(x1 - x0) + 4, 1), "h": round(float(y1 - y0) + 4, 1)}}


def _links(tmap: TerritoryMap, xy: np.ndarray) -> list[dict]:
    out = []
    for u, v, data in tmap.graph.edges(data=True):
        i, j = tmap._pos[u], tmap._pos[v]
        out.append({"x1": round(float(xy[i, 0]), 1), "y1": round(float(xy[i, 1]), 1),
                    "x2": round(float(xy[j, 0]), 1), "y2": round(float(xy[j, 1]), 1),
                    "sea": data.get("kind") == "sea"})
    return out


def _node_layout(tmap: TerritoryMap) -> MapLayout:
    x = np.asarray(tmap.x_km, dtype=float)
    y = np.asarray(tmap.y_km, dtype=float)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    pad = 60.0
    scale = (MAP_WIDTH - 2 * pad) / span
    px = pad + (x - x.min()) * scale
    py = pad + (y.max() - y) * scale
    height = float(np.ptp(y)) * scale + 2 * pad
    pop = np.asarray(tmap.population, dtype=float)
    radius = 10 + 42 * np.sqrt(pop / pop.max()) if pop.max() > 0 else np.full(tmap.n, 16.0)
    nodes = tuple({"i": i, "code": c, "x": round(float(px[i]), 1), "y": round(float(py[i]), 1),
                   "r": round(float(radius[i]), 1)} for i, c in enumerate(tmap.codes))
    labels = tuple({"i": i, "x": round(float(px[i]), 1),
                    "y": round(float(py[i] + radius[i] + 14), 1), "text": c, "size": 14}
                   for i, c in enumerate(tmap.codes))
    links = tuple(_links(tmap, np.column_stack([px, py])))
    return MapLayout(tmap.name, f"0 0 {MAP_WIDTH:.0f} {height:.0f}", MAP_WIDTH, height, (),
                     nodes, (), links, labels, None, tmap.attribution)


# ------------------------------------------------------------------------------- colours
@functools.cache
def _lut(name: str) -> tuple[str, ...]:
    from matplotlib import colormaps

    cm = colormaps[name]
    return tuple("#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in cm(i / 255)[:3]))
                 for i in range(256))


NO_DATA = "#d0d0d0"


@dataclass(frozen=True)
class ColourScale:
    """A colour scale for a map: colours per territory and a legend.

    Attributes:
        fills: one CSS colour per territory.
        stops: colours of the legend bar, low to high.
        lo: value at the low end of the bar.
        hi: value at the high end.
        center: neutral value of a diverging scale (NaN for a sequential one).
        log: the bar is logarithmic (ratios such as attractiveness).
    """

    fills: list[str]
    stops: list[str]
    lo: float
    hi: float
    center: float
    log: bool = False

    @property
    def diverging(self) -> bool:
        """True for a scale centred on a neutral value."""
        return math.isfinite(self.center)


LOG_FLOOR = 0.05


def colour_scale(values: np.ndarray, lo: float, hi: float, *, center: float | None = None,
                 log: bool = False) -> ColourScale:
    """Colours for ``values`` on [lo, hi] (viridis), or diverging around ``center`` (RdBu).

    Args:
        values: one value per territory (NaN gets :data:`NO_DATA` grey).
        lo: low end of the range.
        hi: high end of the range.
        center: neutral value: the scale becomes symmetric around it, red below, blue above.
        log: positions on a log scale (for ratios; values floored at :data:`LOG_FLOOR`).
    """
    vals = np.asarray(values, dtype=float)

    def tr(x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.log(np.maximum(x, LOG_FLOOR)) if log else x

    tv, tlo, thi = tr(vals), float(tr(lo)), float(tr(hi))
    if center is not None:
        tc = float(tr(center))
        half = max(abs(thi - tc), abs(tc - tlo), 1e-12)
        tlo, thi = tc - half, tc + half
        lut = _lut("RdBu")
    else:
        if thi <= tlo:
            tlo, thi = tlo - 0.5, thi + 0.5
        lut = _lut("viridis")
    pos = np.clip((tv - tlo) / (thi - tlo), 0, 1)
    idx = np.where(np.isfinite(pos), np.round(pos * 255), 0).astype(int)
    fills = [lut[k] if math.isfinite(v) else NO_DATA for k, v in zip(idx, vals, strict=True)]
    stops = [lut[int(round(q * 255))] for q in np.linspace(0, 1, 9)]
    back = math.exp if log else float
    return ColourScale(fills, stops, back(tlo), back(thi),
                       float(center) if center is not None else float("nan"), log)


def map_scale(session: Session, measure: str, mode: str, runs: Sequence[Run]
              ) -> tuple[list[np.ndarray], list[ColourScale]]:
    """Values and colour scales (one shared range) for the maps of ``runs`` (side by side)."""
    vals = [session.map_values(measure, r, mode) for r in runs]
    if mode == "diff":
        fin = np.concatenate([v[np.isfinite(v)] for v in vals])
        half = float(np.quantile(np.abs(fin), 0.98)) if fin.size else 0.0
        floor = 1e-3 if MEASURES[measure].unit.startswith("share") else 1e-6
        half = max(half, floor)
        return vals, [colour_scale(v, -half, half, center=0.0) for v in vals]
    lo, hi = session.value_range(measure, runs)
    center = DIVERGING_AT.get(measure)
    log = measure == "attractiveness"
    return vals, [colour_scale(v, lo, hi, center=center, log=log) for v in vals]


# ------------------------------------------------------------------------------- charts (SVG)
COLORS = {"live": "#1d5fbf", "baseline": "#7a7a7a", "branch": "#e07000"}
DASH = {"live": "", "baseline": "7 5", "branch": ""}


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _esc(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _tick_text(v: float, unit: str, lang: str, step: float) -> str:
    """Tick label with just enough decimals for the tick spacing ``step``."""
    if unit.startswith("share"):
        v, step = 100 * v, 100 * step
        suffix = "%"
    else:
        suffix = ""
    a = max(abs(v), abs(step))
    if not suffix and a >= 1e6:
        return i18n.fmt_number(v / 1e6, lang, max(0, -math.floor(math.log10(step / 1e6)))) + "M"
    if not suffix and a >= 1e4:
        return i18n.fmt_number(v / 1e3, lang, max(0, -math.floor(math.log10(step / 1e3)))) + "k"
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 2
    return i18n.fmt_number(v, lang, min(digits, 4)) + suffix


def _title_size(title: str, width: int) -> str:
    """A smaller font for long chart titles, so that they leave room for the value."""
    room = width - 78  # the current value sits at the right of the title line
    size = min(16.0, room / (0.56 * max(len(title), 1)))
    return "" if size >= 16.0 else f' style="font-size: {size:.1f}px"'


def chart_svg(measure: str, series: dict[str, np.ndarray], marks: Sequence[int], lang: str,
              *, branch_name: str = "", width: int = 320, height: int = 200) -> str:
    """A line chart of one map-level measure over months (inline SVG).

    Args:
        measure: the measure's name (title and unit from its declaration).
        series: "live", optionally "baseline" and "branch": one value per month.
        marks: months at which a choice took effect (small triangles on the x axis).
        lang: "fr" or "en".
        branch_name: name of the compared branch (legend).
        width: SVG width in px.
        height: SVG height in px.
    """
    m = MEASURES[measure]
    live = series["live"]
    n = len(live)
    step = n - 1
    left, right, top, bottom = 48, 10, 34, 28
    pw, ph = width - left - right, height - top - bottom
    allv = np.concatenate([np.asarray(v, float) for v in series.values()])
    fin = allv[np.isfinite(allv)]
    if fin.size:
        lo, hi = float(fin.min()), float(fin.max())
        span = hi - lo
        pad = span * 0.08 if span > 0 else max(abs(hi) * 0.02, 1e-3)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = 0.0, 1.0
    xmax = max(12, step)

    def px(i: float) -> float:
        return left + pw * i / xmax

    def py(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    title = f"{i18n.measure_label(measure, lang)}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" class="tn-chart" data-chart="{measure}" data-step="{step}" '
           f'data-last="{float(live[-1])!r}" role="img" aria-label="{_esc(title)}">',
           f'<text x="2" y="20" class="tn-chart-title"{_title_size(title, width)}>'
           f'{_esc(title)}</text>']
    ticks = _nice_ticks(lo, hi, 4)
    tstep = ticks[1] - ticks[0] if len(ticks) > 1 else abs(hi - lo) or 1.0
    for v in ticks:
        y = py(v)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e3e3e3" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'class="tn-tick">{_esc(_tick_text(v, m.unit, lang, tstep))}</text>')
    years = xmax > 36
    tick_step = 12 * max(1, math.ceil(xmax / 12 / 6)) if years else (6 if xmax > 12 else 3)
    for i in range(0, xmax + 1, tick_step):
        lab = str(i // 12) if years else str(i)
        out.append(f'<text x="{px(i):.1f}" y="{top + ph + 17}" text-anchor="middle" '
                   f'class="tn-tick">{lab}</text>')
    unit_x = t("months_axis", lang) if not years else ("ans" if lang == "fr" else "years")
    out.append(f'<text x="{left + pw}" y="{height - 1}" text-anchor="end" '
               f'class="tn-axis">{unit_x}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" '
               f'stroke="#999"/>')
    for s in marks:
        if 0 <= s <= xmax:
            x = px(s)
            out.append(f'<path d="M{x - 6:.1f} {top + ph + 1}L{x + 6:.1f} {top + ph + 1}'
                       f'L{x:.1f} {top + ph - 9}Z" fill="#c62828" class="tn-mark"/>')
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" '
                       f'stroke="#c62828" stroke-width="1" stroke-dasharray="2 3"/>')
    for key in ("baseline", "branch", "live"):
        if key not in series:
            continue
        vals = np.asarray(series[key], dtype=float)
        segs, cur = [], []
        for i, v in enumerate(vals):
            if math.isfinite(v):
                cur.append(f"{px(i):.1f},{py(v):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        w = 3 if key == "live" else 2.5
        for seg in segs:
            pts = " ".join(seg) if len(seg) > 1 else f"{seg[0]} {seg[0]}"
            dash = f' stroke-dasharray="{DASH[key]}"' if DASH[key] else ""
            out.append(f'<polyline class="tn-line-{key}" points="{pts}" fill="none" '
                       f'stroke="{COLORS[key]}" stroke-width="{w}"{dash} '
                       f'stroke-linejoin="round" stroke-linecap="round"/>')
    last = live[-1]
    if math.isfinite(last):
        out.append(f'<circle cx="{px(step):.1f}" cy="{py(last):.1f}" r="4" '
                   f'fill="{COLORS["live"]}"/>')
        out.append(f'<text x="{width - right}" y="20" text-anchor="end" class="tn-chart-now">'
                   f'{_esc(i18n.fmt_value(float(last), m.unit, lang))}</text>')
    out.append("</svg>")
    return "".join(out)


def legend_html(session: Session, lang: str, branch_name: str = "") -> str:
    """The legend of the charts' lines."""
    items = [("live", t("series_live", lang))]
    if session.baseline is not None:
        items.append(("baseline", t("series_baseline", lang)))
    if branch_name:
        items.append(("branch", t("series_branch", lang, name=branch_name)))
    parts = []
    for key, label in items:
        dash = f' stroke-dasharray="{DASH[key]}"' if DASH[key] else ""
        parts.append(f'<span class="tn-legend-item"><svg width="34" height="12">'
                     f'<line x1="2" x2="32" y1="6" y2="6" stroke="{COLORS[key]}" '
                     f'stroke-width="3"{dash}/></svg>{_esc(label)}</span>')
    if session.choice_steps():
        parts.append('<span class="tn-legend-item"><svg width="16" height="12">'
                     '<path d="M2 11L14 11L8 1Z" fill="#c62828"/></svg>'
                     f'{_esc(t("choice_marker", lang))}</span>')
    return f'<div class="tn-legend">{"".join(parts)}</div>'


def charts_png(session: Session, measures: Sequence[str], lang: str) -> bytes:
    """The charts as one PNG figure (matplotlib, Agg; no window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    measures = list(measures) or list(DEFAULT_CHARTS)
    ncol = 3 if len(measures) > 4 else 2
    nrow = math.ceil(len(measures) / ncol)
    fig = Figure(figsize=(5.2 * ncol, 3.4 * nrow + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    br = session.compared()
    labels = {"live": t("series_live", lang), "baseline": t("series_baseline", lang),
              "branch": t("series_branch", lang, name=br.name) if br else ""}
    for k, name in enumerate(measures):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        ser = session.series(name)
        for key in ("baseline", "branch", "live"):
            if key in ser:
                ax.plot(np.arange(len(ser[key])), ser[key], color=COLORS[key],
                        lw=2.4 if key == "live" else 2.0,
                        ls="--" if key == "baseline" else "-", label=labels[key])
        for s in session.choice_steps():
            ax.axvline(s, color="#c62828", lw=0.8, ls=":")
        m = MEASURES[name]
        ax.set_title(i18n.measure_label(name, lang), fontsize=12)
        ax.set_ylabel(m.unit, fontsize=9)
        ax.set_xlabel(t("months_axis", lang), fontsize=9)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8)
    sc_title = scenario_title(session.scenario, lang)
    fig.suptitle(f"Terrinum — {sc_title} — {t('month_counter', lang, step=session.steps)} "
                 f"({session.map_name}, {t('seed', lang, seed=session.seed)})", fontsize=13)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    return buf.getvalue()


# ------------------------------------------------------------------------------- page view
HOVER_MEASURES: tuple[str, ...] = (
    "attractiveness", "population_change", "mean_income", "local_value_captured",
    "non_take_up", "broadband_coverage",
)  # fmt: skip


@dataclass(frozen=True)
class ViewOptions:
    """What the page shows (chosen in the page; one per browser tab)."""

    lang: str = i18n.DEFAULT_LANG
    measure: str = DEFAULT_MAP_MEASURE
    mode: str = "value"
    charts: tuple[str, ...] = DEFAULT_CHARTS


@dataclass
class MapView:
    """One map of the page (the live run, or the compared branch)."""

    key: str
    title: str
    measure: str
    step: int
    fills: list[str]
    names: list[str]
    row_labels: list[str]
    rows: list[list[str]]
    legend: dict[str, Any]


@dataclass
class PageView:
    """Everything the page draws for one step, computed under the session's lock."""

    step: int
    counter: str
    maps: list[MapView]
    charts: list[tuple[str, str]]
    chart_legend: str
    figures: str
    log: list[dict[str, Any]]


def month_text(step: int, lang: str) -> str:
    """"Month 14 (year 2, month 2)" in ``lang``."""
    head = t("month_counter", lang, step=step)
    if step < STEPS_PER_YEAR:
        return head
    year, month = divmod(step, STEPS_PER_YEAR)
    return f"{head} · {t('year_counter', lang, year=year, month=month)}"


def _legend(measure: str, mode: str, scale: ColourScale, all_nan: bool, lang: str
            ) -> dict[str, Any]:
    unit = MEASURES[measure].unit
    label = i18n.measure_label(measure, lang)
    if mode == "diff":
        title = f"{label} — {t('mode_diff', lang)}"
        left, right = t("legend_lower", lang), t("legend_higher", lang)
    else:
        title = label
        left, right = t("legend_less", lang), t("legend_more", lang)
    fmt = i18n.fmt_diff if mode == "diff" else i18n.fmt_value
    mid = fmt(scale.center, unit, lang) if scale.diverging else ""
    return {"title": title, "stops": scale.stops,
            "lo": fmt(scale.lo, unit, lang), "hi": fmt(scale.hi, unit, lang),
            "mid": mid, "left": left, "right": right,
            "note": t("no_data_yet", lang) if all_nan else "", "unit": unit}


def _hover_rows(session: Session, run: Run, measure: str, lang: str
                ) -> tuple[list[str], list[list[str]]]:
    """Labels (shared) and formatted values per territory for the map's hover box."""
    tm = session.tmap
    s = session.steps
    shown = [measure, *[m for m in HOVER_MEASURES if m != measure]]
    now = {m: run.territory_values(m, s) for m in shown}
    base = None
    if session.has_choices():
        base = session.baseline_run().territory_values(measure, s)
    labels = [t("kind", lang), t("population", lang), i18n.measure_label(measure, lang)]
    if base is not None:
        labels.append(f"  {t('baseline', lang)}")
    labels += [i18n.measure_label(m, lang) for m in shown[1:]]
    kinds = [i18n.kind_label(k, lang, plural=False) for k in KINDS]
    units = {m: MEASURES[m].unit for m in shown}
    pops = [i18n.fmt_number(float(x), lang, 0) for x in tm.population]
    cols = {m: [i18n.fmt_value(float(v), units[m], lang) for v in now[m]] for m in shown}
    basecol = ([i18n.fmt_value(float(v), units[measure], lang) for v in base]
               if base is not None else None)
    rows = []
    for i in range(tm.n):
        r = [kinds[int(tm.kind[i])], pops[i], cols[measure][i]]
        if basecol is not None:
            r.append(basecol[i])
        r += [cols[m][i] for m in shown[1:]]
        rows.append(r)
    return labels, rows


def _figures_html(session: Session, measures: Sequence[str], lang: str) -> str:
    br = session.compared()
    head = [i18n.t("headline", lang), t("now", lang)]
    if session.has_choices():
        head += [t("baseline", lang), t("difference", lang)]
    if br is not None:
        head.append(t("branch_title", lang, name=br.name))
    out = [f'<table class="tn-figures" data-step="{session.steps}"><thead><tr>']
    out += [f"<th>{_esc(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for m in measures:
        ser = session.series(m)
        unit = MEASURES[m].unit
        v = float(ser["live"][-1])
        cells = [f'<td class="tn-fig-label">{_esc(i18n.measure_label(m, lang))}</td>',
                 f'<td class="tn-num" data-measure="{m}" data-value="{v!r}">'
                 f'{_esc(i18n.fmt_value(v, unit, lang))}</td>']
        if "baseline" in ser:
            b = float(ser["baseline"][-1])
            dtext = i18n.fmt_diff(v - b, unit, lang)
            cells.append(f'<td class="tn-num tn-base" data-base-measure="{m}" '
                         f'data-value="{b!r}">{_esc(i18n.fmt_value(b, unit, lang))}</td>')
            cells.append(f'<td class="tn-num tn-diff">{_esc(dtext)}</td>')
        if "branch" in ser:
            bv = float(ser["branch"][-1])
            cells.append(f'<td class="tn-num tn-branch" data-branch-measure="{m}" '
                         f'data-value="{bv!r}">{_esc(i18n.fmt_value(bv, unit, lang))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _log_rows(session: Session, lang: str) -> list[dict[str, Any]]:
    rows = []
    tm = session.tmap
    for e in session.log:
        month = t("log_month", lang, step=e.step)
        status = ""
        if e.kind == "scenario":
            text = t("scenario_loaded", lang, name=e.name)
        elif e.kind == "start_param":
            p = PARAMS[e.choice.param]
            text = t("log_start_param", lang, label=i18n.param_label(p.name, lang),
                     value=f"{i18n.fmt_plain(e.choice.value, lang)} "
                     f"{i18n.unit_label(p.unit, lang)}".strip())
        elif e.kind == "policy":
            c = e.choice
            if c.param is not None:
                p = PARAMS[c.param]
                text = (f"{i18n.param_label(p.name, lang)} → "
                        f"{i18n.fmt_plain(c.value, lang)} {i18n.unit_label(p.unit, lang)}".strip()
                        + f" ({i18n.policy_label(c.policy['type'], lang)})")
            else:
                text = describe_policy(c.policy, tm, lang)
            if c not in session.live.choices:
                status = t("log_undone", lang)
            else:
                status = t("log_from", lang, step=c.step + 1)
                if session.applied(c):
                    status += " ✓"
        elif e.kind == "branch_saved":
            text = t("log_branch_saved", lang, name=e.name)
        else:
            text = t("log_branch_back", lang, name=e.name)
        rows.append({"step": e.step, "month": month, "text": text, "status": status,
                     "kind": e.kind})
    return rows[::-1]


def build_view(session: Session, opts: ViewOptions) -> PageView:
    """Compute the page for the session's current month (thread-safe)."""
    lang = opts.lang
    with session.lock:
        tm = session.tmap
        runs = [session.live]
        br = session.compared()
        if br is not None:
            runs.append(br.run)
        mode = opts.mode if session.has_choices() or br is not None else "value"
        if mode == "diff" and not session.has_choices():
            mode = "value"
        vals, scales = map_scale(session, opts.measure, mode, runs)
        names = [f"{n} ({c})" for n, c in zip(tm.names, tm.codes, strict=True)]
        maps = []
        for k, run in enumerate(runs):
            key = "live" if k == 0 else "branch"
            title = t("live_title", lang) if k == 0 else t("branch_title", lang, name=br.name)
            all_nan = not np.isfinite(vals[k]).any()
            labels, rows = _hover_rows(session, run, opts.measure, lang)
            maps.append(MapView(key, title, opts.measure, session.steps, scales[k].fills,
                                names, labels, rows,
                                _legend(opts.measure, mode, scales[k], all_nan, lang)))
        marks = session.choice_steps()
        charts = [(m, chart_svg(m, session.series(m), marks, lang,
                                branch_name=br.name if br else ""))
                  for m in opts.charts]
        return PageView(session.steps, month_text(session.steps, lang), maps, charts,
                        legend_html(session, lang, br.name if br else ""),
                        _figures_html(session, opts.charts, lang), _log_rows(session, lang))


# ------------------------------------------------------------------------------- presets
def presets(tmap: TerritoryMap) -> dict[str, dict[str, Any]]:
    """Example levers, as policy dicts; only those valid on ``tmap``.

    They include the issue's "close the tax offices in rural territories now" and "open ten
    tiers-lieux in Creuse".
    """
    out: dict[str, dict[str, Any]] = {}
    kinds_present = {KINDS[int(k)] for k in np.unique(tmap.kind)}
    if "rural" in kinds_present:
        out["close_rural_tax_offices"] = {"type": "public_counters", "change": -1.0,
                                          "which": ["tax"], "territories": {"kinds": ["rural"]}}
    if "23" in tmap._pos and tmap.names[tmap.index("23")] == "Creuse":
        out["tiers_lieux_creuse"] = {"type": "tiers_lieux", "places": 10.0,
                                     "territories": {"codes": ["23"]}}
    out["mediators_everywhere"] = {"type": "digital_mediators", "per_10k_households": 1.0,
                                   "territories": "all"}
    out["platform_tax_3"] = {"type": "platform_tax", "rate": 0.03, "territories": "all"}
    return out


def preset_where(spec: dict[str, Any]) -> Where:
    """The :class:`Where` of a preset policy."""
    terr = spec.get("territories", "all")
    if terr == "all":
        return Where()
    (mode, vals), = terr.items()
    return Where(mode, tuple(vals))


__all__ = [
    "Branch", "Choice", "ColourScale", "FieldSpec", "LeverError", "MapLayout", "ParamLever",
    "ParameterError", "PolicySpec", "Run", "Session", "Where", "chart_svg", "charts_png",
    "colour_scale", "describe_policy", "describe_territories", "fork_model", "map_layout",
    "map_scale", "param_levers", "param_policy", "policy_specs", "presets", "scenario_names",
]
