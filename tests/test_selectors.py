"""Territory selectors: how the keys of one selector combine, and what shipped files select.

The rule (``simulation.engine.policies.Selector``): the filters ``kinds`` and ``regions`` combine
with AND (the values listed in one filter are alternatives); explicitly listed ``codes`` are
added to the filtered set; ``codes`` alone selects exactly those territories.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.engine.policies import Selector, make_policy
from simulation.experiments.files import available_experiments, load_experiment
from simulation.scenarios.files import ScenarioError, builtin_names, load_scenario
from simulation.world.maps import load_map

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------ recorded sets
# The sets below were computed with the selector code BEFORE the keys combined with AND
# (when a selector's keys were united), for every policy and outcome of every shipped file.
# A shipped file must keep selecting exactly these territories.
DEP_ALL = (
    "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 21 22 23 24 25 26 27 28 29 2A "
    "2B 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 "
    "58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 "
    "87 88 89 90 91 92 93 94 95").split()
DEP_TOWN_RURAL = (
    "01 02 03 04 05 07 08 09 10 11 12 14 15 16 17 18 19 21 22 23 24 25 26 27 28 29 2A 2B 30 "
    "32 36 37 39 40 41 43 45 46 47 48 49 50 51 52 53 54 55 56 58 60 61 63 64 65 66 70 71 72 "
    "73 79 80 81 82 85 86 87 88 89").split()
DEP_AUVERGNE = ["03", "15", "43", "63"]
SYN_RURAL = "R01 R02 R03 R04 R05 R06 R07 R08 R09 R10 R11 R12".split()
SYN_TOWN_RURAL = [*SYN_RURAL, *"T01 T02 T03 T04 T05 T06 T07 T08".split()]
SYN_ALL = ["M01", "C01", "C02", "C03", "C04", *SYN_TOWN_RURAL]

DEP = "france-departements"
SYN = "synthetic-core-periphery-seed1"
EXPECTED: dict[tuple[str, str], tuple[str, list[str]]] = {
    ("scenarios/broadband_rollout.toml", "policies[0] broadband_rollout"): (DEP, DEP_TOWN_RURAL),
    ("scenarios/gafa_dependence.toml", "policies[0] platform_dependence"): (DEP, DEP_ALL),
    # history.toml came with the layout change; territories = "all" meant every territory before
    ("scenarios/history.toml", "policies[0] observed_history"): (DEP, DEP_ALL),
    ("scenarios/local_platform.toml", "policies[0] local_platform"): (DEP, DEP_ALL),
    ("scenarios/local_platform.toml", "policies[1] platform_tax"): (DEP, DEP_ALL),
    ("scenarios/new_deal_auvergne.toml", "policies[0] broadband_rollout"): (DEP, DEP_AUVERGNE),
    ("scenarios/new_deal_auvergne.toml", "policies[1] tiers_lieux"): (DEP, DEP_AUVERGNE),
    ("scenarios/new_deal_auvergne.toml", "policies[2] new_deal"): (DEP, DEP_AUVERGNE),
    ("scenarios/numerique_choisi.toml", "policies[0] broadband_rollout"): (DEP, DEP_TOWN_RURAL),
    ("scenarios/numerique_choisi.toml", "policies[1] tiers_lieux"): (DEP, DEP_TOWN_RURAL),
    ("scenarios/numerique_choisi.toml", "policies[2] digital_mediators"): (DEP, DEP_TOWN_RURAL),
    ("scenarios/numerique_choisi.toml", "policies[3] local_platform"): (DEP, DEP_ALL),
    ("scenarios/office_closures.toml", "policies[0] public_counters"): (DEP, DEP_TOWN_RURAL),
    ("scenarios/office_closures_with_mediators.toml", "policies[0] public_counters"):
        (DEP, DEP_TOWN_RURAL),
    ("scenarios/office_closures_with_mediators.toml", "policies[1] france_services"):
        (DEP, DEP_TOWN_RURAL),
    ("scenarios/office_closures_with_mediators.toml", "policies[2] digital_mediators"):
        (DEP, DEP_TOWN_RURAL),
    ("scenarios/teaching_counters.toml", "policies[0] public_counters"): (SYN, SYN_TOWN_RURAL),
    # teaching packs (issue 13): recorded when they were added
    ("scenarios/teaching_gafa.toml", "policies[0] platform_dependence"): (SYN, SYN_ALL),
    ("scenarios/teaching_local_platform.toml", "policies[0] local_platform"): (SYN, SYN_ALL),
    ("scenarios/teaching_local_platform.toml", "policies[1] platform_tax"): (SYN, SYN_ALL),
    ("scenarios/teaching_mediators.toml", "policies[0] public_counters"): (SYN, SYN_TOWN_RURAL),
    ("scenarios/teaching_mediators.toml", "policies[1] digital_mediators"):
        (SYN, SYN_TOWN_RURAL),
    ("scenarios/teaching_mediators_local.toml", "policies[0] public_counters"):
        (SYN, SYN_TOWN_RURAL),
    ("scenarios/teaching_mediators_local.toml", "policies[1] digital_mediators"):
        (SYN, SYN_TOWN_RURAL),
    ("scenarios/teaching_synthetic.toml", "policies[0] broadband_rollout"): (SYN, SYN_RURAL),
    ("scenarios/teaching_synthetic.toml", "policies[1] tiers_lieux"): (SYN, SYN_RURAL),
    ("scenarios/tiers_lieux.toml", "policies[0] tiers_lieux"): (DEP, DEP_TOWN_RURAL),
    ("experiments/broadband_coverage.toml", "policies[0] broadband_rollout"): (SYN, SYN_RURAL),
    ("experiments/broadband_coverage.toml", "outcomes[0] rural_coverage"): (SYN, SYN_RURAL),
    ("experiments/broadband_coverage.toml", "outcomes[1] rural_attractiveness"):
        (SYN, SYN_RURAL),
    ("experiments/broadband_coverage.toml", "outcomes[2] rural_telework"): (SYN, SYN_RURAL),
    ("experiments/discovery_levers.toml", "policies[0] tiers_lieux"): (SYN, SYN_TOWN_RURAL),
    ("experiments/discovery_levers.toml", "policies[1] local_platform"): (SYN, SYN_TOWN_RURAL),
    ("experiments/discovery_levers.toml", "outcomes[2] rural_attractiveness"): (SYN, SYN_RURAL),
    ("experiments/morris_behaviour.toml", "outcomes[0] rural_attractiveness"): (SYN, SYN_RURAL),
    ("experiments/sobol_headline.toml", "outcomes[0] rural_attractiveness"): (SYN, SYN_RURAL),
    ("experiments/tiers_lieux_commission.toml", "policies[0] tiers_lieux"):
        (SYN, SYN_TOWN_RURAL),
    ("experiments/tiers_lieux_commission.toml", "outcomes[0] periphery_attractiveness"):
        (SYN, SYN_TOWN_RURAL),
}


def _codes(tmap, idx) -> list[str]:
    return sorted(tmap.codes[i] for i in idx)


def _shipped_sets(quick: bool) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Every policy's and outcome's resolved set in the shipped scenario and experiment files."""
    out = {}
    for name in builtin_names():
        scen = load_scenario(name)
        tmap = scen.load_map()
        for i, pol in enumerate(scen.policies):
            out[(f"scenarios/{name}.toml", f"policies[{i}] {pol.type}")] = (
                tmap.name, _codes(tmap, pol.resolve(tmap)))
    for name in available_experiments():
        exp = load_experiment(name, quick=quick)
        tmap = exp.scenario.load_map()
        for i, spec in enumerate(exp.policies):
            pol = make_policy(spec)
            out[(f"experiments/{name}.toml", f"policies[{i}] {pol.type}")] = (
                tmap.name, _codes(tmap, pol.resolve(tmap)))
        for i, o in enumerate(exp.outcomes):
            if o.territories is not None:
                out[(f"experiments/{name}.toml", f"outcomes[{i}] {o.name}")] = (
                    tmap.name, _codes(tmap, tmap.select(**o.territories)))
    return out


