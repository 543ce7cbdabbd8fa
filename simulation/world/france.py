"""Built-in real maps of metropolitan France (``france-regions``, ``france-departements``).

Read from ``simulation/data/*.csv`` (INSEE populations, IGN-derived areas, GeoNames capital
coordinates, land borders; see each CSV's ``source`` column) and, for the départements, the series
of ``simulation/data/dept/`` for a start year (:mod:`simulation.world.dept_data`). Outlines
come from
``*_simplified.geojson`` (IGN Admin Express COG 2018 via france-geojson, Licence Ouverte).
What
is not observed is filled by the rules of :mod:`simulation.world.imputation`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import numpy as np

from simulation.world.imputation import (
    _DENSITY_NOTE,
    _NEUTRAL_AMENITY_NOTE,
    COUNTER_POPULATION_WEIGHT,
    COUNTER_TOTALS,
    NEUTRAL_AMENITY,
    TIERS_LIEUX_REGION_PCT,
    _assemble,
    _counter_note,
    _tiers_lieux_region_total,
)
from simulation.world.reference import (
    DATA_DIR,
    _france_reference,
    _num,
    _read_builtin_csv,
    _region_table,
)
from simulation.world.territory_map import (
    HOUSEHOLD_SIZE,
    MapError,
    TerritoryMap,
    TravelRule,
    kind_from_density,
)

SEA_LINKS = {
    "france-regions": (("94", "93"),),
    "france-departements": (("2A", "13"), ("2A", "06"), ("2B", "13"), ("2B", "06")),
}


CAPITAL_CODE = {"france-regions": "11", "france-departements": "75"}


ATTRIBUTION_FRANCE = "IGN / Admin Express COG 2018, via france-geojson (Licence Ouverte)"


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
