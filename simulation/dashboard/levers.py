"""Levers of the dashboard: the fields of every policy type and the parameter levers.

A lever is a policy (validated like a scenario file's) or a parameter change, described here
with the bounds, steps and units the lever panel needs (pure Python, unit-tested).

Display units: the panel shows a field in the units a room of mayors reads ("3 %" of turnover,
"−50 %" of the counters), the policy gets the model's value (a share, a relative change).
``FieldSpec.scale`` and ``FieldSpec.unit`` say how (shown = model x scale, model = shown /
scale; :data:`FIELD_DISPLAY`). Converted (every field declared as a share in [0, 1], and the
two relative changes):

* ``broadband_rollout.target`` (share of premises -> % of premises) and ``pace`` (share of
  premises a year -> points of coverage a year);
* ``public_counters.change`` and ``digital_mediators.change`` (relative change -> % change,
  −100 % closes all; quick choices "close all" −1, "close half" −0.5, "double" +1);
* ``platform_dependence.commission`` and ``dominant_commission``,
  ``local_platform.commission`` (share of the sale -> %);
* ``platform_tax.rate`` (share of local turnover -> %);
* ``equalisation.level`` (share -> %).

The other fields (counts, days, EUR, utilities) are shown as declared.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulation.dashboard import i18n
from simulation.engine.params import PARAMS, Param
from simulation.engine.policies import DATA_DRIVERS, MAP_WIDE, POLICY_CLASSES, Policy
from simulation.errors import InputError

_COMMON_FIELDS = frozenset(Policy.model_fields)


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


# How a field is shown: (scale, unit, signed). shown = model * scale; "%" a percentage,
# "pt" percentage points (of coverage a year); signed: shown with its sign (a change).
PERCENT = (100.0, "%", False)
PERCENT_CHANGE = (100.0, "%", True)
FIELD_DISPLAY: dict[tuple[str, str], tuple[float, str, bool]] = {
    ("broadband_rollout", "target"): PERCENT,
    ("broadband_rollout", "pace"): (100.0, "pt", False),
    ("public_counters", "change"): PERCENT_CHANGE,
    ("digital_mediators", "change"): PERCENT_CHANGE,
    ("platform_dependence", "commission"): PERCENT,
    ("platform_dependence", "dominant_commission"): PERCENT,
    ("local_platform", "commission"): PERCENT,
    ("platform_tax", "rate"): PERCENT,
    ("equalisation", "level"): PERCENT,
}

# Quick choices of the relative changes: (key, model value); labels in i18n.QUICK_LABELS.
CHANGE_PRESETS: tuple[tuple[str, float], ...] = (
    ("close_all", -1.0), ("close_half", -0.5), ("double", 1.0))
FIELD_PRESETS: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("public_counters", "change"): CHANGE_PRESETS,
    ("digital_mediators", "change"): CHANGE_PRESETS,
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
        scale: display scale: the panel shows ``value * scale`` and reads ``shown / scale``
            (100 for shares and relative changes shown in %, 1 otherwise).
        unit: display unit of the shown value: "%" (a percentage), "pt" (percentage points)
            or "" (as declared; the words are in :data:`simulation.dashboard.i18n.FIELD_LABELS`).
        signed: the shown value is a change, written with its sign ("+100 %", "−50 %").
        presets: quick choices, (key, model value): "close_half" is −0.5.

    ``lo``, ``hi``, ``step``, ``default`` and the values :meth:`check` returns are model
    values; :meth:`shown` and :meth:`from_shown` convert to and from what the panel shows.
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
    scale: float = 1.0
    unit: str = ""
    signed: bool = False
    presets: tuple[tuple[str, float], ...] = ()

    # ------------------------------------------------------------------ display units
    @property
    def shown_decimals(self) -> int:
        """Decimals of the shown step (0 for a step of 1 or more)."""
        if self.step is None:
            return 0
        s = self.step * self.scale
        return max(0, -math.floor(math.log10(s) + 1e-9)) if s > 0 else 0

    def shown(self, value: Any) -> Any:
        """The model value as the panel shows it (None and non-numbers unchanged).

        Rounded to 9 decimals past the shown step, so 0.07 shows 7, not 7.000000000000001.
        """
        if self.scale == 1.0 or value is None or isinstance(value, bool) \
                or not isinstance(value, int | float):
            return value
        return round(float(value) * self.scale, self.shown_decimals + 9) + 0.0

    def from_shown(self, shown: Any) -> Any:
        """The model value of a shown value (3 % of turnover -> 0.03)."""
        if self.scale == 1.0 or shown is None or isinstance(shown, bool):
            return shown
        return float(shown) / self.scale

    @property
    def shown_lo(self) -> float | None:
        """Smallest shown value."""
        return self.shown(self.lo)

    @property
    def shown_hi(self) -> float | None:
        """Largest shown value."""
        return self.shown(self.hi)

    @property
    def shown_step(self) -> float | None:
        """Slider step in shown units."""
        return self.shown(self.step)

    def snap(self, shown: float) -> float:
        """A shown value rounded to the shown step's decimals (what the slider gives)."""
        return round(float(shown), self.shown_decimals) + 0.0

    def readout(self, value: Any, lang: str) -> str:
        """The model value as the panel writes it next to its box.

        "2,5 %" (French decimal comma), "−50 %", "10 points"
        (:func:`simulation.dashboard.i18n.fmt_lever`).
        """
        return i18n.fmt_lever(self.shown(value), self.unit, lang, signed=self.signed)

    def _txt(self, x: float) -> str:
        if self.scale == 1.0:
            return f"{x:g}"
        return f"{self.shown(x):g}{' ' if self.unit else ''}{self.unit}"

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
            raise LeverError(f"{self.name} = {self._txt(x)} is below its range "
                             f"({self._txt(self.lo)} to {self._txt(self.hi)})")
        if self.hi is not None and x > self.hi:
            raise LeverError(f"{self.name} = {self._txt(x)} is above its range "
                             f"({self._txt(self.lo)} to {self._txt(self.hi)})")
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
    scale, unit, signed = FIELD_DISPLAY.get((ptype, name), (1.0, "", False))
    return FieldSpec(name, kind, lo=lo, hi=hi, lo_open=lo_open, step=_nice_step(lo, hi, integer),
                     default=None if (optional and (ptype, name) not in FIELD_START) else start,
                     slider=(hi - lo) <= 1_000, scale=scale, unit=unit, signed=signed,
                     presets=FIELD_PRESETS.get((ptype, name), ()))


@functools.cache
def policy_specs() -> dict[str, PolicySpec]:
    """Lever widgets of every policy type but the data drivers, from :data:`POLICY_CLASSES`."""
    out = {}
    for ptype, cls in POLICY_CLASSES.items():
        if ptype in DATA_DRIVERS:
            continue  # replays observed series (scenario files), not a decision to pull
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
