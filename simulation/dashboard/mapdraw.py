"""The map of the dashboard: territory outlines as SVG paths, and colour scales.

Built-in French maps are drawn from their real outlines (simplified, with an inset for Paris
and its inner ring); other maps as nodes at their coordinates with their links.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.world.maps import TerritoryMap


# ------------------------------------------------------------------------------- map layout
@dataclass(frozen=True)
class MapLayout:
    """Everything needed to draw a map in SVG (computed once per map, shared read-only).

    Attributes:
        name: map name.
        viewbox: SVG viewBox.
        shapes: per territory (outline maps): ``{"i", "code", "d"}`` path data.
        nodes: per territory (node maps): ``{"i", "code", "x", "y", "r"}``.
        circles: population circles (outline maps): ``{"i", "x", "y", "r"}``.
        links: transport links: ``{"x1", "y1", "x2", "y2", "sea"}``.
        labels: ``{"i", "x", "y", "text", "size"}``.
        inset: a zoomed box for small territories (Paris area), or None.
        attribution: source of the outlines or description of the map.
    """

    name: str
    viewbox: str
    width: float
    height: float
    shapes: tuple[dict, ...]
    nodes: tuple[dict, ...]
    circles: tuple[dict, ...]
    links: tuple[dict, ...]
    labels: tuple[dict, ...]
    inset: dict | None
    attribution: str

    def as_props(self) -> dict[str, Any]:
        """Plain lists and dicts for the page."""
        return {"viewbox": self.viewbox, "shapes": list(self.shapes), "nodes": list(self.nodes),
                "circles": list(self.circles), "links": list(self.links),
                "labels": list(self.labels), "inset": self.inset}


INSET_CODES = ("75", "92", "93", "94")


MAP_WIDTH = 1000.0


def _rings(geometry: dict) -> list[list[np.ndarray]]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[np.asarray(r, dtype=float)[:, :2] for r in poly] for poly in polys]


def _decimate(pts: np.ndarray, tol: float) -> np.ndarray:
    keep = [0]
    last = pts[0]
    for i in range(1, len(pts) - 1):
        if abs(pts[i, 0] - last[0]) + abs(pts[i, 1] - last[1]) >= tol:
            keep.append(i)
            last = pts[i]
    keep.append(len(pts) - 1)
    return pts[keep]


def _path_d(rings: list[np.ndarray], tol: float = 0.8) -> str:
    parts = []
    for r in rings:
        pts = _decimate(r, tol) if len(r) > 8 else r
        if len(pts) < 3:
            continue
        coords = " ".join(f"{x:.1f} {y:.1f}" for x, y in pts)
        parts.append(f"M{coords}Z")
    return "".join(parts)


def _ring_centroid(r: np.ndarray) -> tuple[float, float, float]:
    x, y = r[:, 0], r[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    a = cross.sum() / 2.0
    if abs(a) < 1e-12:
        return float(x.mean()), float(y.mean()), 0.0
    cx = ((x + x1) * cross).sum() / (6 * a)
    cy = ((y + y1) * cross).sum() / (6 * a)
    return float(cx), float(cy), abs(float(a))


_LAYOUTS: dict[tuple, MapLayout] = {}


_LAYOUT_LOCK = threading.Lock()


def map_layout(tmap: TerritoryMap) -> MapLayout:
    """The SVG layout of ``tmap`` (cached: it never changes during a run)."""
    key = (tmap.name, tuple(tmap.codes), tmap.geometry is not None)
    with _LAYOUT_LOCK:
        if key not in _LAYOUTS:
            _LAYOUTS[key] = (_outline_layout(tmap) if tmap.geometry else _node_layout(tmap))
        return _LAYOUTS[key]


def _outline_layout(tmap: TerritoryMap) -> MapLayout:
    geo = {c: _rings(tmap.geometry[c]) for c in tmap.codes}
    allpts = np.concatenate([r for c in tmap.codes for poly in geo[c] for r in poly])
    lon0, lat0 = allpts.min(axis=0)
    lon1, lat1 = allpts.max(axis=0)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    scale = (MAP_WIDTH - 20) / ((lon1 - lon0) * kx)
    pad = 10.0

    def proj(a: np.ndarray) -> np.ndarray:
        return np.column_stack([pad + (a[:, 0] - lon0) * kx * scale,
                                pad + (lat1 - a[:, 1]) * scale])

    height = (lat1 - lat0) * scale + 2 * pad
    shapes, labels, circles = [], [], []
    label_xy = np.zeros((tmap.n, 2))
    widths = np.zeros(tmap.n)
    for i, c in enumerate(tmap.codes):
        rings = []
        best = (0.0, 0.0, -1.0)
        for poly in geo[c]:
            pr = [proj(r) for r in poly]
            rings.extend(pr)
            cx, cy, area = _ring_centroid(pr[0])
            if area > best[2]:
                best = (cx, cy, area)
                widths[i] = _width_at(pr[0], cy)
        shapes.append({"i": i, "code": c, "d": _path_d(rings)})
        label_xy[i] = best[:2]
    cap = np.column_stack([tmap.lon, tmap.lat])
    cap_ok = np.isfinite(cap).all(axis=1)
    cap_xy = np.where(cap_ok[:, None], proj(np.nan_to_num(cap)), label_xy)
    pop = np.asarray(tmap.population, dtype=float)
    rmax = 48.0 if tmap.n <= 20 else 26.0
    radius = rmax * np.sqrt(pop / pop.max()) if pop.max() > 0 else np.full(tmap.n, 5.0)
    for i in range(tmap.n):
        circles.append({"i": i, "x": round(float(cap_xy[i, 0]), 1),
                        "y": round(float(cap_xy[i, 1]), 1), "r": round(float(radius[i]), 1)})
    big = tmap.n <= 20
    inset = None
    if not big and all(c in tmap._pos for c in INSET_CODES):
        inset = _inset(tmap, geo, proj)
    inset_set = set(INSET_CODES) if inset else set()
    for i, c in enumerate(tmap.codes):
        if c in inset_set:
            continue
        if big:
            lab = {"text": tmap.names[i], "lines": [tmap.names[i]], "size": 18}
        else:
            lab = name_label(tmap.names[i], c, widths[i])
        labels.append({"i": i, "x": round(float(label_xy[i, 0]), 1),
                       "y": round(float(label_xy[i, 1]), 1), **lab})
    links = _links(tmap, cap_xy)
    return MapLayout(tmap.name, f"0 0 {MAP_WIDTH:.0f} {height:.0f}", MAP_WIDTH, height,
                     tuple(shapes), (), tuple(circles), tuple(links), tuple(labels), inset,
                     tmap.attribution)


LABEL_MAX = 13.0
"""Largest font size of a territory's name on the map (SVG units; the map is 1000 wide)."""
LABEL_MIN = 7.0
"""Below this size a name would be unreadable: the territory's code is written instead."""
CHAR_WIDTH = 0.58
"""Mean glyph width of the label font, as a fraction of its size."""


