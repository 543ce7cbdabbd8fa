"""Tests of simulation.reports.maps: choropleths of real and synthetic maps."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from simulation.reports import style
from simulation.reports.maps import (
    TERRITORY_GID,
    UNCERTAIN_GID,
    geometry_path,
    plot_choropleth,
)
from simulation.world.maps import core_periphery, load_map


def territory_collection(fig):
    found = [c for ax in fig.axes for c in ax.collections if c.get_gid() == TERRITORY_GID]
    assert len(found) == 1, "exactly one collection of territories"
    return found[0]


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


@pytest.mark.parametrize("name", ["france-departements", "france-regions"])
def test_choropleth_real_outlines(tmp_path, name):
    m = load_map(name)
    out = tmp_path / f"{name}.png"
    fig = plot_choropleth(m, m.broadband, title="FTTH coverage", label="share (0-1)", path=out)
    assert out.exists() and out.stat().st_size > 20_000
    coll = territory_collection(fig)
    assert len(coll.get_paths()) == m.n
    np.testing.assert_allclose(np.asarray(coll.get_array()), m.broadband)
    texts = [t.get_text() for t in fig.texts]
    assert any("IGN" in t for t in texts), "attribution printed on the figure"
    assert len(fig.axes) == 2, "map and colour bar"
    assert fig.axes[1].get_ylabel() == "share (0-1)"


def test_choropleth_synthetic_nodes(tmp_path):
    m = core_periphery(seed=3)
    out = tmp_path / "synthetic.png"
    fig = plot_choropleth(m, m.population, title="Population", label="persons", path=out)
    assert out.exists() and out.stat().st_size > 10_000
    coll = territory_collection(fig)
    assert len(coll.get_offsets()) == m.n
    np.testing.assert_allclose(coll.get_offsets(), np.column_stack([m.x_km, m.y_km]))
    edges = [c for c in fig.axes[0].collections if c is not coll]
    assert len(edges) == 1 and len(edges[0].get_segments()) == m.graph.number_of_edges()


def test_diverging_is_centred_and_nan_is_allowed(tmp_path):
    m = load_map("france-regions")
    effect = np.linspace(-0.3, 0.1, m.n)
    effect[3] = np.nan
    fig = plot_choropleth(m, effect, title="Effect", label="pp", diverging=True)
    norm = territory_collection(fig).norm
    assert isinstance(norm, TwoSlopeNorm)
    assert norm.vcenter == 0 and norm.vmin == -norm.vmax == pytest.approx(-0.3)


@pytest.mark.parametrize("name", ["france-departements", "synthetic"])
def test_effect_map_robust_limit_and_hatched_uncertain(name):
    m = load_map(name) if name != "synthetic" else core_periphery(seed=3)
    effect = np.linspace(-1.0, 1.0, m.n)
    effect[0] = 40.0                           # an outlier
    unc = np.zeros(m.n, bool)
    unc[1:4] = True
    lim = style.robust_limit(effect)
    fig = plot_choropleth(m, effect, title="Effect", label="points", diverging=True,
                          cmap=style.effect_cmap("non_take_up"), limit=lim, uncertain=unc)
    norm = territory_collection(fig).norm
    assert norm.vmax == pytest.approx(lim)
    if m.n >= 20:
        assert norm.vmax < 40.0   # the outlier does not set the scale
    hatched = [c for ax in fig.axes for c in ax.collections if c.get_gid() == UNCERTAIN_GID]
    assert len(hatched) == 1 and hatched[0].get_hatch() == "////"
    n = len(hatched[0].get_paths()) if m.geometry else len(hatched[0].get_offsets())
    assert n == 3
    assert fig.axes[1].get_ylabel() == "points"
    with pytest.raises(ValueError, match="uncertain has 2 entries"):
        plot_choropleth(m, effect, title="x", label="x", uncertain=np.zeros(2, bool))


def test_draw_on_given_axes_and_bad_length():
    m = load_map("france-regions")
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_choropleth(m, m.amenity, title="t", label="l", ax=ax) is fig
    with pytest.raises(ValueError, match="13 territories"):
        plot_choropleth(m, np.ones(5), title="t", label="l")


def test_geometry_path_holes_and_parts():
    square = [[0, 0], [0, 2], [2, 2], [2, 0], [0, 0]]  # clockwise exterior
    hole = [[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [0.5, 1.5], [0.5, 0.5]]  # counter-clockwise hole
    island = [[3, 0], [4, 0], [4, 1], [3, 1], [3, 0]]
    p = geometry_path({"type": "MultiPolygon", "coordinates": [[square, hole], [island]]})
    assert (p.codes == MplPath.MOVETO).sum() == 3
    # render it: (Path.contains_point ORs sub-paths, so test the drawn pixels instead)
    fig = Figure(figsize=(4, 2), dpi=50)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.add_patch(PathPatch(p, facecolor="black", edgecolor="none"))
    ax.set_xlim(0, 4)
    ax.set_ylim(0, 2)
    ax.set_axis_off()
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())[:, :, 0]  # rows from the top

    def pixel(x, y):
        return img[int((2 - y) / 2 * img.shape[0]), int(x / 4 * img.shape[1])]

    assert pixel(0.2, 0.2) == 0 and pixel(3.5, 0.5) == 0, "parts are filled"
    assert pixel(1.0, 1.0) == 255, "the hole stays empty"
    assert pixel(3.5, 1.5) == 255, "outside stays empty"
    with pytest.raises(ValueError, match="Polygon, MultiPolygon"):
        geometry_path({"type": "Point", "coordinates": [0, 0]})
