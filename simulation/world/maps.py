"""Loading a map by name: the registry of maps and their options (:data:`MAP_OPTIONS`).

:func:`load_map` turns a name (``"france-departements"``, ``"synthetic"``, a CSV path...) and
options into a :class:`~simulation.world.territory_map.TerritoryMap`, checking the options against
their declared types and ranges first. The maps themselves are built in
:mod:`simulation.world.france`, :mod:`simulation.world.synthetic` and
:mod:`simulation.world.csvmap`; :mod:`simulation.world.imputation` holds the rules that fill what
is not observed. The names most code needs are re-exported here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulation.errors import clip_repr
from simulation.safe_io import path_state
from simulation.world.csvmap import edges_beside, load_csv_map
from simulation.world.france import _build_departements, _build_regions
from simulation.world.synthetic import core_periphery, random_geometric
from simulation.world.territory_map import (
    HOUSEHOLD_SIZE,
    KIND_DENSITY_THRESHOLDS,
    KINDS,
    MapError,
    TerritoryMap,
    TravelRule,
    UnknownTerritoryError,
    _travel_rule,
    kind_from_density,
)

__all__ = [
    "KINDS",
    "HOUSEHOLD_SIZE",
    "KIND_DENSITY_THRESHOLDS",
    "MapError",
    "MapOption",
    "MAP_OPTIONS",
    "check_map_options",
    "UnknownTerritoryError",
    "TravelRule",
    "TerritoryMap",
    "available_maps",
    "load_map",
    "edges_beside",
    "core_periphery",
    "random_geometric",
    "load_csv_map",
    "kind_from_density",
]


"""Kinds of territory; ``TerritoryMap.kind`` holds an index into this tuple."""


"""Persons per household: INSEE census RP2021, France excluding Mayotte, 2.16 (2.23 in 2015);
INSEE "Taille des ménages", https://insee.fr/fr/statistiques/2381486. Confidence: high."""


"""Lower density bounds (persons/km²) of metropolis, city and town; below the last: rural."""


_BUILTIN = ("france-regions", "france-departements")


def available_maps() -> list[str]:
    """Names accepted by :func:`load_map` besides a CSV path (and ``"random-geometric"``)."""
    return ["france-regions", "france-departements", "synthetic"]


@dataclass(frozen=True)
class MapOption:
    """A declared option of a map generator (``run.map_options`` in a scenario file).

    Attributes:
        name: option name (keyword of the generator).
        kind: ``"int"``, ``"float"`` or ``"str"`` (``"path"`` for a file, ``"choice"``).
        lo: smallest value (numbers) or length (strings).
        hi: largest value (numbers) or length (strings).
        doc: meaning and unit.
        choices: allowed values of a ``"choice"``.
    """

    name: str
    kind: str
    lo: float
    hi: float
    doc: str
    choices: tuple[str, ...] = ()

    def allowed(self) -> str:
        """What the option accepts, in words."""
        if self.kind == "int":
            return f"a whole number in [{self.lo:g}, {self.hi:g}] ({self.doc})"
        if self.kind == "float":
            return f"a number in [{self.lo:g}, {self.hi:g}] ({self.doc})"
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)} ({self.doc})"
        if self.kind == "path":
            return f"the path of a CSV file ({self.doc})"
        return f"a string of {self.lo:g} to {self.hi:g} characters ({self.doc})"

    def check(self, value: Any) -> Any:
        """``value`` if allowed (ints accepted for floats), else a :class:`MapError`."""
        bad = None
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(
                    value, int | float | np.integer | np.floating):
                bad = f"wrong type {type(value).__name__} {clip_repr(value)}"
            elif isinstance(value, float | np.floating) and not math.isfinite(value):
                bad = f"{value!r} is not a finite number"
            elif self.kind == "int" and not float(value).is_integer():
                bad = f"{value!r} is not a whole number"
            elif not (self.lo <= value <= self.hi):
                bad = f"{clip_repr(value)} is out of range"
        elif self.kind == "path" and isinstance(value, Path):
            pass
        elif not isinstance(value, str):
            bad = f"wrong type {type(value).__name__} {clip_repr(value)}"
        elif self.kind == "choice":
            if value not in self.choices:
                bad = f"{clip_repr(value)} is not a choice"
        elif self.kind == "str" and not (self.lo <= len(value) <= self.hi):
            bad = f"a string of {len(value):,} characters"
        if bad is not None:
            err = MapError(f"map option '{self.name}': {bad}; allowed: {self.allowed()}")
            err.option = self.name
            raise err
        return int(value) if self.kind == "int" else float(value) if self.kind == "float" \
            else value


_NAME_OPTION = MapOption("name", "str", 1, 100, "the map's name")


MAP_OPTIONS: dict[str, dict[str, MapOption]] = {
    "synthetic": {o.name: o for o in (
        MapOption("n_cities", "int", 0, 100, "number of cities"),
        MapOption("n_towns", "int", 0, 200, "number of towns"),
        MapOption("n_rural", "int", 0, 400, "number of rural areas"),
        MapOption("metropolis_population", "float", 1_000, 20_000_000,
                  "persons in the metropolis"),
        MapOption("city_population", "float", 100, 10_000_000, "median persons per city"),
        MapOption("town_population", "float", 100, 10_000_000, "median persons per town"),
        MapOption("rural_population", "float", 10, 10_000_000,
                  "median persons per rural area"),
        MapOption("k_neighbours", "int", 1, 20, "links from each territory to its nearest"),
        _NAME_OPTION)},
    "random-geometric": {o.name: o for o in (
        MapOption("n", "int", 1, 300, "number of territories"),
        MapOption("radius", "float", 0.0, 1.5, "link radius, share of the side"),
        MapOption("side_km", "float", 1.0, 5_000.0, "side of the square, km"),
        MapOption("median_population", "float", 10, 10_000_000, "median persons"),
        MapOption("population_sigma", "float", 0.0, 3.0, "sigma of log population"),
        MapOption("median_density", "float", 0.1, 100_000, "median persons/km²"),
        MapOption("density_sigma", "float", 0.0, 3.0, "sigma of log density"),
        _NAME_OPTION)},
    "france-departements": {"start_year": MapOption(
        "start_year", "int", 2019, 2023,
        "calendar year whose data the map holds, 1 January: 2019 or 2023")},
    "france-regions": {"kind_rule": MapOption(
        "kind_rule", "choice", 0, 0, "how a region's kind is set",
        ("median-resident", "density"))},
    "csv": {o.name: o for o in (
        MapOption("edges", "path", 0, 0, "edges file: source,target[,travel_min,notes]"),
        MapOption("map_name", "str", 1, 100, "the map's name"))},
}


