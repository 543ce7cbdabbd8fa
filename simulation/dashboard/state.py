"""Session state of the workshop dashboard: runs, levers, branches, log and export.

Nothing here imports Solara: the page (:mod:`simulation.dashboard.app`) holds one
:class:`Session` per browser tab and draws what this module computes, so the whole logic is
testable without a browser.

How a session works:

* The **live run** starts from a scenario file (:mod:`simulation.scenarios.files`) with the seed
and the
  number of household agents of the session. ``Session.step`` advances it one month.
* A **lever** is a policy (:mod:`simulation.engine.policies`) added with ``start = months /
12``, so it
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
import dataclasses
import functools
import math
import re
import threading
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.dashboard import i18n
from simulation.dashboard.i18n import t
from simulation.dashboard.levers import LeverError, PolicySpec, param_policy, policy_specs
from simulation.engine.measures import FLOW_MEASURES, MAP_MEASURES, TERRITORY_MEASURES
from simulation.engine.params import PARAMS
from simulation.engine.policies import MAP_WIDE, Policy, make_policy
from simulation.errors import InputError, bound_message
from simulation.reports import style
from simulation.world.maps import KINDS, TerritoryMap, load_map

# ------------------------------------------------------------------------------- defaults
DEFAULT_SCENARIO = "baseline"
DEFAULT_HOUSEHOLDS: dict[str, int] = {
    "france-regions": 20_000,
    "france-departements": 50_000,
    "synthetic": 10_000,
}
"""Household agents per map in the dashboard: enough that a territory's figure is not the
coin-flip of a hundred agents (France by département: median about 410 agents a
département, the smallest about 60), and a step stays live (about 40 ms a step on
france-departements measured with 2 busy cores; in the browser: benchmarks/bench_dashboard.py)."""
ANNUAL_MEASURES = ("attractiveness", "net_migration_rate", "natural_balance_rate")
"""Measures already summed over the last 12 months by the model: mapped as they are."""
MIN_AGENTS = style.MIN_AGENTS
"""Territories with fewer household agents are drawn as uncertain (reports.style)."""
SMOOTH_MONTHS = 12
"""Flow measures (the month's moves, purchases, claims: measures.FLOW_MEASURES) are mapped as
their mean over the last 12 months (fewer at the start), said in the legend: one month of a
territory's flows is mostly sampling noise."""
FALLBACK_HOUSEHOLDS = 5_000
MAX_BRANCHES = 4
MAX_BRANCH_NAME = 40
"""Characters of a branch name at most (it appears in titles, legends and file names)."""
DECISION_LABEL = "workshop decision, month {step}"
"""``label`` of a session's decision in an exported scenario file: reopening the file in the
dashboard takes these policies out of the reference run and replays them as decisions."""
_DECISION_RE = re.compile(r"^workshop decision, month (\d+)$")
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
    "attractiveness": 0.0, "choice_index": 1.0,
}  # fmt: skip
"""Measures coloured on a diverging scale, with their neutral value."""

"""Fields every policy has (type, territories, start, end, ramp, label): not lever widgets."""






# ------------------------------------------------------------------------------- scenarios
def _scenario_module() -> types.ModuleType:
    """The scenario module (:mod:`simulation.scenarios.files`), imported on first use."""
    import importlib

    return importlib.import_module("simulation.scenarios.files")


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
    """Load a scenario by built-in name or path (as ``scenarios.files.load_scenario``)."""
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

    Values are in the units the lever panel shows (:attr:`FieldSpec.scale`): shares in %
    ("taux de la taxe = 3 % du chiffre d'affaires local"), relative changes in words and
    signed % ("fermeture de la moitié des guichets (−50 %)").

    Example: "Public counters (close or open): closure of all the counters (−100 %), counters
    concerned = tax — rural territories".
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
        elif f.signed:  # a relative change: in words, and its signed percentage
            pct = i18n.fmt_lever(f.shown(v), f.unit, lang, signed=True)
            parts.append(f"{i18n.change_words(ptype, float(v), lang)} ({pct})")
            continue
        elif f.scale != 1.0 and v is not None:  # a share: "3 % du chiffre d'affaires local"
            vs = i18n.fmt_lever(f.shown(v), unit or f.unit, lang)
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