@pytest.mark.parametrize("quick", [False, True], ids=["full", "quick"])
def test_shipped_files_select_what_they_selected_before(quick):
    got = _shipped_sets(quick)
    assert set(got) == set(EXPECTED), (
        "policies or outcomes added or removed in shipped files: record their resolved sets "
        f"here; new {sorted(set(got) - set(EXPECTED))}, gone {sorted(set(EXPECTED) - set(got))}")
    for key, (map_name, codes) in EXPECTED.items():
        assert got[key] == (map_name, sorted(codes)), key


# ------------------------------------------------------------------------ the rule
@pytest.fixture(scope="module")
def deps():
    return load_map("france-departements")


def _names(tmap, sel: dict) -> list[str]:
    return [tmap.names[i] for i in Selector(**sel).resolve(tmap)]


def test_kinds_and_regions_intersect(deps):
    # the example: the rural départements of Auvergne-Rhône-Alpes only (not 41)
    assert _names(deps, {"kinds": ["rural"], "regions": ["84"]}) == [
        "Allier", "Cantal", "Haute-Loire"]
    region = set(_names(deps, {"regions": ["84"]}))
    rural = set(_names(deps, {"kinds": ["rural"]}))
    assert len(region) == 12 and len(rural) == 32
    assert set(_names(deps, {"kinds": ["rural"], "regions": ["84"]})) == region & rural
    # alternatives inside one filter, AND between filters
    two = set(_names(deps, {"kinds": ["rural", "town"], "regions": ["84", "93"]}))
    towns_rural = set(_names(deps, {"kinds": ["rural", "town"]}))
    regions = set(_names(deps, {"regions": ["84", "93"]}))
    assert two == towns_rural & regions and 0 < len(two) < min(len(towns_rural), len(regions))


