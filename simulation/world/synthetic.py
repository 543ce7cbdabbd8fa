"""Seeded synthetic maps: :func:`core_periphery` and :func:`random_geometric`.

:func:`core_periphery` places rings of territories around a metropolis; :func:`random_geometric`
scatters territories on a square and links each to its nearest neighbours.

One seed fixes a map. Values that a real map would observe are drawn in documented bands or filled
by the rules of :mod:`simulation.world.imputation`.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from simulation.world.imputation import _assemble
from simulation.world.territory_map import (
    KINDS,
    TerritoryMap,
    TravelRule,
    _connect_nearest,
    _knn_edges,
    _travel_rule,
)

SYNTHETIC_DENSITY_BANDS = ((800.0, 3000.0), (170.0, 450.0), (65.0, 140.0), (15.0, 55.0))


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
