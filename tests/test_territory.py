"""Tests of simulation.world.maps: real French maps, imputation rules, generators, CSV maps."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from simulation.world.maps import (
    HOUSEHOLD_SIZE,
    KINDS,
    MapError,
    TerritoryMap,
    TravelRule,
    UnknownTerritoryError,
    available_maps,
    core_periphery,
    kind_from_density,
    load_csv_map,
    load_map,
    random_geometric,
)

DATA = Path(__file__).resolve().parent / "data" / "maps"
PKG_DATA = Path(__file__).resolve().parents[1] / "simulation" / "data"
FRANCE_POPULATION = 66_165_815


@pytest.fixture(scope="module")
def deps() -> TerritoryMap:
    return load_map("france-departements")


@pytest.fixture(scope="module")
def regs() -> TerritoryMap:
    return load_map("france-regions")


def kind_counts(m: TerritoryMap) -> dict[str, int]:
    return {k: int(np.sum(m.kind == i)) for i, k in enumerate(KINDS)}


# --------------------------------------------------------------------------- real maps


def test_available_maps():
    assert available_maps() == ["france-regions", "france-departements", "synthetic"]


@pytest.mark.parametrize(("name", "n"), [("france-regions", 13), ("france-departements", 96)])
def test_counts_and_population_totals(name, n):
    m = load_map(name)
    assert m.n == n == len(m.codes) == len(set(m.codes)) == m.graph.number_of_nodes()
    assert m.population.sum() == FRANCE_POPULATION
    csv = "france_regions.csv" if n == 13 else "france_departements.csv"
    raw = pd.read_csv(PKG_DATA / csv, dtype={"code_insee": str})
    assert m.population.sum() == raw["population_municipale_2023"].sum()
    np.testing.assert_allclose(m.households, m.population / HOUSEHOLD_SIZE)
    np.testing.assert_allclose(m.density, m.population / m.area_km2)
    np.testing.assert_array_equal(m.area_km2, raw["area_km2_computed"].to_numpy(dtype=float))
    assert nx.is_connected(m.graph)


@pytest.mark.parametrize("name", ["france-regions", "france-departements"])
def test_travel_matrix_is_a_metric_off_the_diagonal(name):
    m = load_map(name)
    t = m.travel_min
    assert t.shape == (m.n, m.n)
    np.testing.assert_allclose(t, t.T)
    off = ~np.eye(m.n, dtype=bool)
    assert np.all(t[off] > 0), "off-diagonal travel times must be positive"
    assert np.all(np.isfinite(t))
    # triangle inequality for i != j (through any k)
    via = (t[:, :, None] + t[None, :, :]).min(axis=1)
    assert np.all(t[off] <= via[off] + 1e-9)
    # an edge is never slower than its own travel time
    for u, v, tm in m.graph.edges(data="travel_min"):
        assert t[m.index(u), m.index(v)] <= tm + 1e-9


def test_travel_times_are_plausible(deps):
    t, i = deps.travel_min, deps.index
    assert t[i("75"), i("13")] > t[i("75"), i("92")]
    assert t[i("75"), i("92")] < 30, "Paris - Hauts-de-Seine should be minutes"
    assert t[i("75"), i("13")] > 5 * 60, "Paris - Marseille should take hours"
    # neighbours are closer than far pairs
    assert t[i("34"), i("11")] < t[i("34"), i("59")]
    diag = np.diag(t)
    assert 3 < diag.min() and diag.max() < 60, "mean trip inside a département: minutes"
    assert diag[i("75")] < diag[i("33")]


def test_inside_trip_rule(deps):
    rule = TravelRule()
    i = deps.index("48")
    expected = 1.3 * (2 / 3) * np.sqrt(deps.area_km2[i] / np.pi) / 60 * 60
    assert deps.travel_min[i, i] == pytest.approx(expected)
    j = deps.index("75")
    assert deps.travel_min[j, j] == pytest.approx(
        rule.detour * (2 / 3) * np.sqrt(deps.area_km2[j] / np.pi) / 40 * 60
    )


def test_land_edge_rule_and_sea_edges(deps, regs):
    g = deps.graph
    e = g.edges["48", "12"]  # Lozère - Aveyron: rural-rural, 80 km/h
    assert e["kind"] == "land"
    assert e["travel_min"] == pytest.approx(e["distance_km"] * 1.3 / 80 * 60)
    e = g.edges["75", "92"]  # both metropolis: 120 km/h
    assert e["travel_min"] == pytest.approx(e["distance_km"] * 1.3 / 120 * 60)
    for a, b in [("2A", "13"), ("2A", "06"), ("2B", "13"), ("2B", "06")]:
        assert g.edges[a, b]["kind"] == "sea"
        assert g.edges[a, b]["travel_min"] == 240
    assert regs.graph.edges["94", "93"]["kind"] == "sea"
    assert {k for *_, k in deps.graph.edges(data="kind")} == {"land", "sea"}
    # the shipped neighbour lists are used: Paris touches exactly 92, 93, 94
    assert set(g.neighbors("75")) == {"92", "93", "94"}


def test_kinds_of_named_departements(deps):
    kind = {c: KINDS[k] for c, k in zip(deps.codes, deps.kind, strict=True)}
    for code in ("75", "92", "93", "94", "69"):
        assert kind[code] == "metropolis", code
    for code in ("23", "48"):
        assert kind[code] == "rural", code
    assert kind_counts(deps) == {"metropolis": 8, "city": 20, "town": 36, "rural": 32}


def test_kind_rules_on_regions(regs):
    kind = {c: KINDS[k] for c, k in zip(regs.codes, regs.kind, strict=True)}
    assert kind["11"] == "metropolis"
    assert kind["84"] == "city", "median-resident rule: Auvergne-Rhône-Alpes is not a 'town'"
    assert kind["94"] == "rural"
    assert kind_counts(regs) == {"metropolis": 1, "city": 4, "town": 7, "rural": 1}
    plain = load_map("france-regions", kind_rule="density")
    assert kind_counts(plain) == {"metropolis": 1, "city": 2, "town": 8, "rural": 2}
    np.testing.assert_array_equal(plain.kind, kind_from_density(plain.density))


def test_kind_from_density_thresholds():
    got = kind_from_density([10_000, 500, 499.9, 150, 149, 60, 59.9, 0])
    assert [KINDS[k] for k in got] == [
        "metropolis", "metropolis", "city", "city", "town", "town", "rural", "rural",
    ]  # fmt: skip


def test_broadband_rules(deps, regs):
    """Départements carry ARCEP's observed FttH coverage at the end of the quarter before the
    start (2022Q4 for 2023, 2018Q4 for 2019); regions their observed figure or the
    household-weighted mean of their départements."""
    from simulation.world import dept_data

    ftth = dept_data.ftth_quarterly()
    np.testing.assert_allclose(deps.broadband, ftth.loc[deps.codes, "2022Q4"] / 100.0)
    early = load_map("france-departements", start_year=2019)
    np.testing.assert_allclose(early.broadband, ftth.loc[early.codes, "2018Q4"] / 100.0)
    assert early.broadband.mean() < deps.broadband.mean() - 0.3, "fibre spread 2019-2023"
    assert np.all((regs.broadband >= 0) & (regs.broadband <= 1))
    hh = deps.households
    observed = {"11": 0.94, "32": 0.91, "44": 0.88, "53": 0.53, "84": 0.72, "94": 0.69}
    for rc, target in observed.items():
        assert regs.broadband[regs.index(rc)] == pytest.approx(target)
    frame = regs.to_frame().set_index("code")
    for rc in regs.codes:
        if rc in observed:
            continue
        s = deps.select(regions=rc)
        assert regs.broadband[regs.index(rc)] == pytest.approx(
            np.average(deps.broadband[s], weights=hh[s])
        )
    assert frame.loc["53", "broadband_source"].startswith("observed")
    assert frame.loc["24", "broadband_source"].startswith("imputed")
    assert deps.to_frame().set_index("code").loc["48", "broadband_source"].startswith(
        "observed")


def test_median_income_rules(deps, regs):
    ratio = np.mean([25210 / 23860, 22960 / 21610, 23050 / 21620, 23240 / 21750, 23800 / 22480])
    inc = dict(zip(regs.codes, regs.median_income, strict=True))
    assert inc["11"] == 25210
    assert inc["24"] == pytest.approx(21560 * ratio)
    assert inc["28"] == pytest.approx(21650 * ratio)
    # départements: Filosofi 2019 medians, with D1 and D9 (Paris richest, Seine-Saint-Denis
    # among the poorest)
    med = dict(zip(deps.codes, deps.median_income, strict=True))
    assert med["01"] == 23490 and med["02"] == 19880
    assert med["75"] > med["48"] > med["93"]
    d1, m, d9 = deps.income_deciles.T
    np.testing.assert_array_equal(m, deps.median_income)
    assert np.all((d1 < m) & (m < d9))
    src = regs.to_frame().set_index("code")["median_income_source"]
    assert src["11"].startswith("observed") and src["24"].startswith("imputed")
    assert deps.to_frame()["median_income_source"].str.startswith("observed").all()


def test_counters_tiers_lieux_amenity(deps, regs):
    for col, total in [("counters_tax", 3600), ("counters_post", 6985), ("counters_social", 2000)]:
        assert getattr(deps, col).sum() == pytest.approx(total)
        assert getattr(regs, col).sum() == pytest.approx(total)
        # 50 % population share + 50 % area share
        i = deps.index("48")
        expected = total * (
            0.5 * deps.population[i] / FRANCE_POPULATION
            + 0.5 * deps.area_km2[i] / deps.area_km2.sum()
        )
        assert getattr(deps, col)[i] == pytest.approx(expected)
    # France services labelled at the end of 2022 (ANCT): 2,441 houses in the 96 départements
    assert deps.france_services.sum() == pytest.approx(2441)
    assert regs.france_services.sum() == pytest.approx(2441)
    rural = deps.select(kinds=["town", "rural"])
    assert deps.france_services[rural].sum() / 2441 > 0.6  # 69 % in town/rural départements
    assert load_map("france-departements", start_year=2019).france_services.sum() == 0
    metro_tl = 3500 * 98 / 99
    assert deps.tiers_lieux.sum() == pytest.approx(metro_tl)
    assert regs.tiers_lieux[regs.index("11")] == pytest.approx(metro_tl * 16 / 98)
    for rc in regs.codes:
        assert deps.tiers_lieux[deps.select(regions=rc)].sum() == pytest.approx(
            regs.tiers_lieux[regs.index(rc)]
        )
    # no data on amenity: neutral (the same everywhere) on the French maps
    assert np.all(deps.amenity == 0.5) and np.all(regs.amenity == 0.5)
    assert deps.capital.sum() == 1 and deps.capital[deps.index("75")]


def test_coordinates_and_geometry(deps, regs):
    for m in (deps, regs):
        assert set(m.geometry) == set(m.codes)
        assert {g["type"] for g in m.geometry.values()} <= {"Polygon", "MultiPolygon"}
        assert "IGN" in m.attribution
        assert np.all(np.isfinite(m.lat)) and np.all(np.isfinite(m.x_km))
    i, j = deps.index("29"), deps.index("67")  # Finistère west of Bas-Rhin
    assert deps.x_km[i] < deps.x_km[j]
    k, n = deps.index("59"), deps.index("2A")  # Nord north of Corse-du-Sud
    assert deps.y_km[k] > deps.y_km[n]
    # planar distance Paris-Marseille close to the great circle (~660 km)
    a, b = deps.index("75"), deps.index("13")
    d = np.hypot(deps.x_km[a] - deps.x_km[b], deps.y_km[a] - deps.y_km[b])
    assert 620 < d < 700


def test_graph_nodes_carry_attributes(deps):
    node = deps.graph.nodes["23"]
    assert node["kind"] == "rural" and node["name"] == "Creuse"
    for attr in ("population", "broadband", "median_income", "counters_post", "tiers_lieux"):
        assert node[attr] == pytest.approx(getattr(deps, attr)[deps.index("23")])


def test_to_frame_and_provenance(deps):
    df = deps.to_frame()
    assert len(df) == 96
    for col in (
        "code", "name", "region", "kind", "population", "households", "area_km2", "density",
        "lat", "lon", "x_km", "y_km", "broadband", "median_income", "amenity", "counters_tax",
        "counters_social", "counters_post", "france_services", "tiers_lieux", "inside_trip_min",
        "broadband_source", "kind_source", "source",
    ):  # fmt: skip
        assert col in df.columns, col
    for col in df.columns:
        if col.endswith("_source"):
            assert df[col].str.match(r"^(observed|imputed)").all(), col
    assert df["source"].str.contains("INSEE").all()
    assert deps.provenance["population"].startswith("observed")
    assert deps.provenance["counters_post"].startswith("imputed")
    assert df.attrs["provenance"] == deps.provenance


def test_index_and_select(deps):
    assert deps.codes[deps.index("2A")] == "2A"
    with pytest.raises(KeyError, match="valid codes"):
        deps.index("99")
    with pytest.raises(UnknownTerritoryError):
        deps.index("99")
    np.testing.assert_array_equal(deps.select(), np.arange(96))
    assert deps.select(codes="75").tolist() == [deps.index("75")]
    metro = deps.select(kinds="metropolis")
    assert len(metro) == 8 and np.all(deps.kind[metro] == 0)
    idf = deps.select(regions=["11"])
    assert sorted(deps.codes[i] for i in idf) == ["75", "77", "78", "91", "92", "93", "94", "95"]
    union = deps.select(codes=["48"], regions="11")
    assert len(union) == 9 and np.all(np.diff(union) > 0)
    with pytest.raises(ValueError, match="allowed: metropolis, city, town, rural"):
        deps.select(kinds="village")
    with pytest.raises(ValueError, match="allowed: 11, 24"):
        deps.select(regions="99")
    with pytest.raises(ValueError, match="unknown territory code '00'"):
        deps.select(codes=["00"])


def test_fresh_arrays_per_load():
    a = load_map("france-departements")
    a.broadband[:] = 0.0
    b = load_map("france-departements")
    assert b.broadband.min() > 0.2


def test_load_map_errors():
    with pytest.raises(ValueError, match="allowed: france-regions"):
        load_map("atlantis")
    with pytest.raises(ValueError, match="unknown option"):
        load_map("france-departements", kind_rule="density")
    with pytest.raises(ValueError, match="kind_rule"):
        load_map("france-regions", kind_rule="vibes")


def test_travel_rule_option():
    slow = load_map("france-departements", travel={"speed_kmh": 40.0, "fast_speed_kmh": 40.0})
    base = load_map("france-departements")
    assert (
        slow.travel_min[slow.index("75"), slow.index("13")]
        > base.travel_min[base.index("75"), base.index("13")]
    )


# --------------------------------------------------------------------------- synthetic maps


def test_core_periphery_deterministic_and_seed_sensitive():
    a, b, c = core_periphery(seed=7), core_periphery(seed=7), core_periphery(seed=8)
    assert a.codes == b.codes
    for attr in ("population", "area_km2", "x_km", "y_km", "travel_min", "broadband"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    assert sorted(a.graph.edges()) == sorted(b.graph.edges())
    assert not np.allclose(a.population, c.population)
    assert load_map("synthetic", seed=7).population.tolist() == a.population.tolist()


def test_core_periphery_structure():
    m = core_periphery(n_cities=3, n_towns=5, n_rural=7, seed=2)
    assert m.n == 16
    assert kind_counts(m) == {"metropolis": 1, "city": 3, "town": 5, "rural": 7}
    np.testing.assert_array_equal(m.kind, kind_from_density(m.density))
    assert nx.is_connected(m.graph)
    assert m.geometry is None and np.all(np.isnan(m.lat))
    r = np.hypot(m.x_km, m.y_km)
    assert r[0] == 0 and r[m.select(kinds="city")].max() < r[m.select(kinds="rural")].min()
    assert m.population[0] == 2_000_000
    assert {k for *_, k in m.graph.edges(data="kind")} == {"synthetic"}
    t = m.travel_min
    np.testing.assert_allclose(t, t.T)
    assert np.all(t[~np.eye(m.n, dtype=bool)] > 0)
    np.testing.assert_allclose(m.broadband, np.array([0.92, 0.89, 0.77, 0.77])[m.kind])
    assert m.to_frame()["broadband_source"].str.startswith("imputed").all()
    with pytest.raises(ValueError, match="n_towns"):
        core_periphery(n_towns=-1)


def test_random_geometric():
    a, b = random_geometric(n=25, radius=0.1, seed=4), random_geometric(n=25, radius=0.1, seed=4)
    assert nx.is_connected(a.graph)
    np.testing.assert_array_equal(a.travel_min, b.travel_min)
    assert not np.allclose(a.x_km, random_geometric(n=25, radius=0.1, seed=5).x_km)
    assert load_map("random-geometric", seed=4, n=25, radius=0.1).codes == a.codes


# --------------------------------------------------------------------------- CSV maps


def test_load_csv_map_lat_lon():
    m = load_csv_map(DATA / "valley_nodes.csv", DATA / "valley_edges.csv")
    assert m.name == "valley_nodes" and m.n == 5
    assert m.graph.edges["GRE", "VOI"]["travel_min"] == 25
    assert m.graph.edges["GRE", "VOI"]["kind"] == "user"
    e = m.graph.edges["VOI", "CHA"]  # two cities: 120 km/h
    assert e["travel_min"] == pytest.approx(e["distance_km"] * 1.3 / 120 * 60)
    e = m.graph.edges["GRE", "BOU"]  # a rural end: 80 km/h
    assert e["travel_min"] == pytest.approx(e["distance_km"] * 1.3 / 80 * 60)
    df = m.to_frame().set_index("code")
    assert df.loc["GRE", "broadband"] == 0.9
    assert df.loc["GRE", "broadband_source"] == "observed: valley_nodes.csv"
    assert df.loc["VOI", "broadband_source"].startswith("imputed")
    assert df.loc["CHA", "kind"] == "city" and df.loc["CHA", "kind_source"].startswith("observed")
    assert df.loc["CHA", "median_income"] == 24000
    assert df.loc["GRE", "capital"]
    assert df.loc["GRE", "amenity"] == pytest.approx(1.0)  # metropolis 0.8 + capital 0.2
    assert sorted(m.select(regions="B")) == [m.index("CHA"), m.index("ALB")]
    assert load_map(str(DATA / "valley_nodes.csv"), edges=DATA / "valley_edges.csv").n == 5


def test_load_csv_map_planar_without_edges():
    m = load_csv_map(DATA / "planar_nodes.csv")
    assert nx.is_connected(m.graph)
    assert np.all(np.isnan(m.lat))
    assert m.x_km.tolist() == [0, 50, 100, 40]
    e = m.graph.edges["A", "B"]
    assert e["distance_km"] == pytest.approx(50)


NODES_OK = "code,name,population,area_km2,lat,lon\nA,Aa,1000,10,45,5\nB,Bb,2000,20,45.1,5.1\n"
EDGES_OK = "source,target\nA,B\n"

# (nodes text, edges text or None, file that is blamed, line, column, phrase in the message)
# fmt: off
MALFORMED = [
    pytest.param(
        "code,name,area_km2,lat,lon\nA,Aa,10,45,5\n", None, "nodes", 1, "population",
        "required column is missing", id="missing-column",
    ),
    pytest.param(
        NODES_OK + "C,,10,10,45.2,5.2\n", "source,target\nA,B\nB,C\n", "nodes", 4, "name",
        "a value is required", id="empty-value",
    ),
    pytest.param(
        NODES_OK.replace("2000", "many"), EDGES_OK, "nodes", 3, "population",
        "is not a number", id="non-numeric",
    ),
    pytest.param(
        NODES_OK.replace("2000", "-5"), EDGES_OK, "nodes", 3, "population",
        "a number >= 0", id="negative-population",
    ),
    pytest.param(
        NODES_OK.replace(",10,45,", ",0,45,"), EDGES_OK, "nodes", 2, "area_km2",
        "a number > 0", id="zero-area",
    ),
    pytest.param(
        "code,name,population,area_km2,lat,lon,broadband\nA,Aa,1,1,45,5,1.5\nB,Bb,1,1,45,6,\n",
        EDGES_OK, "nodes", 2, "broadband", "between 0 and 1", id="broadband-out-of-range",
    ),
    pytest.param(
        "code,name,population,area_km2,lat,lon,kind\nA,Aa,1,1,45,5,village\nB,Bb,1,1,45,6,\n",
        EDGES_OK, "nodes", 2, "kind", "allowed: metropolis, city, town, rural",
        id="unknown-kind",
    ),
    pytest.param(
        NODES_OK + "A,Again,5,5,44,4\n", EDGES_OK, "nodes", 4, "code",
        "duplicate code 'A' (first on line 2)", id="duplicate-code",
    ),
    pytest.param(
        NODES_OK, "source,target\nA,B\nB,Z\n", "edges", 3, "target",
        "unknown territory code 'Z'", id="edge-unknown-code",
    ),
    pytest.param(
        NODES_OK, "source,target\nA,A\n", "edges", 2, "target", "self-loop", id="self-loop",
    ),
    pytest.param(
        NODES_OK + "C,Cc,5,5,44,4\nD,Dd,5,5,44,3\n", "source,target\nA,B\nC,D\n", "edges", None,
        None, "not connected: 2 components: component 1 (2): A, B; component 2 (2): C, D",
        id="disconnected",
    ),
    pytest.param(
        "code,name,population,area_km2\nA,Aa,1,1\n", None, "nodes", 1, "lat",
        "no coordinates", id="no-coordinates",
    ),
    pytest.param(
        "code,name,population,area_km2,lat\nA,Aa,1,1,45\n", None, "nodes", 1, "lon",
        "needs its pair", id="lat-without-lon",
    ),
    pytest.param(
        "code,name,population,area_km2,lat,lon,brodband\nA,Aa,1,1,45,5,0.5\n", None, "nodes",
        1, "brodband", "unknown column; allowed columns: code, name", id="unknown-column",
    ),
    pytest.param(
        NODES_OK, "source,target,travel_min\nA,B,-3\n", "edges", 2, "travel_min",
        "minutes > 0", id="negative-travel-time",
    ),
    pytest.param(
        NODES_OK + "C,Cc,5,5,44\n", None, "nodes", 4, None, "5 fields but the header has 6",
        id="wrong-field-count",
    ),
    pytest.param(
        NODES_OK.replace("1000", '"1,5"'), EDGES_OK, "nodes", 2, "population",
        "use '.' as the decimal separator", id="decimal-comma",
    ),
    pytest.param(
        NODES_OK, "source,to\nA,B\n", "edges", 1, "to", "unknown column", id="edges-bad-header",
    ),
    pytest.param(
        NODES_OK, "source,target\nA,B\nB,A\n", "edges", 3, "target",
        "duplicate edge B-A (first on line 2)", id="duplicate-edge",
    ),
    pytest.param(
        NODES_OK.replace(",45,5", ",95,5"), EDGES_OK, "nodes", 2, "lat",
        "degrees in [-90, 90]", id="latitude-out-of-range",
    ),
    pytest.param("", None, "nodes", 1, None, "the file is empty", id="empty-file"),
]
# fmt: on


@pytest.mark.parametrize(("nodes", "edges", "blamed", "line", "column", "phrase"), MALFORMED)
def test_malformed_csv_maps(tmp_path, nodes, edges, blamed, line, column, phrase):
    npath = tmp_path / "nodes.csv"
    npath.write_text(nodes, encoding="utf-8")
    epath = None
    if edges is not None:
        epath = tmp_path / "edges.csv"
        epath.write_text(edges, encoding="utf-8")
    with pytest.raises(MapError) as info:
        load_csv_map(npath, epath)
    err = info.value
    msg = str(err)
    blamed_path = npath if blamed == "nodes" else epath
    assert err.file == str(blamed_path) and str(blamed_path) in msg
    assert err.line == line
    if line is not None:
        assert f"line {line}" in msg
    assert err.column == column
    if column is not None:
        assert f"column '{column}'" in msg
    assert phrase in msg
    assert "Traceback" not in msg


def test_missing_file_is_a_map_error(tmp_path):
    with pytest.raises(MapError, match="file not found"):
        load_csv_map(tmp_path / "nope.csv")
