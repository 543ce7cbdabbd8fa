"""Territories: a networked map of places, with the numbers the model reads.

A :class:`TerritoryMap` holds a ``networkx`` graph (one node per territory, one edge per transport
link with a travel time in minutes) and numpy arrays indexed by position ``i`` in ``codes``.
Maps come from three sources:

* built-in real maps of metropolitan France: ``"france-regions"`` (13 regions) and
  ``"france-departements"`` (96 départements), read from ``simulation/data/*.csv`` (INSEE
  population 2023, IGN-derived areas, GeoNames capital coordinates, land borders; see the CSVs'
  ``source`` column) with outlines from ``*_simplified.geojson`` (IGN Admin Express COG 2018 via
  france-geojson, Licence Ouverte);
* seeded synthetic generators: :func:`core_periphery` and :func:`random_geometric`;
* a user's CSV files (:func:`load_csv_map`).

Every value that is not observed is imputed by a fixed, documented rule. The rules are the same
for every map; they are listed here with their numbers and again in ``docs/MAPS.md``. Each map
records them in ``provenance`` (one note per column) and ``row_sources`` (one note per territory),
and :meth:`TerritoryMap.to_frame` shows a ``<column>_source`` column for each imputable column.

Rules (units in brackets):

* **Households** = population / :data:`HOUSEHOLD_SIZE` (2.16 persons per household, INSEE census
  RP2021, France excluding Mayotte; high confidence). Population municipale also counts the ~2 %
  living outside ordinary households, so households are overstated by about that much.
* **Kind** from density (persons/km²): metropolis >= 500, city >= 150, town >= 60, rural < 60.
  On the 96 départements this gives 8 metropolis, 20 city, 36 town, 32 rural (Paris and its inner
  and outer ring and Rhône are metropolis; Nord, 455/km², and Bouches-du-Rhône, 410/km², come out
  city). On the 13 regions the plain density rule makes Auvergne-Rhône-Alpes (Lyon) a "town" and
  Bourgogne-Franche-Comté "rural", so the regions map uses by default the **median-resident rule**:
  a region's kind is the density kind of the département in which its population-weighted median
  resident lives (1 metropolis, 4 city, 7 town, 1 rural); ``kind_rule="density"`` gives the plain
  rule (1, 2, 8, 2).
* **Travel time of an edge** (minutes): land edge = great-circle distance between the capitals
  (prefectures) x detour 1.3 / speed x 60, with speed 80 km/h, or 120 km/h when both ends are
  metropolis or city (motorway or high-speed rail between big centres). Sea edges (Corse has no
  land neighbour): regions 94-93, départements 2A-13, 2A-06, 2B-13, 2B-06, each a fixed 240 min
  (ferry or plane door to door; an assumption). All-pairs shortest paths (Dijkstra) give
  ``travel_min``; its diagonal is the mean trip inside a territory, 1.3 x (2/3) sqrt(area/pi) /
  speed_inside x 60, speed_inside 40 km/h in a metropolis and 60 km/h elsewhere (the mean distance
  from the centre of a disc of radius R to a point in it is 2R/3). See :class:`TravelRule`.
* **Broadband** (share of premises with FTTH access, 0..1): the zone figure by kind (ARCEP via
  DegroupTest, c. 2023: 0.92 very dense zones for a metropolis, 0.89 private AMII zones for a city,
  0.77 public RIP zones for a town or rural area). Départements of a region with a regional figure
  (IdF 94 %, Hauts-de-France 91 %, Grand Est 88 %, Bretagne 53 %, Auvergne-Rhône-Alpes 72 %, Corse
  69 %; ARCEP via Echos du Net, c. 2023) are rescaled multiplicatively so that their
  household-weighted mean equals it, clipped to [0.2, 0.99]. Regions: the regional figure where
  given (observed), else the household-weighted mean of their départements' values.
* **Median income** (EUR per year per consumption unit, Filosofi): the region's 2021 median where
  given; else its 2018 median x 1.0625 (the mean 2021/2018 ratio of the 5 regions with both); else
  the national 2018 median 21,650 x 1.0625 = 23,003. Départements inherit their region's value (the
  data hold no départemental figure). Synthetic and CSV maps default to 23,003.
* **Public counters** (expected counts, floats): national metropolitan totals tax offices 3,600
  (DGFiP contact points 2019), post offices 6,985 (Aug 2024), social-security / family-allowance
  counters 2,000 (an assumption: no figure was found), allocated as total x (0.5 x population
  share + 0.5 x area share of metropolitan France) — a territorial-mesh rule in the spirit of La
  Poste's legal proximity obligation. France Services: 2,750 metropolitan sites (assumption: 2,865
  labelled in late 2025 include overseas), 30 % by population share and 70 % by the territory's
  share of the area of metropolitan France's town and rural départements (~70 % of sites are in
  rural areas and small towns). Shares are always taken of the metropolitan totals (66,165,815
  persons, 549,163 km², town + rural area from the département map), so a synthetic or CSV map gets
  the counters that land of that size would have in France.
* **Tiers-lieux** (count): ~3,500 in France (2023, France Tiers-Lieux); the regional shares (IdF 16,
  ARA 13, Nouvelle-Aquitaine 13, Occitanie 11, HdF 8, Bretagne 8, PdL 6, PACA 6, Grand Est 5, CVL 4,
  BFC 4, Normandie 3, Corse 1, Réunion 1 %) sum to 99 %; Réunion is dropped, leaving 3,500 x 98/99
  = 3,465 in metropolitan France, shared by region percentage / 98, then within a region by
  population. Other maps: 3,465 x population share of metropolitan France.
* **Amenity** (index 0..1): metropolis 0.8, city 0.6, town 0.4, rural 0.3, plus 0.2 for the national
  capital (Paris, Île-de-France), capped at 1. An assumption of this model, not a measured index.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from simulation.errors import InputError, InputFileError, clip, clip_repr
from simulation.resources import data_dir
from simulation.safe_io import MAX_CSV_BYTES, path_state, read_text_file

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
    "core_periphery",
    "random_geometric",
    "load_csv_map",
    "kind_from_density",
]

# ---------------------------------------------------------------------------------------------
# Constants (units and sources in the comments; repeated in docs/MAPS.md)
# ---------------------------------------------------------------------------------------------

KINDS: tuple[str, ...] = ("metropolis", "city", "town", "rural")
"""Kinds of territory; ``TerritoryMap.kind`` holds an index into this tuple."""

HOUSEHOLD_SIZE: float = 2.16
"""Persons per household: INSEE census RP2021, France excluding Mayotte, 2.16 (2.23 in 2015);
INSEE "Taille des ménages", https://insee.fr/fr/statistiques/2381486. Confidence: high."""

KIND_DENSITY_THRESHOLDS: tuple[float, float, float] = (500.0, 150.0, 60.0)
"""Lower density bounds (persons/km²) of metropolis, city and town; below the last: rural."""

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), km

POPULATION_FRANCE = 66_165_815.0  # metropolitan population municipale 2023 (INSEE), persons
BROADBAND_BY_KIND = (0.92, 0.89, 0.77, 0.77)  # FTTH share by zone c. 2023 (DegroupTest/ARCEP)
BROADBAND_NATIONAL = 0.81  # FTTH share of premises, Q1 2023 (ARCEP via Next INpact); a check
BROADBAND_CLIP = (0.2, 0.99)  # bounds after the regional rescaling (assumption)
NATIONAL_MEDIAN_2018 = 21_650.0  # EUR/yr per consumption unit, Filosofi 2018 (INSEE)
AMENITY_BY_KIND = (0.8, 0.6, 0.4, 0.3)  # assumption of this model
CAPITAL_BONUS = 0.2  # added to the national capital's amenity (assumption), capped at 1
# amenity of every territory of the French maps: no data describes amenity by territory, so
# it is the same everywhere (a constant drops out of the location choice; the territory
# constants of the location choice, fitted in calibration, stand for unobserved amenity)
NEUTRAL_AMENITY = 0.5
_NEUTRAL_AMENITY_NOTE = ("imputed: neutral, 0.5 in every territory (no data on amenity; the "
                         "territory constants of the location choice stand for unobserved "
                         "amenity)")
