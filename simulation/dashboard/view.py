"""The page view: everything the page draws for one session, computed without a browser.

:func:`build_view` turns a :class:`~simulation.dashboard.state.Session` and the view options into
the map (colours, legend, hover rows), the charts and the log rows.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.dashboard import i18n
from simulation.dashboard.charts import _esc, chart_svg, legend_html
from simulation.dashboard.i18n import t
from simulation.dashboard.mapdraw import ColourScale, colour_scale
from simulation.dashboard.state import (
    DEFAULT_CHARTS,
    DEFAULT_MAP_MEASURE,
    DIVERGING_AT,
    MIN_AGENTS,
    STEPS_PER_YEAR,
    Run,
    Session,
    log_rows,
)
from simulation.engine.measures import MEASURES
from simulation.world.maps import KINDS


def map_scale(session: Session, measure: str, mode: str, runs: Sequence[Run]
              ) -> tuple[list[np.ndarray], list[ColourScale]]:
    """Values and colour scales (one shared range) for the maps of ``runs`` (side by side)."""
    vals = [session.map_values(measure, r, mode) for r in runs]
    few = [session.few_agents(r) for r in runs]
    if mode in ("diff", "branch"):
        fin = np.concatenate([v[np.isfinite(v) & ~f] for v, f in zip(vals, few, strict=True)])
        half = float(np.quantile(np.abs(fin), 0.98)) if fin.size else 0.0
        floor = 1e-3 if MEASURES[measure].unit.startswith("share") else 1e-6
        half = max(half, floor)
        return vals, [colour_scale(v, -half, half, center=0.0, measure=measure, uncertain=f)
                      for v, f in zip(vals, few, strict=True)]
    lo, hi = session.value_range(measure, runs)
    center = DIVERGING_AT.get(measure)
    log = measure == "choice_index"
    return vals, [colour_scale(v, lo, hi, center=center, log=log, measure=measure,
                               uncertain=f) for v, f in zip(vals, few, strict=True)]


# ------------------------------------------------------------------------------- page view
HOVER_MEASURES: tuple[str, ...] = (
    "attractiveness", "population_change", "mean_income", "local_value_captured",
    "non_take_up", "broadband_coverage",
)  # fmt: skip


@dataclass(frozen=True)
class ViewOptions:
    """What the page shows (chosen in the page; one per browser tab)."""

    lang: str = i18n.DEFAULT_LANG
    measure: str = DEFAULT_MAP_MEASURE
    mode: str = "value"
    charts: tuple[str, ...] = DEFAULT_CHARTS


@dataclass
class MapView:
    """One map of the page (the live run, or the compared branch)."""

    key: str
    title: str
    measure: str
    step: int
    fills: list[str]
    names: list[str]
    row_labels: list[str]
    rows: list[list[str]]
    legend: dict[str, Any]


@dataclass
class PageView:
    """Everything the page draws for one step, computed under the session's lock."""

    step: int
    counter: str
    maps: list[MapView]
    charts: list[tuple[str, str]]
    chart_legend: str
    figures: str
    log: list[dict[str, Any]]


@functools.cache
def _titles(name: str) -> tuple[str, str]:
    from simulation.dashboard.state import load_scenario

    try:
        sc = load_scenario(name)
    except Exception:  # a broken file is reported when it is picked, not in the list
        return name, name
    return sc.title("fr"), sc.title("en")


def scenario_title(name: str, lang: str) -> str:
    """The title of built-in scenario ``name`` in ``lang``, for the scenario picker.

    Example: "Fermeture des guichets publics" for ``office_closures`` in French; the name
    when the file has no title or cannot be read.
    """
    fr, en = _titles(name)
    return fr if lang == "fr" else en


def territory_names(session: Session) -> list[str]:
    """"Creuse (23)": the name and code of every territory (hover box, tooltips)."""
    tm = session.tmap
    return [f"{n} ({c})" for n, c in zip(tm.names, tm.codes, strict=True)]


def month_text(step: int, lang: str) -> str:
    """"Month 14 (year 2, month 2)" in ``lang``."""
    head = t("month_counter", lang, step=step)
    if step < STEPS_PER_YEAR:
        return head
    year, month = divmod(step, STEPS_PER_YEAR)
    return f"{head} · {t('year_counter', lang, year=year, month=month)}"


def _legend(measure: str, mode: str, scale: ColourScale, all_nan: bool, lang: str,
            window: int = 1, n_few: int = 0) -> dict[str, Any]:
    unit = MEASURES[measure].unit
    label = i18n.measure_label(measure, lang)
    if mode in ("diff", "branch"):
        title = f"{label} — {t('mode_diff' if mode == 'diff' else 'mode_branch', lang)}"
        left, right = t("legend_lower", lang), t("legend_higher", lang)
    else:
        title = label
        left, right = t("legend_less", lang), t("legend_more", lang)
    fmt = i18n.fmt_diff if mode in ("diff", "branch") else i18n.fmt_value
    mid = fmt(scale.center, unit, lang) if scale.diverging else ""
    if mode in ("diff", "branch") or scale.diverging:
        good = MEASURES[measure].good
        if good == "higher":
            left, right = t("legend_worse", lang), t("legend_better", lang)
        elif good == "lower":
            left, right = t("legend_better", lang), t("legend_worse", lang)
    notes = [t("no_data_yet", lang)] if all_nan else []
    if window > 1:
        notes.append(t("legend_smoothed", lang, months=window))
    if n_few:
        notes.append(t("legend_few_agents", lang, n=n_few, min=MIN_AGENTS))
    return {"title": title, "stops": scale.stops,
            "lo": fmt(scale.lo, unit, lang), "hi": fmt(scale.hi, unit, lang),
            "mid": mid, "left": left, "right": right,
            "note": " · ".join(notes), "unit": unit}


