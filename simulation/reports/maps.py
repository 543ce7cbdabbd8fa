"""Choropleth maps of per-territory values.

Built-in French maps are drawn with their real outlines (IGN Admin Express COG 2018 via
france-geojson, Licence Ouverte; the attribution is printed at the bottom of every figure). Maps
without outlines (synthetic and CSV maps) are drawn as nodes at ``(x_km, y_km)``, sized by
population, coloured by value, with their links as thin grey lines.

The module draws on a bare :class:`matplotlib.figure.Figure` with the Agg canvas: it never opens a
window, never touches pyplot's global state, and figures need no ``plt.close``.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede any pyplot import elsewhere in the process

import numpy as np  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection, PatchCollection  # noqa: E402
from matplotlib.colors import Colormap, Normalize, TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from simulation.world.maps import TerritoryMap  # noqa: E402

__all__ = ["plot_choropleth", "geometry_path", "TERRITORY_GID"]

TERRITORY_GID = "territories"
"""``gid`` of the collection holding one shape (or marker) per territory, in map order."""
UNCERTAIN_GID = "uncertain"
"""``gid`` of the hatched overlay of territories whose figure is uncertain."""


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def geometry_path(geometry: dict) -> MplPath:
    """One compound matplotlib path (lon, lat in degrees) for a GeoJSON Polygon or MultiPolygon.

    Exterior rings are oriented counter-clockwise and holes clockwise, so that holes stay empty
    under the non-zero fill rule.

    Args:
        geometry: a GeoJSON geometry dict of type ``Polygon`` or ``MultiPolygon``.

    Returns:
        A :class:`matplotlib.path.Path` with every part and hole.

    Raises:
        ValueError: for any other geometry type.
    """
    gtype = geometry.get("type")
    if gtype == "Polygon":
        polygons = [geometry["coordinates"]]
    elif gtype == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise ValueError(f"geometry type {gtype!r} not supported; allowed: Polygon, MultiPolygon")
    verts, codes = [], []
    for polygon in polygons:
        for r, ring in enumerate(polygon):
            pts = np.asarray(ring, dtype=float)[:, :2]
            if len(pts) < 3:
                continue
            if not np.array_equal(pts[0], pts[-1]):
                pts = np.vstack([pts, pts[:1]])
            ccw = _ring_area(pts) > 0
            if (r == 0) != ccw:  # exterior must be CCW, holes CW
                pts = pts[::-1]
            c = np.full(len(pts), MplPath.LINETO, dtype=MplPath.code_type)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(pts)
            codes.append(c)
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _norm(values: np.ndarray, diverging: bool, limit: float | None = None) -> Normalize:
    finite = values[np.isfinite(values)]
    if diverging:
        if limit is not None and limit > 0:
            return TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
        v = float(np.max(np.abs(finite))) if finite.size else 1.0
        v = v if v > 0 else 1.0
        return TwoSlopeNorm(vcenter=0.0, vmin=-v, vmax=v)
    if not finite.size:
        return Normalize(0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return Normalize(lo, hi)


def plot_choropleth(
    tmap: TerritoryMap,
    values: np.ndarray,
    *,
    title: str,
    label: str,
    path: str | Path | None = None,
    cmap: str | Colormap = "viridis",
    ax=None,
    diverging: bool = False,
    limit: float | None = None,
    uncertain: np.ndarray | None = None,
):
    """Draw one value per territory on the map.

    Args:
        tmap: the map.
        values: one value per territory (length ``tmap.n``, in map order); NaN is drawn grey.
        title: axes title.
        label: colour-bar label (say the unit, e.g. "share of premises (0-1)").
        path: if given, the figure is saved there (PNG, 150 dpi; format from the suffix).
        cmap: matplotlib colormap or its name; with ``diverging=True`` the default becomes
            ``"RdBu"`` (effects should pass :func:`simulation.reports.style.effect_cmap`).
        ax: an existing axes to draw on (its figure is returned); a new figure otherwise.
        diverging: centre the colour scale on 0 (for effects and differences).
        limit: with ``diverging``, the scale spans [-limit, limit] (values beyond take the
            end colours and the colour bar gets arrows); default: the largest absolute value.
        uncertain: boolean per territory; True territories are drawn faded and hatched
            (an effect not distinguishable from zero, or too few agents for the figure).

    Returns:
        The :class:`matplotlib.figure.Figure`. The territories' collection has ``gid``
        :data:`TERRITORY_GID` and one path (outlines) or one marker (node maps) per territory.

    Raises:
        ValueError: if ``values`` does not have one entry per territory.
    """
    vals = np.asarray(values, dtype=float).ravel()
    if vals.shape != (tmap.n,):
        raise ValueError(
            f"values has {vals.size} entries but map '{tmap.name}' has {tmap.n} territories"
        )
    if diverging and cmap == "viridis":
        cmap = "RdBu"
    base_cmap = colormaps[cmap] if isinstance(cmap, str) else cmap
    colormap = base_cmap.with_extremes(bad="0.8")  # NaN drawn light grey
    norm = _norm(vals, diverging, limit)
    extend = "neither"
    if diverging and limit is not None and np.isfinite(vals).any():
        beyond_hi = bool(np.nanmax(vals) > limit)
        beyond_lo = bool(np.nanmin(vals) < -limit)
        extend = {(True, True): "both", (True, False): "max",
                  (False, True): "min"}.get((beyond_hi, beyond_lo), "neither")
    unc = (np.zeros(tmap.n, bool) if uncertain is None
           else np.asarray(uncertain, dtype=bool).ravel())
    if unc.shape != (tmap.n,):
        raise ValueError(f"uncertain has {unc.size} entries but map '{tmap.name}' has "
                         f"{tmap.n} territories")
    masked = np.ma.masked_invalid(vals)

    if ax is None:
        fig = Figure(figsize=(7.0, 7.0) if tmap.geometry else (7.0, 6.0), layout="constrained")
        FigureCanvasAgg(fig)
        fig.get_layout_engine().set(rect=(0.0, 0.03, 1.0, 0.97))  # room for the attribution
        ax = fig.add_subplot()
    else:
        fig = ax.figure

    if tmap.geometry:
        paths = [geometry_path(tmap.geometry[c]) for c in tmap.codes]
        coll = PatchCollection(
            [PathPatch(p) for p in paths], cmap=colormap, norm=norm, edgecolor="white",
            linewidth=0.4,
        )  # fmt: skip
        coll.set_array(masked)
        coll.set_gid(TERRITORY_GID)
        ax.add_collection(coll)
        if unc.any():  # faded and hatched over the colour
            ax.add_collection(PatchCollection(
                [PathPatch(paths[i]) for i in np.flatnonzero(unc)], facecolor=(1, 1, 1, 0.55),
                edgecolor="0.45", hatch="////", linewidth=0.0, gid=UNCERTAIN_GID))
        allv = np.concatenate([p.vertices for p in paths])
        lo, hi = allv.min(axis=0), allv.max(axis=0)
        pad = 0.02 * (hi - lo)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        mean_lat = float(np.nanmean(tmap.lat)) if np.isfinite(tmap.lat).any() else 46.5
        ax.set_aspect(1.0 / math.cos(math.radians(mean_lat)))
        mappable = coll
    else:
        pos = {c: (tmap.x_km[i], tmap.y_km[i]) for i, c in enumerate(tmap.codes)}
        segs = [(pos[u], pos[v]) for u, v in tmap.graph.edges()]
        ax.add_collection(LineCollection(segs, colors="0.6", linewidths=0.6, zorder=1))
        pop = np.asarray(tmap.population, dtype=float)
        size = 20.0 + 600.0 * np.sqrt(pop / pop.max()) if pop.max() > 0 else np.full(tmap.n, 40.0)
        sc = ax.scatter(
            tmap.x_km, tmap.y_km, s=size, c=masked, cmap=colormap, norm=norm,
            edgecolors="0.2", linewidths=0.5, zorder=2, plotnonfinite=True,
        )  # fmt: skip
        sc.set_gid(TERRITORY_GID)
        if unc.any():
            ax.scatter(tmap.x_km[unc], tmap.y_km[unc], s=size[unc], facecolors=(1, 1, 1, 0.55),
                       edgecolors="0.45", hatch="////", linewidths=0.5, zorder=3,
                       gid=UNCERTAIN_GID)
        ax.set_aspect("equal")
        ax.margins(0.08)
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
        mappable = sc
    if tmap.geometry:
        ax.set_axis_off()
    ax.set_title(title)
    fig.colorbar(mappable, ax=ax, label=label, shrink=0.75, extend=extend)
    note = tmap.attribution or tmap.name
    if not tmap.geometry:
        note += " - marker area ~ population"
    fig.text(0.01, 0.005, note, fontsize=6, color="0.35", ha="left", va="bottom")
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    return fig
