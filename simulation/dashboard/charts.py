"""Charts of the dashboard: measures over time as SVG, their legend, and a PNG export."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np

from simulation.dashboard import i18n
from simulation.dashboard.i18n import t
from simulation.dashboard.state import DEFAULT_CHARTS, Session, scenario_title
from simulation.engine.measures import MEASURES

# ------------------------------------------------------------------------------- charts (SVG)
COLORS = {"live": "#1d5fbf", "baseline": "#7a7a7a", "branch": "#e07000"}


DASH = {"live": "", "baseline": "7 5", "branch": ""}


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _esc(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _tick_text(v: float, unit: str, lang: str, step: float) -> str:
    """Tick label with just enough decimals for the tick spacing ``step``."""
    if unit.startswith("share"):
        v, step = 100 * v, 100 * step
        suffix = "%"
    else:
        suffix = ""
    a = max(abs(v), abs(step))
    if not suffix and a >= 1e6:
        return i18n.fmt_number(v / 1e6, lang, max(0, -math.floor(math.log10(step / 1e6)))) + "M"
    if not suffix and a >= 1e4:
        return i18n.fmt_number(v / 1e3, lang, max(0, -math.floor(math.log10(step / 1e3)))) + "k"
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 2
    return i18n.fmt_number(v, lang, min(digits, 4)) + suffix


def _title_size(title: str, width: int, big: bool = False) -> str:
    """A smaller font for long chart titles, so that they leave room for the value.

    Presentation charts (``big``) never go below :data:`BIG_FONT` px: their title wraps
    instead (see :func:`_title_lines`).
    """
    if big:
        return ""
    room = width - 78  # the current value sits at the right of the title line
    size = min(16.0, room / (0.56 * max(len(title), 1)))
    return "" if size >= 16.0 else f' style="font-size: {size:.1f}px"'


BIG_FONT = 18.0
"""Smallest text of the presentation charts, in px at a scale of 1 (the page keeps them at
least as wide as their viewBox, so that the text is at least this size on screen)."""


def _title_lines(title: str, width: int) -> list[str]:
    """The title of a presentation chart on one line, or two when it would hit the value."""
    room = width - 120
    if 0.56 * 20 * len(title) <= room:
        return [title]
    words = title.split(" ")
    best = [title]
    for k in range(1, len(words)):
        a, b = " ".join(words[:k]), " ".join(words[k:])
        if 0.56 * 20 * len(a) <= room:
            best = [a, b]
    return best


def chart_svg(measure: str, series: dict[str, np.ndarray], marks: Sequence[int], lang: str,
              *, branch_name: str = "", width: int = 320, height: int = 200,
              big: bool = False) -> str:
    """A line chart of one map-level measure over months (inline SVG).

    Args:
        measure: the measure's name (title and unit from its declaration).
        series: "live", optionally "baseline" and "branch": one value per month.
        marks: months at which a choice took effect (small triangles on the x axis).
        lang: "fr" or "en".
        branch_name: name of the compared branch (legend).
        width: SVG width in px.
        height: SVG height in px.
        big: presentation chart: every text at least :data:`BIG_FONT` px (class
            ``tn-chart-big``), margins to fit them.
    """
    m = MEASURES[measure]
    live = series["live"]
    n = len(live)
    step = n - 1
    left, right, top, bottom = (78, 12, 34, 42) if big else (48, 10, 34, 28)
    title = f"{i18n.measure_label(measure, lang)}"
    lines = _title_lines(title, width) if big else [title]
    top += 22 * (len(lines) - 1)
    pw, ph = width - left - right, height - top - bottom
    allv = np.concatenate([np.asarray(v, float) for v in series.values()])
    fin = allv[np.isfinite(allv)]
    if fin.size:
        lo, hi = float(fin.min()), float(fin.max())
        span = hi - lo
        pad = span * 0.08 if span > 0 else max(abs(hi) * 0.02, 1e-3)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = 0.0, 1.0
    xmax = max(12, step)

    def px(i: float) -> float:
        return left + pw * i / xmax

    def py(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    cls = "tn-chart tn-chart-big" if big else "tn-chart"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" class="{cls}" data-chart="{measure}" data-step="{step}" '
           f'data-last="{float(live[-1])!r}" role="img" aria-label="{_esc(title)}">']
    for k, line in enumerate(lines):
        out.append(f'<text x="2" y="{20 + 22 * k}" class="tn-chart-title"'
                   f'{_title_size(title, width, big)}>{_esc(line)}</text>')
    ticks = _nice_ticks(lo, hi, 2 if big else 4)
    tstep = ticks[1] - ticks[0] if len(ticks) > 1 else abs(hi - lo) or 1.0
    for v in ticks:
        y = py(v)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e3e3e3" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + (6 if big else 4):.1f}" text-anchor="end" '
                   f'class="tn-tick">{_esc(_tick_text(v, m.unit, lang, tstep))}</text>')
    years = xmax > 36
    tick_step = 12 * max(1, math.ceil(xmax / 12 / 6)) if years else (6 if xmax > 12 else 3)
    if big:  # fewer x ticks, so that 18 px labels never touch
        tick_step = max(tick_step, 12 * math.ceil(xmax / 12 / 4) if years else tick_step)
    for i in range(0, xmax + 1, tick_step):
        lab = str(i // 12) if years else str(i)
        out.append(f'<text x="{px(i):.1f}" y="{top + ph + (21 if big else 17)}" '
                   f'text-anchor="middle" class="tn-tick">{lab}</text>')
    unit_x = t("months_axis", lang) if not years else ("ans" if lang == "fr" else "years")
    if big:
        out.append(f'<text x="{left}" y="{height - 2}" text-anchor="start" '
                   f'class="tn-axis">{unit_x}</text>')
    else:
        out.append(f'<text x="{left + pw}" y="{height - 1}" text-anchor="end" '
                   f'class="tn-axis">{unit_x}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" '
               f'stroke="#999"/>')
    for s in marks:
        if 0 <= s <= xmax:
            x = px(s)
            out.append(f'<path d="M{x - 6:.1f} {top + ph + 1}L{x + 6:.1f} {top + ph + 1}'
                       f'L{x:.1f} {top + ph - 9}Z" fill="#c62828" class="tn-mark"/>')
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" '
                       f'stroke="#c62828" stroke-width="1" stroke-dasharray="2 3"/>')
    for key in ("baseline", "branch", "live"):
        if key not in series:
            continue
        vals = np.asarray(series[key], dtype=float)
        segs, cur = [], []
        for i, v in enumerate(vals):
            if math.isfinite(v):
                cur.append(f"{px(i):.1f},{py(v):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        w = 3 if key == "live" else 2.5
        for seg in segs:
            pts = " ".join(seg) if len(seg) > 1 else f"{seg[0]} {seg[0]}"
            dash = f' stroke-dasharray="{DASH[key]}"' if DASH[key] else ""
            out.append(f'<polyline class="tn-line-{key}" points="{pts}" fill="none" '
                       f'stroke="{COLORS[key]}" stroke-width="{w}"{dash} '
                       f'stroke-linejoin="round" stroke-linecap="round"/>')
    last = live[-1]
    if math.isfinite(last):
        out.append(f'<circle cx="{px(step):.1f}" cy="{py(last):.1f}" r="4" '
                   f'fill="{COLORS["live"]}"/>')
        out.append(f'<text x="{width - right}" y="20" text-anchor="end" class="tn-chart-now">'
                   f'{_esc(i18n.fmt_value(float(last), m.unit, lang))}</text>')
    out.append("</svg>")
    return "".join(out)


def legend_html(session: Session, lang: str, branch_name: str = "") -> str:
    """The legend of the charts' lines."""
    items = [("live", t("series_live", lang))]
    if session.baseline is not None:
        items.append(("baseline", t("series_baseline", lang)))
    if branch_name:
        items.append(("branch", t("series_branch", lang, name=branch_name)))
    parts = []
    for key, label in items:
        dash = f' stroke-dasharray="{DASH[key]}"' if DASH[key] else ""
        parts.append(f'<span class="tn-legend-item"><svg width="34" height="12">'
                     f'<line x1="2" x2="32" y1="6" y2="6" stroke="{COLORS[key]}" '
                     f'stroke-width="3"{dash}/></svg>{_esc(label)}</span>')
    if session.choice_steps():
        parts.append('<span class="tn-legend-item"><svg width="16" height="12">'
                     '<path d="M2 11L14 11L8 1Z" fill="#c62828"/></svg>'
                     f'{_esc(t("choice_marker", lang))}</span>')
    return f'<div class="tn-legend">{"".join(parts)}</div>'