def test_codes_add_to_the_filtered_set(deps):
    base = _names(deps, {"kinds": ["rural"], "regions": ["84"]})
    plus = _names(deps, {"kinds": ["rural"], "regions": ["84"], "codes": ["69", "75"]})
    assert set(plus) == set(base) | {"Rhône", "Paris"} and len(plus) == len(base) + 2
    # a listed code that the filters already select is not counted twice
    assert _names(deps, {"kinds": ["rural"], "regions": ["84"], "codes": ["03"]}) == base


def test_codes_alone_select_exactly_those(deps):
    assert _names(deps, {"codes": ["75", "2A"]}) == ["Corse-du-Sud", "Paris"]
    # no key: every territory (the selector of "all"; files must write territories = "all")
    assert len(Selector.model_construct().resolve(deps)) == deps.n


def test_describe_reads_like_the_rule():
    assert Selector(kinds=["rural"], regions=["84"], codes=["69"]).describe() == (
        "rural territories of region 84, plus 69")
    assert Selector(codes=["75"]).describe() == "territories 75"


def _scenario(tmp_path: Path, territories: str) -> Path:
    f = tmp_path / "sel.toml"
    f.write_text(f"""name = "sel"
[run]
map = "france-departements"
years = 2
[[policies]]
type = "broadband_rollout"
territories = {territories}
target = 1.0
[[policies]]
type = "equalisation"
level = 0.5
""", encoding="utf-8")
    return f


def test_combination_selecting_nothing_is_refused(tmp_path):
    # metropolises of Corse: each filter is valid, together they match nothing
    f = _scenario(tmp_path, '{ kinds = ["metropolis"], regions = ["94"] }')
    with pytest.raises(ScenarioError, match="selects no territory") as info:
        load_scenario(f)
    assert "combine with AND" in str(info.value) and "policies[0].territories" in str(info.value)


# ------------------------------------------------------------------------ command line
def test_validate_prints_each_policys_territories(tmp_path, capsys):
    f = _scenario(tmp_path, '{ kinds = ["rural"], regions = ["84"] }')
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr().out
    assert "policy 1 broadband_rollout: 3 territories: Allier, Cantal, Haute-Loire" in out
    assert "policy 2 equalisation: map-wide (all 96 territories" in out
    assert main(["validate", "broadband_rollout"]) == 0
    out = capsys.readouterr().out
    assert "policy 1 broadband_rollout: 68 territories: Ain, Aisne, Allier, ... (+65)" in out


def test_list_territories_default_map(capsys):
    assert main(["list", "territories"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "'france-departements' (96" in lines[0]
    assert lines[1].split() == ["code", "name", "kind", "region", "population"]
    rows = {ln.split()[0]: ln for ln in lines[2:]}
    assert len(rows) == 96
    paris = rows["75"].split()
    assert paris[1:4] == ["Paris", "metropolis", "11"]
    deps = load_map("france-departements")
    assert int(paris[-1].replace(",", "")) == round(float(deps.population[deps.index("75")]))
    lozere = rows["48"].split()
    assert lozere[2:4] == ["rural", "76"]


def test_list_territories_other_map_and_errors(capsys):
    assert main(["list", "territories", "france-regions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 13 and lines[-1].split()[:2] == ["94", "Corse"]
    assert main(["list", "territories", "atlantis"]) == 2
    err = capsys.readouterr().err
    assert "unknown map 'atlantis'" in err and "france-departements" in err
    assert main(["list", "maps", "france-regions"]) == 2
    assert "only after 'list territories'" in capsys.readouterr().err


def test_list_territories_command_entry_point():
    proc = subprocess.run([sys.executable, "-m", "simulation.cli", "list", "territories",
                           "synthetic"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()[2:]
    kinds = [r.split()[-3] for r in rows]
    assert kinds[0] == "metropolis" and kinds.count("rural") == 12
    assert "Traceback" not in proc.stderr
