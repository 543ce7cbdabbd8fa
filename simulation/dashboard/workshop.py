"""Saved workshops: a whole dashboard session in one JSON file, reloaded to the same numbers.

A workshop file holds what is needed to rebuild the session exactly, not its numbers: the
scenario (its full definition, so the file does not depend on the scenario file staying the
same), the map, the household agents, the seed, the language, the month reached, every
decision with the month it was taken, the branches with their names, fork points and
decisions, the log, and ``votes`` (filled by the room's votes; empty here). Reloading replays
the decisions on the scenario with the seed (the model is deterministic for a seed), so the
reloaded session shows the same numbers as the saved one.

Example file (abridged)::

    {"format": "terrinum-workshop", "version": 1,
     "scenario": {"ref": "baseline", "name": "baseline", "definition": {...}},
     "map": "france-departements", "households": 50000, "seed": 1, "language": "fr",
     "month": 14, "start_params": {"fuel_price": 0.2},
     "decisions": [{"month": 3, "policy": {"type": "tiers_lieux", ...},
                    "param": null, "value": null}],
     "branches": [{"name": "sans taxe", "fork_month": 6, "fork_decisions": 1,
                   "month": 14, "decisions": [...]}],
     "compare": 0, "log": [...], "votes": []}

Every problem in a file raises :class:`WorkshopError`, whose message names the file, the key
and what is allowed (never a traceback in the page or the command line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulation.dashboard import i18n
from simulation.dashboard import state as st
from simulation.engine.params import PARAMS, ParameterError
from simulation.engine.policies import make_policy
from simulation.engine.results import atomic_write_text
from simulation.errors import InputError, bound_message, clip, clip_repr
from simulation.safe_io import read_text_file

FORMAT = "terrinum-workshop"
VERSION = 1
MAX_BYTES = 20_000_000
"""Largest workshop file read (bytes)."""
MAX_MONTH = 2_400
"""Largest month a workshop file may ask to replay (200 years, the scenarios' limit)."""
MAX_DECISIONS = 1_000
LOG_KINDS = ("scenario", "policy", "start_param", "branch_saved", "branch_back", "undo",
             "decision_back")
TOP_KEYS = ("format", "version", "saved_by", "scenario", "map", "households", "seed",
            "language", "month", "start_params", "decisions", "branches", "compare", "log",
            "votes")


class WorkshopError(InputError):
    """A workshop file that cannot be used: ``"<file>: <key>: <problem>; allowed: ..."``.

    Attributes:
        file: the file (or ``"<upload>"``).
        key: key path inside the file, e.g. ``"decisions[2].month"`` ("" for the whole file).
        problem: what is wrong.
        allowed: what would be accepted.
    """

    def __init__(self, file: Any, key: str, problem: str, allowed: str = "") -> None:
        self.file = clip(file, 200)
        self.key = key
        self.problem = problem
        self.allowed = allowed
        text = f"{self.file}: " + (f"{key}: " if key else "") + problem
        if allowed:
            text += f"; allowed: {allowed}"
        super().__init__(text)

    def __reduce__(self):  # keep the fields through pickling
        return (WorkshopError, (self.file, self.key, self.problem, self.allowed))


# ------------------------------------------------------------------------------- saving
def _choice_dict(c: st.Choice) -> dict[str, Any]:
    return {"month": int(c.step), "policy": c.policy, "param": c.param, "value": c.value}


def workshop_dict(session: st.Session, lang: str = i18n.DEFAULT_LANG) -> dict[str, Any]:
    """The session as a workshop dict (JSON-able); :func:`session_from_dict` rebuilds it."""
    with session.lock:
        taken = session.decisions()
        live = session.live.choices
        log = []
        for e in session.log:
            row: dict[str, Any] = {"month": int(e.step), "kind": e.kind, "name": e.name}
            if e.choice is not None:
                row["choice"] = _choice_dict(e.choice)
                row["undone"] = e.choice in session.undone and e.choice not in live
            log.append(row)
        branches = []
        for b in session.branches:
            branches.append({"name": b.name, "fork_month": int(b.fork_step),
                             "fork_decisions": int(b.fork_choices), "month": int(b.run.steps),
                             "decisions": [_choice_dict(c) for c in b.run.choices]})
        return {
            "format": FORMAT, "version": VERSION, "saved_by": "Terrinum dashboard",
            "scenario": {"ref": session.scenario_ref, "name": session.scenario_name,
                         "sha256": session.scenario.sha256,
                         "definition": session.scenario.to_dict()},
            "map": session.map_name, "households": int(session.households),
            "seed": int(session.seed), "language": lang, "month": int(session.steps),
            "start_params": dict(session.start_params),
            "decisions": [_choice_dict(c) for c in taken],
            "branches": branches, "compare": session.compare, "log": log,
            "votes": list(getattr(session, "votes", [])),
        }


def workshop_json(session: st.Session, lang: str = i18n.DEFAULT_LANG) -> str:
    """The workshop file's text (JSON, UTF-8, indented)."""
    return json.dumps(workshop_dict(session, lang), ensure_ascii=False, indent=1,
                      default=str, allow_nan=False) + "\n"


def save_workshop(session: st.Session, path: str | Path,
                  lang: str = i18n.DEFAULT_LANG) -> Path:
    """Write the session to ``path`` atomically (a temporary file, then a rename).

    Returns:
        The path written.
    """
    path = Path(path)
    atomic_write_text(workshop_json(session, lang), path)
    return path


# ------------------------------------------------------------------------------- loading
def load_workshop(path: str | Path) -> tuple[st.Session, str]:
    """Rebuild a saved session from a workshop file.

    Returns:
        ``(session, language)``: the session at the saved month and the saved language.

    Raises:
        WorkshopError: a file that cannot be read or used (the message names the file, the key
            and what is allowed).
    """
    try:
        text = read_text_file(path, "a workshop file (JSON)", MAX_BYTES)
    except InputError as exc:
        raise WorkshopError(path, "", str(exc).split(": ", 1)[-1],
                            "a workshop file saved by the dashboard (JSON)") from None
    return load_workshop_text(text, str(path))


def load_workshop_text(text: str, file: str = "<upload>") -> tuple[st.Session, str]:
    """:func:`load_workshop` on the file's text (an upload from the page)."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise WorkshopError(file, "", f"not JSON ({exc.msg} at line {exc.lineno}, column "
                            f"{exc.colno})", "a workshop file saved by the dashboard") from None
    except ValueError as exc:
        raise WorkshopError(file, "", str(exc), "finite numbers") from None
    return session_from_dict(data, file)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a workshop file may hold")


class _Check:
    """Type checks of a workshop dict, raising :class:`WorkshopError` with the key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str, allowed: str) -> WorkshopError:
        return WorkshopError(self.file, key, problem, allowed)

    def get(self, d: dict, key: str, where: str, kind: type | tuple, allowed: str,
            default: Any = ...) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in d:
            if default is ...:
                raise self.fail(path, "missing", allowed)
            return default
        v = d[key]
        if isinstance(v, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(path, f"invalid value {clip_repr(v)}", allowed)
        if not isinstance(v, kind):
            raise self.fail(path, f"invalid value {clip_repr(v)}", allowed)
        return v

    def month(self, d: dict, key: str, where: str, hi: int = MAX_MONTH) -> int:
        v = self.get(d, key, where, int, f"a whole number of months in [0, {hi}]")
        if not 0 <= v <= hi:
            raise self.fail(f"{where}.{key}" if where else key, f"invalid value {v}",
                            f"a whole number of months in [0, {hi}]")
        return v

    def choice(self, d: Any, where: str, month_max: int) -> st.Choice:
        if not isinstance(d, dict):
            raise self.fail(where, f"invalid value {clip_repr(d)}",
                            "a table with month, policy, param and value")
        unknown = sorted(set(d) - {"month", "policy", "param", "value"})
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}", "unknown key", "month, policy, param, value")
        step = self.month(d, "month", where, month_max)
        policy = self.get(d, "policy", where, (dict, type(None)),
                          "a policy table (type, territories, start, fields) or null", None)
        param = self.get(d, "param", where, (str, type(None)),
                         "a parameter name (terrinum list params) or null", None)
        if param is not None and param not in PARAMS:
            raise self.fail(f"{where}.param", f"unknown parameter {clip_repr(param)}",
                            "a parameter name (terrinum list params)")
        if policy is None and param is None:
            raise self.fail(where, "neither a policy nor a parameter",
                            "a policy, or a starting parameter with its value")
        value = d.get("value")
        if param is not None:
            try:
                value = PARAMS[param].check(value, f"{self.file}: {where}.value")
            except ParameterError as exc:
                raise self.fail(f"{where}.value", str(exc).split("; allowed")[0],
                                PARAMS[param].range_text()) from None
        if policy is None and step != 0:
            raise self.fail(f"{where}.month", f"a starting parameter at month {step}",
                            "month 0 for a starting parameter")
        if policy is not None:
            try:
                pol = make_policy(policy)
            except (ValidationError, ValueError, TypeError) as exc:
                raise self.fail(f"{where}.policy", bound_message(_first_error(exc)),
                                "a policy as the dashboard writes it (terrinum list "
                                "policies)") from None
            if pol.start_step != step + 1:
                raise self.fail(f"{where}.policy.start",
                                f"start {pol.start!r} years is not month {step}",
                                f"month / 12 = {step / 12!r}")
        return st.Choice(step, policy, param, value)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}"
    return str(exc)