def _width_at(ring: np.ndarray, y: float) -> float:
    """Width of the ring's widest horizontal chord near height ``y`` (SVG units)."""
    best = 0.0
    ys = ring[:, 1]
    for yy in (y, y - 6.0, y + 6.0):
        xs = []
        for k in range(len(ring) - 1):
            y0, y1 = ys[k], ys[k + 1]
            if (y0 - yy) * (y1 - yy) < 0:
                x0, x1 = ring[k, 0], ring[k + 1, 0]
                xs.append(x0 + (yy - y0) * (x1 - x0) / (y1 - y0))
        if len(xs) >= 2:
            best = max(best, float(max(xs) - min(xs)))
    if best <= 0:
        best = float(np.ptp(ring[:, 0])) if len(ring) else 0.0
    return best


def _split_name(name: str) -> list[str]:
    """The name on one line, or on two balanced lines cut at a hyphen or a space."""
    cuts = [k for k, ch in enumerate(name) if ch in "- " and 0 < k < len(name) - 1]
    if not cuts or len(name) <= 9:
        return [name]
    k = min(cuts, key=lambda k: abs(2 * k - len(name)))
    first = name[: k + 1] if name[k] == "-" else name[:k]
    return [first, name[k + 1:]]


def name_label(name: str, code: str, width: float) -> dict[str, Any]:
    """A territory's label: its name, on one or two lines, sized to fit ``width``.

    The name is written as large as fits (at most :data:`LABEL_MAX`); when even two lines
    would be smaller than :data:`LABEL_MIN` the code is written instead (the name stays in
    the hover box and the tooltip).

    Returns:
        ``{"text", "lines", "size"}``.
    """
    best: dict[str, Any] | None = None
    for lines in ([name], _split_name(name)):
        longest = max(len(x) for x in lines)
        size = min(LABEL_MAX, 0.92 * width / (CHAR_WIDTH * max(longest, 1)))
        if len(lines) > 1:
            size = min(size, LABEL_MAX * 0.9)
        if best is None or size > best["size"] + 0.5:
            best = {"text": name, "lines": lines, "size": round(float(size), 1)}
    assert best is not None
    if best["size"] < LABEL_MIN:
        return {"text": code, "lines": [code], "size": LABEL_MAX}
    return best