"""Options each map accepts with their ranges (``"csv"``: a nodes-CSV map). Python callers
may also pass ``travel`` (every map) and ``ring_km`` (``synthetic``)."""


_API_OPTIONS = {"synthetic": ("travel", "ring_km"), "random-geometric": ("travel",),
                "france-departements": ("travel",), "france-regions": ("travel",),
                "csv": ()}


def map_family(name: str) -> str:
    """The key of :data:`MAP_OPTIONS` for a map name (``"csv"`` for anything else)."""
    return name if name in MAP_OPTIONS else "csv"


def check_map_options(name: str, options: Mapping[str, Any], *, api: bool = False
                      ) -> dict[str, Any]:
    """Check map options against their declared types and ranges (before building anything).

    Args:
        name: the map name or nodes-CSV path.
        options: the options.
        api: also accept the Python-only options (``travel``, ``ring_km``).

    Returns:
        The options, numbers converted to their declared type.

    Raises:
        MapError: an unknown option or a bad value; ``exc.option`` names the option.
    """
    family = map_family(name)
    declared = MAP_OPTIONS[family]
    extra = _API_OPTIONS[family] if api else ()
    out: dict[str, Any] = {}
    for k, v in options.items():
        if k in extra:
            out[k] = v
            continue
        if k not in declared:
            allowed = ", ".join([*declared, *extra]) or "(none)"
            close = difflib.get_close_matches(str(k), list(declared), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            what = "a CSV map" if family == "csv" else f"map {name!r}"
            err = MapError(f"unknown option {clip_repr(k)}{hint} for {what}; allowed: "
                           f"{allowed}")
            err.option = str(k)
            raise err
        out[k] = declared[k].check(v)
    return out


def load_map(name: str = "france-departements", *, seed: int = 0, **options) -> TerritoryMap:
    """Load a map by name.

    Args:
        name: ``"france-regions"``, ``"france-departements"``, ``"synthetic"`` (options go to
            :func:`core_periphery`), ``"random-geometric"`` (options go to
            :func:`random_geometric`), or a path to a nodes CSV (options: ``edges`` = path of the
            edges CSV, ``map_name``).
        seed: seed of the synthetic generators (ignored by real maps).
        **options: for built-in maps ``travel`` (a :class:`TravelRule` or dict of its fields);
            for ``france-regions``, ``kind_rule`` (``"median-resident"`` default or
            ``"density"``); for ``france-departements``, ``start_year`` (2019 or 2023, default
            the latest: the data of 1 January of that year, see ``docs/MAPS.md``).

    Returns:
        A fresh :class:`TerritoryMap` (arrays may be modified by the caller).

    Raises:
        ValueError: unknown name or option, with what is allowed.
        MapError: invalid CSV map.
    """
    if not isinstance(name, str | Path):
        raise MapError(f"a map is named by a string, got {type(name).__name__}; allowed: "
                       f"{', '.join(available_maps())}, 'random-geometric' or a nodes CSV path")
    name = str(name)
    if name in _BUILTIN or name in ("synthetic", "random-geometric"):
        options = check_map_options(name, options, api=True)
    if name in _BUILTIN:
        allowed = {"travel"} | ({"kind_rule"} if name == "france-regions" else {"start_year"})
        _check_options(name, options, allowed)
        travel = _travel_rule(options.get("travel"))
        if name == "france-departements":
            from simulation.world import dept_data

            year = options.get("start_year")
            year = dept_data.LATEST_START_YEAR if year is None else year
            return _build_departements(travel, dept_data.check_start_year(year))
        return _build_regions(travel, options.get("kind_rule", "median-resident"))
    if name == "synthetic":
        return core_periphery(seed=seed, **options)
    if name == "random-geometric":
        return random_geometric(seed=seed, **options)
    path = Path(name)
    state = path_state(name)
    if path.suffix.lower() == ".csv" or state != "missing":
        options = check_map_options(name, options, api=True)
        return load_csv_map(path, options.get("edges"), name=options.get("map_name"))
    raise MapError(
        f"unknown map {clip_repr(name)}; allowed: {', '.join(available_maps())}, "
        "'random-geometric', or the path of a nodes CSV file (with edges='edges.csv')"
    )


"""Density ranges (persons/km²) drawn log-uniformly per kind by :func:`core_periphery`; they lie
inside the kind thresholds, so the density rule gives back the generator's kinds."""


"""Most territories in a CSV map (the travel-time matrix holds their square)."""


"""Largest population of one territory in a CSV map (persons)."""


def _check_options(name: str, options: dict, allowed: set[str]) -> None:
    bad = sorted(set(options) - allowed)
    if bad:
        raise ValueError(
            f"unknown option(s) {', '.join(bad)} for map {name!r}; allowed: "
            f"{', '.join(sorted(allowed)) or '(none)'}"
        )