# ------------------------------------------------------------------------------- conflicts
@dataclass(frozen=True)
class Held:
    """A control that a running policy holds: a lever on it would be overwritten.

    Attributes:
        control: the control (see :meth:`simulation.engine.policies.Policy.controls`).
        policy_type: type of the policy that holds it.
        policy_label: its title (the scenario file's ``label``, else its description).
        until: last month (step) at which it writes the control (``math.inf``: to the end of
            the run); a lever pulled at month ``until - 1`` or later is written after it (in
            month ``until`` the scenario's policies run first) and stays.
        scenario: True for a policy of the scenario file, False for an earlier choice.
        payer: for a ``payer:`` control, the payer the holding policy writes (a lever with
            that payer is not held).
    """

    control: str
    policy_type: str
    policy_label: str
    until: float
    scenario: bool = True
    payer: str | None = None


class LeverConflictError(LeverError):
    """A lever refused because a running policy holds its control (see :class:`Held`).

    ``str(exc)`` is the English message; :meth:`message` gives it in either language.
    """

    def __init__(self, held: Held, where: str = "lever") -> None:
        self.held = held
        self.where = where
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        """The refusal in ``lang``: which policy holds which control, until which month."""
        h = self.held
        who = t("held_scenario" if h.scenario else "held_choice", lang,
                policy=h.policy_label, kind=i18n.policy_label(h.policy_type, lang))
        what = i18n.control_label(h.control, lang)
        if math.isinf(h.until):
            text = t(f"{self.where}_held_forever", lang, who=who, control=what)
        else:
            text = t(f"{self.where}_held", lang, who=who, control=what, until=int(h.until),
                     ok=int(h.until) - 1)
        if h.payer:
            text += " " + t("held_payer", lang, payer=i18n.choice_label(h.payer, lang))
        return text


def held_by(model: Any, pol: Policy, step: int, n_choices: int = 0) -> Held | None:
    """The first policy of ``model`` that would overwrite ``pol`` written at ``step``.

    Args:
        model: the running model (its policies run before ``pol`` in a step).
        pol: the new policy (a lever).
        step: the step at which it is first written (months done + 1).
        n_choices: how many of the model's policies are the session's own choices (the
            last ones); the others are the scenario's.

    Returns:
        The control held, by whom and until when; None when the lever can take effect and
        stay (every other policy composes with it, see ``Policy.controls``).
    """
    idx = pol.indices(model)
    n_scenario = len(model.policies) - n_choices
    for i, other in enumerate(model.policies):
        for control in pol.controls():
            if control.startswith("payer:") and \
                    getattr(other, "payer", None) == getattr(pol, "payer", None):
                continue  # the same payer written again changes nothing
            until = other.holds(model, control, None if pol.type in MAP_WIDE else idx, step)
            if until is not None:
                payer = getattr(other, "payer", None) if control.startswith("payer:") else None
                return Held(control, other.type, other.label or other.describe(), until,
                            i < n_scenario, payer)
    return None


def held_param(model: Any, name: str) -> Held | None:
    """The scenario policy that would overwrite starting parameter ``name`` from month 1."""
    for other in model.policies:
        until = other.holds(model, f"param:{name}", None, 0)
        if until is not None:
            return Held(f"param:{name}", other.type, other.label or other.describe(), until)
    return None


