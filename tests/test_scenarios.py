"""Scenario files: loading, merging, export, and one directional test per policy type.

Directional tests run small models on the synthetic map and compare a policy with the same
seed without it (common random numbers); where the effect is small against the noise of a
few thousand agents, they pool several seeds and compare means.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.engine.agents.household import remote_access
from simulation.engine.measures import TERRITORY_MEASURES
from simulation.engine.policies import POLICY_TYPES
from simulation.scenarios.files import (
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    builtin_names,
    list_scenarios,
    load_scenario,
    print_list,
)

DATA = Path(__file__).parent / "data" / "scenarios"
BUILTIN = sorted(SCENARIO_DIR.glob("*.toml"))
REQUIRED = ["baseline", "broadband_rollout", "office_closures",
            "office_closures_with_mediators", "tiers_lieux", "gafa_dependence",
            "local_platform", "new_deal_auvergne", "numerique_choisi", "teaching_synthetic"]


# ============================================================================ built-in files
def test_required_scenarios_ship():
    assert set(REQUIRED) <= set(builtin_names())


@pytest.mark.parametrize("path", BUILTIN, ids=[p.stem for p in BUILTIN])
def test_builtin_scenario_loads_and_runs(path):
    s = load_scenario(path)
    assert s.description_en and s.description_fr, "every scenario describes itself in en+fr"
    assert s.question_en and s.question_fr and s.source, "question (en/fr) and source text"
    model = s.build_model(n_households=2_000)
    for _ in range(3):
        model.step()
    res = model.results()
    assert res.steps == 4
    assert np.isfinite(res.map_values.iloc[-1]["gini"])
    assert len(model.policies) == len(s.policies)


def test_list_scenarios_and_print_list(capsys):
    names = [s.name for s in list_scenarios()]
    assert names == sorted(names) and "baseline" in names
    print_list("all")
    out = capsys.readouterr().out
    for name in REQUIRED:
        assert name in out
    for typ in POLICY_TYPES:
        assert typ in out
    assert "Where do our territories go" in out   # the baseline's English question
    assert "[0, 1]" in out                          # fields with ranges


def test_baseline_is_the_brief():
    s = load_scenario("baseline")
    assert (s.map, s.years, s.n_households, s.seed) == ("france-departements", 20.0, 50_000, 1)
    assert s.policies == [] and s.params == {}


def test_extends_chain_appends_policies():
    parent = load_scenario("office_closures")
    child = load_scenario("office_closures_with_mediators")
    assert [f.name for f in child.files] == ["baseline.toml", "office_closures.toml",
                                             "office_closures_with_mediators.toml"]
    assert [p.type for p in child.policies] == ["public_counters", "france_services",
                                                "digital_mediators"]
    assert child.policy_dicts()[0] == parent.policy_dicts()[0]
    assert child.sha256 != parent.sha256 and len(child.file_hashes) == 3


def test_levers_and_uncertainties_are_separate():
    s = load_scenario(DATA / "good_child.toml")
    assert s.levers == {"equalisation": 0.5, "platform_push": 0.2}
    assert s.uncertainties == {"platform_growth": 0.06, "telework_days": 2.0}
    assert s.params == {"move_rate": 0.008, **s.levers, **s.uncertainties}
    assert (s.years, s.n_households, s.map) == (5.0, 2_000, "france-departements")
    assert s.question_en == "Does the loader merge and validate?"


def test_child_overrides_and_replace_policies():
    s = load_scenario(DATA / "good_grandchild.toml")
    assert s.levers["equalisation"] == 0.8            # child wins
    assert s.uncertainties["platform_growth"] == 0.06   # inherited
    assert [p.type for p in s.policies] == ["platform_tax"]   # replace_policies
    assert s.name == "good_grandchild"


def test_a_copied_builtin_is_named_after_its_file(tmp_path, capsys):
    """cp teaching_counters.toml my_counters.toml: runs and reports say my_counters."""
    from simulation.cli import main

    text = (SCENARIO_DIR / "teaching_counters.toml").read_text(encoding="utf-8")
    assert 'name = "teaching_counters"' in text
    mine = tmp_path / "my_counters.toml"
    mine.write_text(text + '\n[[policies]]\ntype = "digital_mediators"\n'
                    'territories = { kinds = ["rural"] }\nper_10k_households = 5\n',
                    encoding="utf-8")
    s = load_scenario(mine)
    assert s.name == "my_counters"
    assert "teaching_counters" in s.name_note and "my_counters" in s.name_note
    assert s.with_overrides(years=5).name_note == s.name_note
    assert s.with_overrides(name="other").name_note == ""
    # the built-in keeps its name, without a note
    b = load_scenario("teaching_counters")
    assert (b.name, b.name_note) == ("teaching_counters", "")
    # a copy under the built-in's own file name, in another folder, names the folder
    (tmp_path / "class2").mkdir()
    same = tmp_path / "class2" / "teaching_counters.toml"
    same.write_text(text, encoding="utf-8")
    assert load_scenario(same).name == "teaching_counters (class2)"
    # a name of its own is kept; a child without a name takes its file's stem, no note
    own = tmp_path / "own.toml"
    own.write_text(text.replace('name = "teaching_counters"', 'name = "closures_v2"'),
                   encoding="utf-8")
    assert (load_scenario(own).name, load_scenario(own).name_note) == ("closures_v2", "")
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{mine.name}"\n', encoding="utf-8")
    assert (load_scenario(child).name, load_scenario(child).name_note) == ("child", "")
    # Terrinum's own exports (run and compare outputs) replay under the name they ran with
    exported = tmp_path / "scenario.toml"
    exported.write_text(b.with_overrides(years=2).to_toml(), encoding="utf-8")
    assert load_scenario(exported).name == "teaching_counters"
    # validate says what happened
    assert main(["validate", str(mine)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "(my_counters:" in out and "note: name 'teaching_counters'" in out


@pytest.mark.parametrize("name", [*REQUIRED, "good"])
def test_to_toml_round_trip(tmp_path, name):
    s = load_scenario(DATA / "good_child.toml") if name == "good" else load_scenario(name)
    f = tmp_path / "exported.toml"
    f.write_text(s.to_toml(), encoding="utf-8")
    back = load_scenario(f)
    assert back.files == [f.resolve()], "the export is standalone"
    for attr in ("name", "map", "years", "n_households", "seed", "map_seed", "params",
                 "description_en", "description_fr", "question_en", "question_fr", "source"):
        assert getattr(back, attr) == getattr(s, attr), attr
    assert back.policy_dicts() == s.policy_dicts()


def test_csv_map_paths_are_relative_to_the_file(tmp_path):
    s = load_scenario(DATA / "good_csv_map.toml")
    maps = (DATA.parent / "maps").resolve()
    assert s.map == str(maps / "valley_nodes.csv")
    assert s.map_options == {"edges": str(maps / "valley_edges.csv")}
    res = s.build_model().run(years=0.25)
    assert res.codes[:2] == ["GRE", "VOI"]
    f = tmp_path / "elsewhere.toml"
    f.write_text(s.to_toml(), encoding="utf-8")
    assert load_scenario(f).map_options == s.map_options


def test_to_dict_round_trip():
    s = load_scenario(DATA / "good_child.toml")
    back = Scenario.from_dict(s.to_dict())
    assert back.to_dict() == s.to_dict()


def test_with_overrides_and_build_model():
    s = load_scenario("teaching_synthetic")
    s2 = s.with_overrides(params={"platform_tax": 0.05},
                          policies=[{"type": "telework_norm", "days": 2.5}], name="x")
    assert s2.name == "x" and s2.levers == {"platform_tax": 0.05}
    assert len(s2.policies) == len(s.policies) + 1 and s2.sha256 != s.sha256
    assert s.params == {} and len(s.policies) == 2, "the original is unchanged"
    m = s2.build_model(7, params={"move_rate": 0.01},
                       policies=[{"type": "platform_tax", "rate": 0.02}], n_households=500)
    assert m.seed == 7 and m.p.move_rate == 0.01 and m.p.platform_tax == 0.05
    assert len(m.policies) == 4 and m.scenario_name == "x"
    assert int(m.hh.alive.sum()) == 500
    with pytest.raises(ScenarioError, match=r"params\.move_rate"):
        s.with_overrides(params={"move_rate": 5.0})
    with pytest.raises(ScenarioError, match=r"policies\[0\]\.territories\.codes\[0\]"):
        s.with_overrides(policies=[{"type": "tiers_lieux", "territories": {"codes": ["75"]}}])


def test_policy_objects_are_not_shared_between_models():
    s = load_scenario("teaching_synthetic")
    m1 = s.build_model(1, n_households=500)
    m1.run(years=0.5)
    m2 = s.build_model(1, n_households=500)
    assert all(p is not q for p, q in zip(m1.policies, m2.policies, strict=True))
    assert all("_applied" not in p.__dict__ for p in s.policies), "templates never applied"
    m2.run(years=0.5)
    np.testing.assert_array_equal(m1.terr.broadband, m2.terr.broadband)


def test_scenario_error_pickles():
    import pickle

    e = ScenarioError("f.toml", "policies[2].target", "too big", "[0, 1]")
    e2 = pickle.loads(pickle.dumps(e))
    assert str(e2) == str(e) == "f.toml: policies[2].target: too big; allowed: [0, 1]"


# ============================================================================ directional
def _run(policies, seed, *, years=2.0, n=3_000, **params):
    from simulation import TerritoryModel

    m = TerritoryModel(map="synthetic", seed=seed, n_households=n, policies=policies, **params)
    return m, m.run(years=years)


def _last(res, name, months=12):
    return float(np.nanmean(res.map_values[name].iloc[-months:]))


def _tlast(res, name, months=12):
    return np.nanmean(res.territory_values[-months:, :, TERRITORY_MEASURES.index(name)], axis=0)


def test_broadband_rollout_raises_coverage_only_in_targets():
    pol = {"type": "broadband_rollout", "territories": {"kinds": ["rural"]}, "target": 1.0,
           "pace": 0.5}
    mb, _ = _run([], 4, years=1)
    mp, _ = _run([pol], 4, years=1)
    rural = mb.tmap.kind == 3
    assert np.all(mp.terr.broadband[rural] > mb.terr.broadband[rural]), \
        "expected higher coverage in every targeted (rural) territory"
    np.testing.assert_array_equal(mp.terr.broadband[~rural], mb.terr.broadband[~rural],
                                  err_msg="coverage must not change outside the targets")


@pytest.fixture(scope="module")
def services_runs():
    """No mediators and France Services without advisers, so counters are the only help;
    arms: none, counters closed, counters closed + digital mediators; 3 seeds."""
    close = {"type": "public_counters", "change": -1.0, "which": ["tax", "social"]}
    med = {"type": "digital_mediators", "per_10k_households": 20}
    kw = dict(mediators_initial=0.0, france_services_caseload=0.0, years=3, n=8_000)
    out = {"none": [], "closed": [], "closed+mediators": []}
    for seed in (1, 2, 3):
        out["none"].append(_run([], seed, **kw)[1])
        out["closed"].append(_run([close], seed, **kw)[1])
        out["closed+mediators"].append(_run([close, med], seed, **kw)[1])
    return out


def test_closing_counters_raises_non_take_up_of_low_literacy(services_runs):
    a = np.mean([_last(r, "non_take_up_low_literacy", 24) for r in services_runs["none"]])
    b = np.mean([_last(r, "non_take_up_low_literacy", 24) for r in services_runs["closed"]])
    assert b > a + 0.05, f"expected closing counters without mediators to raise non-take-up " \
                         f"among low-literacy households ({a:.3f} -> {b:.3f})"


def test_mediators_lower_non_take_up(services_runs):
    b = np.mean([_last(r, "non_take_up", 24) for r in services_runs["closed"]])
    c = np.mean([_last(r, "non_take_up", 24) for r in services_runs["closed+mediators"]])
    assert c < b, f"expected digital mediators to lower non-take-up ({b:.3f} -> {c:.3f})"


def test_france_services_raise_service_access():
    _, rb = _run([], 2, years=1)
    _, rp = _run([{"type": "france_services", "per_territory": 3}], 2, years=1)
    assert _last(rp, "service_access") > _last(rb, "service_access")


def test_platform_tax_raises_authorities_revenue():
    for seed in (1, 2):
        _, rb = _run([], seed)
        _, rp = _run([{"type": "platform_tax", "rate": 0.1}], seed)
        assert _last(rp, "local_tax_base") > _last(rb, "local_tax_base"), \
            "expected a tax on platform turnover to raise authorities' revenue per household"


def test_tiers_lieux_raise_seats_and_remote_access():
    pol = {"type": "tiers_lieux", "territories": {"kinds": ["rural"]}, "places": 10}
    mb, _ = _run([], 3, years=1)
    mp, _ = _run([pol], 3, years=1)
    rural = mb.tmap.kind == 3
    np.testing.assert_allclose(mp.terr.tiers_lieux[rural], mb.terr.tiers_lieux[rural] + 10)
    np.testing.assert_array_equal(mp.terr.tiers_lieux[~rural], mb.terr.tiers_lieux[~rural])

    def share(m):
        h = m.hh
        need = h.alive & h.remote_capable & (h.premise_u >= m.terr.broadband[h.home]) \
            & rural[h.home]
        return remote_access(m)[need].mean()

    assert share(mp) > share(mb), "expected more remote-capable rural households without " \
                                  "home broadband to reach a tiers-lieu seat"


def test_local_platform_gets_a_market_share():
    _, rb = _run([], 1, years=1)
    _, rp = _run([{"type": "local_platform"}], 1, years=1)
    assert _last(rb, "local_platform_share") == 0.0
    assert _last(rp, "local_platform_share") > 0.0


def test_platform_dependence_raises_global_share():
    _, rb = _run([], 1)
    _, rp = _run([{"type": "platform_dependence", "push": 1.0, "commission": 0.2}], 1)
    assert _last(rp, "global_platform_share") > _last(rb, "global_platform_share")


def test_new_deal_offers_are_taken_only_in_its_territories():
    """New-Deal offers are taken by movers into the targeted territories, and only there.

    (Its effect on rural net migration is within the noise on this small map: the offers
    are limited by real vacancies; the location-choice side is tested in test_new_deal.py.)
    """
    pol = {"type": "new_deal", "offers_per_year": 500, "territories": {"kinds": ["rural"]}}
    for seed in (1, 2):
        mb, _ = _run([], seed, years=1)
        mp, _ = _run([pol], seed, years=1)
        assert int((mb.hh.alive & (mb.hh.newdeal_months > 0)).sum()) == 0
        took = np.flatnonzero(mp.hh.alive & (mp.hh.newdeal_months > 0))
        assert took.size > 0, "expected some movers to take a New-Deal offer"
        assert np.all(mp.tmap.kind[mp.hh.home[took]] == 3), \
            "New-Deal takers must live in the targeted (rural) territories"


def test_equalisation_narrows_revenue_dispersion():
    _, r0 = _run([{"type": "equalisation", "level": 0.0}], 1)
    _, r1 = _run([{"type": "equalisation", "level": 1.0}], 1)

    def cv(r):
        x = _tlast(r, "local_tax_base")
        return x.std() / x.mean()

    assert cv(r1) < cv(r0), "expected full equalisation to narrow the dispersion of " \
                            "authorities' revenue per household"


def test_telework_norm_raises_telework_share():
    # below one day a week nobody counts as a teleworker; the norm lifts it to 3 days
    _, rb = _run([], 1, years=1, telework_days=0.5)
    _, rp = _run([{"type": "telework_norm", "days": 3.0}], 1, years=1, telework_days=0.5)
    assert _last(rp, "telework_share") > _last(rb, "telework_share") + 0.05


def test_observed_history_raises_coverage_and_opens_france_services():
    """Started in 2019, replaying the observed roll-out and labels gives more fibre and more
    France services houses 16 months later (April 2020) than the same start without it."""
    from simulation import TerritoryModel

    def run(pols):
        m = TerritoryModel(map="france-departements", seed=1, n_households=2_000,
                           start_year=2019, policies=pols)
        for _ in range(16):
            m.step()
        return m

    base = run([])
    hist = run([{"type": "observed_history"}])
    assert hist.terr.broadband.mean() > base.terr.broadband.mean() + 0.05
    assert hist.terr.france_services.sum() > 400 > base.terr.france_services.sum()


def test_every_policy_type_has_a_directional_test():
    import inspect
    import sys

    src = inspect.getsource(sys.modules[__name__])
    for typ in POLICY_TYPES:
        assert f'"type": "{typ}"' in src, f"no directional test for {typ}"


def test_local_platform_commissions_are_per_territory():
    """Two cooperatives with their own commissions keep them; ending one leaves the other."""
    from simulation import TerritoryModel

    m = TerritoryModel(map="synthetic", seed=3, n_households=3_000, policies=[
        {"type": "local_platform", "territories": {"codes": ["C01"]}, "commission": 0.02},
        {"type": "local_platform", "territories": {"codes": ["C02"]}, "commission": 0.20,
         "end": 0.5},
    ])
    k1, k2 = m.tmap.codes.index("C01"), m.tmap.codes.index("C02")
    base = m.p.local_commission
    for _ in range(3):
        m.step()
    c = m.local_commission()
    assert c[k1] == 0.02 and c[k2] == 0.20 and c[0] == base
    # each cooperative keeps its own commission on its sales: payouts = (1 - c) x purchases
    L = m.ledger
    bought = L.vec("local_platform_purchases")
    paid = L.vec("local_platform_payouts")
    for k, rate in ((k1, 0.02), (k2, 0.20)):
        assert bought[k] > 0
        assert paid[k] == pytest.approx((1 - rate) * bought[k], rel=1e-12)
    for _ in range(6):  # past the second policy's end (6 months)
        m.step()
    c = m.local_commission()
    assert c[k1] == 0.02 and c[k2] == base