def charts_png(session: Session, measures: Sequence[str], lang: str) -> bytes:
    """The charts as one PNG figure (matplotlib, Agg; no window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    measures = list(measures) or list(DEFAULT_CHARTS)
    ncol = 3 if len(measures) > 4 else 2
    nrow = math.ceil(len(measures) / ncol)
    fig = Figure(figsize=(5.2 * ncol, 3.4 * nrow + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    br = session.compared()
    labels = {"live": t("series_live", lang), "baseline": t("series_baseline", lang),
              "branch": t("series_branch", lang, name=br.name) if br else ""}
    for k, name in enumerate(measures):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        ser = session.series(name)
        for key in ("baseline", "branch", "live"):
            if key in ser:
                ax.plot(np.arange(len(ser[key])), ser[key], color=COLORS[key],
                        lw=2.4 if key == "live" else 2.0,
                        ls="--" if key == "baseline" else "-", label=labels[key])
        for s in session.choice_steps():
            ax.axvline(s, color="#c62828", lw=0.8, ls=":")
        m = MEASURES[name]
        ax.set_title(i18n.measure_label(name, lang), fontsize=12)
        ax.set_ylabel(m.unit, fontsize=9)
        ax.set_xlabel(t("months_axis", lang), fontsize=9)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8)
    sc_title = scenario_title(session.scenario, lang)
    fig.suptitle(f"Terrinum — {sc_title} — {t('month_counter', lang, step=session.steps)} "
                 f"({session.map_name}, {t('seed', lang, seed=session.seed)})", fontsize=13)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    return buf.getvalue()


def export_charts_png(session: Session, measures: Sequence[str], lang: str) -> bytes:
    """PNG of the charts (live, baseline, compared branch) in ``lang``, under the session lock."""
    with session.lock:
        return charts_png(session, measures, lang)