def _inset(tmap: TerritoryMap, geo: dict, proj: Any) -> dict:
    """A zoomed box (top left, over the sea) for the Paris area's small départements."""
    idx = [tmap.index(c) for c in INSET_CODES]
    proj_rings = {i: [proj(r) for poly in geo[tmap.codes[i]] for r in poly] for i in idx}
    pts = np.concatenate([r for i in idx for r in proj_rings[i]])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    box_w = 190.0
    k = box_w / (x1 - x0)
    box_h = (y1 - y0) * k
    ox, oy = 14.0, 14.0
    shapes = []
    labels = []
    for i in idx:
        rings = [np.column_stack([ox + (r[:, 0] - x0) * k, oy + (r[:, 1] - y0) * k])
                 for r in proj_rings[i]]
        shapes.append({"i": i, "code": tmap.codes[i], "d": _path_d(rings, tol=0.6)})
        cx, cy, _ = max((_ring_centroid(r) for r in rings), key=lambda q: q[2])
        main = max(rings, key=lambda r: _ring_centroid(r)[2])
        labels.append({"i": i, "x": round(cx, 1), "y": round(cy, 1),
                       **name_label(tmap.names[i], tmap.codes[i], _width_at(main, cy))})
    return {"x": ox - 4, "y": oy - 4, "w": round(box_w + 8, 1), "h": round(box_h + 8, 1),
            "shapes": shapes, "labels": labels,
            "mark": {"x": round(float(x0) - 2, 1), "y": round(float(y0) - 2, 1),
                     "w": round(float(x1 - x0) + 4, 1), "h": round(float(y1 - y0) + 4, 1)}}


def _links(tmap: TerritoryMap, xy: np.ndarray) -> list[dict]:
    out = []
    for u, v, data in tmap.graph.edges(data=True):
        i, j = tmap._pos[u], tmap._pos[v]
        out.append({"x1": round(float(xy[i, 0]), 1), "y1": round(float(xy[i, 1]), 1),
                    "x2": round(float(xy[j, 0]), 1), "y2": round(float(xy[j, 1]), 1),
                    "sea": data.get("kind") == "sea"})
    return out


def _node_layout(tmap: TerritoryMap) -> MapLayout:
    x = np.asarray(tmap.x_km, dtype=float)
    y = np.asarray(tmap.y_km, dtype=float)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    pad = 60.0
    scale = (MAP_WIDTH - 2 * pad) / span
    px = pad + (x - x.min()) * scale
    py = pad + (y.max() - y) * scale
    height = float(np.ptp(y)) * scale + 2 * pad
    pop = np.asarray(tmap.population, dtype=float)
    radius = 10 + 42 * np.sqrt(pop / pop.max()) if pop.max() > 0 else np.full(tmap.n, 16.0)
    nodes = tuple({"i": i, "code": c, "x": round(float(px[i]), 1), "y": round(float(py[i]), 1),
                   "r": round(float(radius[i]), 1)} for i, c in enumerate(tmap.codes))
    labels = tuple({"i": i, "x": round(float(px[i]), 1),
                    "y": round(float(py[i] + radius[i] + 14), 1), "text": c, "lines": [c],
                    "size": 14}
                   for i, c in enumerate(tmap.codes))
    links = tuple(_links(tmap, np.column_stack([px, py])))
    return MapLayout(tmap.name, f"0 0 {MAP_WIDTH:.0f} {height:.0f}", MAP_WIDTH, height, (),
                     nodes, (), links, labels, None, tmap.attribution)