def session_from_dict(data: Any, file: str = "<dict>") -> tuple[st.Session, str]:
    """Rebuild a session from a workshop dict (see :func:`workshop_dict`).

    Raises:
        WorkshopError: a bad dict (file, key and what is allowed in the message).
    """
    from simulation.scenarios.files import Scenario

    ck = _Check(file)
    if not isinstance(data, dict):
        raise ck.fail("", f"a {type(data).__name__}, not a table",
                      "a workshop file saved by the dashboard (a JSON object)")
    if data.get("format") != FORMAT:
        raise ck.fail("format", f"invalid value {clip_repr(data.get('format'))}",
                      f'"{FORMAT}" (a workshop file saved by the dashboard)')
    version = ck.get(data, "version", "", int, f"{VERSION}")
    if version != VERSION:
        raise ck.fail("version", f"version {version} is not read by this Terrinum",
                      f"{VERSION}")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ck.fail(unknown[0], "unknown key", ", ".join(TOP_KEYS))
    sc_d = ck.get(data, "scenario", "", dict, "a table with ref, name and definition")
    definition = ck.get(sc_d, "definition", "scenario", dict,
                        "the scenario's definition, as saved by the dashboard")
    try:
        scenario = Scenario.from_dict(definition)
    except (InputError, ValidationError, KeyError, TypeError, ValueError) as exc:
        raise ck.fail("scenario.definition", bound_message(_first_error(exc)),
                      "the scenario's definition, as saved by the dashboard") from None
    households = ck.get(data, "households", "", int, "a whole number of household agents")
    try:
        PARAMS["n_households"].check(households, "workshop")
    except ParameterError:
        raise ck.fail("households", f"invalid value {households}",
                      f"a whole number in {PARAMS['n_households'].range_text()}") from None
    seed = ck.get(data, "seed", "", int, "a non-negative whole number")
    if seed < 0:
        raise ck.fail("seed", f"invalid value {seed}", "a non-negative whole number")
    lang = ck.get(data, "language", "", str, " or ".join(i18n.LANGS), i18n.DEFAULT_LANG)
    if lang not in i18n.LANGS:
        raise ck.fail("language", f"invalid value {clip_repr(lang)}", " or ".join(i18n.LANGS))
    month = ck.month(data, "month", "")
    start_params = ck.get(data, "start_params", "", dict, "a table of parameter values", {})
    for k, v in start_params.items():
        if k not in PARAMS:
            raise ck.fail(f"start_params.{k}", "unknown parameter",
                          "a parameter name (terrinum list params)")
        try:
            PARAMS[k].check(v, "workshop")
        except ParameterError:
            raise ck.fail(f"start_params.{k}", f"invalid value {clip_repr(v)}",
                          PARAMS[k].range_text()) from None
    raw = ck.get(data, "decisions", "", list, "a list of decisions", [])
    if len(raw) > MAX_DECISIONS:
        raise ck.fail("decisions", f"{len(raw)} decisions", f"at most {MAX_DECISIONS}")
    taken = [ck.choice(d, f"decisions[{i}]", month) for i, d in enumerate(raw)]
    raw_br = ck.get(data, "branches", "", list, f"a list of at most {st.MAX_BRANCHES} branches",
                    [])
    if len(raw_br) > st.MAX_BRANCHES:
        raise ck.fail("branches", f"{len(raw_br)} branches", f"at most {st.MAX_BRANCHES}")
    compare = ck.get(data, "compare", "", (int, type(None)),
                     f"null or a branch number in [0, {max(len(raw_br) - 1, 0)}]", None)
    if compare is not None and not 0 <= compare < len(raw_br):
        raise ck.fail("compare", f"invalid value {compare}",
                      f"null or a branch number in [0, {max(len(raw_br) - 1, 0)}]")
    votes = ck.get(data, "votes", "", list, "a list of votes", [])
    raw_log = ck.get(data, "log", "", list, "a list of log lines", [])

    try:
        session = st.Session(scenario, households=households, seed=seed)
    except (InputError, ValidationError, ValueError, TypeError, OSError) as exc:
        raise ck.fail("scenario", bound_message(_first_error(exc)),
                      "a scenario this Terrinum can run") from None
    with session.lock:
        session.start_params = {}
        try:
            session._rebuild(taken, month)
            if session.start_params != start_params:
                raise ck.fail("start_params", f"{clip_repr(start_params)} is not what the "
                              f"decisions set ({clip_repr(session.start_params)})",
                              "the starting parameters of the decisions at month 0")
            branches = []
            names: list[str] = []
            for i, b in enumerate(raw_br):
                where = f"branches[{i}]"
                if not isinstance(b, dict):
                    raise ck.fail(where, f"invalid value {clip_repr(b)}", "a branch table")
                try:
                    name = st.check_branch_name(ck.get(b, "name", where, str, "a name"), names)
                except st.LeverError as exc:
                    raise ck.fail(f"{where}.name", str(exc).split(": ", 1)[-1],
                                  f"a new name of 1 to {st.MAX_BRANCH_NAME} characters") from None
                names.append(name)
                b_month = ck.month(b, "month", where)
                fork = ck.month(b, "fork_month", where, b_month)
                choices = [ck.choice(d, f"{where}.decisions[{k}]", fork)
                           for k, d in enumerate(ck.get(b, "decisions", where, list,
                                                        "a list of decisions"))]
                n_fork = ck.get(b, "fork_decisions", where, int,
                                f"a whole number in [0, {len(choices)}]", len(choices))
                if not 0 <= n_fork <= len(choices):
                    raise ck.fail(f"{where}.fork_decisions", f"invalid value {n_fork}",
                                  f"a whole number in [0, {len(choices)}]")
                run = st.Run(session.replay(choices, b_month), choices)
                branches.append(st.Branch(name, run, fork, n_fork))
            session.branches = branches
            session.compare = compare
            if compare is not None:
                branches[compare].run.advance_to(session.steps)
        except WorkshopError:
            raise
        except (InputError, ValidationError, ValueError, TypeError) as exc:
            raise ck.fail("decisions", bound_message(_first_error(exc)),
                          "decisions this scenario accepts") from None
        session.log = _log_from(ck, raw_log, session, month) or session.log
        session.votes = list(votes)
    return session, lang


