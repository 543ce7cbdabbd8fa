"""The :class:`TerritoryMap` data structure: territories, their links and travel times.

A map holds a ``networkx`` graph (one node per territory, one edge per transport link with a travel
time in minutes) and numpy arrays indexed by position ``i`` in ``codes``. This module knows nothing
of where a map comes from: the builders are in :mod:`simulation.world.france`,
:mod:`simulation.world.synthetic` and :mod:`simulation.world.csvmap`, and
:func:`simulation.world.maps.load_map` picks one by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from simulation.errors import InputError, clip

KINDS: tuple[str, ...] = ("metropolis", "city", "town", "rural")


HOUSEHOLD_SIZE: float = 2.16


KIND_DENSITY_THRESHOLDS: tuple[float, float, float] = (500.0, 150.0, 60.0)


EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), km


EDGE_KINDS = ("land", "sea", "synthetic", "user")


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


def kind_from_density(density: np.ndarray | Sequence[float]) -> np.ndarray:
    """Kind index (into KINDS) from density in persons/km².

    Metropolis >= 500, city >= 150, town >= 60, rural below (:data:`KIND_DENSITY_THRESHOLDS`).
    """
    d = np.asarray(density, dtype=float)
    t_metro, t_city, t_town = KIND_DENSITY_THRESHOLDS
    return np.select([d >= t_metro, d >= t_city, d >= t_town], [0, 1, 2], 3).astype(int)


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
