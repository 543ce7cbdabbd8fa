"""Core model: API, Mesa integration, invariants, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation import TerritoryModel
from simulation.engine.agents.authority import Authority
from simulation.engine.agents.firm import Firm
from simulation.engine.agents.household import Household
from simulation.engine.agents.platform import Platform
from simulation.engine.measures import MEASURES, TERRITORY_MEASURES
from simulation.engine.params import PARAMS, ParameterError


def test_public_api_on_france(small_kwargs):
    model = TerritoryModel(map="france-departements", seed=1, **small_kwargs)
    res = model.run(years=0.5)
    df = res.to_df()
    assert list(df.columns) == ["scenario", "seed", "step", "year", "territory", "measure",
                                "value"]
    assert set(df["territory"]) == set(model.tmap.codes) | {"_map"}
    assert df["step"].max() == 6
    s = res.summary()
    assert len(s) == 1 and s["seed"].iloc[0] == 1
    assert 0 < s["gini"].iloc[0] < 1


def test_is_a_mesa_model_with_all_agent_types(synthetic_run):
    m, _ = synthetic_run
    import mesa

    assert isinstance(m, mesa.Model)
    types = set(m.agent_types)
    assert {Household, Firm, Authority, Platform} <= types
    hh = m.agents_by_type[Household]
    assert len(hh) == int(m.hh.alive.sum())
    one = hh.to_list()[0]
    assert one.territory in m.tmap.codes and 0 <= one.literacy <= 1
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == m.steps + 1 and "gini" in df.columns
    assert len(m.agents_by_type[Authority]) == m.K
    firms = m.agents_by_type[Firm]
    assert len(firms) == int(m.firms.alive.sum())


def test_unknown_and_out_of_range_parameters_are_clear_errors():
    with pytest.raises(ParameterError, match="unknown parameter 'global_comission'.*did you mean"):
        TerritoryModel(map="synthetic", global_comission=0.2)
    with pytest.raises(ParameterError, match=r"global_commission.*out of range.*\[0, 0.6\]"):
        TerritoryModel(map="synthetic", global_commission=0.9)
    with pytest.raises(ParameterError, match="must be a number"):
        TerritoryModel(map="synthetic", global_commission="high")
    with pytest.raises(ParameterError, match="seed"):
        TerritoryModel(map="synthetic", seed=-1)


def test_every_parameter_has_default_unit_range_and_labels():
    for p in PARAMS.values():
        assert p.unit is not None and p.label_en and p.label_fr and p.doc, p.name
        if p.kind != "bool":
            assert p.lo <= p.default <= p.hi, p.name
        assert p.source, p.name


def test_measures_in_range_every_step(synthetic_run):
    _, res = synthetic_run
    mv = res.map_values
    for name, meas in MEASURES.items():
        if name in mv.columns:
            col = mv[name].iloc[1:]
            assert col.notna().all(), name
            if meas.lo is not None:
                assert (col >= meas.lo - 1e-9).all(), name
            if meas.hi is not None:
                assert (col <= meas.hi + 1e-9).all(), name
    tv = res.territory_values[1:]
    for j, name in enumerate(TERRITORY_MEASURES):
        meas = MEASURES[name]
        col = tv[:, :, j]
        assert np.isfinite(col).all(), name
        if meas.lo is not None:
            assert (col >= meas.lo - 1e-6).all(), name
        if meas.hi is not None:
            assert (col <= meas.hi + 1e-6).all(), name


def test_population_conserved_except_documented_flows():
    m = TerritoryModel(map="synthetic", seed=5, n_households=2_000)
    for _ in range(24):
        before = np.bincount(m.hh.home[m.hh.alive], minlength=m.K)
        m.step()
        after = np.bincount(m.hh.home[m.hh.alive], minlength=m.K)
        c = m.counters
        expected = (before - c["dissolutions"] + c["formations"] + c["moves_in"]
                    - c["moves_out"])
        assert np.array_equal(after, expected), "population changed by an undocumented flow"
        assert c["moves_in"].sum() == c["moves_out"].sum()


def test_same_seed_same_output_different_seed_different():
    a = TerritoryModel(map="synthetic", seed=7, n_households=1_500).run(years=1).to_df()
    b = TerritoryModel(map="synthetic", seed=7, n_households=1_500).run(years=1).to_df()
    c = TerritoryModel(map="synthetic", seed=8, n_households=1_500).run(years=1).to_df()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["value"].fillna(0).to_numpy(),
                           c["value"].fillna(0).to_numpy())


def test_named_streams_isolate_processes():
    """Drawing more from one stream leaves the others' sequences untouched."""
    from simulation.engine.rng import Streams

    s1, s2 = Streams(11), Streams(11)
    s1["relocation"].random(1000)
    assert np.array_equal(s1["labour"].random(5), s2["labour"].random(5))
    assert not np.array_equal(Streams(11)["labour"].random(5), Streams(11)["firms"].random(5))


def test_mesa_batch_run_works():
    import mesa

    out = mesa.batch_run(TerritoryModel, parameters={"map": "synthetic", "n_households": 800},
                         rng=[1, 2], max_steps=3, number_processes=1,
                         display_progress=False)
    df = pd.DataFrame(out)
    assert len(df) == 2 and "gini" in df.columns
    assert df["gini"].between(0, 1).all()


def test_household_weight_documented_and_consistent():
    m = TerritoryModel(map="france-departements", seed=1, n_households=10_000)
    real = m.tmap.households.sum()
    assert m.household_weight == pytest.approx(real / 10_000)
    assert m.map_measures["households"] == pytest.approx(real, rel=1e-9)