def _hover_rows(session: Session, run: Run, measure: str, lang: str
                ) -> tuple[list[str], list[list[str]]]:
    """Labels (shared) and formatted values per territory for the map's hover box."""
    tm = session.tmap
    s = session.steps
    shown = [measure, *[m for m in HOVER_MEASURES if m != measure]]
    now = {m: run.territory_values(m, s, window=session.window(m)) for m in shown}
    base = None
    if session.has_choices():
        base = session.baseline_run().territory_values(measure, s,
                                                       window=session.window(measure))
    few = session.few_agents(run)
    labels = [t("kind", lang), t("population", lang), i18n.measure_label(measure, lang)]
    if base is not None:
        labels.append(f"  {t('baseline', lang)}")
    labels += [i18n.measure_label(m, lang) for m in shown[1:]]
    kinds = [i18n.kind_label(k, lang, plural=False) for k in KINDS]
    units = {m: MEASURES[m].unit for m in shown}
    pops = [i18n.fmt_number(float(x), lang, 0) for x in tm.population]
    cols = {m: [i18n.fmt_value(float(v), units[m], lang) for v in now[m]] for m in shown}
    basecol = ([i18n.fmt_value(float(v), units[measure], lang) for v in base]
               if base is not None else None)
    rows = []
    for i in range(tm.n):
        main = cols[measure][i] + (f" ({t('few_agents', lang)})" if few[i] else "")
        r = [kinds[int(tm.kind[i])], pops[i], main]
        if basecol is not None:
            r.append(basecol[i])
        r += [cols[m][i] for m in shown[1:]]
        rows.append(r)
    return labels, rows


def _figures_html(session: Session, measures: Sequence[str], lang: str) -> str:
    br = session.compared()
    head = [i18n.t("headline", lang), t("now", lang)]
    if session.has_choices():
        head += [t("baseline", lang), t("difference", lang)]
    if br is not None:
        head.append(t("branch_title", lang, name=br.name))
    out = [f'<table class="tn-figures" data-step="{session.steps}"><thead><tr>']
    out += [f"<th>{_esc(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for m in measures:
        ser = session.series(m)
        unit = MEASURES[m].unit
        v = float(ser["live"][-1])
        cells = [f'<td class="tn-fig-label">{_esc(i18n.measure_label(m, lang))}</td>',
                 f'<td class="tn-num" data-measure="{m}" data-value="{v!r}">'
                 f'{_esc(i18n.fmt_value(v, unit, lang))}</td>']
        if "baseline" in ser:
            b = float(ser["baseline"][-1])
            dtext = i18n.fmt_diff(v - b, unit, lang)
            cells.append(f'<td class="tn-num tn-base" data-base-measure="{m}" '
                         f'data-value="{b!r}">{_esc(i18n.fmt_value(b, unit, lang))}</td>')
            cells.append(f'<td class="tn-num tn-diff">{_esc(dtext)}</td>')
        if "branch" in ser:
            bv = float(ser["branch"][-1])
            cells.append(f'<td class="tn-num tn-branch" data-branch-measure="{m}" '
                         f'data-value="{bv!r}">{_esc(i18n.fmt_value(bv, unit, lang))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def build_view(session: Session, opts: ViewOptions) -> PageView:
    """Compute the page for the session's current month (thread-safe)."""
    lang = opts.lang
    with session.lock:
        tm = session.tmap
        runs = [session.live]
        br = session.compared()
        if br is not None:
            runs.append(br.run)
        mode = opts.mode if session.has_choices() or br is not None else "value"
        if mode == "diff" and not session.has_choices() or mode == "branch" and br is None:
            mode = "value"
        if mode == "branch":  # one map: live minus the compared branch
            runs = [session.live]
        vals, scales = map_scale(session, opts.measure, mode, runs)
        names = [f"{n} ({c})" for n, c in zip(tm.names, tm.codes, strict=True)]
        maps = []
        for k, run in enumerate(runs):
            key = "live" if k == 0 else "branch"
            title = t("live_title", lang) if k == 0 else t("branch_title", lang, name=br.name)
            if mode == "branch":
                key, title = "branch_diff", t("branch_diff_title", lang, name=br.name)
            all_nan = not np.isfinite(vals[k]).any()
            labels, rows = _hover_rows(session, run, opts.measure, lang)
            n_few = int(session.few_agents(run).sum())
            maps.append(MapView(key, title, opts.measure, session.steps, scales[k].fills,
                                names, labels, rows,
                                _legend(opts.measure, mode, scales[k], all_nan, lang,
                                        session.window(opts.measure), n_few)))
        marks = session.choice_steps()
        charts = [(m, chart_svg(m, session.series(m), marks, lang,
                                branch_name=br.name if br else ""))
                  for m in opts.charts]
        return PageView(session.steps, month_text(session.steps, lang), maps, charts,
                        legend_html(session, lang, br.name if br else ""),
                        _figures_html(session, opts.charts, lang), log_rows(session, lang))
