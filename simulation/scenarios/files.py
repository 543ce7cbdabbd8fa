"""Scenario files: data (TOML), validated on load, never executed.

A scenario says which map, how many years, how many household agents and which seed; it
overrides declared parameters; it sets **levers** (policy choices) and **uncertainties**
(things nobody chooses) in two separate sections so that an experiment can vary one against
the other; and it lists **timed policies** (``simulation.engine.policies``). Example::

    name = "broadband_rollout"
    extends = "baseline.toml"          # inherit, then override

    [description]
    en = "..."
    fr = "..."
    question_en = "..."
    question_fr = "..."
    source = "seed 003 ..."

    [run]
    map = "france-departements"        # built-in map, "synthetic", or a nodes CSV path
    years = 20
    n_households = 50000
    seed = 1
    # map_seed = 1                     # generated maps only: one map for every replication
    # partial_policies = true          # allow the run to end before a policy's ramp completes

    [parameters]                       # any declared parameter (terrinum list params)
    move_rate = 0.006

    [levers]                           # parameters of group "lever" only
    equalisation = 0.3

    [uncertainties]                    # parameters of group "uncertainty" only
    platform_growth = 0.04

    [[policies]]
    type = "broadband_rollout"
    territories = { kinds = ["town", "rural"] }
    target = 0.98

``extends`` is resolved relative to the file (then among the built-in scenarios), recursively;
the child overrides the parent key by key; its policies are appended to the parent's unless
``replace_policies = true``. Every error raises :class:`ScenarioError`, whose message names
the file, the key path (``policies[2].target``) and what is allowed.

Built-in scenarios are the ``*.toml`` files of the repository's ``scenarios/`` folder; an
installed wheel carries a copy. :func:`simulation.resources.builtin_scenarios_dir` finds them
(source checkout, editable install or wheel).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulation.engine.calibrated import Draw
from simulation.engine.params import GROUPS, PARAMS, ParameterError, Parameters, unknown_message
from simulation.engine.policies import (
    POLICY_CLASSES,
    POLICY_TYPES,
    Policy,
    Selector,
    make_policy,
)
from simulation.errors import InputError, InputFileError, clip, clip_repr
from simulation.resources import builtin_scenarios_dir, is_wheel_install
from simulation.safe_io import (
    MAX_TOML_BYTES,
    TomlSyntaxError,
    parse_toml,
    path_state,
    read_text_file,
)

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.model import TerritoryModel
    from simulation.world.maps import TerritoryMap

SCENARIO_DIR = builtin_scenarios_dir()
"""Folder of the built-in scenario files (see :mod:`simulation.resources`)."""

DEFAULT_RUN: dict[str, Any] = {"map": "france-departements", "years": 20.0,
                               "n_households": int(PARAMS["n_households"].default), "seed": 1}
MAX_EXTENDS_DEPTH = 20
RUN_KEYS = ("map", "years", "n_households", "seed", "map_seed", "map_options",
            "partial_policies")
DESCRIPTION_KEYS = ("en", "fr", "title_en", "title_fr", "question_en", "question_fr", "source")
QUESTION_KEYS = ("measures",)
TOP_KEYS = ("name", "extends", "replace_policies", "description", "question", "run",
            "parameters", "levers", "uncertainties", "policies")
PARAM_SECTIONS = {"parameters": None, "levers": "lever", "uncertainties": "uncertainty"}


class ScenarioError(InputError):
    """A scenario file (or scenario override) that cannot be used.

    The message is ``"<file>: <key path>: <problem>; allowed: <what is allowed>"``.

    Attributes:
        file: the file at fault (or a description such as ``"<overrides>"``).
        key: key path inside the file, e.g. ``"policies[2].target"`` ("" for the whole file).
        problem: what is wrong.
        allowed: what would be accepted ("" when obvious).
    """

    def __init__(self, file: str | Path, key: str, problem: str, allowed: str = "") -> None:
        self.file = clip(file, 200)
        self.key = clip(key, 100)
        self.problem = problem
        self.allowed = allowed
        text = f"{self.file}: "
        if key:
            text += f"{self.key}: "
        text += problem
        if allowed:
            text += f"; allowed: {allowed}"
        super().__init__(text)

    def __reduce__(self):  # keep the four fields through pickling (worker processes)
        return (ScenarioError, (self.file, self.key, self.problem, self.allowed))


# ============================================================================ file schema
class _Description(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    en: str = ""
    fr: str = ""
    title_en: str = Field("", max_length=200)
    title_fr: str = Field("", max_length=200)
    question_en: str = ""
    question_fr: str = ""
    source: str = ""


class _Question(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    measures: list[str] = Field(default_factory=list, max_length=12)


class _Run(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    map: str | None = Field(None, min_length=1, max_length=4096)
    years: float | None = Field(None, gt=0.0, le=200.0)
    n_households: int | None = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    map_seed: int | None = Field(None, ge=0, le=2**63 - 1)
    map_options: dict[str, Any] | None = None  # checked by check_map_options
    partial_policies: bool | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    name: str | None = Field(None, min_length=1, max_length=100)
    extends: str | None = Field(None, min_length=1, max_length=4096)
    replace_policies: bool = False
    description: _Description = Field(default_factory=_Description)
    question: _Question = Field(default_factory=_Question)
    run: _Run = Field(default_factory=_Run)
    parameters: dict[str, Any] = Field(default_factory=dict)
    levers: dict[str, Any] = Field(default_factory=dict)
    uncertainties: dict[str, Any] = Field(default_factory=dict)
    policies: list[dict[str, Any]] = Field(default_factory=list)


_ALLOWED_BY_MODEL: dict[type[BaseModel], str] = {
    _File: ", ".join(TOP_KEYS),
    _Run: ", ".join(RUN_KEYS),
    _Description: ", ".join(DESCRIPTION_KEYS),
    _Question: ", ".join(QUESTION_KEYS),
}
_RUN_ALLOWED = {
    "map": "a built-in map name (france-departements, france-regions, synthetic, "
           "random-geometric) or the path of a nodes CSV",
    "years": "a number of years in (0, 200]",
    "n_households": f"a whole number in {PARAMS['n_households'].range_text()}",
    "seed": "a non-negative whole number",
    "map_seed": "a non-negative whole number (generated maps only)",
    "partial_policies": "true or false: true lets the run end before a policy's ramp is "
                        "complete (a shortened run of a longer scenario, as exported by "
                        "terrinum run --years)",
    "map_options": "a table of map options (e.g. edges = \"edges.csv\" for a CSV map, "
                   "n_rural = 20 for the synthetic map; terrinum list maps)",
}


# ============================================================================ the scenario
@dataclass(frozen=True)
class Scenario:
    """A validated scenario: run configuration, parameter overrides and timed policies.

    Attributes:
        name: scenario name (recorded in results).
        path: the file it was loaded from (None if built in memory).
        description_en, description_fr: what the scenario represents.
        title_en, title_fr: the title shown to people (default: the name).
        question_en, question_fr: the question it asks.
        question_measures: the measures that answer the question (``[question] measures``):
            the report's first page, its effect maps and the dashboard's before/after lead
            with them.
        source: the source text it comes from (the source texts: docs/DATA.md H).
        map: map name or nodes-CSV path (absolute).
        years: simulated years.
        n_households: household agents.
        seed: master seed of a single run.
        map_seed: seed of generated maps (None: the run's seed; ignored for real maps).
        map_options: options passed to :func:`simulation.world.maps.load_map`.
        params: every parameter override (levers and uncertainties included).
        policies: timed policies (validated objects; never applied themselves).
        sha256: SHA-256 of the text of the files in the ``extends`` chain (root first),
            plus the canonical JSON of any in-memory overrides.
        files: paths of the files in the ``extends`` chain, root first.
        file_hashes: SHA-256 of each file in ``files``.
        overrides: in-memory overrides applied after loading (for provenance).
        name_note: why ``name`` is not the file's ``name`` key ("" when it is): a file that
            is not a built-in scenario but carries a built-in's name (a copy) is named after
            the file instead (:func:`_copied_name`).
    """

    name: str
    path: Path | None = None
    description_en: str = ""
    description_fr: str = ""
    title_en: str = ""
    title_fr: str = ""
    question_en: str = ""
    question_fr: str = ""
    question_measures: tuple[str, ...] = ()
    source: str = ""
    map: str = DEFAULT_RUN["map"]
    years: float = DEFAULT_RUN["years"]
    n_households: int = DEFAULT_RUN["n_households"]
    seed: int = DEFAULT_RUN["seed"]
    map_seed: int | None = None
    map_options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    policies: list[Policy] = field(default_factory=list)
    sha256: str = ""
    files: list[Path] = field(default_factory=list)
    file_hashes: dict[str, str] = field(default_factory=dict)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    name_note: str = ""

    # ------------------------------------------------------------------ views
    def title(self, lang: str = "en") -> str:
        """The title in ``lang`` (the other language's, then the name, when missing)."""
        first, second = ((self.title_fr, self.title_en) if lang == "fr"
                         else (self.title_en, self.title_fr))
        return first or second or self.name

    @property
    def levers(self) -> dict[str, Any]:
        """Overrides of parameters whose group is ``lever`` (policy choices)."""
        return {k: v for k, v in self.params.items() if PARAMS[k].group == "lever"}

    @property
    def uncertainties(self) -> dict[str, Any]:
        """Overrides of parameters whose group is ``uncertainty`` (nobody chooses them)."""
        return {k: v for k, v in self.params.items() if PARAMS[k].group == "uncertainty"}

    @property
    def other_params(self) -> dict[str, Any]:
        """Overrides of the other parameters (structure, behaviour, economy)."""
        return {k: v for k, v in self.params.items()
                if PARAMS[k].group not in ("lever", "uncertainty")}

    def policy_dicts(self) -> list[dict[str, Any]]:
        """The policies as plain dicts (``Policy.to_dict()``)."""
        return [p.to_dict() for p in self.policies]

    # ------------------------------------------------------------------ building
    def load_map(self, seed: int | None = None) -> TerritoryMap:
        """Load this scenario's map.

        Args:
            seed: replication seed; used for generated maps unless ``map_seed`` is set.
        """
        from simulation.world.maps import load_map

        s = self.map_seed if self.map_seed is not None else (self.seed if seed is None else seed)
        return load_map(self.map, seed=int(s), **self.map_options)

    def build_model(self, seed: int | None = None, *, params: Mapping[str, Any] | None = None,
                    policies: Sequence[Any] | None = None, n_households: int | None = None,
                    draw: int | Draw | None = None,
                    location_constants: Mapping[str, float] | Sequence[float] | None = None
                    ) -> TerritoryModel:
        """Build a fresh model of this scenario (nothing is run).

        Args:
            seed: master seed (default: the scenario's ``seed``).
            params: extra parameter overrides, on top of the scenario's.
            policies: extra policies (dicts or objects), after the scenario's.
            n_households: household agents (default: the scenario's).
            draw: shipped posterior draw, by number or as a
                :class:`~simulation.engine.calibrated.Draw` (its calibrated values under the
                scenario's and ``params``' values, so a lever stays a lever, and its
                territory constants on their map); None: calibrated defaults.
            location_constants: territory constants of the location choice (default: the
                draw's, else the shipped calibrated ones of the map, else 0).

        Returns:
            A :class:`~simulation.engine.model.TerritoryModel` at step 0.
        """
        from simulation.engine.model import TerritoryModel

        seed = self.seed if seed is None else int(seed)
        merged = {**self.params, **dict(params or {})}
        nh = merged.pop("n_households", None)
        nh = int(n_households if n_households is not None else nh if nh is not None
                 else self.n_households)
        pols = [make_policy(d) for d in self.policy_dicts()]
        for p in policies or []:
            pols.append(make_policy(p.to_dict() if isinstance(p, Policy) else p))
        return TerritoryModel(map=self.load_map(seed), seed=seed, scenario=self.name,
                              policies=pols, n_households=nh, draw=draw,
                              location_constants=location_constants, **merged)

    def with_overrides(self, *, params: Mapping[str, Any] | None = None,
                       policies: Sequence[Any] | None = None, name: str | None = None,
                       map: str | None = None, years: float | None = None,
                       n_households: int | None = None, seed: int | None = None,
                       replace_policies: bool = False,
                       map_options: Mapping[str, Any] | None = None) -> Scenario:
        """Return a copy with overrides (validated like a file; ``None`` keeps a value).

        Args:
            params: parameter overrides merged over the scenario's.
            policies: policies (dicts or objects) appended to the scenario's.
            name: new name.
            map: another map (policy territories are checked against it).
            years: simulated years.
            n_households: household agents.
            seed: master seed.
            replace_policies: drop the scenario's policies first.
            map_options: options of the map, replacing the scenario's (e.g. ``{"edges":
                path}`` for a CSV map; checked against the map).

        Raises:
            ScenarioError: an invalid override (file ``"<overrides>"``).
        """
        where = "<overrides>"
        new_params = dict(self.params)
        for k, v in dict(params or {}).items():
            if k == "n_households":
                n_households = _check_param(where, f"params.{k}", k, v)
                continue
            new_params[k] = _check_param(where, f"params.{k}", k, v)
        _check_combination(where, new_params)
        pols = [] if replace_policies else [make_policy(d) for d in self.policy_dicts()]
        origins = {id(p): (self.path or "<scenario>", f"policies[{i}]")
                   for i, p in enumerate(pols)}
        for i, p in enumerate(policies or []):
            spec = p.to_dict() if isinstance(p, Policy) else p
            pols.append(_build_policy(where, f"policies[{i}]", spec))
            origins[id(pols[-1])] = (where, f"policies[{i}]")
        changes: dict[str, Any] = {}
        if map is not None:
            changes["map"] = _absolute(map) if _looks_like_path(str(map)) \
                else str(map)
        if map_options is not None:
            opts = dict(map_options)
            if isinstance(opts.get("edges"), str | Path):
                opts["edges"] = _absolute(opts["edges"])
            changes["map_options"] = opts
        if years is not None:
            if isinstance(years, bool) or not isinstance(years, int | float) or not (
                    0 < years <= 200):
                raise ScenarioError(where, "years", f"invalid value {years!r}",
                                    _RUN_ALLOWED["years"])
            changes["years"] = float(years)
        if n_households is not None:
            changes["n_households"] = _check_param(where, "n_households", "n_households",
                                                   n_households)
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ScenarioError(where, "seed", f"invalid value {seed!r}", _RUN_ALLOWED["seed"])
            changes["seed"] = int(seed)
        record = {k: v for k, v in {
            "name": name, "params": dict(params) if params else None,
            "policies": [p.to_dict() if isinstance(p, Policy) else p for p in policies]
            if policies else None, "replace_policies": replace_policies or None,
            **changes}.items() if v is not None}
        new = dataclasses.replace(self, name=name or self.name,
                                  name_note=self.name_note if name is None else "",
                                  params=new_params,
                                  policies=pols, overrides=[*self.overrides, record]
                                  if record else list(self.overrides), **changes)
        if map_options is not None:
            _check_map_options(new, where)
        if map is not None or map_options is not None:
            _check_map(new, where)
        if policies or map is not None or map_options is not None:
            _check_territories(new, origins)
        for p in pols:
            if years is not None or id(p) in origins and origins[id(p)][0] == where:
                # a shorter run may cut a scenario policy's ramp; a policy added here must fit
                _check_start(*origins[id(p)], p, new.years,
                             ramp=origins[id(p)][0] == where)
        if record:
            new = dataclasses.replace(new, sha256=_hash_overrides(self.sha256, record))
        return new

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; :meth:`from_dict` rebuilds an equal scenario."""
        return {
            "name": self.name, "path": str(self.path) if self.path else None,
            "description": {"en": self.description_en, "fr": self.description_fr,
                            "title_en": self.title_en, "title_fr": self.title_fr,
                            "question_en": self.question_en, "question_fr": self.question_fr,
                            "source": self.source},
            "question": {"measures": list(self.question_measures)},
            "run": {"map": self.map, "years": self.years, "n_households": self.n_households,
                    "seed": self.seed, "map_seed": self.map_seed,
                    "map_options": dict(self.map_options)},
            "params": dict(self.params), "levers": self.levers,
            "uncertainties": self.uncertainties, "policies": self.policy_dicts(),
            "sha256": self.sha256, "files": [str(f) for f in self.files],
            "file_hashes": dict(self.file_hashes), "overrides": list(self.overrides),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scenario:
        """Rebuild a scenario from :meth:`to_dict` output.

        Parameters and policies are validated again; territory codes were checked when the
        scenario was first loaded.
        """
        where = d.get("path") or "<dict>"
        params = {k: _check_param(where, f"params.{k}", k, v)
                  for k, v in dict(d.get("params", {})).items()}
        pols = [_build_policy(where, f"policies[{i}]", p)
                for i, p in enumerate(d.get("policies", []))]
        run = {**DEFAULT_RUN, **{k: v for k, v in dict(d.get("run", {})).items()
                                 if v is not None}}
        desc = dict(d.get("description", {}))
        return cls(
            name=d["name"], path=Path(d["path"]) if d.get("path") else None,
            description_en=desc.get("en", ""), description_fr=desc.get("fr", ""),
            title_en=desc.get("title_en", ""), title_fr=desc.get("title_fr", ""),
            question_en=desc.get("question_en", ""), question_fr=desc.get("question_fr", ""),
            question_measures=tuple(_check_measures(
                where, "question.measures",
                dict(d.get("question", {})).get("measures", []))),
            source=desc.get("source", ""), map=run["map"], years=float(run["years"]),
            n_households=int(run["n_households"]), seed=int(run["seed"]),
            map_seed=run.get("map_seed"), map_options=dict(run.get("map_options") or {}),
            params=params, policies=pols, sha256=d.get("sha256", ""),
            files=[Path(f) for f in d.get("files", [])],
            file_hashes=dict(d.get("file_hashes", {})),
            overrides=list(d.get("overrides", [])))

    def to_toml(self) -> str:
        """A standalone scenario file (TOML text, no ``extends``).

        :func:`load_scenario` reads it back to an equivalent scenario: same run
        configuration, parameters and policies.
        """
        lines = [
            f"# Scenario '{self.name}' {EXPORT_MARK}",
        ]
        if self.files:
            lines.append("# Built from: " + ", ".join(
                f"{f.name} (sha256 {self.file_hashes.get(str(f), '')[:12]})"
                for f in self.files))
        if self.overrides:
            lines.append(f"# With {len(self.overrides)} in-memory override(s); "
                         f"scenario sha256 {self.sha256[:16]}")
        lines += ["", f"name = {_toml_value(self.name)}"]
        desc = [(k, v) for k, v in (("en", self.description_en), ("fr", self.description_fr),
                                    ("title_en", self.title_en), ("title_fr", self.title_fr),
                                    ("question_en", self.question_en),
                                    ("question_fr", self.question_fr),
                                    ("source", self.source)) if v]
        if desc:
            lines += ["", "[description]"] + [f"{k} = {_toml_value(v)}" for k, v in desc]
        if self.question_measures:
            lines += ["", "[question]",
                      f"measures = {_toml_value(list(self.question_measures))}"]
        lines += ["", "[run]", f"map = {_toml_value(self.map)}",
                  f"years = {_toml_value(float(self.years))}",
                  f"n_households = {_toml_value(int(self.n_households))}",
                  f"seed = {_toml_value(int(self.seed))}"]
        if self.map_seed is not None:
            lines.append(f"map_seed = {_toml_value(int(self.map_seed))}")
        if self.map_options:
            lines.append(f"map_options = {_toml_value(self.map_options)}")
        if any(p.ramp and p.start + p.ramp > self.years + 1e-9 for p in self.policies):
            lines.append("partial_policies = true  # the run ends before a ramp is complete")
        for section, values in (("parameters", self.other_params), ("levers", self.levers),
                                ("uncertainties", self.uncertainties)):
            if values:
                lines += ["", f"[{section}]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        for p in self.policy_dicts():
            lines += ["", "[[policies]]"]
            order = ["type", "label"] + [k for k in p if k not in ("type", "label")]
            lines += [f"{k} = {_toml_value(p[k])}" for k in order if k in p]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ words
    def describe(self, lang: str = "en") -> list[str]:
        """Plain-words lines: the levers and policies of the scenario."""
        out = []
        for p in self.policies:
            out.append(describe_policy(p, lang))
        for k, v in self.params.items():
            prm = PARAMS[k]
            label = prm.label_fr if lang == "fr" else prm.label_en
            out.append(f"{label} = {_fmt_value(v)} {prm.unit}".rstrip()
                       + (f" (défaut {_fmt_value(prm.default)})" if lang == "fr"
                          else f" (default {_fmt_value(prm.default)})"))
        return out


def describe_policy(p: Policy, lang: str = "en") -> str:
    """One sentence on a policy: what, where and when (English; French timing words)."""
    where = p._selector().describe()
    if lang == "fr":
        when = f"à partir de l'année {p.start:g}"
        if p.ramp:
            when += f", montée en charge sur {p.ramp:g} an(s)"
        if p.end is not None:
            when += f", jusqu'à l'année {p.end:g}"
        return f"{p.describe()} — {where} — {when}"
    when = f"from year {p.start:g}"
    if p.ramp:
        when += f", ramped up over {p.ramp:g} year(s)"
    if p.end is not None:
        when += f", until year {p.end:g}"
    return f"{p.describe()} — {where} — {when}"


# ============================================================================ loading
def builtin_path(name: str) -> Path | None:
    """Path of a built-in scenario by name (with or without ``.toml``), or None."""
    stem = name[:-5] if name.endswith(".toml") else name
    if not stem or "/" in stem or "\\" in stem:
        return None
    p = builtin_scenarios_dir() / f"{stem}.toml"
    return p if p.is_file() else None


def builtin_names() -> list[str]:
    """Names of the built-in scenarios."""
    folder = builtin_scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def resolve(path_or_name: str | Path) -> Path:
    """Find a scenario file: an existing path, else a built-in scenario name.

    Raises:
        ScenarioError: nothing found (the message lists the built-in names).
    """
    text = str(path_or_name)
    state = path_state(text)
    if state == "file":
        return Path(text).resolve()
    b = builtin_path(text) if state == "missing" else None
    if b is not None:
        return b.resolve()
    problem = ("no such file and not a built-in scenario" if state == "missing" else
               f"not a scenario file: {_state_text(state)}")
    if state == "missing":
        stem = Path(text).name.removesuffix(".toml")
        close = difflib.get_close_matches(stem, builtin_names(), n=3, cutoff=0.6)
        if close:
            problem += f" (did you mean {', '.join(repr(c) for c in close)}?)"
    raise ScenarioError(text or "''", "", problem,
                        "a path to a regular .toml file (at most "
                        f"{MAX_TOML_BYTES:,} bytes) or a built-in name: "
                        + (", ".join(builtin_names()) or "(none found)"))


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file.

    Args:
        path_or_name: a path to a TOML file, or a built-in scenario's name
            (``"baseline"`` or ``"baseline.toml"``).

    Returns:
        The validated :class:`Scenario`.

    Raises:
        ScenarioError: any problem, with the file, the key path and what is allowed.
    """
    path = resolve(path_or_name)
    try:
        chain = _read_chain(path)   # root first
        return _assemble(chain)
    except ScenarioError as exc:
        if exc.file == str(path) or exc.file.startswith("<"):
            raise
        raise ScenarioError(exc.file, exc.key, f"{exc.problem} (in a file that {path.name} "
                            "extends)", exc.allowed) from None


def validate(path_or_name: str | Path) -> Scenario:
    """Alias of :func:`load_scenario` (what ``terrinum validate`` calls)."""
    return load_scenario(path_or_name)


def list_scenarios() -> list[Scenario]:
    """Every built-in scenario, loaded and validated, sorted by name."""
    return [load_scenario(builtin_scenarios_dir() / f"{n}.toml") for n in builtin_names()]


@dataclass
class _Layer:
    path: Path
    text: str
    data: _File
    raw: dict[str, Any]


def _read_chain(path: Path) -> list[_Layer]:
    stack: list[Path] = []
    layers: list[_Layer] = []
    cur: Path | None = path
    referrer: Path | None = None
    while cur is not None:
        if cur in stack:
            cycle = " -> ".join(p.name for p in [*stack[stack.index(cur):], cur])
            raise ScenarioError(referrer, "extends", f"cycle of extends: {cycle}",
                                "a chain of extends that ends at a file without 'extends'")
        if len(stack) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError(cur, "extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends",
                                f"at most {MAX_EXTENDS_DEPTH} levels")
        stack.append(cur)
        layer = _read_file(cur)
        layers.append(layer)
        referrer = cur
        cur = _resolve_extends(cur, layer.data.extends) if layer.data.extends else None
    return layers[::-1]


def _state_text(state: str) -> str:
    """A :func:`~simulation.safe_io.path_state` answer as words after a path."""
    return f"is {state}" if state.startswith(("a ", "an ", "not ")) else state


def _resolve_extends(child: Path, target: str) -> Path:
    cand = Path(target)
    if not cand.suffix and cand.name not in ("", ".", ".."):
        cand = cand.with_suffix(".toml")
    p = cand if cand.is_absolute() else child.parent / cand
    state = path_state(p)
    if state == "file":
        return p.resolve()
    b = builtin_path(target) if state == "missing" else None
    if b is not None and not cand.is_absolute() and len(cand.parts) == 1:
        return b.resolve()
    allowed = ("a regular scenario file (a path relative to this file), or a built-in "
               "scenario: " + ", ".join(builtin_names()))
    if state != "missing":
        raise ScenarioError(child, "extends", f"{clip_repr(target)} is not a scenario file: "
                            f"{clip(p, 200)}: {_state_text(state)}", allowed)
    raise ScenarioError(child, "extends", f"file {clip_repr(target)} not found (looked for "
                        f"{clip(p, 200)} and among the built-in scenarios)", allowed)


def _read_file(path: Path) -> _Layer:
    try:
        text = read_text_file(path, "a scenario file (UTF-8 TOML)", MAX_TOML_BYTES)
    except InputFileError as exc:
        raise ScenarioError(path, "", exc.problem, exc.allowed) from None
    try:
        raw = parse_toml(text, path)
    except TomlSyntaxError as exc:
        raise ScenarioError(path, exc.location, exc.problem, exc.allowed) from None
    if not raw:
        raise ScenarioError(path, "", "the file is empty (no key, no table); an empty file "
                            "is not taken as the default scenario",
                            'at least one key, e.g. extends = "baseline" to start from the '
                            "baseline, or a [run] table")
    try:
        data = _File.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation(path, exc, raw) from None
    return _Layer(path=path, text=text, data=data, raw=raw)


def _assemble(chain: list[_Layer]) -> Scenario:
    desc: dict[str, str] = {}
    question: list[str] = []
    run: dict[str, Any] = {}
    run_origin: dict[str, Path] = {}
    params: dict[str, Any] = {}
    param_origin: dict[str, tuple[Path, str]] = {}
    policies: list[Policy] = []
    origins: dict[int, tuple[Path, str]] = {}
    name = None
    name_layer: _Layer | None = None
    for layer in chain:
        d = layer.data
        path = layer.path
        desc.update({k: v for k, v in d.description.model_dump().items()
                     if k in (layer.raw.get("description") or {})})
        if "measures" in (layer.raw.get("question") or {}):
            question = _check_measures(path, "question.measures", d.question.measures)
        for key in RUN_KEYS:
            if key in (layer.raw.get("run") or {}):
                val = getattr(d.run, key)
                if key == "map" and _looks_like_path(val):
                    val = _absolute(path.parent / val)
                if key == "map_options" and val:
                    val = dict(val)
                    if isinstance(val.get("edges"), str):
                        val["edges"] = _absolute(path.parent / val["edges"])
                run[key] = val
                run_origin[key] = path
        if "n_households" in run and run_origin.get("n_households") == path:
            run["n_households"] = _check_param(path, "run.n_households", "n_households",
                                               run["n_households"])
        seen: dict[str, str] = {}
        for section, group in PARAM_SECTIONS.items():
            for k, v in getattr(d, section).items():
                key = f"{section}.{k}"
                if k in seen:
                    raise ScenarioError(path, key, f"parameter '{k}' is also set in "
                                        f"[{seen[k]}]", "each parameter once per file")
                seen[k] = section
                if k not in PARAMS:
                    raise ScenarioError(path, key, unknown_message(k),
                                        "a declared parameter name")
                prm = PARAMS[k]
                if k == "n_households":
                    raise ScenarioError(path, key, "the number of household agents is set in "
                                        "[run]", "run.n_households")
                if group is not None and prm.group != group:
                    home = {"lever": "[levers]", "uncertainty": "[uncertainties]"}.get(
                        prm.group, "[parameters]")
                    article = "an" if group == "uncertainty" else "a"
                    raise ScenarioError(
                        path, key, f"'{k}' is a {prm.group} parameter, not {article} {group}; "
                        f"put it under {home}",
                        f"[{section}] holds only parameters of group '{group}': "
                        + ", ".join(n for n, q in PARAMS.items() if q.group == group))
                params[k] = _check_param(path, key, k, v)
                param_origin[k] = (path, key)
        if d.replace_policies:
            policies = []
        for i, spec in enumerate(d.policies):
            pol = _build_policy(path, f"policies[{i}]", spec)
            policies.append(pol)
            origins[id(pol)] = (path, f"policies[{i}]")
        if d.name:
            name, name_layer = d.name, layer
    last = chain[-1]
    if not last.data.name:
        name, name_layer = last.path.stem, None
    name_note = ""
    if name_layer is not None:
        name, name_note = _copied_name(name, name_layer, last.path)
    _check_combination(last.path, params, param_origin)
    full_run = {**DEFAULT_RUN, **{k: v for k, v in run.items() if v is not None}}
    texts = "".join(f"--- {layer.path.name}\n{layer.text}" for layer in chain)
    scen = Scenario(
        name=name or last.path.stem, path=last.path,
        description_en=desc.get("en", ""), description_fr=desc.get("fr", ""),
        title_en=desc.get("title_en", ""), title_fr=desc.get("title_fr", ""),
        question_en=desc.get("question_en", ""), question_fr=desc.get("question_fr", ""),
        question_measures=tuple(question),
        source=desc.get("source", ""), map=str(full_run["map"]),
        years=float(full_run["years"]), n_households=int(full_run["n_households"]),
        seed=int(full_run["seed"]), map_seed=full_run.get("map_seed"),
        map_options=dict(full_run.get("map_options") or {}), params=params,
        policies=policies, sha256=hashlib.sha256(texts.encode("utf-8")).hexdigest(),
        files=[layer.path for layer in chain],
        file_hashes={str(layer.path): hashlib.sha256(layer.text.encode("utf-8")).hexdigest()
                     for layer in chain}, name_note=name_note)
    for p in policies:
        f, key = origins[id(p)]
        _check_start(f, key, p, scen.years, ramp=not full_run.get("partial_policies"))
    _check_map_options(scen, run_origin.get("map_options", last.path))
    _check_map(scen, run_origin.get("map", last.path), run_origin.get("map_options"))
    _check_territories(scen, origins)
    return scen


EXPORT_MARK = "exported by Terrinum."
"""End of the first line of a file written by :meth:`Scenario.to_toml` (its name is kept)."""


def _copied_name(name: str, layer: _Layer, last: Path) -> tuple[str, str]:
    """The name of a scenario whose ``name`` may be a copied built-in's, and a note.

    A file that is not the built-in scenario of that name (``cp teaching_counters.toml
    my_counters.toml``, then edited) would otherwise be run and reported under the built-in's
    name, with other contents. Such a name is replaced by the stem of the file loaded
    (``my_counters``; ``"<stem> (<folder>)"`` when the stem is itself a built-in's name).
    Files written by :meth:`Scenario.to_toml` (run and compare outputs, dashboard exports:
    first line ending with :data:`EXPORT_MARK`) keep their name, so a saved scenario replays
    under the name it was run with.

    Args:
        name: the ``name`` the chain sets.
        layer: the file that set it.
        last: the file loaded (last of the ``extends`` chain).

    Returns:
        ``(name, note)``; the note is "" when the name is kept.
    """
    first = layer.text.lstrip("\ufeff").split("\n", 1)[0].rstrip()
    if first.startswith("# Scenario ") and first.endswith(EXPORT_MARK):
        return name, ""
    own = builtin_path(name)
    if own is None or own.resolve() == layer.path.resolve():
        return name, ""
    new = last.stem
    if builtin_path(new) is not None:
        new = f"{new} ({last.parent.name or 'local'})"
    note = (f"name '{name}' is the name of a built-in scenario but {layer.path.name} is "
            f"another file: it is run and reported as '{new}' (give it a name of its own "
            "with name = \"...\")")
    return new, note


# ============================================================================ checks
def _absolute(path: str | Path) -> str:
    """An absolute path without following symbolic links (a link loop cannot raise)."""
    return os.path.abspath(os.fspath(path))


def _looks_like_path(value: str) -> bool:
    return value.lower().endswith(".csv") or "/" in value or "\\" in value


def _check_measures(file: str | Path, key: str, names: Sequence[str]) -> list[str]:
    """The question's measures, each a declared measure named once."""
    from simulation.engine.measures import MEASURES

    out: list[str] = []
    for i, m in enumerate(names):
        if not isinstance(m, str) or m not in MEASURES:
            close = difflib.get_close_matches(str(m), MEASURES, n=2, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise ScenarioError(file, f"{key}[{i}]", f"unknown measure {m!r}{hint}",
                                "a measure name (terrinum list measures)")
        if m in out:
            raise ScenarioError(file, f"{key}[{i}]", f"measure {m!r} is listed twice",
                                "each measure once")
        out.append(m)
    return out


def _check_param(file: str | Path, key: str, name: str, value: Any) -> Any:
    if name not in PARAMS:
        raise ScenarioError(file, key, unknown_message(name), "a declared parameter name")
    prm = PARAMS[name]
    try:
        return prm.check(value)
    except ParameterError as exc:
        msg = str(exc)
        msg = re.sub(r"; allowed range .*$", "", msg)
        raise ScenarioError(file, key, msg, f"{prm.range_text()} ({prm.doc})") from None


def _check_combination(file: str | Path, params: dict[str, Any],
                       origin: dict[str, tuple[Path, str]] | None = None) -> None:
    try:
        Parameters(params)
    except ParameterError as exc:
        key = "parameters"
        if origin:
            for k in ("share_high_skill", "share_mid_skill"):
                if k in origin:
                    file, key = origin[k]
        raise ScenarioError(file, key, str(exc), "share_high_skill + share_mid_skill <= 1"
                            ) from None


def _check_start(file: str | Path, key: str, pol: Policy, years: float, *,
                 ramp: bool = True) -> None:
    if pol.start >= years:
        raise ScenarioError(file, f"{key}.start",
                            f"the policy starts in year {pol.start:g}, at or after the end of "
                            f"the run ({years:g} years)",
                            f"a start in [0, {years:g}) years")
    if ramp and pol.ramp and pol.start + pol.ramp > years + 1e-9:
        raise ScenarioError(file, f"{key}.ramp",
                            f"the ramp ends in year {pol.start + pol.ramp:g}, after the end of "
                            f"the run ({years:g} years): the policy would never reach its full "
                            "effect",
                            f"a ramp of at most {years - pol.start:g} years (start + ramp <= "
                            "the run's years)")


def _check_map_options(scen: Scenario, origin: Path | str) -> None:
    """Check ``run.map_options`` against the map's declared options (before building it)."""
    if not scen.map_options:
        return
    from simulation.world.maps import MapError, check_map_options

    try:
        check_map_options(scen.map, scen.map_options)
    except MapError as exc:
        key = f"run.map_options.{exc.option}" if exc.option else "run.map_options"
        problem, _, allowed = str(exc).partition("; allowed: ")
        raise ScenarioError(origin, key, problem, allowed) from None


_MAP_CACHE: dict[tuple, Any] = {}


def _load_map_cached(scen: Scenario):
    from simulation.world.maps import load_map

    key = (scen.map, scen.map_seed or 0, json.dumps(scen.map_options, sort_keys=True))
    if key not in _MAP_CACHE:
        if len(_MAP_CACHE) > 16:
            _MAP_CACHE.clear()
        _MAP_CACHE[key] = load_map(scen.map, seed=int(scen.map_seed or 0),
                                   **scen.map_options)
    return _MAP_CACHE[key]


def _check_map(scen: Scenario, origin: Path | str, edges_origin: Path | str | None = None
               ) -> None:
    from simulation.world.maps import MapError

    try:
        _load_map_cached(scen)
    except (MapError, ValueError, TypeError, OSError) as exc:
        problem, _, allowed = str(exc).partition("; allowed: ")
        edges = scen.map_options.get("edges")
        if edges and getattr(exc, "file", None) == clip(edges, 200):
            raise ScenarioError(edges_origin or origin, "run.map_options.edges",
                                f"cannot read the edges file: {problem}",
                                allowed or _RUN_ALLOWED["map_options"]) from None
        raise ScenarioError(origin, "run.map", f"cannot load map {clip_repr(scen.map, 200)}: "
                            f"{problem}", allowed or _RUN_ALLOWED["map"]) from None


def _check_territories(scen: Scenario, origins: dict[int, tuple[Any, str]]) -> None:
    if not scen.policies:
        return
    from simulation.world.maps import MapError

    try:
        tmap = _load_map_cached(scen)
    except (MapError, ValueError, TypeError, OSError) as exc:
        raise ScenarioError("<overrides>", "map", f"cannot load map "
                            f"{clip_repr(scen.map, 200)}: {exc}", _RUN_ALLOWED["map"]) from None
    for pol in scen.policies:
        if not isinstance(pol.territories, Selector):
            continue
        file, key = origins.get(id(pol), (scen.path or "<scenario>", "policies[?]"))
        sel = pol.territories
        for sub, values, kw in (("codes", sel.codes, "codes"), ("kinds", sel.kinds, "kinds"),
                                ("regions", sel.regions, "regions")):
            for j, v in enumerate(values):
                try:
                    tmap.select(**{kw: [v]})
                except ValueError as exc:
                    msg = str(exc)
                    problem, _, allowed = msg.partition("; allowed: ")
                    raise ScenarioError(file, f"{key}.territories.{sub}[{j}]", problem,
                                        allowed) from None
        if sel.resolve(tmap).size == 0:
            both = (" (kinds and regions combine with AND: a territory must match both)"
                    if sel.kinds and sel.regions else "")
            raise ScenarioError(file, f"{key}.territories",
                                f"selects no territory on map '{tmap.name}'{both}",
                                "a selection matching at least one territory")


def _build_policy(file: str | Path, key: str, spec: Any) -> Policy:
    if not isinstance(spec, dict):
        raise ScenarioError(file, key, f"a policy must be a table, got {type(spec).__name__}",
                            "a [[policies]] table with a 'type'")
    if "type" not in spec:
        raise ScenarioError(file, f"{key}.type", "missing policy type",
                            "one of " + ", ".join(POLICY_TYPES))
    typ = spec["type"]
    if not isinstance(typ, str) or typ not in POLICY_CLASSES:
        close = difflib.get_close_matches(str(typ), POLICY_TYPES, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ScenarioError(file, f"{key}.type", f"unknown policy type {typ!r}{hint}",
                            "one of " + ", ".join(POLICY_TYPES))
    try:
        return make_policy(spec)
    except ValidationError as exc:
        raise _from_validation(file, exc, spec, prefix=key, cls=POLICY_CLASSES[typ]) from None
    except ValueError as exc:  # pragma: no cover - make_policy's own messages
        raise ScenarioError(file, key, str(exc)) from None


# ============================================================================ messages
def _from_validation(file: str | Path, exc: ValidationError, raw: Any, *, prefix: str = "",
                     cls: type[BaseModel] | None = None) -> ScenarioError:
    """Turn the first pydantic error into a ScenarioError (no pydantic text dump)."""
    errors = exc.errors(include_url=False)
    if cls is not None:
        # discriminated union: the first loc item is the tag; territory union: drop the
        # "literal['all']" branch when the value is a table, and the "Selector" tag
        def keep(e: dict) -> bool:
            loc = e["loc"][1:] if e["loc"] and e["loc"][0] == cls.model_fields["type"].default \
                else e["loc"]
            if loc and loc[0] == "territories" and len(loc) > 1:
                val = raw.get("territories") if isinstance(raw, dict) else None
                if loc[1] == "literal['all']" and isinstance(val, dict):
                    return False
                if "Selector" in str(loc[1]) and isinstance(val, str):
                    return False
            return True
        errors = [e for e in errors if keep(e)] or errors
    e = errors[0]
    loc = list(e["loc"])
    if cls is not None and loc and loc[0] == cls.model_fields["type"].default:
        loc = loc[1:]
    loc = [x for x in loc if x not in ("Selector", "literal['all']")
           and not str(x).startswith("function-")]
    etype = e["type"]
    if etype == "value_error" and cls is not None and not loc:
        msg = str(e.get("ctx", {}).get("error", e["msg"]))
        fieldname = next((f for f in ("end", "ramp") if msg.startswith(f)), "")
        return ScenarioError(file, _path(prefix, [fieldname] if fieldname else []), msg,
                             "start < end, and start + ramp <= end")
    path = _path(prefix, loc)
    model, fieldname = _locate(cls or _File, loc)
    got = e.get("input")
    if etype == "extra_forbidden":
        bad = str(loc[-1])
        allowed_keys = _allowed_keys(model)
        close = difflib.get_close_matches(bad, allowed_keys.split(", "), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return ScenarioError(file, path, f"unknown key '{bad}'{hint}", "keys " + allowed_keys)
    if etype == "missing":
        return ScenarioError(file, path, "required key is missing",
                             _field_allowed(model, fieldname))
    problem = e["msg"] = re.sub(r" or instance of \w+", "", e["msg"])
    if etype == "value_error" and fieldname == "territories":
        return ScenarioError(file, path, str(e.get("ctx", {}).get("error", problem)),
                             _field_allowed(model, fieldname))
    if etype.endswith("_type") or etype in ("model_type", "dict_type", "list_type",
                                            "literal_error", "float_parsing", "int_parsing",
                                            "bool_parsing", "string_type"):
        problem = f"wrong type or value {_short(got)}: {e['msg'][0].lower()}{e['msg'][1:]}"
    else:
        problem = f"invalid value {_short(got)}: {e['msg'][0].lower()}{e['msg'][1:]}"
    return ScenarioError(file, path, problem, _field_allowed(model, fieldname))


def _path(prefix: str, loc: Sequence[Any]) -> str:
    out = prefix
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        elif item != "":
            out += f".{item}" if out else str(item)
    return out


def _locate(model: type[BaseModel], loc: Sequence[Any]) -> tuple[type[BaseModel] | None, str]:
    """The pydantic model that owns the last named field of ``loc``, and that field."""
    cur: type[BaseModel] | None = model
    owner, name = model, ""
    for item in loc:
        if isinstance(item, int) or cur is None:
            continue
        if item in cur.model_fields:
            owner, name = cur, str(item)
            ann = cur.model_fields[item].annotation
            cur = _submodel(ann)
        else:
            owner, name = cur, str(item)
            cur = None
    return owner, name


def _submodel(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in get_args(ann):
        sub = _submodel(a)
        if sub is not None:
            return sub
    return None


def _allowed_keys(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    if model in _ALLOWED_BY_MODEL:
        return _ALLOWED_BY_MODEL[model]
    return ", ".join(model.model_fields)


def _field_allowed(model: type[BaseModel] | None, name: str) -> str:
    """What a field accepts: type, range, choices and description."""
    if model is _Run and name in _RUN_ALLOWED:
        return _RUN_ALLOWED[name]
    if model is None or name not in model.model_fields:
        return ""
    f = model.model_fields[name]
    if name == "policies" and model is _File:
        return "[[policies]] tables, each with a 'type', one of " + ", ".join(POLICY_TYPES)
    if name == "territories":
        return ('"all", or a table with any of codes = [...], kinds = [...] (metropolis, city, '
                'town, rural), regions = [...]')
    text = _type_text(f.annotation)
    bounds = {}
    for m in f.metadata:
        for attr in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(m, attr, None) is not None:
                bounds[attr] = getattr(m, attr)
    if "ge" in bounds or "gt" in bounds or "le" in bounds or "lt" in bounds:
        lo = f"[{_fmt_value(bounds['ge'])}" if "ge" in bounds else \
            f"({_fmt_value(bounds['gt'])}" if "gt" in bounds else "(-inf"
        hi = f"{_fmt_value(bounds['le'])}]" if "le" in bounds else \
            f"{_fmt_value(bounds['lt'])})" if "lt" in bounds else "inf)"
        text += f" in {lo}, {hi}"
    if f.description:
        text += f" ({f.description})"
    if type(None) in get_args(f.annotation):
        text += ", or omitted"
    return text


def _type_text(ann: Any) -> str:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "a table with the keys " + _allowed_keys(ann)
    origin = get_origin(ann)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(ann))
    if origin is list:
        return "a list of " + _type_text(get_args(ann)[0]).replace("one of", "values among")
    if origin is dict:
        return "a table"
    args = get_args(ann)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return " or ".join(_type_text(a) for a in rest)
    if args:
        return " or ".join(_type_text(a) for a in args)
    return {float: "a number", int: "a whole number", bool: "true or false",
            str: "a string"}.get(ann, getattr(ann, "__name__", str(ann)))


def _short(value: Any) -> str:
    return clip_repr(value, 60)


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _hash_overrides(base: str, record: dict[str, Any]) -> str:
    blob = base + json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ============================================================================ TOML writer
def _toml_value(v: Any) -> str:
    """A TOML literal for str, bool, int, float, lists and tables (inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) \
            + " }" if v else "{}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


# ============================================================================ listing
def print_list(what: str = "all") -> None:
    """Print the built-in scenarios and/or the policy types (``terrinum list``).

    Args:
        what: ``all``, ``scenarios`` or ``policies`` (other values print nothing here).
    """
    if what in ("all", "scenarios"):
        where = ("installed with the package" if is_wheel_install()
                 else "in the repository's scenarios/ folder")
        print(f"Scenarios / Scénarios (built-in, {where}; copy one to start your own: "
              f"{builtin_scenarios_dir()}):")
        for name in builtin_names():
            try:
                s = load_scenario(builtin_scenarios_dir() / f"{name}.toml")
            except ScenarioError as exc:
                print(f"  {name:32s} INVALID: {exc}")
                continue
            npol = len(s.policies)
            print(f"  {name:32s} {s.map}, {s.years:g} years, {s.n_households:,} households; "
                  f"{npol} {'policy' if npol == 1 else 'policies'}")
            if s.question_en:
                print(f"      {s.question_en}")
    if what in ("all", "policies"):
        print("Policy types / Types de politiques (fields common to all: territories, start, "
              "end, ramp, label):")
        common = set(Policy.model_fields)
        for typ, cls in POLICY_CLASSES.items():
            doc = " ".join((cls.__doc__ or "").replace("``", "'").split())
            first = doc.split(". ")[0].rstrip(".") + "."
            print(f"  {typ:22s} {first}")
            for fname in cls.model_fields:
                if fname in common:
                    continue
                f = cls.model_fields[fname]
                default = f.get_default(call_default_factory=True)
                req = "required" if f.is_required() else f"default {default!r}"
                print(f"      {fname:28s} {_field_allowed(cls, fname)}; {req}")


__all__ = ["Scenario", "ScenarioError", "load_scenario", "list_scenarios", "print_list",
           "validate", "describe_policy", "builtin_names", "SCENARIO_DIR", "GROUPS"]
