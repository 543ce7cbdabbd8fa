"""The rules that fill what a map does not observe, and the assembly of a map from its columns.

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

import math
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from simulation.world.reference import _france_reference, _income_ratio, _national_income
from simulation.world.territory_map import (
    _ROW_SOURCE_COLUMNS,
    HOUSEHOLD_SIZE,
    KINDS,
    MapError,
    TerritoryMap,
    TravelRule,
    _haversine_km,
    _project,
    _short_list,
    kind_from_density,
)

POPULATION_FRANCE = 66_165_815.0  # metropolitan population municipale 2023 (INSEE), persons


BROADBAND_BY_KIND = (0.92, 0.89, 0.77, 0.77)  # FTTH share by zone c. 2023 (DegroupTest/ARCEP)


BROADBAND_NATIONAL = 0.81  # FTTH share of premises, Q1 2023 (ARCEP via Next INpact); a check


BROADBAND_CLIP = (0.2, 0.99)  # bounds after the regional rescaling (assumption)


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


def _tiers_lieux_region_total(pct: float) -> float:
    return TIERS_LIEUX_FRANCE * pct / TIERS_LIEUX_LISTED_PCT


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
