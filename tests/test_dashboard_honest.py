"""The dashboard's honest figures: good/bad colours, smoothed flows, territories with too few
agents drawn as uncertain, and defaults large enough that a département is not 100 agents."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.dashboard import mapdraw as md
from simulation.dashboard import state as st
from simulation.dashboard import view as vw
from simulation.engine.measures import FLOW_MEASURES, TERRITORY_MEASURES
from simulation.reports import style


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@pytest.fixture(scope="module")
def small() -> st.Session:
    s = st.Session("baseline", households=3_000)   # about 30 agents a département
    for _ in range(14):
        s.step()
    return s


def test_diverging_colours_follow_each_measure_good_direction():
    v = np.array([-1.0, 0.0, 1.0])
    worse_up = md.colour_scale(v, -1, 1, center=0.0, measure="non_take_up").fills
    better_up = md.colour_scale(v, -1, 1, center=0.0, measure="service_access").fills
    # a rise of non-take-up is orange (worse), of access to counters blue (better)
    r, _g, b = _rgb(worse_up[2])
    assert r > b
    r, _g, b = _rgb(better_up[2])
    assert b > r
    assert worse_up[0] == better_up[2] and worse_up[2] == better_up[0]
    assert md.effect_lut("gini")[-1] == md.effect_lut("unemployment_rate")[-1]
    # end colours are the style module's (one declaration for reports and dashboard)
    assert md.effect_lut("service_access")[-1] == style.BETTER


def test_flows_are_mapped_as_a_stated_rolling_mean(small):
    m = "non_take_up"
    assert m in FLOW_MEASURES and small.window(m) == st.SMOOTH_MONTHS
    j = TERRITORY_MEASURES.index(m)
    hist = small.live.model._history_terr
    want = np.nanmean(np.stack([h[:, j] for h in hist[small.steps - 11: small.steps + 1]]),
                      axis=0)
    np.testing.assert_allclose(small.map_values(m), want)
    assert small.window("broadband_coverage") == 1        # a stock is shown as it is
    view = vw.build_view(small, vw.ViewOptions(lang="fr", measure=m))
    assert "moyenne des 12 derniers mois" in view.maps[0].legend["note"]


def test_territories_with_few_agents_are_drawn_uncertain(small):
    few = small.few_agents()
    agents = small.live.territory_values("households", small.steps) / \
        small.live.model.household_weight
    np.testing.assert_array_equal(few, agents < st.MIN_AGENTS)
    assert few.any() and not few.all()
    view = vw.build_view(small, vw.ViewOptions(lang="en", measure="non_take_up"))
    fills = np.asarray(view.maps[0].fills)
    assert (fills[few] == md.FEW_AGENTS).all() and (fills[~few] != md.FEW_AGENTS).all()
    assert f"{int(few.sum())} territor" in view.maps[0].legend["note"]
    i = int(np.flatnonzero(few)[0])
    assert "uncertain" in view.maps[0].rows[i][2]


def test_default_households_give_a_departement_hundreds_of_agents():
    from simulation.world.maps import load_map

    tm = load_map("france-departements")
    share = np.asarray(tm.population, float) / np.sum(tm.population)
    agents = share * st.DEFAULT_HOUSEHOLDS["france-departements"]
    assert np.median(agents) > 300 and np.quantile(agents, 0.1) >= st.MIN_AGENTS


def test_difference_map_colours_and_legend_say_better_or_worse():
    """Closing every rural counter lowers access to counters: on the difference map the rural
    territories take the 'worse' colour (orange), and the legend says which side is better."""
    s = st.Session("baseline", households=20_000)
    s.step(2)
    s.pull({"type": "public_counters", "change": -1.0, "which": ["tax", "social", "post"],
            "territories": {"kinds": ["rural"]}})
    s.step(3)
    view = vw.build_view(s, vw.ViewOptions(lang="fr", measure="service_access", mode="diff"))
    mv = view.maps[0]
    assert mv.legend["left"] == "moins bien" and mv.legend["right"] == "mieux"
    diff = s.map_values("service_access", mode="diff")
    few = s.few_agents()
    worse = np.flatnonzero((diff < -0.01) & ~few)
    assert worse.size
    for i in worse:
        r, _g, b = _rgb(mv.fills[i])
        assert r > b, f"{s.tmap.codes[i]}: a fall of access is drawn orange, got {mv.fills[i]}"
    # a measure whose rise is worse puts "worse" on the right
    view = vw.build_view(s, vw.ViewOptions(lang="en", measure="non_take_up", mode="diff"))
    assert view.maps[0].legend["right"] == "worse"