# ------------------------------------------------------------------------------- exported decisions
def split_decisions(sc: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Take a scenario's workshop decisions (policies labelled :data:`DECISION_LABEL`) out.

    Returns:
        ``(reference, decisions)``: the scenario without those policies (the reference run of
        a reopened workshop) and each decision as ``{"step": month it was taken, "policy":
        the policy dict without its label}``, in the file's order.
    """
    pols = sc.policy_dicts()
    keep, decisions = [], []
    for d in pols:
        m = _DECISION_RE.match(str(d.get("label") or ""))
        if m is None:
            keep.append(d)
            continue
        spec = {k: v for k, v in d.items() if k != "label"}
        decisions.append({"step": int(m.group(1)), "policy": spec})
    if not decisions:
        return sc, []
    return sc.with_overrides(policies=keep, replace_policies=True), decisions


def check_branch_name(name: Any, used: Sequence[str] = ()) -> str:
    """A branch name, stripped; checked against the names ``used`` by other branches.

    Raises:
        LeverError: empty, longer than :data:`MAX_BRANCH_NAME`, with control characters, or
            already used.
    """
    if not isinstance(name, str) or not name.strip():
        raise LeverError(f"branch name: {name!r} is empty; allowed: 1 to {MAX_BRANCH_NAME} "
                         "characters")
    name = " ".join(name.split())
    if len(name) > MAX_BRANCH_NAME:
        raise LeverError(f"branch name: {len(name)} characters; allowed: 1 to "
                         f"{MAX_BRANCH_NAME} characters")
    if not name.isprintable():
        raise LeverError("branch name: control characters; allowed: printable text")
    if name in used:
        raise LeverError(f"branch name: {name!r} is already used; allowed: a new name")
    return name


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

    def territory_values(self, measure: str, step: int, window: int = 1) -> np.ndarray:
        """One value per territory of ``measure`` at month ``step`` (<= months simulated).

        With ``window`` > 1, the mean over months ``step - window + 1 .. step`` (month 0
        excluded once month 1 exists: flows are not defined at month 0).
        """
        j = TERRITORY_MEASURES.index(measure)
        hist = self.model._history_terr
        end = min(step, len(hist) - 1)
        if window <= 1 or end < 1:
            return np.asarray(hist[end][:, j], dtype=float)
        start = max(1, end - window + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(np.stack([hist[i][:, j] for i in range(start, end + 1)]),
                              axis=0).astype(float)

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
    kind: str  # policy, start_param, branch_saved, branch_back, undo, decision_back, scenario
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
        self.undone: list[Choice] = []
        self._load(scenario)

    # ------------------------------------------------------------------ construction
    def _load(self, scenario: Any) -> None:
        sc = scenario if hasattr(scenario, "build_model") else load_scenario(scenario)
        if self._map_arg and self._map_arg != sc.map:
            sc = sc.with_overrides(map=self._map_arg)
        sc, decisions = split_decisions(sc)
        self.scenario = sc
        self.scenario_ref = scenario if isinstance(scenario, str) else str(
            getattr(scenario, "path", None) or sc.name)
        self.scenario_name = str(sc.name)
        self.seed = int(sc.seed if self._seed_arg is None else self._seed_arg)
        self.households = int(self._households_arg or DEFAULT_HOUSEHOLDS.get(
            Path(str(sc.map)).name, FALLBACK_HOUSEHOLDS))
        if decisions:  # an exported workshop replays with its own agents and seed
            self.households = int(sc.n_households)
            self.seed = int(sc.seed)
        self.scenario_params: dict[str, Any] = dict(sc.params)
        self.scenario_policies: list[dict[str, Any]] = sc.policy_dicts()
        self.start_params = {}
        self.branches = []
        self.compare = None
        self.undone = []
        self.log = [LogEntry(0, "scenario", name=self.scenario_name)]
        self.live = Run(self._build(self.start_params))
        self.map_name = self.live.model.map_name
        self.baseline: Run | None = None
        if decisions:  # an exported workshop: its decisions, beside the reference run
            for d in decisions:
                self.live.advance_to(d["step"])
                self.pull(d["policy"])
            self.step(max(0, round(sc.years * STEPS_PER_YEAR) - self.steps))

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
            self.undone = []
            kept = [Choice(0, None, k, v) for k, v in self.start_params.items()]
            self.log = [LogEntry(0, "scenario", name=self.scenario_name)]
            self.log += [LogEntry(0, "start_param", c) for c in kept]
            self.live = Run(self._build(self.start_params), kept[::-1])
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

    def adopt(self, other: Session) -> None:
        """Become ``other`` (a reloaded workshop), keeping this session's lock.

        The page holds one session object per tab; a workshop opened from a file replaces its
        content.
        """
        with self.lock:
            lock = self.lock
            self.__dict__.clear()
            self.__dict__.update(other.__dict__)
            self.lock = lock

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
            n_choices = sum(not c.is_start_param for c in self.live.choices)
            held = held_by(self.live.model, pol, self.live.steps + 1, n_choices)
            if held is not None:
                raise LeverConflictError(held)
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
                held = held_param(self.live.model, name)
                if held is not None:
                    raise LeverConflictError(held, "setting")
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
        starts = [c for c in self.live.choices if c.is_start_param]  # newest first
        self.live = Run(model, list(starts))
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
    def save_branch(self, name: str | None = None) -> Branch:
        """Save the live run as a new branch (compared side by side from now on).

        Args:
            name: the branch's name (default: the first free letter A, B, C...).

        Raises:
            LeverError: already :data:`MAX_BRANCHES` branches, or a bad name
                (:func:`check_branch_name`).
        """
        with self.lock:
            if len(self.branches) >= MAX_BRANCHES:
                raise LeverError(f"at most {MAX_BRANCHES} branches")
            used = {b.name for b in self.branches}
            if name is None or not str(name).strip():
                name = next(c for c in "ABCDEFGH" if c not in used)
            else:
                name = check_branch_name(name, sorted(used))
            br = Branch(name, self.live.fork(), self.live.steps, len(self.live.choices))
            self.branches.append(br)
            self.compare = len(self.branches) - 1
            self.log.append(LogEntry(self.live.steps, "branch_saved", name=name))
            return br

    def rename_branch(self, index: int, name: str) -> Branch:
        """Give branch ``index`` another name (checked by :func:`check_branch_name`)."""
        with self.lock:
            if not 0 <= index < len(self.branches):
                raise LeverError(f"no branch {index}")
            br = self.branches[index]
            old = br.name
            br.name = check_branch_name(name, [b.name for b in self.branches if b is not br])
            for e in self.log:
                if e.kind in ("branch_saved", "branch_back") and e.name == old:
                    e.name = br.name
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
        for c in reversed([c for c in choices if c.is_start_param]):  # newest first
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

    # ------------------------------------------------------------------ undo, go back
    def decisions(self) -> list[Choice]:
        """The live run's decisions in the order they were taken (oldest first)."""
        with self.lock:
            out: list[Choice] = []
            pool = list(self.live.choices)
            for e in self.log:
                if e.kind in ("policy", "start_param") and e.choice in pool:
                    pool.remove(e.choice)
                    out.append(e.choice)
            return out + pool  # (none left: every live choice is logged)

    def undo(self) -> Choice:
        """Remove the last decision and replay the run to the current month without it.

        The numbers are then those of a session in which the decision was never taken (same
        scenario, seed and other decisions).

        Raises:
            LeverError: no decision to undo.
        """
        with self.lock:
            taken = self.decisions()
            if not taken:
                raise LeverError("no decision to undo")
            last = taken[-1]
            self._rebuild(taken[:-1], self.steps)
            self.undone.append(last)
            self.log.append(LogEntry(self.steps, "undo", last))
            return last

    def go_back(self, log_index: int) -> Choice:
        """Go back to the decision of log line ``log_index`` (an index in :attr:`log`).

        The live run is rebuilt at that decision's month with the decisions taken up to it
        (it included); later decisions are dropped (the log keeps them, marked).

        Raises:
            LeverError: that line is not a decision of the live run.
        """
        with self.lock:
            if not 0 <= log_index < len(self.log):
                raise LeverError(f"no log line {log_index}")
            entry = self.log[log_index]
            taken = self.decisions()
            if entry.kind not in ("policy", "start_param") or entry.choice not in taken:
                raise LeverError(f"log line {log_index} is not a decision of the current run")
            k = max(i for i, c in enumerate(taken) if c == entry.choice)
            self._rebuild(taken[:k + 1], entry.choice.step)
            self.log.append(LogEntry(entry.choice.step, "decision_back", entry.choice))
            return entry.choice

    def _rebuild(self, taken: Sequence[Choice], to_step: int) -> None:
        """Rebuild the live run from month 0 with the decisions ``taken`` (oldest first)."""
        params: dict[str, Any] = {}
        for c in taken:
            if c.is_start_param:
                base = self.scenario_params.get(c.param, PARAMS[c.param].default)
                params[c.param] = c.value
                if c.value == base:
                    params.pop(c.param)
        starts = [c for c in taken if c.is_start_param][::-1]  # newest first, as in a run
        policies = [c for c in taken if not c.is_start_param]
        self.start_params = params
        choices = [*starts, *policies]
        self.live = Run(self.replay(policies, to_step), choices)
        if choices or params:
            if self.baseline is None:
                self.baseline = Run(self._build({}))
            self.baseline.advance_to(to_step)
        else:
            self.baseline = None

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
            mode: "value", "diff" for the difference from the baseline, or "branch" for
                the difference from the compared branch (live minus branch).
        """
        with self.lock:
            run = run or self.live
            s = self.live.steps
            vals = run.territory_values(measure, s, window=self.window(measure))
            br = self.compared()
            if mode == "branch" and br is not None:
                br.run.advance_to(s)
                vals = vals - br.run.territory_values(measure, s, window=self.window(measure))
            elif mode == "diff":
                vals = vals - self.baseline_run().territory_values(
                    measure, s, window=self.window(measure))
            return vals

    def window(self, measure: str) -> int:
        """Months averaged on the map for ``measure`` (:data:`SMOOTH_MONTHS` for flows)."""
        if measure in FLOW_MEASURES and measure not in ANNUAL_MEASURES:
            return max(1, min(SMOOTH_MONTHS, self.live.steps))
        return 1

    def few_agents(self, run: Run | None = None) -> np.ndarray:
        """Territories holding fewer than :data:`MIN_AGENTS` household agents (bool each)."""
        with self.lock:
            run = run or self.live
            real = run.territory_values("households", self.live.steps)
            return real / max(run.model.household_weight, 1e-12) < MIN_AGENTS

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
        """True when the choice has taken effect and the model's state still shows it.

        Checked in the model, never assumed: the policy's log shows its step, and every
        readable control it wrote still has the value it set, up to the changes of policies
        that compose with it (``Policy.effect_holds``).
        """
        run = run or self.live
        if choice.is_start_param:
            return True
        pol = self._policy_of(run, choice)
        return self._logged(run, choice) and pol is not None and pol.effect_holds(run.model)

    def overwritten(self, choice: Choice, run: Run | None = None) -> bool:
        """True when the choice took effect but another policy has overwritten it since."""
        run = run or self.live
        if choice.is_start_param or not self._logged(run, choice):
            return False
        return not self.applied(choice, run)

    @staticmethod
    def _logged(run: Run, choice: Choice) -> bool:
        want = choice.step + 1
        return any(e.get("step") == want and e.get("what") == choice.policy["type"]
                   for e in run.model.log)

    @staticmethod
    def _policy_of(run: Run, choice: Choice) -> Policy | None:
        """The policy object of ``choice`` in ``run``'s model (the choices are added last)."""
        mine = [c for c in run.choices if not c.is_start_param]
        pols = run.model.policies
        for k, c in enumerate(mine):
            if c is choice:
                i = len(pols) - len(mine) + k
                if 0 <= i < len(pols) and pols[i].type == choice.policy["type"]:
                    return pols[i]
        want = make_policy(choice.policy).to_dict()
        return next((p for p in reversed(pols) if p.to_dict() == want), None)

    # ------------------------------------------------------------------ export
    def export_policies(self, run: Run | None = None) -> list[dict[str, Any]]:
        """The policy choices of ``run`` (default: live) that took effect, as exported.

        Each carries ``start = month / 12`` exactly and the label :data:`DECISION_LABEL`
        (so that reopening the file shows them as decisions); a choice made at the run's
        last month has not taken effect yet and is left out (its start would be the end of
        the exported run).
        """
        with self.lock:
            run = run or self.live
            out = []
            for c in run.choices:
                if c.is_start_param or (run.steps > 0 and c.step >= run.steps):
                    continue
                d = copy.deepcopy(c.policy)
                d["start"] = c.step / STEPS_PER_YEAR
                d["label"] = DECISION_LABEL.format(step=c.step)
                out.append(d)
            return out

    def export_params(self, run: Run | None = None) -> dict[str, Any]:
        """Parameters the session sets on top of the scenario's, with the household agents."""
        with self.lock:
            run = run or self.live
            params = dict(self.start_params) if run is self.live else {}
            for c in reversed([c for c in run.choices if c.is_start_param]):  # oldest first
                params[c.param] = c.value
            params["n_households"] = self.households
            return params

    def export_scenario(self, run: Run | None = None, name: str | None = None) -> Any:
        """A run of the session (default: live) as a scenario object.

        The starting scenario plus the choices, with ``years`` = the months simulated so far
        / 12 (the scenario's years at month 0); scenario policies that would start after
        that end never acted and are left out.
        """
        with self.lock:
            run = run or self.live
            steps = run.steps
            years = steps / STEPS_PER_YEAR if steps else float(self.scenario.years)
            kept = [p for p in self.scenario.policies if p.start_step <= steps or not steps]
            base = dataclasses.replace(self.scenario, policies=kept)
            return base.with_overrides(
                params=self.export_params(run), policies=self.export_policies(run),
                name=name or f"{self.scenario_name}_workshop_m{steps}", seed=self.seed,
                years=years)

    def export_toml(self, lang: str = "en", branch: int | None = None) -> str:
        """The session (or branch ``branch``) as a scenario file that ``terrinum run`` replays.

        ``terrinum run FILE`` simulates exactly the months run so far and gives the numbers
        shown at the last month. The file starts with comment lines listing the decisions in
        plain words, and those left out.
        """
        with self.lock:
            if branch is None:
                run, what, name = self.live, "Workshop session", None
            else:
                br = self.branches[branch]
                br.run.advance_to(self.steps)
                run, what = br.run, f"Workshop branch {br.name!r}"
                slug = re.sub(r"[^A-Za-z0-9_-]+", "_", br.name).strip("_") or "branch"
                name = f"{self.scenario_name}_branch_{slug}_m{run.steps}"[:100]
            sc = self.export_scenario(run, name)
            text = sc.to_toml()
            steps = run.steps
            head = [f"# {what} (Terrinum dashboard) at month {steps}, seed "
                    f"{self.seed}, {self.households} household agents, map {self.map_name}."]
            order = self.decisions() if run is self.live else run.choices
            for c in order:
                if c not in run.choices:
                    continue
                words = choice_text(self, c, lang)
                if not c.is_start_param and steps and c.step >= steps:
                    head.append(f"#   left out (takes effect after month {steps}): "
                                f"month {c.step}: {words}")
                else:
                    head.append(f"#   {t('log_month', lang, step=c.step)}: {words}")
            for p in self.scenario.policies:
                if steps and p.start_step > steps:
                    head.append(f"#   left out (the scenario's, starts after month {steps}): "
                                f"{p.label or p.describe()}")
            head.append(f"# Replay: terrinum run FILE  ({steps} months = {sc.years:g} years)")
            return "\n".join(head) + "\n" + text


def choice_text(session: Session, c: Choice, lang: str) -> str:
    """A decision in plain words (as in the log)."""
    if c.is_start_param:
        p = PARAMS[c.param]
        return t("log_start_param", lang, label=i18n.param_label(p.name, lang),
                 value=f"{i18n.fmt_plain(c.value, lang)} "
                 f"{i18n.unit_label(p.unit, lang)}".strip())
    if c.param is not None:
        p = PARAMS[c.param]
        return (f"{i18n.param_label(p.name, lang)} → "
                f"{i18n.fmt_plain(c.value, lang)} {i18n.unit_label(p.unit, lang)}".strip()
                + f" ({i18n.policy_label(c.policy['type'], lang)})")
    return describe_policy(c.policy, session.tmap, lang)


def log_rows(session: Session, lang: str) -> list[dict[str, Any]]:
    """The session's log as rows (newest first).

    Each row: ``step``, ``month``, ``text``, ``status``, ``kind`` (policy, start_param,
    branch_saved, branch_back, undo, decision_back, scenario), ``index`` (its place in
    ``session.log``, for :meth:`Session.go_back`) and ``back`` (True for a decision of the
    live run one can go back to).
    """
    rows = []
    live = session.live.choices
    for i, e in enumerate(session.log):
        month = t("log_month", lang, step=e.step)
        status = ""
        back = False
        if e.kind == "scenario":
            text = t("scenario_loaded", lang, name=e.name)
        elif e.kind == "start_param":
            text = choice_text(session, e.choice, lang)
            back = e.choice in live
            if not back:
                status = t("log_cancelled" if e.choice in session.undone else "log_undone",
                           lang)
        elif e.kind == "policy":
            c = e.choice
            text = choice_text(session, c, lang)
            if c not in live:
                status = t("log_cancelled" if c in session.undone else "log_undone", lang)
            else:
                back = True
                status = t("log_from", lang, step=c.step + 1)
                if session.applied(c):
                    status += " ✓"
                elif session.overwritten(c):
                    status = t("log_overwritten", lang, step=c.step + 1)
        elif e.kind == "undo":
            text = t("log_undo", lang, text=choice_text(session, e.choice, lang))
        elif e.kind == "decision_back":
            text = t("log_decision_back", lang, step=e.choice.step,
                     text=choice_text(session, e.choice, lang))
        elif e.kind == "branch_saved":
            text = t("log_branch_saved", lang, name=e.name)
        else:
            text = t("log_branch_back", lang, name=e.name)
        rows.append({"step": e.step, "month": month, "text": text, "status": status,
                     "kind": e.kind, "index": i, "back": back})
    return rows[::-1]


def _policy_dict(pol: Policy, spec: dict[str, Any]) -> dict[str, Any]:
    """The policy as a dict for a scenario file, keeping ``start`` even when it is 0."""
    d = pol.to_dict()
    out = {"type": d.pop("type"), "territories": d.pop("territories", "all"),
           "start": float(spec["start"])}
    d.pop("start", None)
    out.update(d)
    return out










































































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
    "Branch", "Choice", "Held", "LeverConflictError", "LogEntry", "Run", "Session", "Where",
    "describe_policy", "describe_territories", "fork_model", "held_by", "held_param",
    "check_branch_name", "choice_text", "log_rows", "presets", "scenario_names",
    "split_decisions",
]
