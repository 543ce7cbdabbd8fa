"""Policy types: timed interventions applied by the model at their step.

A policy is data (a scenario file's ``[[policies]]`` table, a dashboard lever) validated by
pydantic and turned into an object whose :meth:`Policy.apply` the model calls at the start
of every step. Policies act on territory state, programme payers and parameters; agents
never test which policy is active.

Common fields:
    type: the policy type (see :data:`POLICY_TYPES`).
    territories: which territories: ``"all"`` or a table with any of ``codes``, ``kinds``,
        ``regions`` (see :class:`Selector`: the filters ``kinds`` and ``regions`` combine with
        AND, listed ``codes`` are added; ``codes`` alone selects exactly those).
    start: when it takes effect, in years from the start of the run (0 = first month).
    end: optional year when it stops (its added capacities are withdrawn; see each type).
    ramp: years over which the change builds up linearly from ``start`` (0 = at once).
    payer: who pays its running cost: "state", "authority" (each territory's own) or
        "region" (the region's authorities together).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel
    from simulation.world.maps import TerritoryMap

Payer = Literal["state", "authority", "region"]
STEPS_PER_YEAR = 12


class Selector(BaseModel):
    """Territories selected by kind, region and code; empty means all.

    The keys combine as a user reads them:

    * the filters ``kinds`` and ``regions`` narrow the map together: a territory is selected
      when it matches every filter given (the values listed in one filter are alternatives),
      so ``{ kinds = ["rural"], regions = ["84"] }`` is the rural territories of region 84
      and ``{ kinds = ["town", "rural"] }`` the town and the rural ones;
    * the ``codes`` listed explicitly are added to the filtered set
      (``{ kinds = ["rural"], regions = ["84"], codes = ["69"] }`` is those plus 69);
    * ``codes`` alone selects exactly those territories;
    * no key at all selects every territory (only the selector of ``"all"``: a selector
      read from a file must name something, an empty table or list is refused).

    Resolution is :meth:`simulation.world.maps.TerritoryMap.select`.
    """

    model_config = ConfigDict(extra="forbid", strict=True)
    codes: list[str] = Field(default_factory=list,
                             description="territory codes (added to the filtered set)",
                             max_length=10_000)
    kinds: list[Literal["metropolis", "city", "town", "rural"]] = Field(
        default_factory=list, max_length=4)
    regions: list[str] = Field(default_factory=list, description="region codes",
                               max_length=1_000)

    @model_validator(mode="after")
    def _names_something(self) -> Selector:
        empty = [k for k in ("codes", "kinds", "regions")
                 if k in self.model_fields_set and not getattr(self, k)]
        if empty:
            raise ValueError(f"territories.{empty[0]} is empty: an empty list would select "
                             'every territory; write territories = "all" for all of them, '
                             "or name at least one")
        if not (self.codes or self.kinds or self.regions):
            raise ValueError('an empty territories table would select every territory; write '
                             'territories = "all", or give codes, kinds or regions')
        return self

    def resolve(self, tmap: TerritoryMap) -> np.ndarray:
        """Indices of the selected territories, sorted (ValueError naming what is allowed)."""
        if not (self.codes or self.kinds or self.regions):
            return np.arange(tmap.n)
        return np.asarray(tmap.select(codes=self.codes or None, kinds=self.kinds or None,
                                      regions=self.regions or None), dtype=np.int64)

    def describe(self) -> str:
        """Plain-words description (e.g. "rural territories of regions 84, plus 69")."""
        if not (self.codes or self.kinds or self.regions):
            return "all territories"
        if not (self.kinds or self.regions):
            return "territories " + ", ".join(self.codes)
        text = (" and ".join(self.kinds) + " territories") if self.kinds else "territories"
        if self.regions:
            text += (" of regions " if len(self.regions) > 1 else " of region ") + ", ".join(
                self.regions)
        if self.codes:
            text += ", plus " + ", ".join(self.codes)
        return text


class Policy(BaseModel):
    """Base of all policy types (fields documented in the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    type: str
    territories: Literal["all"] | Selector = "all"
    start: float = Field(0.0, ge=0.0, le=200.0, description="years from the start")
    end: float | None = Field(None, gt=0.0, le=200.0, description="years from the start")
    ramp: float = Field(0.0, ge=0.0, le=50.0, description="years to full effect")
    label: str | None = Field(None, description="free text shown in logs and reports")

    @model_validator(mode="after")
    def _check_times(self) -> Policy:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.end is not None and self.ramp and self.start + self.ramp > self.end:
            raise ValueError(f"ramp ({self.ramp} years) must finish before end ({self.end})")
        return self

    # ------------------------------------------------------------------ timing
    def _selector(self) -> Selector:
        return Selector.model_construct() if self.territories == "all" else self.territories

    def resolve(self, tmap: TerritoryMap) -> np.ndarray:
        """Sorted indices of the territories of ``tmap`` this policy selects.

        Map-wide types (:data:`MAP_WIDE`) act on the whole map whatever they select.
        """
        return self._selector().resolve(tmap)

    def indices(self, model: TerritoryModel) -> np.ndarray:
        """Indices of the territories this policy applies to."""
        cached = self.__dict__.get("_idx_cache")
        if cached is None or cached[0] is not model.tmap:
            cached = (model.tmap, self.resolve(model.tmap))
            self.__dict__["_idx_cache"] = cached
        return cached[1]

    @property
    def start_step(self) -> int:
        """Step at which the policy starts (1 = first month)."""
        return int(round(self.start * STEPS_PER_YEAR)) + 1

    @property
    def end_step(self) -> int | None:
        """Step at which it stops, if any."""
        return None if self.end is None else int(round(self.end * STEPS_PER_YEAR)) + 1

    def progress(self, step: int) -> float:
        """Share of full effect reached at ``step`` (0 before start, 1 after the ramp)."""
        if step < self.start_step:
            return 0.0
        if self.end_step is not None and step >= self.end_step:
            return 0.0
        if self.ramp <= 0:
            return 1.0
        return min(1.0, (step - self.start_step + 1) / (self.ramp * STEPS_PER_YEAR))

    def apply(self, model: TerritoryModel) -> None:
        """Called by the model at the start of every step."""
        step = model.steps  # Mesa counts the step in progress (1 for the first month)
        prev = self.__dict__.get("_applied", 0.0)
        now = self.progress(step)
        if now == prev:
            return
        idx = self.indices(model)
        self.__dict__["_applied"] = now
        self.effect(model, idx, prev, now)
        self._record(model, idx, step)
        model.log.append({"step": step, "what": self.type, "territories":
                          self._selector().describe(), "progress": round(now, 4),
                          "label": self.label or self.describe()})

    def effect(self, model: TerritoryModel, idx: np.ndarray, before: float, now: float
               ) -> None:
        """Move the policy's effect from share ``before`` to share ``now`` (0-1)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One sentence in plain words (used by reports and the dashboard log)."""
        return self.type

    # ------------------------------------------------------------------ controls
    def controls(self) -> dict[str, str]:
        """What this policy changes, by control, and how it writes each one.

        Controls are named after what they change: a territory array (``counters_tax``,
        ``mediators``, ``france_services``, ``rollout_pace``, ``broadband``, ...), a map-wide
        parameter (``param:<name>``) or who pays a programme (``payer:<programme>``). Modes:

        * ``"set"``: an absolute value, written every month its progress changes (each month
          of its ramp, and at its end): it overwrites any other change made in between;
        * ``"relative"``: a value computed from the control as it was at the policy's first
          month (e.g. "60 % of the counters present at its start"), written every month its
          progress changes: it overwrites changes made after its first month, and keeps
          (scales) those made before;
        * ``"add"``: adds its change to the current value: it composes with any other.

        See :meth:`holds` and docs/ODD.md ("Levers and the scenario's policies").
        """
        return {}

    def last_write(self, control: str, model: TerritoryModel) -> float:
        """Last step at which it writes ``control`` (``math.inf``: to the end of the run).

        The base rule: the policy writes when its progress changes, i.e. at ``start_step``,
        each step of its ramp, and at ``end_step``.
        """
        if self.end_step is not None:
            return float(self.end_step)
        if self.ramp > 0:
            return float(self.start_step + math.ceil(self.ramp * STEPS_PER_YEAR) - 1)
        return float(self.start_step)

    def holds(self, model: TerritoryModel, control: str, idx: np.ndarray | None,
              step: int) -> float | None:
        """Last step until which this policy overwrites a change of ``control`` made at ``step``.

        Args:
            model: the running model.
            control: a control name (see :meth:`controls`).
            idx: the territories the change touches (None: map-wide).
            step: the step at which the change is written (this policy is applied before it
                in that step: policies run in the order they were added).

        Returns:
            The last step (1 = first month; ``math.inf`` for the end of the run) at which this
            policy writes ``control`` over that change, or None when it never does (it does
            not write that control, only adds to it, has finished writing by ``step``, writes
            relative to a value that will include the change, or touches other territories).
        """
        mode = self.controls().get(control)
        if mode is None or mode == "add":
            return None
        last = self.last_write(control, model)
        if last <= step:
            return None
        if mode == "relative" and self.start_step > step:
            return None  # its base, taken at its first month, will include the change
        if not (control.startswith("param:") or self.type in MAP_WIDE or idx is None):
            if not np.intersect1d(self.indices(model), idx).size:
                return None
        return last

    def _record(self, model: TerritoryModel, idx: np.ndarray, step: int) -> None:
        """Book-keeping after a write: what the other policies' effects look like now.

        Every policy keeps a snapshot of the readable controls it wrote (values right after
        its last write). A later write by another policy that composes with it (mode "add",
        or "relative" from a base taken after it wrote) refreshes the snapshot on the
        territories they share; a write that overwrites it leaves the snapshot as it was, so
        :meth:`effect_holds` sees the difference in the model's state.
        """
        seq = model.__dict__.get("_policy_seq", 0) + 1
        model.__dict__["_policy_seq"] = seq
        first = self.__dict__.setdefault("_first_seq", seq)
        mine = self.controls()
        for other in model.policies:
            snap = other.__dict__.get("_snap")
            if other is self or not snap:
                continue
            for c, mode in mine.items():
                if c not in snap:
                    continue
                composes = mode == "add" or (mode == "relative"
                                             and first > other.__dict__["_snap_seq"])
                if not composes:
                    continue
                cur = _read(model, c, other.indices(model))
                if c.startswith("param:") or c == "platform_push":
                    snap[c] = cur
                else:
                    shared = np.isin(other.indices(model), idx)
                    snap[c][shared] = cur[shared]
        self.__dict__["_snap"] = {c: v for c in mine
                                  if (v := _read(model, c, idx)) is not None}
        self.__dict__["_snap_seq"] = seq
        self.__dict__["_snap_step"] = step

    def effect_holds(self, model: TerritoryModel) -> bool:
        """True once the policy has written and the model still shows what it wrote.

        Read from the model's state: every readable control it wrote (counters, mediators,
        houses, tiers-lieux, roll-out pace, rates, parameters, payers) still has the value it
        set, up to the changes of policies that compose with it. False before its first
        write, or when another policy has overwritten it since.
        """
        snap = self.__dict__.get("_snap")
        if snap is None:
            return False
        idx = self.indices(model)
        return all(np.array_equal(_read(model, c, idx), v, equal_nan=True)
                   for c, v in snap.items())

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for TOML export (defaults omitted)."""
        d = self.model_dump(exclude_none=True, exclude_defaults=True)
        d["type"] = self.type
        if isinstance(self.territories, Selector):
            d["territories"] = self.territories.model_dump(exclude_defaults=True)
        return d


# territory arrays that only policies change (the model's own dynamics never write them)
_STATE_ARRAYS: dict[str, tuple[str, str]] = {
    "counters_tax": ("terr", "counters_tax"), "counters_social": ("terr", "counters_social"),
    "counters_post": ("terr", "counters_post"), "mediators": ("terr", "mediators"),
    "france_services": ("terr", "france_services"), "tiers_lieux": ("terr", "tiers_lieux"),
    "rollout_pace": ("terr", "rollout_pace"), "newdeal_rate": ("model", "newdeal_rate"),
    "local_platform_support": ("model", "local_platform_support"),
    "local_commission": ("model", "local_commission_override"),
    "platform_tax": ("model", "platform_tax_terr"),
    "platform_push": ("platforms", "push"),  # map-wide (one number)
}


def _read(model: TerritoryModel, control: str, idx: np.ndarray) -> np.ndarray | None:
    """Current value of ``control`` in territories ``idx`` (a copy), None if not readable.

    Controls the model's dynamics also move (broadband coverage, the local platforms'
    convenience) are not readable: their check is the conflict rule (:meth:`Policy.holds`).
    """
    if control.startswith("param:"):
        return np.asarray([float(model.p[control[6:]])])
    if control.startswith("payer:"):
        return np.asarray(model.auth.payer[control[6:]][idx], dtype=float).copy()
    where = _STATE_ARRAYS.get(control)
    if where is None:
        return None
    if where[0] == "platforms":
        return np.asarray([float(getattr(model.platforms, where[1]))])
    owner = model.terr if where[0] == "terr" else model
    return np.asarray(getattr(owner, where[1])[idx], dtype=float).copy()


def _add(arr: np.ndarray, idx: np.ndarray, per_territory: np.ndarray | float, d: float
         ) -> None:
    arr[idx] = np.maximum(arr[idx] + d * np.asarray(per_territory), 0.0)


# ============================================================================ types
class BroadbandRollout(Policy):
    """Very-high-speed roll-out: coverage rises towards ``target`` at ``pace`` points/year.

    The works cost ``broadband_cost_dense`` per premise, more where density is low, paid by
    ``payer``; unfunded works do not happen. ``end`` stops the works (coverage stays).
    """

    type: Literal["broadband_rollout"] = "broadband_rollout"
    target: float = Field(1.0, ge=0.0, le=1.0, description="coverage goal, share of premises")
    pace: float = Field(0.1, gt=0.0, le=1.0, description="coverage points per year")
    payer: Payer = "state"

    def effect(self, model, idx, before, now):  # noqa: D102
        t = model.terr
        if now > 0:
            t.rollout_target[idx] = np.maximum(t.rollout_target[idx], self.target)
            t.rollout_pace[idx] = self.pace
            model.set_payer("broadband", idx, self.payer)
        else:
            t.rollout_pace[idx] = 0.0

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        # the pace is set; the target only rises (max), which composes
        return {"rollout_pace": "set", "broadband": "add", "payer:broadband": "set"}

    def describe(self) -> str:  # noqa: D102
        return (f"Broadband roll-out to {self.target:.0%} of premises at {self.pace:.0%} a "
                f"year, paid by the {self.payer}")


class PublicCounters(Policy):
    """Close (``change`` < 0) or open (``change`` > 0) public counters.

    The change is a share of the counters present at the start of the policy.
    ``which`` picks tax, social and/or post counters.
    Running costs (``counter_cost`` each) are paid by ``payer``. ``end`` restores them.
    Post offices count for running costs but not for access to rights (tax and social
    counters and France Services houses handle claims; see ODD 7.7).
    """

    type: Literal["public_counters"] = "public_counters"
    change: float = Field(..., ge=-1.0, le=5.0, description="relative change, -1 closes all")
    which: list[Literal["tax", "social", "post"]] = Field(
        default_factory=lambda: ["tax", "social", "post"])
    payer: Payer = "state"

    @field_validator("which")
    @classmethod
    def _nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("which must name at least one of tax, social, post")
        return v

    def effect(self, model, idx, before, now):  # noqa: D102
        base = self.__dict__.setdefault("_base", {})
        t = model.terr
        for kind in self.which:
            arr = getattr(t, f"counters_{kind}")
            if kind not in base:
                base[kind] = arr[idx].copy()
            arr[idx] = np.maximum(base[kind] * (1.0 + self.change * now), 0.0)
        model.set_payer("counters", idx, self.payer)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {**{f"counters_{k}": "relative" for k in self.which}, "payer:counters": "set"}

    def describe(self) -> str:  # noqa: D102
        verb = "Close" if self.change < 0 else "Open"
        return f"{verb} {abs(self.change):.0%} of {', '.join(self.which)} counters"


class FranceServices(Policy):
    """Open France Services houses (one-stop public-service desks with advisers).

    ``per_territory`` houses each, or ``per_100k_households`` (real households). They help
    claims (take-up) like counters and advisers do. ``end`` closes the added houses.
    """

    type: Literal["france_services"] = "france_services"
    per_territory: float = Field(0.0, ge=0.0, le=500.0)
    per_100k_households: float = Field(0.0, ge=0.0, le=500.0)
    payer: Payer = "authority"  # French practice: the host pays, with the state subsidy

    def effect(self, model, idx, before, now):  # noqa: D102
        n = self.__dict__.setdefault(
            "_n", self.per_territory + self.per_100k_households * model.real_households[idx] / 1e5)
        _add(model.terr.france_services, idx, n, now - before)
        model.set_payer("france_services", idx, self.payer)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"france_services": "add", "payer:france_services": "set"}

    def describe(self) -> str:  # noqa: D102
        n = (f"{self.per_territory:g} per territory" if self.per_territory
             else f"{self.per_100k_households:g} per 100,000 households")
        return f"Open France Services houses ({n}), paid by the {self.payer}"


class TiersLieux(Policy):
    """Support tiers-lieux: ``places`` new ones per territory (or per 100k households).

    Each has ``tiers_lieu_seats`` workstations, kept open by a public grant
    (``tiers_lieu_grant`` a month each) paid by ``payer``. ``end`` stops the grants and the
    supported places close.
    """

    type: Literal["tiers_lieux"] = "tiers_lieux"
    places: float = Field(0.0, ge=0.0, le=1000.0, description="new places per territory")
    per_100k_households: float = Field(0.0, ge=0.0, le=1000.0)
    payer: Payer = "authority"

    def effect(self, model, idx, before, now):  # noqa: D102
        n = self.__dict__.setdefault(
            "_n", self.places + self.per_100k_households * model.real_households[idx] / 1e5)
        _add(model.terr.tiers_lieux, idx, n, now - before)
        _add(model.terr.tl_supported, idx, n, now - before)
        model.set_payer("tiers_lieux", idx, self.payer)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"tiers_lieux": "add", "payer:tiers_lieux": "set"}

    def describe(self) -> str:  # noqa: D102
        n = (f"{self.places:g} per territory" if self.places
             else f"{self.per_100k_households:g} per 100,000 households")
        return f"Support new tiers-lieux ({n}), grants paid by the {self.payer}"


class DigitalMediators(Policy):
    """Hire digital mediators (conseillers numériques).

    ``per_10k_households`` (real) or ``per_territory``; they help claims and train households
    with low literacy. ``change``
    scales the existing mediators instead (e.g. -1 ends the national programme). ``end``
    withdraws the added mediators.
    """

    type: Literal["digital_mediators"] = "digital_mediators"
    per_10k_households: float = Field(0.0, ge=0.0, le=100.0)
    per_territory: float = Field(0.0, ge=0.0, le=1000.0)
    change: float = Field(0.0, ge=-1.0, le=10.0, description="relative change of existing")
    payer: Payer = "authority"  # the employer pays, with the state subsidy (ODD 7.12)

    def effect(self, model, idx, before, now):  # noqa: D102
        t = model.terr
        base = self.__dict__.setdefault("_base", t.mediators[idx].copy())
        added = self.per_territory + self.per_10k_households * model.real_households[idx] / 1e4
        t.mediators[idx] = np.maximum(base * (1 + self.change * now) + added * now, 0.0)
        model.set_payer("mediators", idx, self.payer)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"mediators": "relative", "payer:mediators": "set"}

    def describe(self) -> str:  # noqa: D102
        if self.change and not (self.per_10k_households or self.per_territory):
            return f"Change digital mediators by {self.change:+.0%}"
        n = (f"{self.per_10k_households:g} per 10,000 households" if self.per_10k_households
             else f"{self.per_territory:g} per territory")
        return f"Hire digital mediators ({n}), paid by the {self.payer}"


class PlatformDependence(Policy):
    """The global platform's strategy: a new commission and/or a marketing push.

    ``commission`` and ``push`` (utility) are reached linearly over ``ramp``. Map-wide. ``end``
    reverts both.
    """

    type: Literal["platform_dependence"] = "platform_dependence"
    commission: float | None = Field(None, ge=0.0, le=0.6)
    dominant_commission: float | None = Field(None, ge=0.0, le=0.6)
    push: float = Field(0.0, ge=-3.0, le=3.0, description="utility")

    def effect(self, model, idx, before, now):  # noqa: D102
        base = self.__dict__.setdefault("_base", {
            "global_commission": model.p.global_commission,
            "global_commission_dominant": model.p.global_commission_dominant})
        model.platforms.push += self.push * (now - before)
        if self.commission is not None:
            v = base["global_commission"] + (self.commission - base["global_commission"]) * now
            model.set_param("global_commission", v)
        if self.dominant_commission is not None:
            b = base["global_commission_dominant"]
            model.set_param("global_commission_dominant", b + (self.dominant_commission - b)
                            * now)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        out = {"platform_push": "add"}
        if self.commission is not None:
            out["param:global_commission"] = "set"
        if self.dominant_commission is not None:
            out["param:global_commission_dominant"] = "set"
        return out

    def describe(self) -> str:  # noqa: D102
        parts = []
        if self.commission is not None:
            parts.append(f"commission {self.commission:.0%}")
        if self.push:
            parts.append(f"marketing push {self.push:+g}")
        return "Global platform: " + (", ".join(parts) or "no change")


class LocalPlatform(Policy):
    """Launch a local cooperative platform in each selected territory.

    Its commission (``commission`` for the platforms of the selected territories only, else
    the ``local_commission`` parameter) stays local; public support
    (``support_eur_per_household`` a month, paid by ``payer``) raises its convenience by
    ``convenience`` (utility). It closes if it does not reach its survival share.
    """

    type: Literal["local_platform"] = "local_platform"
    commission: float | None = Field(None, ge=0.0, le=0.6)
    convenience: float = Field(0.5, ge=-3.0, le=5.0, description="utility bonus")
    support_eur_per_household: float = Field(0.5, ge=0.0, le=50.0,
                                              description="EUR/month per household")
    payer: Payer = "authority"

    def effect(self, model, idx, before, now):  # noqa: D102
        pl = model.platforms
        if before == 0 and now > 0:
            pl.launch_local(model, idx)
            if self.commission is not None:
                # the commission of these territories' platforms only
                model.local_commission_override[idx] = self.commission
        if now == 0 and before > 0:
            # the end of the policy: public support stops and the cooperatives close
            pl.close_local(model, idx)
            if self.commission is not None:
                model.local_commission_override[idx] = np.nan
        pl.convenience_bonus[idx] += self.convenience * (now - before)
        model.local_platform_support[idx] = self.support_eur_per_household * now
        model.set_payer("local_platform", idx, self.payer)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        out = {"local_platform": "add", "local_platform_support": "set",
               "payer:local_platform": "set"}
        if self.commission is not None:
            out["local_commission"] = "set"
        return out

    def last_write(self, control: str, model: TerritoryModel) -> float:  # noqa: D102
        if control == "local_commission":  # written at its start and its end only
            return float(self.end_step if self.end_step is not None else self.start_step)
        return super().last_write(control, model)

    def describe(self) -> str:  # noqa: D102
        return f"Launch a local cooperative platform, supported by the {self.payer}"


class PlatformTax(Policy):
    """Tax on the global platform's turnover in the selected territories.

    ``rate`` of the local turnover is paid to their authorities (never more than the platform's
    commission there).
    """

    type: Literal["platform_tax"] = "platform_tax"
    rate: float = Field(..., ge=0.0, le=0.3, description="share of local turnover")

    def effect(self, model, idx, before, now):  # noqa: D102
        model.platform_tax_terr[idx] = model.platform_tax_terr[idx] + self.rate * (now - before)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"platform_tax": "add"}

    def describe(self) -> str:  # noqa: D102
        return f"Tax the global platform's local turnover at {self.rate:.1%}"


class NewDeal(Policy):
    """Attraction offers ("New Deal"): a job plus housing for newcomers.

    ``offers_per_year`` real households a year are offered a job plus housing support
    (``new_deal_subsidy`` a month for 12 months, paid by
    ``payer``) if they move in.
    """

    type: Literal["new_deal"] = "new_deal"
    offers_per_year: float = Field(..., gt=0.0, le=1e6, description="households per year")
    payer: Payer = "authority"

    def effect(self, model, idx, before, now):  # noqa: D102
        model.newdeal_rate[idx] = self.offers_per_year / 12.0 * now
        model.set_payer("new_deal", idx, self.payer)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"newdeal_rate": "set", "payer:new_deal": "set"}

    def describe(self) -> str:  # noqa: D102
        return (f"New-Deal offers (a job plus housing) to {self.offers_per_year:g} newcomer "
                f"households a year, paid by the {self.payer}")


class Equalisation(Policy):
    """State equalisation of local budgets: sets the ``equalisation`` share (map-wide)."""

    type: Literal["equalisation"] = "equalisation"
    level: float = Field(..., ge=0.0, le=1.0)

    def effect(self, model, idx, before, now):  # noqa: D102
        base = self.__dict__.setdefault("_base", model.p.equalisation)
        model.set_param("equalisation", base + (self.level - base) * now)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"param:equalisation": "set"}

    def describe(self) -> str:  # noqa: D102
        return f"State equalisation of local budgets at {self.level:.0%}"


class TeleworkNorm(Policy):
    """Telework norm: ``days`` a week for remote-able jobs with connectivity (map-wide)."""

    type: Literal["telework_norm"] = "telework_norm"
    days: float = Field(..., ge=0.0, le=5.0)

    def effect(self, model, idx, before, now):  # noqa: D102
        base = self.__dict__.setdefault("_base", model.p.telework_days)
        model.set_param("telework_days", base + (self.days - base) * now)

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        return {"param:telework_days": "set"}

    def describe(self) -> str:  # noqa: D102
        return f"Telework norm of {self.days:g} days a week"


def _quarter_end(label: str) -> float:
    """Calendar date (decimal year) of the end of quarter ``YYYYQn``: 2018Q4 -> 2019.0."""
    return int(label[:4]) + int(label[-1]) / 4.0


def _day_end(label: str) -> float:
    """Calendar date of the end of the month of ``YYYY-MM-DD``: 2020-03-31 -> 2020.25."""
    return int(label[:4]) + int(label[5:7]) / 12.0


class ObservedHistory(Policy):
    """Replays what was observed after the start (``france-departements`` only).

    Every month (at its start, calendar date ``start_year + (step - 1) / 12``):

    - ``ftth``: broadband coverage of each département is ARCEP's FttH coverage at the end of
      the last quarter observed by then (quarter by quarter, never interpolated; after the
      last quarter of the data it is left to the model). The works are not booked: the
      roll-out was paid by operators and public networks outside the model's accounts.
    - ``france_services``: the number of France services houses of each département is the
      count labelled at the end of the last quarter observed by then (2020-2022).
    - ``telework_path``: the national share of employed households teleworking follows the
      path (linear between its points, constant outside them): the month's
      ``telework_uptake`` is the target share over the share of employed households with a
      remote-able job and remote access (capped at 1, so a target above what the
      territories' jobs and connections allow is not reached).
    """

    type: Literal["observed_history"] = "observed_history"
    ftth: bool = True
    france_services: bool = True
    telework_path: list[list[float]] = Field(
        default_factory=list, description="[calendar year, share of employees] points")

    @field_validator("telework_path")
    @classmethod
    def _path(cls, v: list[list[float]]) -> list[list[float]]:
        if any(len(pt) != 2 for pt in v):
            raise ValueError("each telework_path point is [calendar year, share]")
        years = [y for y, _ in v]
        if years != sorted(years) or len(set(years)) != len(years):
            raise ValueError("telework_path years must be increasing")
        if any(not 0.0 <= sh <= 1.0 for _, sh in v):
            raise ValueError("telework_path shares must be between 0 and 1")
        return v

    def _series(self, model: TerritoryModel) -> dict:
        cached = self.__dict__.get("_data")
        if cached is not None and cached[0] is model.tmap:
            return cached[1]
        from simulation.world import dept_data

        if model.tmap.name != "france-departements":
            raise ValueError("observed_history replays data by département: it needs the "
                             f"france-departements map, not {model.tmap.name!r}")
        codes = list(model.tmap.codes)
        ftth = dept_data.ftth_quarterly().loc[codes]
        fs = dept_data.france_services_quarterly().loc[codes]
        data = {
            "ftth": ([_quarter_end(c) for c in ftth.columns], ftth.to_numpy().T / 100.0),
            "fs": ([_day_end(c) for c in fs.columns], fs.to_numpy().T),
        }
        self.__dict__["_data"] = (model.tmap, data)
        return data

    def apply(self, model: TerritoryModel) -> None:  # noqa: D102 (see the class)
        step = model.steps
        if self.progress(step) == 0.0:
            return
        date = model.start_year + (step - 1) / STEPS_PER_YEAR
        data = self._series(model)
        t = model.terr
        changed = []
        for key, on, arr in (("ftth", self.ftth, "broadband"),
                             ("fs", self.france_services, "france_services")):
            if not on:
                continue
            dates, values = data[key]
            i = int(np.searchsorted(dates, date + 1e-9, side="right")) - 1
            if i < 0 or self.__dict__.get(f"_last_{key}") == i:
                continue  # before the series or nothing new observed since last month
            self.__dict__[f"_last_{key}"] = i
            new = values[i].astype(float)
            if arr == "broadband":
                t.broadband[:] = new
                t.rollout_target[:] = np.maximum(t.rollout_target, new)
            else:
                t.france_services[:] = new
            changed.append(f"{arr} observed at {date:.2f}")
        if self.telework_path:
            h = model.hh
            emp = h.alive & (h.employer >= 0)
            able = float((emp & h.remote_capable & model.remote_ok).sum())
            ys, shares = zip(*self.telework_path, strict=True)
            target = float(np.interp(date, ys, shares))
            uptake = min(1.0, target * float(emp.sum()) / able) if able > 0 else 1.0
            if uptake != model.p.telework_uptake:
                model.set_param("telework_uptake", uptake, source="observed_history")
        if changed or self.telework_path:
            self._record(model, np.arange(model.tmap.n), step)
        for what in changed:
            model.log.append({"step": step, "what": self.type, "territories":
                              "all territories", "progress": 1.0, "label": what})

    def effect(self, model, idx, before, now):  # noqa: D102 (apply does the work)
        return None

    def controls(self) -> dict[str, str]:  # noqa: D102 (see Policy.controls)
        out = {}
        if self.ftth:
            out["broadband"] = "set"
        if self.france_services:
            out["france_services"] = "set"
        if self.telework_path:
            out["param:telework_uptake"] = "set"
        return out

    def last_write(self, control: str, model: TerritoryModel) -> float:
        """The step at which the last observation of ``control`` is replayed.

        Coverage and houses: the month that reaches the end of the data's last quarter;
        telework: every month to the end of the run. Never after its ``end``.
        """
        if control == "param:telework_uptake":
            last = math.inf
        else:
            dates = self._series(model)["ftth" if control == "broadband" else "fs"][0]
            months = (dates[-1] - model.start_year) * STEPS_PER_YEAR
            last = float(max(self.start_step, math.ceil(months - 1e-9) + 1))
        if self.end_step is not None:
            last = min(last, float(self.end_step - 1))
        return last

    def describe(self) -> str:  # noqa: D102
        parts = [name for name, on in (("FttH coverage", self.ftth),
                                       ("France services", self.france_services)) if on]
        if self.telework_path:
            parts.append("the national telework path")
        return "Observed history: " + ", ".join(parts)


POLICY_CLASSES: dict[str, type[Policy]] = {
    c.model_fields["type"].default: c for c in (
        BroadbandRollout, PublicCounters, FranceServices, TiersLieux, DigitalMediators,
        PlatformDependence, LocalPlatform, PlatformTax, NewDeal, Equalisation, TeleworkNorm,
        ObservedHistory)
}
POLICY_TYPES = tuple(POLICY_CLASSES)
MAP_WIDE = ("platform_dependence", "equalisation", "telework_norm", "observed_history")
# policy types that replay data rather than stand for a decision (no dashboard lever)
DATA_DRIVERS = ("observed_history",)

AnyPolicy = Annotated[
    BroadbandRollout | PublicCounters | FranceServices | TiersLieux | DigitalMediators
    | PlatformDependence | LocalPlatform | PlatformTax | NewDeal | Equalisation | TeleworkNorm
    | ObservedHistory,
    Field(discriminator="type"),
]
_ADAPTER = TypeAdapter(AnyPolicy)


def make_policy(spec: dict[str, Any] | Policy) -> Policy:
    """Build a policy from a dict (validated; pydantic ValidationError on bad input)."""
    if isinstance(spec, Policy):
        # rebuild from data: run-time state (progress, cached indices) is never shared
        return _ADAPTER.validate_python(spec.to_dict())
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f"a policy needs a 'type', one of: {', '.join(POLICY_TYPES)}")
    if not isinstance(spec["type"], str) or spec["type"] not in POLICY_CLASSES:
        raise ValueError(f"unknown policy type {spec['type']!r:.60}; allowed: "
                         f"{', '.join(POLICY_TYPES)}")
    return _ADAPTER.validate_python(_lists(spec))


def _lists(spec: dict[str, Any]) -> dict[str, Any]:
    """Tuples given by Python callers as lists (validation is strict: no other coercion)."""
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
    if isinstance(out.get("territories"), dict):
        out["territories"] = {k: list(v) if isinstance(v, tuple) else v
                              for k, v in out["territories"].items()}
    return out


def describe_types() -> list[tuple[str, str]]:
    """(type, first line of its docstring) for every policy type."""
    return [(k, (c.__doc__ or "").strip().split("\n")[0]) for k, c in POLICY_CLASSES.items()]