def _log_from(ck: _Check, raw: list, session: st.Session, month: int) -> list[st.LogEntry]:
    """The saved log, its live decisions pointing at the rebuilt run's choices."""
    out = []
    pool = list(session.live.choices)
    undone: list[st.Choice] = []
    for i, r in enumerate(raw):
        where = f"log[{i}]"
        if not isinstance(r, dict):
            raise ck.fail(where, f"invalid value {clip_repr(r)}", "a log table")
        kind = ck.get(r, "kind", where, str, ", ".join(LOG_KINDS))
        if kind not in LOG_KINDS:
            raise ck.fail(f"{where}.kind", f"invalid value {clip_repr(kind)}", ", ".join(LOG_KINDS))
        step = ck.month(r, "month", where)
        name = ck.get(r, "name", where, str, "text", "")
        choice = None
        if kind in ("policy", "start_param", "undo", "decision_back"):
            choice = ck.choice(r.get("choice"), f"{where}.choice", MAX_MONTH)
            same = next((c for c in pool if c == choice), None)
            if same is not None and kind in ("policy", "start_param"):
                pool.remove(same)
                choice = same
            elif r.get("undone") is True:
                undone.append(choice)
        out.append(st.LogEntry(step, kind, choice, name))
    session.undone = undone
    return out


__all__ = ["FORMAT", "VERSION", "WorkshopError", "load_workshop", "load_workshop_text",
           "save_workshop", "session_from_dict", "workshop_dict", "workshop_json"]