COUNTER_TOTALS = {
    "counters_tax": 3_600.0,  # DGFiP contact points 2019 (Sénat), medium confidence
    "counters_social": 2_000.0,  # ASSUMPTION: no national count of CAF/CPAM counters was found
    "counters_post": 6_985.0,  # bureaux de plein exercice, Aug 2024 (SUD Poste AURA), medium
}
COUNTER_POPULATION_WEIGHT = 0.5  # the other half is allocated by area share
FRANCE_SERVICES_TOTAL = 2_750.0  # ASSUMPTION: metropolitan part of the 2,865 labelled (late 2025)
FRANCE_SERVICES_RURAL_SHARE = 0.7  # ~70 % in rural areas and small towns (ministry, 2025)
TIERS_LIEUX_FRANCE = 3_500.0  # France Tiers-Lieux, Panorama 2023
TIERS_LIEUX_REGION_PCT = {  # % of all tiers-lieux by region (2023); Réunion 1 % dropped
    "11": 16.0, "84": 13.0, "75": 13.0, "76": 11.0, "32": 8.0, "53": 8.0, "52": 6.0,
    "93": 6.0, "44": 5.0, "24": 4.0, "27": 4.0, "28": 3.0, "94": 1.0,
}  # fmt: skip
TIERS_LIEUX_LISTED_PCT = 99.0  # the published shares (with Réunion) sum to 99 %
TIERS_LIEUX_METRO = (
    TIERS_LIEUX_FRANCE * sum(TIERS_LIEUX_REGION_PCT.values()) / TIERS_LIEUX_LISTED_PCT
)  # = 3,464.6
SEA_LINKS = {
    "france-regions": (("94", "93"),),
    "france-departements": (("2A", "13"), ("2A", "06"), ("2B", "13"), ("2B", "06")),
}
CAPITAL_CODE = {"france-regions": "11", "france-departements": "75"}
ATTRIBUTION_FRANCE = "IGN / Admin Express COG 2018, via france-geojson (Licence Ouverte)"
DATA_DIR = data_dir()  # simulation/data, wherever the package lives (simulation.resources)
EDGE_KINDS = ("land", "sea", "synthetic", "user")

_BUILTIN = ("france-regions", "france-departements")
_ROW_SOURCE_COLUMNS = (
    "kind", "broadband", "median_income", "amenity", "counters_tax", "counters_social",
    "counters_post", "france_services", "tiers_lieux",
)  # fmt: skip