# ------------------------------------------------------------------------------- colours
@functools.cache
def _lut(name: str) -> tuple[str, ...]:
    from matplotlib import colormaps

    cm = colormaps[name]
    return tuple("#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in cm(i / 255)[:3]))
                 for i in range(256))


@functools.cache
def effect_lut(measure: str) -> tuple[str, ...]:
    """256 colours of a diverging scale of ``measure``.

    Its fall colour, white, its rise colour (blue better, orange worse, purple/green for no
    good direction: :mod:`simulation.reports.style`).
    """
    from simulation.reports import style

    cm = style.effect_cmap(measure)
    return tuple("#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in cm(i / 255)[:3]))
                 for i in range(256))


NO_DATA = "#d0d0d0"
FEW_AGENTS = "#ececec"
"""Fill of a territory with too few household agents for its figure (state.MIN_AGENTS)."""


@dataclass(frozen=True)
class ColourScale:
    """A colour scale for a map: colours per territory and a legend.

    Attributes:
        fills: one CSS colour per territory.
        stops: colours of the legend bar, low to high.
        lo: value at the low end of the bar.
        hi: value at the high end.
        center: neutral value of a diverging scale (NaN for a sequential one).
        log: the bar is logarithmic (ratios such as attractiveness).
    """

    fills: list[str]
    stops: list[str]
    lo: float
    hi: float
    center: float
    log: bool = False

    @property
    def diverging(self) -> bool:
        """True for a scale centred on a neutral value."""
        return math.isfinite(self.center)


LOG_FLOOR = 0.05


def colour_scale(values: np.ndarray, lo: float, hi: float, *, center: float | None = None,
                 log: bool = False, measure: str | None = None,
                 uncertain: np.ndarray | None = None) -> ColourScale:
    """Colours for ``values`` on [lo, hi] (viridis), or diverging around ``center``.

    A diverging scale takes the good/bad colours of ``measure`` (:func:`effect_lut`; RdBu
    when no measure is given). Territories flagged ``uncertain`` get :data:`FEW_AGENTS`.

    Args:
        values: one value per territory (NaN gets :data:`NO_DATA` grey).
        lo: low end of the range.
        hi: high end of the range.
        center: neutral value: the scale becomes symmetric around it.
        log: positions on a log scale (for ratios; values floored at :data:`LOG_FLOOR`).
        measure: the measure drawn (its good direction colours a diverging scale).
        uncertain: one bool per territory drawn :data:`FEW_AGENTS` (too few agents).
    """
    vals = np.asarray(values, dtype=float)

    def tr(x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.log(np.maximum(x, LOG_FLOOR)) if log else x

    tv, tlo, thi = tr(vals), float(tr(lo)), float(tr(hi))
    if center is not None:
        tc = float(tr(center))
        half = max(abs(thi - tc), abs(tc - tlo), 1e-12)
        tlo, thi = tc - half, tc + half
        lut = effect_lut(measure) if measure is not None else _lut("RdBu")
    else:
        if thi <= tlo:
            tlo, thi = tlo - 0.5, thi + 0.5
        lut = _lut("viridis")
    pos = np.clip((tv - tlo) / (thi - tlo), 0, 1)
    idx = np.where(np.isfinite(pos), np.round(pos * 255), 0).astype(int)
    fills = [lut[k] if math.isfinite(v) else NO_DATA for k, v in zip(idx, vals, strict=True)]
    if uncertain is not None:
        fills = [FEW_AGENTS if u and f != NO_DATA else f
                 for f, u in zip(fills, np.asarray(uncertain, bool), strict=True)]
    stops = [lut[int(round(q * 255))] for q in np.linspace(0, 1, 9)]
    back = math.exp if log else float
    return ColourScale(fills, stops, back(tlo), back(thi),
                       float(center) if center is not None else float("nan"), log)