class MapError(InputError):
    """A map file or map definition is invalid.

    The message names the file, the line (1-based, the header is line 1), the column and what is
    allowed. The same pieces are available as attributes ``file``, ``line`` and ``column``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = clip(file, 200) if file is not None else None
        self.line = line
        self.column = column
        self.option: str | None = None  # the map option at fault (check_map_options)
        where = []
        if file is not None:
            where.append(self.file)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnknownTerritoryError(MapError, KeyError):
    """A territory code is not on the map (both a ``MapError`` and a ``KeyError``)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class TravelRule:
    """How travel times are derived from distances (all lengths km, speeds km/h, times min).

    Attributes:
        detour: road distance / great-circle distance (1.3, a common rule of thumb; assumption).
        speed_kmh: door-to-door speed on an ordinary link (80 km/h; assumption).
        fast_speed_kmh: speed when both ends are metropolis or city (120 km/h: motorway or
            high-speed rail between big centres; assumption).
        inside_speed_kmh: speed of trips inside a territory, by kind index (40 km/h in a
            metropolis, 60 elsewhere; assumption).
        sea_crossing_min: fixed time of a sea link (240 min, ferry or plane door to door to/from
            Corse; assumption).
    """

    detour: float = 1.3
    speed_kmh: float = 80.0
    fast_speed_kmh: float = 120.0
    inside_speed_kmh: tuple[float, float, float, float] = (40.0, 60.0, 60.0, 60.0)
    sea_crossing_min: float = 240.0

    def link_minutes(self, distance_km: float, kind_a: int, kind_b: int) -> float:
        """Travel time of a land link, minutes, from the great-circle distance in km."""
        fast = kind_a <= 1 and kind_b <= 1
        speed = self.fast_speed_kmh if fast else self.speed_kmh
        return float(distance_km) * self.detour / speed * 60.0

    def inside_minutes(self, area_km2: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Mean trip time inside territories, minutes: detour x (2/3) sqrt(area/pi) / speed."""
        speed = np.asarray(self.inside_speed_kmh, dtype=float)[np.asarray(kind, dtype=int)]
        radius = np.sqrt(np.asarray(area_km2, dtype=float) / math.pi)
        return self.detour * (2.0 / 3.0) * radius / speed * 60.0


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------


@dataclass
class TerritoryMap:
    """A networked map of territories; arrays are indexed by position in ``codes``.

    Attributes:
        name: map name, e.g. ``"france-departements"``.
        graph: ``networkx.Graph``; node = code (str) with every per-territory attribute below
            (``kind`` as a name, ``kind_index`` as an int); edge attributes ``travel_min``
            (minutes), ``distance_km`` (great-circle or planar km, NaN for sea links) and
            ``kind`` (``"land"``, ``"sea"``, ``"synthetic"`` or ``"user"``).
        codes: territory codes (str).
        names: territory names.
        region: region code of each territory (own code on the regions map, "" when none).
        kind: index into :data:`KINDS` (int array).
        population: persons.
        households: real households = population / :data:`HOUSEHOLD_SIZE`.
        area_km2: area, km².
        density: persons per km².
        lat: latitude of the capital, degrees (NaN on planar maps).
        lon: longitude of the capital, degrees (NaN on planar maps).
        x_km: planar x, km (equirectangular projection around the map centre for real maps).
        y_km: planar y, km.
        broadband: initial share of premises with very-high-speed (FTTH) access, 0..1.
        median_income: median living standard, EUR per year per consumption unit.
        amenity: amenity index, 0..1.
        counters_tax: tax offices (expected count).
        counters_social: social-security / family-allowance counters (expected count).
        counters_post: post offices (expected count).
        france_services: France Services houses (expected count).
        tiers_lieux: tiers-lieux (expected count).
        travel_min: K x K shortest travel times, minutes; diagonal = mean trip inside.
        geometry: code -> GeoJSON geometry (Polygon/MultiPolygon) for built-in maps, else None.
        attribution: attribution of the outlines or a description of the generator.
        provenance: column -> "observed: <source>", "derived: <formula>" or "imputed: <rule>".
        capital: True for the national capital (bool array; all False when unknown).
        row_sources: column -> one note per territory ("observed..." or "imputed: <rule>").
        source_text: per-territory ``source`` text of the shipped CSVs (built-in maps), else None.
        start_year: calendar year whose data the map holds (1 January; ``france-departements``),
            None when the map is not dated.
        unemployment: ILO unemployment rate at the start, share 0-1 (None: not observed).
        adults_by_age: persons aged 20-39, 40-59, 60-74 and 75+ (K x 4; None: not observed).
        income_deciles: D1, median and D9 of disposable income per consumption unit, EUR/yr
            (K x 3; None: not observed).
    """

    name: str
    graph: nx.Graph
    codes: list[str]
    names: list[str]
    region: list[str]
    kind: np.ndarray
    population: np.ndarray
    households: np.ndarray
    area_km2: np.ndarray
    density: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    broadband: np.ndarray
    median_income: np.ndarray
    amenity: np.ndarray
    counters_tax: np.ndarray
    counters_social: np.ndarray
    counters_post: np.ndarray
    france_services: np.ndarray
    tiers_lieux: np.ndarray
    travel_min: np.ndarray
    geometry: dict[str, dict] | None
    attribution: str
    provenance: dict[str, str]
    capital: np.ndarray | None = None
    row_sources: dict[str, list[str]] = field(default_factory=dict)
    source_text: list[str] | None = None
    start_year: int | None = None
    unemployment: np.ndarray | None = None
    adults_by_age: np.ndarray | None = None
    income_deciles: np.ndarray | None = None

    _ARRAYS = (
        "kind", "population", "households", "area_km2", "density", "lat", "lon", "x_km", "y_km",
        "broadband", "median_income", "amenity", "counters_tax", "counters_social",
        "counters_post", "france_services", "tiers_lieux",
    )  # fmt: skip

    def __post_init__(self) -> None:
        n = len(self.codes)
        if self.capital is None:
            self.capital = np.zeros(n, dtype=bool)
        for attr in ("names", "region"):
            if len(getattr(self, attr)) != n:
                raise MapError(f"{attr} has {len(getattr(self, attr))} entries, codes has {n}")
        for attr in (*self._ARRAYS, "capital"):
            if np.shape(getattr(self, attr)) != (n,):
                raise MapError(f"{attr} has shape {np.shape(getattr(self, attr))}, expected ({n},)")
        if np.shape(self.travel_min) != (n, n):
            raise MapError(f"travel_min has shape {np.shape(self.travel_min)}, expected ({n}, {n})")
        self._pos = {c: i for i, c in enumerate(self.codes)}

    @property
    def n(self) -> int:
        """Number of territories."""
        return len(self.codes)

    def index(self, code: str) -> int:
        """Position of a territory code.

        Raises:
            UnknownTerritoryError: (a ``KeyError`` and ``MapError``) listing the valid codes.
        """
        try:
            return self._pos[str(code)]
        except KeyError:
            raise UnknownTerritoryError(
                f"unknown territory code {code!r} on map '{self.name}'; "
                f"valid codes: {_short_list(self.codes)}"
            ) from None

    def select(
        self,
        codes: str | Iterable[str] | None = None,
        kinds: str | Iterable[str] | None = None,
        regions: str | Iterable[str] | None = None,
    ) -> np.ndarray:
        """Indices of the territories a selector picks, sorted.

        The keys combine as a user reads them: the filters (``kinds``, ``regions``) narrow the
        map together (a territory must match every filter given; the values listed in one
        filter are alternatives), and the ``codes`` listed explicitly are added to the
        filtered set. ``codes`` alone selects exactly those territories. So
        ``kinds="rural", regions="84"`` is the rural territories of region 84, and
        ``kinds="rural", regions="84", codes="69"`` is those plus territory 69.

        Args:
            codes: territory codes, added to the filtered set.
            kinds: kind names from :data:`KINDS` (any of them).
            regions: region codes as in ``region`` (any of them).

        Returns:
            Sorted int array of positions; all territories when every criterion is None
            (an empty list counts as None).

        Raises:
            ValueError: an unknown code, kind or region, with the list of allowed values.
        """
        code_list, kind_list, region_list = (_as_list(codes), _as_list(kinds),
                                             _as_list(regions))
        if not (code_list or kind_list or region_list):
            return np.arange(self.n)
        for k in kind_list:
            if k not in KINDS:
                raise ValueError(f"unknown kind {k!r}; allowed: {', '.join(KINDS)}")
        allowed_regions = sorted({r for r in self.region if r})
        for r in region_list:
            if r not in allowed_regions:
                raise ValueError(
                    f"unknown region {r!r} on map '{self.name}'; allowed: "
                    + (", ".join(allowed_regions) or "(this map has no regions)")
                )
        if kind_list or region_list:
            mask = np.ones(self.n, dtype=bool)  # filters: every one given must match
            if kind_list:
                mask &= np.isin(self.kind, [KINDS.index(k) for k in kind_list])
            if region_list:
                mask &= np.isin(np.asarray(self.region, dtype=object), region_list)
        else:
            mask = np.zeros(self.n, dtype=bool)  # codes alone: exactly those
        for code in code_list:
            if code not in self._pos:
                raise ValueError(
                    f"unknown territory code {code!r} on map '{self.name}'; "
                    f"allowed: {_short_list(self.codes)}"
                )
            mask[self._pos[code]] = True
        return np.flatnonzero(mask)

    def to_frame(self) -> pd.DataFrame:
        """One row per territory with every per-territory column and its provenance.

        Columns: code, name, region, kind, capital, the numeric arrays, ``inside_trip_min``
        (diagonal of ``travel_min``, minutes), ``degree`` (number of links), one
        ``<column>_source`` per imputable column ("observed..." or "imputed: <rule>"), and
        ``source`` (the shipped CSV's source text) on built-in maps. ``df.attrs["provenance"]``
        holds the column-level notes.
        """
        df = pd.DataFrame(
            {
                "code": self.codes,
                "name": self.names,
                "region": self.region,
                "kind": [KINDS[k] for k in self.kind],
                "capital": self.capital,
            }
        )
        for attr in self._ARRAYS[1:]:
            df[attr] = getattr(self, attr)
        df["inside_trip_min"] = np.diag(self.travel_min)
        df["degree"] = [self.graph.degree(c) for c in self.codes]
        for col, notes in self.row_sources.items():
            df[f"{col}_source"] = notes
        if self.source_text is not None:
            df["source"] = self.source_text
        df.attrs["provenance"] = dict(self.provenance)
        return df

    def __repr__(self) -> str:
        counts = ", ".join(f"{int(np.sum(self.kind == i))} {k}" for i, k in enumerate(KINDS))
        return (
            f"TerritoryMap(name={self.name!r}, n={self.n}, {counts}, "
            f"population={self.population.sum():,.0f}, edges={self.graph.number_of_edges()})"
        )


# ---------------------------------------------------------------------------------------------
# Public rules
# ---------------------------------------------------------------------------------------------


def kind_from_density(density: np.ndarray | Sequence[float]) -> np.ndarray:
    """Kind index (into KINDS) from density in persons/km².

    Metropolis >= 500, city >= 150, town >= 60, rural below (:data:`KIND_DENSITY_THRESHOLDS`).
    """
    d = np.asarray(density, dtype=float)
    t_metro, t_city, t_town = KIND_DENSITY_THRESHOLDS
    return np.select([d >= t_metro, d >= t_city, d >= t_town], [0, 1, 2], 3).astype(int)


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


# ---------------------------------------------------------------------------------------------
# Built-in French maps
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _read_builtin_csv(filename: str) -> pd.DataFrame:
    path = DATA_DIR / filename
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:  # pragma: no cover - shipped data
        raise MapError(f"cannot read built-in data: {exc}", file=path) from None


@functools.lru_cache(maxsize=4)
def _read_geometry(filename: str) -> dict[str, dict]:
    path = DATA_DIR / filename
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return {str(f["properties"]["code"]): f["geometry"] for f in data["features"]}


def _geometry_for(filename: str, codes: list[str]) -> dict[str, dict]:
    geo = _read_geometry(filename)
    missing = [c for c in codes if c not in geo]
    if missing:
        raise MapError(f"outlines missing for codes {missing}", file=DATA_DIR / filename)
    return {c: geo[c] for c in codes}


def _parse_source(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(" | "):
        key, _, value = part.partition(": ")
        out[key.strip()] = value.strip()
    return out


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.replace("", np.nan), errors="coerce").to_numpy(dtype=float)


@functools.lru_cache(maxsize=1)
def _region_table() -> dict[str, dict]:
    """Per-region observed figures and imputed median income (cached; read-only)."""
    reg = _read_builtin_csv("france_regions.csv")
    m21 = _num(reg["median_living_standard_2021_eur"])
    m18 = _num(reg["median_living_standard_2018_eur"])
    ftth = _num(reg["ftth_coverage_pct_circa_2023"]) / 100.0
    both = np.isfinite(m21) & np.isfinite(m18)
    ratio = float(np.mean(m21[both] / m18[both]))
    table = {}
    for i, code in enumerate(reg["code_insee"]):
        if np.isfinite(m21[i]):
            income, note = m21[i], "observed: Filosofi 2021 regional median (INSEE)"
        elif np.isfinite(m18[i]):
            income = m18[i] * ratio
            note = f"imputed: regional Filosofi 2018 median x {ratio:.4f} (mean 2021/2018 ratio)"
        else:
            income = NATIONAL_MEDIAN_2018 * ratio
            note = f"imputed: national 2018 median 21,650 x {ratio:.4f} (mean 2021/2018 ratio)"
        table[code] = {
            "income": float(income),
            "income_note": note,
            "ftth": float(ftth[i]) if np.isfinite(ftth[i]) else None,
        }
    table["_ratio"] = {"ratio": ratio}
    return table


def _income_ratio() -> float:
    return _region_table()["_ratio"]["ratio"]


def _national_income() -> float:
    return NATIONAL_MEDIAN_2018 * _income_ratio()


@functools.lru_cache(maxsize=1)
def _france_reference() -> dict[str, float]:
    """Metropolitan totals used to allocate national counts (from the département table)."""
    dep = _read_builtin_csv("france_departements.csv")
    pop = _num(dep["population_municipale_2023"])
    area = _num(dep["area_km2_computed"])
    kind = kind_from_density(pop / area)
    return {
        "population": float(pop.sum()),
        "area_km2": float(area.sum()),
        "town_rural_area_km2": float(area[kind >= 2].sum()),
    }


def _rescale_to_mean(values: np.ndarray, weights: np.ndarray, target: float) -> np.ndarray:
    """Multiply ``values`` so that their weighted mean is ``target``, clipping to BROADBAND_CLIP."""
    lo, hi = BROADBAND_CLIP
    v = values.astype(float).copy()
    for _ in range(100):
        m = float(np.average(v, weights=weights))
        if abs(m - target) < 1e-12 or m <= 0:
            break
        v = np.clip(v * target / m, lo, hi)
    return v


@dataclass
class _DepData:
    codes: list[str]
    names: list[str]
    region: list[str]
    population: np.ndarray
    area: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    kind: np.ndarray
    broadband: np.ndarray
    broadband_note: list[str]
    income: np.ndarray
    income_note: list[str]
    tiers_lieux: np.ndarray
    neighbours: list[list[tuple[str, float]]]
    source: list[str]
    start_year: int = 2023
    inputs: dict = field(default_factory=dict)


def _departement_data(start_year: int = 2023) -> _DepData:
    """The départements' observed data at 1 January ``start_year`` (see dept_data)."""
    from simulation.world import dept_data

    dep = _read_builtin_csv("france_departements.csv")
    codes = dep["code_insee"].tolist()
    region = dep["region_code"].tolist()
    inputs = dept_data.start_inputs(start_year, codes)
    pop = np.asarray(inputs["population"][0], dtype=float)
    area = _num(dep["area_km2_computed"])
    kind = kind_from_density(pop / area)
    reg_arr = np.asarray(region)

    broadband = np.asarray(inputs["broadband"][0], dtype=float)
    bb_note = [inputs["broadband"][1]] * len(codes)
    income = np.asarray(inputs["income_deciles"][0], dtype=float)[:, 1]
    income_note = ["observed: INSEE Filosofi 2019 median disposable income per consumption "
                   "unit of the département"] * len(codes)

    tl = np.zeros(len(codes))
    for rc, pct in TIERS_LIEUX_REGION_PCT.items():
        idx = np.flatnonzero(reg_arr == rc)
        tl[idx] = _tiers_lieux_region_total(pct) * pop[idx] / pop[idx].sum()

    neighbours = []
    for nb, km in zip(dep["neighbour_codes"], dep["border_km"], strict=True):
        codes_nb = [c for c in nb.split(";") if c]
        kms = [float(x) for x in km.split(";") if x] if km else [np.nan] * len(codes_nb)
        neighbours.append(list(zip(codes_nb, kms, strict=True)))

    return _DepData(
        codes=codes,
        names=dep["name"].tolist(),
        region=region,
        population=pop,
        area=area,
        lat=_num(dep["prefecture_lat"]),
        lon=_num(dep["prefecture_lon"]),
        kind=kind,
        broadband=broadband,
        broadband_note=bb_note,
        income=income,
        income_note=income_note,
        tiers_lieux=tl,
        neighbours=neighbours,
        source=dep["source"].tolist(),
        start_year=start_year,
        inputs=inputs,
    )


def _tiers_lieux_region_total(pct: float) -> float:
    return TIERS_LIEUX_FRANCE * pct / TIERS_LIEUX_LISTED_PCT


def _builtin_provenance(src: dict[str, str], level: str) -> dict[str, str]:
    coords = src.get("prefecture coords") or src.get("capital coords", "")
    nb = src.get("neighbours") or src.get("neighbours/border_km", "")
    area = src.get("area") or src.get("area_km2_computed", "")
    prov = {
        "population": "observed: " + src.get("population", ""),
        "area_km2": "observed: " + area,
        "lat": "observed: " + coords,
        "lon": "observed: " + coords,
        "land edges": "observed: " + nb,
        "geometry": "observed: " + ATTRIBUTION_FRANCE,
        "region": "observed: INSEE codes (COG)",
        "capital": "observed: Paris is the national capital",
        "sea edges": "imputed: Corse linked to the mainland by sea edges of a fixed time "
        "(TravelRule.sea_crossing_min, 240 min; assumption)",
    }
    if level == "regions":
        prov["aggregation"] = (
            "regions hold the household-weighted mean (broadband where not observed) or the sum "
            "(counters, France Services) of their départements"
        )
    return prov


def _build_departements(travel: TravelRule, start_year: int = 2023) -> TerritoryMap:
    d = _departement_data(start_year)
    n = len(d.codes)
    edges = []
    seen = set()
    for i, code in enumerate(d.codes):
        for other, km in d.neighbours[i]:
            key = tuple(sorted((code, other)))
            if key not in seen:
                seen.add(key)
                edges.append({"u": code, "v": other, "kind": "land", "border_km": km})
    for a, b in SEA_LINKS["france-departements"]:
        edges.append({"u": a, "v": b, "kind": "sea"})
    capital = np.array([c == CAPITAL_CODE["france-departements"] for c in d.codes])
    src = _parse_source(d.source[0])
    fs, fs_note = d.inputs["france_services"]
    values = {
        "broadband": (d.broadband, d.broadband_note),
        "median_income": (d.income, d.income_note),
        "france_services": (np.asarray(fs, dtype=float), [fs_note] * n),
        "amenity": (np.full(n, NEUTRAL_AMENITY), [_NEUTRAL_AMENITY_NOTE] * n),
        "tiers_lieux": (
            d.tiers_lieux,
            [
                "imputed: regional share of the 3,465 metropolitan tiers-lieux (France "
                "Tiers-Lieux 2023), split within the region by population"
            ]
            * n,
        ),
    }
    prov = _builtin_provenance(src, "departements")
    prov["population"] = d.inputs["population"][1]
    tmap = _assemble(
        name="france-departements",
        codes=d.codes,
        names=d.names,
        region=d.region,
        population=d.population,
        area_km2=d.area,
        lat=d.lat,
        lon=d.lon,
        x_km=None,
        y_km=None,
        edges=edges,
        travel=travel,
        kind=d.kind,
        kind_note=_DENSITY_NOTE,
        values=values,
        capital=capital,
        geometry=_geometry_for("france_departements_simplified.geojson", d.codes),
        attribution=ATTRIBUTION_FRANCE,
        base_provenance=prov,
        source_text=d.source,
    )
    tmap.start_year = d.start_year
    tmap.unemployment = np.asarray(d.inputs["unemployment"][0], dtype=float)
    tmap.adults_by_age = np.asarray(d.inputs["adults"][0], dtype=float)
    tmap.income_deciles = np.asarray(d.inputs["income_deciles"][0], dtype=float)
    for key in ("unemployment", "adults", "income_deciles"):
        tmap.provenance[key] = d.inputs[key][1]
    return tmap


def _build_regions(travel: TravelRule, kind_rule: str) -> TerritoryMap:
    if kind_rule not in ("median-resident", "density"):
        raise ValueError(f"unknown kind_rule {kind_rule!r}; allowed: 'median-resident', 'density'")
    reg = _read_builtin_csv("france_regions.csv")
    codes = reg["code_insee"].tolist()
    n = len(codes)
    pop = _num(reg["population_municipale_2023"])
    area = _num(reg["area_km2_computed"])
    d = _departement_data()
    dep_region = np.asarray(d.region)
    dep_hh = d.population / HOUSEHOLD_SIZE
    regions = _region_table()

    if kind_rule == "density":
        kind = kind_from_density(pop / area)
        kind_note = ["imputed: density rule on the region (persons/km²: 500/150/60)"] * n
    else:
        kind = np.zeros(n, dtype=int)
        for i, rc in enumerate(codes):
            idx = np.flatnonzero(dep_region == rc)
            order = idx[np.argsort(d.kind[idx], kind="stable")]
            cum = np.cumsum(d.population[order]) / d.population[order].sum()
            kind[i] = d.kind[order[np.searchsorted(cum, 0.5)]]
        kind_note = [
            "imputed: median-resident rule (density kind of the département where the region's "
            "population-weighted median resident lives)"
        ] * n

    broadband = np.zeros(n)
    bb_note = []
    tl = np.zeros(n)
    for i, rc in enumerate(codes):
        idx = np.flatnonzero(dep_region == rc)
        observed = regions[rc]["ftth"]
        if observed is not None:
            broadband[i] = observed
            bb_note.append("observed: ARCEP via Echos du Net (c. 2023)")
        else:
            broadband[i] = float(np.average(d.broadband[idx], weights=dep_hh[idx]))
            bb_note.append(
                "imputed: household-weighted mean of the départements' observed FttH "
                "coverage (ARCEP, end of 2022)"
            )
        tl[i] = _tiers_lieux_region_total(TIERS_LIEUX_REGION_PCT[rc])
    income = np.array([regions[c]["income"] for c in codes])
    income_note = [regions[c]["income_note"] for c in codes]

    # counters and France Services: sums of the départements (exactly the same totals)
    dep_pop_share = d.population / _france_reference()["population"]
    dep_area_share = d.area / _france_reference()["area_km2"]
    values = {
        "broadband": (broadband, bb_note),
        "median_income": (income, income_note),
        "amenity": (np.full(n, NEUTRAL_AMENITY), [_NEUTRAL_AMENITY_NOTE] * n),
        "tiers_lieux": (
            tl,
            ["imputed: regional share (France Tiers-Lieux 2023) of 3,500, Réunion's 1 % dropped"]
            * n,
        ),
    }
    for col, total in COUNTER_TOTALS.items():
        per_dep = total * (
            COUNTER_POPULATION_WEIGHT * dep_pop_share
            + (1 - COUNTER_POPULATION_WEIGHT) * dep_area_share
        )
        values[col] = (
            np.array([per_dep[dep_region == rc].sum() for rc in codes]),
            [_counter_note(col, total) + ", summed over the region's départements"] * n,
        )
    fs_dep = np.asarray(d.inputs["france_services"][0], dtype=float)
    values["france_services"] = (
        np.array([fs_dep[dep_region == rc].sum() for rc in codes]),
        [d.inputs["france_services"][1] + ", summed over the region's départements"] * n,
    )

    edges = []
    seen = set()
    for code, nb, km in zip(codes, reg["neighbour_codes"], reg["border_km"], strict=True):
        nbs = [c for c in nb.split(";") if c]
        kms = [float(x) for x in km.split(";") if x] if km else [np.nan] * len(nbs)
        for other, b in zip(nbs, kms, strict=True):
            key = tuple(sorted((code, other)))
            if key not in seen:
                seen.add(key)
                edges.append({"u": code, "v": other, "kind": "land", "border_km": b})
    for a, b in SEA_LINKS["france-regions"]:
        edges.append({"u": a, "v": b, "kind": "sea"})
    src = _parse_source(reg["source"].iloc[0])
    prov = _builtin_provenance(src, "regions")
    prov["median_income (2021, 2018)"] = (
        "observed: " + src.get("median 2021", "") + " ; " + src.get("median 2018", "")
    )
    prov["broadband (regional figures)"] = "observed: " + src.get("FTTH", "")
    return _assemble(
        name="france-regions",
        codes=codes,
        names=reg["name"].tolist(),
        region=list(codes),
        population=pop,
        area_km2=area,
        lat=_num(reg["capital_lat"]),
        lon=_num(reg["capital_lon"]),
        x_km=None,
        y_km=None,
        edges=edges,
        travel=travel,
        kind=kind,
        kind_note=kind_note,
        values=values,
        capital=np.array([c == CAPITAL_CODE["france-regions"] for c in codes]),
        geometry=_geometry_for("france_regions_simplified.geojson", codes),
        attribution=ATTRIBUTION_FRANCE,
        base_provenance=prov,
        source_text=reg["source"].tolist(),
    )


# ---------------------------------------------------------------------------------------------
# Generic assembly (all maps)
# ---------------------------------------------------------------------------------------------

_DENSITY_NOTE = (
    "imputed: density rule (persons/km²: metropolis >= 500, city >= 150, town >= 60, rural < 60)"
)
_FS_NOTE = (
    "imputed: 2,750 metropolitan France Services (assumption) x (0.3 x population share + 0.7 x "
    "share of metropolitan town/rural area if the territory is town or rural)"
)


def _counter_note(col: str, total: float) -> str:
    return (
        f"imputed: {total:,.0f} national {col.removeprefix('counters_')} counters x (0.5 x "
        "population share + 0.5 x area share of metropolitan France)"
    )


def _france_services(pop: np.ndarray, area: np.ndarray, kind: np.ndarray) -> np.ndarray:
    ref = _france_reference()
    rural_area = np.where(kind >= 2, area, 0.0)
    return FRANCE_SERVICES_TOTAL * (
        (1 - FRANCE_SERVICES_RURAL_SHARE) * pop / ref["population"]
        + FRANCE_SERVICES_RURAL_SHARE * rural_area / ref["town_rural_area_km2"]
    )


def _default_values(
    pop: np.ndarray, area: np.ndarray, kind: np.ndarray, capital: np.ndarray
) -> dict[str, tuple[np.ndarray, str]]:
    """Default rule for every imputable column: column -> (values, note)."""
    ref = _france_reference()
    out: dict[str, tuple[np.ndarray, str]] = {
        "broadband": (
            np.asarray(BROADBAND_BY_KIND)[kind],
            "imputed: zone figure by kind (0.92 metropolis, 0.89 city, 0.77 town/rural; "
            "ARCEP c. 2023)",
        ),
        "median_income": (
            np.full(len(pop), _national_income()),
            f"imputed: national 2018 median 21,650 x {_income_ratio():.4f} (mean 2021/2018 ratio)",
        ),
        "amenity": (
            np.minimum(1.0, np.asarray(AMENITY_BY_KIND)[kind] + CAPITAL_BONUS * capital),
            "imputed: by kind (0.8 metropolis, 0.6 city, 0.4 town, 0.3 rural) + 0.2 for the "
            "national capital, capped at 1",
        ),
        "france_services": (_france_services(pop, area, kind), _FS_NOTE),
        "tiers_lieux": (
            TIERS_LIEUX_METRO * pop / ref["population"],
            "imputed: 3,465 metropolitan tiers-lieux (France Tiers-Lieux 2023) x population share",
        ),
    }
    for col, total in COUNTER_TOTALS.items():
        out[col] = (
            total
            * (
                COUNTER_POPULATION_WEIGHT * pop / ref["population"]
                + (1 - COUNTER_POPULATION_WEIGHT) * area / ref["area_km2"]
            ),
            _counter_note(col, total),
        )
    return out


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _project(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular projection (km) around the mean of the coordinates."""
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    k = math.pi / 180.0 * EARTH_RADIUS_KM
    return (lon - lon0) * math.cos(math.radians(lat0)) * k, (lat - lat0) * k


def _assemble(
    *,
    name: str,
    codes: list[str],
    names: list[str],
    region: list[str],
    population: np.ndarray,
    area_km2: np.ndarray,
    lat: np.ndarray | None,
    lon: np.ndarray | None,
    x_km: np.ndarray | None,
    y_km: np.ndarray | None,
    edges: list[dict],
    travel: TravelRule,
    kind: np.ndarray | None = None,
    kind_note: str | list[str] | None = None,
    values: dict[str, tuple[np.ndarray, list[str]]] | None = None,
    capital: np.ndarray | None = None,
    geometry: dict[str, dict] | None = None,
    attribution: str = "",
    base_provenance: dict[str, str] | None = None,
    source_text: list[str] | None = None,
    edges_file: str | Path | None = None,
) -> TerritoryMap:
    """Fill every column by its rule (unless given in ``values``), build graph and travel times.

    ``values`` maps a column to (array, per-row notes); NaN entries of the array are filled by the
    default rule and get the default note. ``edges`` are dicts with ``u``, ``v``, ``kind`` and
    optionally ``travel_min`` (NaN or missing = computed by ``travel``), ``line`` and
    ``border_km``.
    """
    n = len(codes)
    population = np.asarray(population, dtype=float)
    area_km2 = np.asarray(area_km2, dtype=float)
    density = population / area_km2
    capital = np.zeros(n, dtype=bool) if capital is None else np.asarray(capital, dtype=bool)
    nan = np.full(n, np.nan)
    lat = nan.copy() if lat is None else np.asarray(lat, dtype=float)
    lon = nan.copy() if lon is None else np.asarray(lon, dtype=float)
    if x_km is None or y_km is None:
        x_km, y_km = _project(lat, lon)
    x_km = np.asarray(x_km, dtype=float)
    y_km = np.asarray(y_km, dtype=float)
    provenance = dict(base_provenance or {})
    row_sources: dict[str, list[str]] = {}

    density_note = _DENSITY_NOTE
    if kind is None:
        kind = np.full(n, -1)
    kind = np.asarray(kind, dtype=int).copy()
    if isinstance(kind_note, str) or kind_note is None:
        kind_notes = [kind_note or density_note] * n
    else:
        kind_notes = list(kind_note)
    missing = kind < 0
    if missing.any():
        kind[missing] = kind_from_density(density[missing])
        for i in np.flatnonzero(missing):
            kind_notes[i] = density_note
    row_sources["kind"] = kind_notes

    defaults = _default_values(population, area_km2, kind, capital)
    arrays: dict[str, np.ndarray] = {}
    for col in _ROW_SOURCE_COLUMNS[1:]:
        default_vals, default_note = defaults[col]
        if values and col in values:
            given, notes = values[col]
            given = np.asarray(given, dtype=float)
            notes = list(notes)
            fill = ~np.isfinite(given)
            arr = np.where(fill, default_vals, given)
            for i in np.flatnonzero(fill):
                notes[i] = default_note
        else:
            arr = np.asarray(default_vals, dtype=float)
            notes = [default_note] * n
        arrays[col] = arr
        row_sources[col] = notes
    for col, notes in row_sources.items():
        kinds_of_note = sorted({nt.split(":")[0] for nt in notes})
        if col not in provenance:
            uniq = list(dict.fromkeys(notes))
            provenance[col] = (
                uniq[0]
                if len(uniq) == 1
                else " / ".join(kinds_of_note)
                + (f": per territory, see to_frame()['{col}_source'] ({len(uniq)} distinct notes)")
            )
    provenance.setdefault("households", f"derived: population / {HOUSEHOLD_SIZE} (INSEE RP2021)")
    provenance.setdefault("density", "derived: population / area_km2")
    provenance.setdefault("x_km", "derived: equirectangular projection around the map centre")
    provenance.setdefault("y_km", provenance["x_km"])
    provenance.setdefault(
        "travel_min",
        f"derived: shortest paths; link = distance x {travel.detour} / ({travel.speed_kmh:g} "
        f"km/h, {travel.fast_speed_kmh:g} between two metropolis/city ends) ; diagonal = "
        f"{travel.detour} x (2/3) sqrt(area/pi) / ({travel.inside_speed_kmh[0]:g} km/h metropolis, "
        f"{travel.inside_speed_kmh[1]:g} others)",
    )

    # graph
    graph = nx.Graph(name=name)
    pos = {c: i for i, c in enumerate(codes)}
    for i, c in enumerate(codes):
        graph.add_node(
            c,
            index=i,
            name=names[i],
            region=region[i],
            kind=KINDS[kind[i]],
            kind_index=int(kind[i]),
            population=float(population[i]),
            households=float(population[i] / HOUSEHOLD_SIZE),
            area_km2=float(area_km2[i]),
            density=float(density[i]),
            lat=float(lat[i]),
            lon=float(lon[i]),
            x_km=float(x_km[i]),
            y_km=float(y_km[i]),
            capital=bool(capital[i]),
            **{col: float(arrays[col][i]) for col in arrays},
        )
    planar = not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon)))
    for e in edges:
        i, j = pos[e["u"]], pos[e["v"]]
        if planar:
            dist = float(math.hypot(x_km[i] - x_km[j], y_km[i] - y_km[j]))
        else:
            dist = _haversine_km(lat[i], lon[i], lat[j], lon[j])
        t = e.get("travel_min", np.nan)
        if t is None or not np.isfinite(t):
            if e["kind"] == "sea":
                t = travel.sea_crossing_min
                dist = float("nan")
            else:
                t = travel.link_minutes(dist, int(kind[i]), int(kind[j]))
        attrs = {"travel_min": float(t), "kind": e["kind"], "distance_km": dist}
        if "border_km" in e:
            attrs["border_km"] = float(e["border_km"])
        graph.add_edge(e["u"], e["v"], **attrs)

    if n > 1 and not nx.is_connected(graph):
        comps = sorted(nx.connected_components(graph), key=lambda s: (-len(s), min(s)))
        desc = "; ".join(
            f"component {k + 1} ({len(s)}): {_short_list(sorted(s, key=pos.get), 8)}"
            for k, s in enumerate(comps[:6])
        )
        more = f"; and {len(comps) - 6} more" if len(comps) > 6 else ""
        raise MapError(
            f"the map is not connected: {len(comps)} components: {desc}{more}; allowed: a "
            "connected map (add edges so that every territory can be reached)",
            file=edges_file,
        )

    # all-pairs shortest travel times
    rows, cols, data = [], [], []
    for u, v, t in graph.edges(data="travel_min"):
        rows.append(pos[u])
        cols.append(pos[v])
        data.append(t)
    mat = csr_matrix((data, (rows, cols)), shape=(n, n))
    travel_min = shortest_path(mat, method="D", directed=False)
    np.fill_diagonal(travel_min, travel.inside_minutes(area_km2, kind))

    return TerritoryMap(
        name=name,
        graph=graph,
        codes=list(codes),
        names=list(names),
        region=list(region),
        kind=kind,
        population=population.copy(),
        households=population / HOUSEHOLD_SIZE,
        area_km2=area_km2.copy(),
        density=density,
        lat=lat,
        lon=lon,
        x_km=x_km,
        y_km=y_km,
        broadband=arrays["broadband"],
        median_income=arrays["median_income"],
        amenity=arrays["amenity"],
        counters_tax=arrays["counters_tax"],
        counters_social=arrays["counters_social"],
        counters_post=arrays["counters_post"],
        france_services=arrays["france_services"],
        tiers_lieux=arrays["tiers_lieux"],
        travel_min=travel_min,
        geometry=dict(geometry) if geometry is not None else None,
        attribution=attribution,
        provenance=provenance,
        capital=capital,
        row_sources=row_sources,
        source_text=list(source_text) if source_text is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# Synthetic generators
# ---------------------------------------------------------------------------------------------


def _connect_nearest(xy: np.ndarray, edges: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Join components by their closest pair of nodes until the graph is connected."""
    n = len(xy)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    while not nx.is_connected(g):
        comps = [sorted(c) for c in nx.connected_components(g)]
        first = comps[0]
        rest = [i for c in comps[1:] for i in c]
        sub = dist[np.ix_(first, rest)]
        a, b = np.unravel_index(np.argmin(sub), sub.shape)
        e = (min(first[a], rest[b]), max(first[a], rest[b]))
        g.add_edge(*e)
        edges.add(e)
    return edges


def _knn_edges(xy: np.ndarray, k: int) -> set[tuple[int, int]]:
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(dist, np.inf)
    edges = set()
    for i in range(len(xy)):
        for j in np.argsort(dist[i], kind="stable")[: min(k, len(xy) - 1)]:
            edges.add((min(i, int(j)), max(i, int(j))))
    return edges


SYNTHETIC_DENSITY_BANDS = ((800.0, 3000.0), (170.0, 450.0), (65.0, 140.0), (15.0, 55.0))
"""Density ranges (persons/km²) drawn log-uniformly per kind by :func:`core_periphery`; they lie
inside the kind thresholds, so the density rule gives back the generator's kinds."""


def core_periphery(
    n_cities: int = 4,
    n_towns: int = 8,
    n_rural: int = 12,
    *,
    seed: int = 0,
    metropolis_population: float = 2_000_000.0,
    city_population: float = 250_000.0,
    town_population: float = 60_000.0,
    rural_population: float = 30_000.0,
    ring_km: tuple[float, float, float] = (60.0, 110.0, 170.0),
    k_neighbours: int = 3,
    travel: TravelRule | dict | None = None,
    name: str | None = None,
) -> TerritoryMap:
    """Seeded core-periphery map: one metropolis, cities, towns and rural areas.

    Layout: the metropolis at (0, 0) km; cities, towns and rural areas on rings of radius
    ``ring_km`` (km), evenly spaced in angle with a random phase per ring, angular jitter of
    +/- 25 % of the spacing and radial jitter of +/- 15 %. Populations (persons): the metropolis
    gets ``metropolis_population``; the others are lognormal around the given medians (sigma 0.35
    for cities and towns, 0.5 for rural areas). Densities (persons/km²) are drawn log-uniformly in
    :data:`SYNTHETIC_DENSITY_BANDS` and area = population / density. Links: each territory to its
    ``k_neighbours`` nearest ones (planar distance), then components joined by their closest pair
    (always connected). Travel times, broadband, counters and the rest follow the module's rules
    (income: the national value; no capital, so no capital bonus on amenity).

    Args:
        n_cities: number of cities (>= 0).
        n_towns: number of towns (>= 0).
        n_rural: number of rural areas (>= 0).
        seed: seed of ``numpy.random.default_rng``; the same seed gives an identical map.
        metropolis_population: persons in the metropolis.
        city_population: median persons per city.
        town_population: median persons per town.
        rural_population: median persons per rural area.
        ring_km: radii (km) of the city, town and rural rings.
        k_neighbours: links from each territory to its nearest neighbours.
        travel: a :class:`TravelRule` (or dict of its fields); default rule if None.
        name: map name (default ``"synthetic-core-periphery-seed<seed>"``).

    Returns:
        The map (``lat``/``lon`` NaN, ``geometry`` None, edges of kind ``"synthetic"``).
    """
    for label, val in (("n_cities", n_cities), ("n_towns", n_towns), ("n_rural", n_rural)):
        if int(val) != val or val < 0:
            raise ValueError(f"{label} must be a whole number >= 0, got {val!r}")
    if k_neighbours < 1:
        raise ValueError(f"k_neighbours must be >= 1, got {k_neighbours!r}")
    rng = np.random.default_rng(seed)
    counts = (1, int(n_cities), int(n_towns), int(n_rural))
    medians = (metropolis_population, city_population, town_population, rural_population)
    sigmas = (0.0, 0.35, 0.35, 0.5)
    radii = (0.0, *ring_km)
    prefixes = ("M", "C", "T", "R")
    codes, kind, pop, dens, xs, ys = [], [], [], [], [], []
    for k in range(4):
        m = counts[k]
        if m == 0:
            continue
        phase = rng.uniform(0, 2 * math.pi)
        spacing = 2 * math.pi / m
        ang = phase + spacing * np.arange(m) + rng.uniform(-0.25, 0.25, m) * spacing
        rad = radii[k] * rng.uniform(0.85, 1.15, m) if k else np.zeros(1)
        xs.extend(rad * np.cos(ang))
        ys.extend(rad * np.sin(ang))
        pop.extend(medians[k] * np.exp(sigmas[k] * rng.standard_normal(m)))
        lo, hi = SYNTHETIC_DENSITY_BANDS[k]
        dens.extend(np.exp(rng.uniform(math.log(lo), math.log(hi), m)))
        kind.extend([k] * m)
        codes.extend(f"{prefixes[k]}{i + 1:02d}" for i in range(m))
    xy = np.column_stack([xs, ys])
    pop_a = np.asarray(pop)
    edges = _connect_nearest(xy, _knn_edges(xy, k_neighbours)) if len(codes) > 1 else set()
    label = name or f"synthetic-core-periphery-seed{seed}"
    return _assemble(
        name=label,
        codes=codes,
        names=[f"{KINDS[k].capitalize()} {c[1:]}" for k, c in zip(kind, codes, strict=True)],
        region=[""] * len(codes),
        population=pop_a,
        area_km2=pop_a / np.asarray(dens),
        lat=None,
        lon=None,
        x_km=xy[:, 0],
        y_km=xy[:, 1],
        edges=[{"u": codes[a], "v": codes[b], "kind": "synthetic"} for a, b in sorted(edges)],
        travel=_travel_rule(travel),
        kind=np.asarray(kind),
        kind_note="imputed: drawn by the generator (density inside the kind's band)",
        attribution=f"synthetic map: Terrinum core_periphery(seed={seed})",
        base_provenance={
            "population": "imputed: generator, lognormal around the kind's median",
            "area_km2": "imputed: generator, population / log-uniform density in the kind's band",
        },
    )


def random_geometric(
    n: int = 30,
    radius: float = 0.3,
    *,
    seed: int = 0,
    side_km: float = 300.0,
    median_population: float = 50_000.0,
    population_sigma: float = 1.0,
    median_density: float = 80.0,
    density_sigma: float = 0.8,
    travel: TravelRule | dict | None = None,
    name: str | None = None,
) -> TerritoryMap:
    """Seeded random geometric map, made connected.

    Territories are placed uniformly in a square of ``side_km`` km; two are linked when closer
    than ``radius`` x ``side_km`` (``networkx.random_geometric_graph``), then components are
    joined by their closest pair. Population is lognormal (median ``median_population`` persons,
    sigma ``population_sigma``), density lognormal (median ``median_density`` persons/km², sigma
    ``density_sigma``), area = population / density, and kind follows the density rule.

    Args:
        n: number of territories (>= 1).
        radius: link radius as a fraction of the side (0..sqrt(2)).
        seed: seed; the same seed gives an identical map.
        side_km: side of the square, km.
        median_population: median population, persons.
        population_sigma: sigma of log population.
        median_density: median density, persons/km².
        density_sigma: sigma of log density.
        travel: a :class:`TravelRule` (or dict of its fields); default rule if None.
        name: map name (default ``"synthetic-random-geometric-seed<seed>"``).

    Returns:
        The map (planar coordinates, no geometry, edges of kind ``"synthetic"``).
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1, (int(n), 2))
    g = nx.random_geometric_graph(int(n), radius, pos={i: tuple(p) for i, p in enumerate(xy)})
    edges = {(min(a, b), max(a, b)) for a, b in g.edges()}
    edges = _connect_nearest(xy, edges)
    pop = median_population * np.exp(population_sigma * rng.standard_normal(int(n)))
    dens = median_density * np.exp(density_sigma * rng.standard_normal(int(n)))
    codes = [f"N{i + 1:02d}" for i in range(int(n))]
    return _assemble(
        name=name or f"synthetic-random-geometric-seed{seed}",
        codes=codes,
        names=[f"Territory {i + 1}" for i in range(int(n))],
        region=[""] * int(n),
        population=pop,
        area_km2=pop / dens,
        lat=None,
        lon=None,
        x_km=xy[:, 0] * side_km,
        y_km=xy[:, 1] * side_km,
        edges=[{"u": codes[a], "v": codes[b], "kind": "synthetic"} for a, b in sorted(edges)],
        travel=_travel_rule(travel),
        attribution=f"synthetic map: Terrinum random_geometric(seed={seed})",
        base_provenance={
            "population": "imputed: generator, lognormal",
            "area_km2": "imputed: generator, population / lognormal density",
        },
    )


# ---------------------------------------------------------------------------------------------
# User CSV maps
# ---------------------------------------------------------------------------------------------

MAX_MAP_TERRITORIES = 2_000
"""Most territories in a CSV map (the travel-time matrix holds their square)."""
MAX_TERRITORY_POPULATION = 2e9
"""Largest population of one territory in a CSV map (persons)."""

_NODE_REQUIRED = ("code", "name", "population", "area_km2")
_NODE_OPTIONAL_NUM = {
    # column: (lower bound, upper bound, lower inclusive, description of what is allowed)
    "broadband": (0.0, 1.0, True, "a share between 0 and 1"),
    "amenity": (0.0, 1.0, True, "an index between 0 and 1"),
    "median_income": (0.0, math.inf, False, "a number > 0 (EUR per year)"),
    "counters_tax": (0.0, math.inf, True, "a count >= 0"),
    "counters_social": (0.0, math.inf, True, "a count >= 0"),
    "counters_post": (0.0, math.inf, True, "a count >= 0"),
    "france_services": (0.0, math.inf, True, "a count >= 0"),
    "tiers_lieux": (0.0, math.inf, True, "a count >= 0"),
}
_NODE_COLUMNS = (
    *_NODE_REQUIRED, "lat", "lon", "x_km", "y_km", "kind", "region", "capital", "source", "notes",
    *_NODE_OPTIONAL_NUM,
)  # fmt: skip
_EDGE_COLUMNS = ("source", "target", "travel_min", "notes")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV into (header, [(line number, row dict)]), never raising a raw parser error."""
    try:
        text = read_text_file(path, "a map file (UTF-8 CSV)", MAX_CSV_BYTES)
    except InputFileError as exc:
        problem = "file not found" if exc.problem == "no such file" else exc.problem
        raise MapError(f"{problem}; allowed: {exc.allowed}", file=path) from None
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows = []
    try:
        for rec in reader:
            if not rec or all(not c.strip() for c in rec):
                continue
            if rec[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [h.strip() for h in rec]
                for k, h in enumerate(header):
                    if not h:
                        raise MapError(
                            f"header field {k + 1} is empty; every column needs a name",
                            file=path,
                            line=reader.line_num,
                        )
                    if header.count(h) > 1:
                        raise MapError(
                            "column appears twice in the header; names must be unique",
                            file=path,
                            line=reader.line_num,
                            column=h,
                        )
                continue
            if len(rec) != len(header):
                raise MapError(
                    f"{len(rec)} fields but the header has {len(header)} "
                    f"({', '.join(header)}); allowed: {len(header)} fields per line (quote "
                    "values that contain commas)",
                    file=path,
                    line=reader.line_num,
                )
            rows.append((reader.line_num, {h: v.strip() for h, v in zip(header, rec, strict=True)}))
    except csv.Error as exc:
        raise MapError(f"malformed CSV ({exc})", file=path, line=reader.line_num) from None
    if header is None:
        raise MapError("the file is empty; expected a header line", file=path, line=1)
    return header, rows


def _parse_number(
    value: str,
    *,
    path: Path,
    line: int,
    column: str,
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_inclusive: bool = True,
    allowed: str = "a number",
) -> float:
    try:
        x = float(value)
    except ValueError:
        hint = " (use '.' as the decimal separator)" if "," in value else ""
        raise MapError(
            f"{clip_repr(value)} is not a number{hint}; allowed: {allowed}",
            file=path,
            line=line,
            column=column,
        ) from None
    below = x < lo or (x == lo and not lo_inclusive)
    if not math.isfinite(x) or below or x > hi:
        raise MapError(
            f"{clip_repr(value)} is out of range; allowed: {allowed}",
            file=path,
            line=line,
            column=column,
        )
    return x


def edges_beside(nodes_csv: str | Path) -> Path | None:
    """The edges CSV that sits beside a nodes CSV, or None.

    Looked for in the nodes file's folder: the nodes file's name with its last ``nodes``
    replaced by ``edges`` (``valley_nodes.csv`` -> ``valley_edges.csv``), then ``edges.csv``.
    Only regular files count. Used by ``terrinum run --map NODES.csv`` (and ``compare``);
    :func:`load_csv_map` itself takes only the edges file it is given.
    """
    npath = Path(nodes_csv)
    stem = npath.stem
    names = []
    if "nodes" in stem:
        head, _, tail = stem.rpartition("nodes")
        names.append(f"{head}edges{tail}{npath.suffix}")
    names.append("edges.csv")
    for n in names:
        cand = npath.with_name(n)
        if cand != npath and path_state(cand) == "file":
            return cand
    return None


def load_csv_map(
    nodes_csv: str | Path, edges_csv: str | Path | None = None, *, name: str | None = None
) -> TerritoryMap:
    """Load a user map from a nodes CSV and an optional edges CSV.

    Nodes CSV (UTF-8, comma-separated, header on the first line; blank lines and lines starting
    with ``#`` are skipped):

    * required: ``code`` (unique), ``name``, ``population`` (persons, >= 0), ``area_km2`` (> 0),
      and either ``lat,lon`` (degrees) or ``x_km,y_km`` (planar km);
    * optional (an empty cell means "use the default rule"): ``kind`` (one of :data:`KINDS`,
      default from density), ``region``, ``capital`` (1/0, true/false; adds 0.2 amenity),
      ``broadband`` (0..1), ``amenity`` (0..1), ``median_income`` (EUR/yr, > 0),
      ``counters_tax``, ``counters_social``, ``counters_post``, ``france_services``,
      ``tiers_lieux`` (counts >= 0), and free-text ``source``, ``notes``.

    Edges CSV: ``source,target`` (codes) and optional ``travel_min`` (minutes, > 0; empty = the
    travel rule on the distance) and ``notes``. Without an edges file each territory is linked to
    its 3 nearest neighbours and components are joined by their closest pair (kind
    ``"synthetic"``). The map must be connected.

    Args:
        nodes_csv: path of the nodes CSV.
        edges_csv: path of the edges CSV, or None.
        name: map name (default: the nodes file stem).

    Returns:
        The map; values from the file are marked "observed: <file>", the others "imputed: <rule>".

    Raises:
        MapError: naming the file, line (header = line 1), column and what is allowed, for a
            missing column, empty or non-numeric value, value out of range, unknown kind,
            duplicate code, edge to an unknown code, self-loop, duplicate edge or a disconnected
            map (the components are listed).
    """
    npath = Path(nodes_csv)
    header, rows = _read_rows(npath)
    unknown = [h for h in header if h not in _NODE_COLUMNS]
    if unknown:
        raise MapError(
            f"unknown column; allowed columns: {', '.join(_NODE_COLUMNS)}",
            file=npath,
            line=1,
            column=unknown[0],
        )
    for col in _NODE_REQUIRED:
        if col not in header:
            raise MapError(
                f"required column is missing; required: {', '.join(_NODE_REQUIRED)} and "
                "either lat,lon or x_km,y_km",
                file=npath,
                line=1,
                column=col,
            )
    has_ll = "lat" in header or "lon" in header
    has_xy = "x_km" in header or "y_km" in header
    if not has_ll and not has_xy:
        raise MapError(
            "no coordinates; allowed: columns lat,lon (degrees) or x_km,y_km (km)",
            file=npath,
            line=1,
            column="lat",
        )
    for a, b in (("lat", "lon"), ("x_km", "y_km")):
        if (a in header) != (b in header):
            missing = b if a in header else a
            raise MapError(
                f"column '{a if a in header else b}' needs its pair '{missing}'; allowed: "
                "both lat,lon or both x_km,y_km",
                file=npath,
                line=1,
                column=missing,
            )
    coord_cols = ("lat", "lon") if has_ll else ("x_km", "y_km")
    if not rows:
        raise MapError(
            "no territories: the file has a header but no data rows; allowed: at least one "
            "territory per line after the header",
            file=npath,
            line=2,
        )
    if len(rows) > MAX_MAP_TERRITORIES:
        raise MapError(
            f"{len(rows):,} territories; allowed: at most {MAX_MAP_TERRITORIES:,} (the travel-time "
            "matrix grows with the square of the number)",
            file=npath,
        )

    n = len(rows)
    codes, names, region = [], [], []
    pop, area = np.zeros(n), np.zeros(n)
    coords = {c: np.full(n, np.nan) for c in ("lat", "lon", "x_km", "y_km")}
    kind = np.full(n, -1)
    capital = np.zeros(n, dtype=bool)
    optional = {c: np.full(n, np.nan) for c in _NODE_OPTIONAL_NUM if c in header}
    seen: dict[str, int] = {}
    for i, (line, row) in enumerate(rows):
        for col in (*_NODE_REQUIRED, *coord_cols):
            if row[col] == "":
                raise MapError(
                    "empty value; a value is required", file=npath, line=line, column=col
                )
        code = row["code"]
        if code in seen:
            raise MapError(
                f"duplicate code {clip_repr(code)} (first on line {seen[code]}); codes must be "
                "unique",
                file=npath,
                line=line,
                column="code",
            )
        seen[code] = line
        codes.append(code)
        names.append(row["name"])
        region.append(row.get("region", ""))
        pop[i] = _parse_number(
            row["population"],
            path=npath,
            line=line,
            column="population",
            lo=0.0,
            hi=MAX_TERRITORY_POPULATION,
            allowed=f"a number >= 0 and <= {MAX_TERRITORY_POPULATION:,.0f} (persons)",
        )
        area[i] = _parse_number(
            row["area_km2"],
            path=npath,
            line=line,
            column="area_km2",
            lo=0.0,
            lo_inclusive=False,
            allowed="a number > 0 (km²)",
        )
        if has_ll:
            coords["lat"][i] = _parse_number(
                row["lat"],
                path=npath,
                line=line,
                column="lat",
                lo=-90,
                hi=90,
                allowed="degrees in [-90, 90]",
            )
            coords["lon"][i] = _parse_number(
                row["lon"],
                path=npath,
                line=line,
                column="lon",
                lo=-180,
                hi=180,
                allowed="degrees in [-180, 180]",
            )
        for c in ("x_km", "y_km"):
            if c in header and row[c] != "":
                coords[c][i] = _parse_number(
                    row[c], path=npath, line=line, column=c, allowed="a number (km)"
                )
            elif c in header and not has_ll:
                raise MapError("empty value; a value is required", file=npath, line=line, column=c)
        if row.get("kind", ""):
            k = row["kind"].strip().lower()
            if k not in KINDS:
                raise MapError(
                    f"unknown kind {clip_repr(row['kind'])}; allowed: {', '.join(KINDS)} "
                    "(or empty for the density rule)",
                    file=npath,
                    line=line,
                    column="kind",
                )
            kind[i] = KINDS.index(k)
        cap = row.get("capital", "").strip().lower()
        if cap not in _TRUE | _FALSE:
            raise MapError(
                f"{clip_repr(row['capital'])} is not a yes/no value; allowed: 1/0, true/false, "
                "yes/no, or empty",
                file=npath,
                line=line,
                column="capital",
            )
        capital[i] = cap in _TRUE
        for col, (lo, hi, inc, allowed) in _NODE_OPTIONAL_NUM.items():
            if col in optional and row[col] != "":
                optional[col][i] = _parse_number(
                    row[col],
                    path=npath,
                    line=line,
                    column=col,
                    lo=lo,
                    hi=hi,
                    lo_inclusive=inc,
                    allowed=allowed,
                )
    if not pop.sum() > 0:
        raise MapError(
            "every territory has population 0; allowed: at least one territory with a "
            "population > 0 (persons)",
            file=npath,
            column="population",
        )

    pos = {c: i for i, c in enumerate(codes)}
    edges: list[dict] = []
    if edges_csv is not None:
        epath = Path(edges_csv)
        eheader, erows = _read_rows(epath)
        bad = [h for h in eheader if h not in _EDGE_COLUMNS]
        if bad:
            raise MapError(
                f"unknown column; allowed columns: {', '.join(_EDGE_COLUMNS)}",
                file=epath,
                line=1,
                column=bad[0],
            )
        for col in ("source", "target"):
            if col not in eheader:
                raise MapError(
                    "required column is missing; required: source, target (optional: travel_min)",
                    file=epath,
                    line=1,
                    column=col,
                )
        seen_e: dict[tuple[str, str], int] = {}
        for line, row in erows:
            for col in ("source", "target"):
                if row[col] == "":
                    raise MapError(
                        "empty value; a territory code is required",
                        file=epath,
                        line=line,
                        column=col,
                    )
                if row[col] not in pos:
                    raise MapError(
                        f"unknown territory code {clip_repr(row[col])}; allowed: codes of "
                        f"{npath.name}: {_short_list(codes)}",
                        file=epath,
                        line=line,
                        column=col,
                    )
            u, v = row["source"], row["target"]
            if u == v:
                raise MapError(
                    f"self-loop {clip_repr(u)} -> {clip_repr(v)}; an edge must join two "
                    "different territories",
                    file=epath,
                    line=line,
                    column="target",
                )
            key = (min(u, v), max(u, v))
            if key in seen_e:
                raise MapError(
                    f"duplicate edge {u}-{v} (first on line {seen_e[key]}); list each link once",
                    file=epath,
                    line=line,
                    column="target",
                )
            seen_e[key] = line
            t = np.nan
            if row.get("travel_min", ""):
                t = _parse_number(
                    row["travel_min"],
                    path=epath,
                    line=line,
                    column="travel_min",
                    lo=0.0,
                    lo_inclusive=False,
                    allowed="minutes > 0, or empty for the travel rule",
                )
            edges.append({"u": u, "v": v, "kind": "user", "travel_min": t, "line": line})
        edges_label: Path | None = epath
    else:
        xy = (
            np.column_stack(_project(coords["lat"], coords["lon"]))
            if has_ll
            else np.column_stack([coords["x_km"], coords["y_km"]])
        )
        pairs = _connect_nearest(xy, _knn_edges(xy, 3)) if n > 1 else set()
        edges = [{"u": codes[a], "v": codes[b], "kind": "synthetic"} for a, b in sorted(pairs)]
        edges_label = npath

    obs = f"observed: {npath.name}"
    values = {}
    for col, arr in optional.items():
        values[col] = (arr, [obs] * n)
    use_xy = "x_km" in header and np.all(np.isfinite(coords["x_km"]))
    kind_notes = [obs if k >= 0 else "" for k in kind]
    prov = {
        "population": obs,
        "area_km2": obs,
        "lat": obs if has_ll else "none (planar map)",
        "lon": obs if has_ll else "none (planar map)",
        "region": obs if "region" in header else "none",
        "edges": f"observed: {Path(edges_csv).name}"
        if edges_csv is not None
        else "imputed: 3 nearest neighbours, components joined by their closest pair",
    }
    if use_xy:
        prov["x_km"] = prov["y_km"] = obs
    return _assemble(
        name=name or npath.stem,
        codes=codes,
        names=names,
        region=region,
        population=pop,
        area_km2=area,
        lat=coords["lat"] if has_ll else None,
        lon=coords["lon"] if has_ll else None,
        x_km=coords["x_km"] if use_xy else None,
        y_km=coords["y_km"] if use_xy else None,
        edges=edges,
        travel=TravelRule(),
        kind=kind,
        kind_note=kind_notes,
        values=values,
        capital=capital,
        attribution=f"user map: {npath.name}",
        base_provenance=prov,
        edges_file=edges_label,
    )


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _as_list(x: str | Iterable[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return [str(v) for v in x]


def _short_list(items: Sequence[str], limit: int = 20) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _check_options(name: str, options: dict, allowed: set[str]) -> None:
    bad = sorted(set(options) - allowed)
    if bad:
        raise ValueError(
            f"unknown option(s) {', '.join(bad)} for map {name!r}; allowed: "
            f"{', '.join(sorted(allowed)) or '(none)'}"
        )


def _travel_rule(travel: TravelRule | dict | None) -> TravelRule:
    if travel is None:
        return TravelRule()
    if isinstance(travel, TravelRule):
        return travel
    if isinstance(travel, dict):
        try:
            return TravelRule(**travel)
        except TypeError:
            allowed = ", ".join(TravelRule.__dataclass_fields__)
            raise ValueError(
                f"unknown travel option in {sorted(travel)}; allowed: {allowed}"
            ) from None
    raise ValueError(f"travel must be a TravelRule or a dict, got {type(travel).__name__}")
