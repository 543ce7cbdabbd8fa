"""Before / after and presentation mode: what the room sees, computed without a browser.

* :func:`month_year` gives the calendar date of a month of the run ("juillet 2029"): runs
  start on 1 January of ``model.start_year`` and month k is k months later.
* :func:`before_after` gives the three maps "reference | now | difference" of one measure,
  the two value maps on one shared scale, the difference on the good/bad colours of
  :mod:`simulation.reports.style` (:func:`simulation.dashboard.view.map_scale`).
* :func:`decision_summaries` writes, for each decision of the live run, a short text of what
  changed since it ("Depuis la fermeture des guichets (impôts) (mois 31) : accès aux guichets
  −13 points dans 34 départements ruraux ; non-recours : effet incertain").
* :func:`share` and :func:`find_shared` let a second browser tab show the presentation of
  a session that the facilitator drives from the first one.

**When a change is called "effet incertain"** (one live run has no replications; the rule of
docs/ODD.md 7.17, "Reading results"). For a decision and a measure, the territories are those
the decision applies to, without those holding fewer than ``style.MIN_AGENTS`` household
agents (the reports' rule). The change D is the household-weighted mean over them of the live
run's value minus the reference run's (the map's smoothing window w applied to both). The
run's own noise is s, the standard deviation of the reference's month-to-month changes of the
same mean over the last 12 months (raw monthly values). D is called an effect when
``|D| > 2 s / sqrt(w)``; otherwise, or when no territory has enough agents, or when fewer than
3 month-to-month changes exist, it is "effet incertain". A difference of exactly zero is "pas
de changement". Since the two runs share their seed, D is exactly zero until the decision
acts; later decisions on the same territories are included in D (it is the difference from
the reference, not a per-decision effect), and the text says so.
"""

from __future__ import annotations

import math
import secrets
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulation.dashboard import i18n
from simulation.dashboard.state import (
    CHART_CHOICES,
    DEFAULT_CHARTS,
    MAP_MEASURE_CHOICES,
    MIN_AGENTS,
    Choice,
    Run,
    Session,
)
from simulation.engine.measures import MAP_MEASURES, MEASURES, TERRITORY_MEASURES
from simulation.engine.policies import make_policy

MONTHS: dict[str, tuple[str, ...]] = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
NOISE_MONTHS = 12
"""Months of the reference run whose month-to-month changes measure the run's noise."""
NOISE_FACTOR = 2.0
"""A change is an effect when it exceeds this many noise standard deviations (see module)."""
MIN_NOISE_CHANGES = 3
"""Fewer month-to-month changes than this: too early to tell ("effet incertain")."""
PRESENT_CHARTS = 3
"""Charts shown in presentation mode."""


# ------------------------------------------------------------------------------- dates
def month_year(step: int, start_year: int, lang: str) -> str:
    """Calendar month of month ``step`` of a run starting 1 January ``start_year``.

    Example: ``month_year(78, 2023, "fr") == "juillet 2029"``.
    """
    if step < 0:
        raise ValueError(f"month {step}: months of a run are >= 0")
    year, month = divmod(int(step), 12)
    names = MONTHS.get(lang, MONTHS["en"])
    return f"{names[month]} {int(start_year) + year}"


def start_year(session: Session) -> int:
    """Calendar year of the session's month 0 (``model.start_year``)."""
    return int(getattr(session.live.model, "start_year", 2023))


# ------------------------------------------------------------------------------- measures
def question_measures(session: Session) -> list[str]:
    """The measures answering the scenario's question (``[question] measures``).

    The report's default (:data:`simulation.scenarios.report.DEFAULT_QUESTION`) when the
    scenario names none.
    """
    from simulation.scenarios.report import question_measures as qm

    return [m for m in qm(session.scenario) if m in MEASURES]


def map_measures(session: Session) -> list[str]:
    """Question measures that can be mapped, first the scenario's own (at least one)."""
    out = [m for m in question_measures(session)
           if m in TERRITORY_MEASURES and m in MAP_MEASURE_CHOICES]
    return out or [MAP_MEASURE_CHOICES[0]]


def present_charts(session: Session, n: int = PRESENT_CHARTS) -> list[str]:
    """Map-level charts of presentation mode: the question's, completed by the defaults."""
    out = [m for m in question_measures(session) if m in MAP_MEASURES and m in CHART_CHOICES]
    for m in DEFAULT_CHARTS:
        if len(out) >= n:
            break
        if m not in out:
            out.append(m)
    return out[:n]


# ------------------------------------------------------------------------------- changes
@dataclass(frozen=True)
class Change:
    """The change of one measure in one decision's territories (see the module's rule).

    Attributes:
        measure: measure name.
        diff: live minus reference, household-weighted mean over the territories (NaN: none).
        noise: the run's noise s (std of the reference's month-to-month changes).
        threshold: ``NOISE_FACTOR * s / sqrt(window)``.
        n: territories counted (enough agents).
        n_few: territories left out (fewer than MIN_AGENTS agents).
        verdict: "effect", "uncertain", "none" (exactly zero) or "early" (too few months).
    """

    measure: str
    diff: float
    noise: float
    threshold: float
    n: int
    n_few: int
    verdict: str


@dataclass
class DecisionSummary:
    """What changed since one decision, in words."""

    choice: Choice
    text: str
    changes: list[Change] = field(default_factory=list)
    later: bool = False


def _group_mean(run: Run, measure: str, step: int, window: int, idx: np.ndarray,
                w: np.ndarray) -> float:
    vals = run.territory_values(measure, step, window=window)[idx]
    ok = np.isfinite(vals)
    if not ok.any() or w[ok].sum() <= 0:
        return float("nan")
    return float(np.average(vals[ok], weights=w[ok]))


def measure_change(session: Session, measure: str, idx: Sequence[int]) -> Change:
    """The change of ``measure`` in territories ``idx`` now, with its verdict (module rule)."""
    with session.lock:
        live, ref = session.live, session.baseline_run()
        s = session.steps
        idx = np.asarray(idx, dtype=int)
        few = session.few_agents(live)[idx]
        keep = idx[~few]
        n, n_few = int(keep.size), int(few.sum())
        if not n:
            return Change(measure, float("nan"), float("nan"), float("nan"), 0, n_few,
                          "uncertain")
        w = live.territory_values("households", s)[keep]
        win = session.window(measure)
        d = (_group_mean(live, measure, s, win, keep, w)
             - _group_mean(ref, measure, s, win, keep, w))
        first = max(1 if measure in _flows() else 0, s - NOISE_MONTHS)
        raw = np.array([_group_mean(ref, measure, k, 1, keep, w) for k in range(first, s + 1)])
        steps = np.diff(raw[np.isfinite(raw)])
        v, noise, thr = verdict(d, steps, win)
        return Change(measure, d, noise, thr, n, n_few, v)


def verdict(diff: float, changes: np.ndarray, window: int) -> tuple[str, float, float]:
    """The rule of the module: is a live-minus-reference difference an effect?

    Args:
        diff: the difference (the measure's unit).
        changes: the reference's month-to-month changes over the last months (same unit).
        window: months averaged in ``diff`` (the map's smoothing; 1 for stocks).

    Returns:
        (verdict, noise s, threshold ``NOISE_FACTOR * s / sqrt(window)``); the verdict is
        "effect", "uncertain", "none" (exactly zero) or "early" (fewer than
        :data:`MIN_NOISE_CHANGES` changes); NaN noise and threshold when not computed.
    """
    nan = float("nan")
    changes = np.asarray(changes, dtype=float)
    changes = changes[np.isfinite(changes)]
    if not math.isfinite(diff):
        return "uncertain", nan, nan
    if diff == 0.0:
        return "none", nan, nan
    if changes.size < MIN_NOISE_CHANGES:
        return "early", nan, nan
    noise = float(np.std(changes, ddof=1))
    thr = NOISE_FACTOR * noise / math.sqrt(max(int(window), 1))
    return ("effect" if abs(diff) > thr else "uncertain"), noise, thr


def _flows() -> tuple[str, ...]:
    from simulation.engine.measures import FLOW_MEASURES

    return FLOW_MEASURES


DECISION_NOUNS: dict[str, dict[str, str]] = {
    "public_counters_close": {"fr": "la fermeture des guichets ({which})",
                              "en": "the closure of counters ({which})"},
    "public_counters_open": {"fr": "l'ouverture de guichets ({which})",
                             "en": "the opening of counters ({which})"},
    "france_services": {"fr": "l'ouverture de maisons France Services",
                        "en": "the opening of France Services houses"},
    "tiers_lieux": {"fr": "l'ouverture de tiers-lieux", "en": "the opening of tiers-lieux"},
    "digital_mediators": {"fr": "l'arrivée de conseillers numériques",
                          "en": "the arrival of digital mediators"},
    "broadband_rollout": {"fr": "le déploiement du très haut débit",
                          "en": "the broadband roll-out"},
    "platform_tax": {"fr": "la taxe sur les plateformes", "en": "the platform tax"},
    "local_platform": {"fr": "la plateforme locale coopérative",
                       "en": "the local cooperative platform"},
    "platform_dependence": {"fr": "le changement de commission de la plateforme mondiale",
                            "en": "the change of the global platform's commission"},
    "new_deal": {"fr": "les offres d'accueil", "en": "the attraction offers"},
    "equalisation": {"fr": "la péréquation des budgets locaux",
                     "en": "the equalisation of local budgets"},
    "telework_norm": {"fr": "la norme de télétravail", "en": "the telework norm"},
}
TERRITORY_NOUNS: dict[str, dict[str, tuple[str, str]]] = {
    "france-departements": {"fr": ("département", "départements"),
                            "en": ("département", "départements")},
    "france-regions": {"fr": ("région", "régions"), "en": ("region", "regions")},
}
FEMININE = {"france-regions"}
"""Maps whose territories take a feminine noun in French (adjectives agree: rurales)."""
KIND_ADJ: dict[str, dict[str, str]] = {
    "rural": {"fr": "rural", "en": "rural"},
    "town": {"fr": "de petites villes", "en": "small-town"},
    "city": {"fr": "de villes", "en": "city"},
    "metropolis": {"fr": "de métropoles", "en": "metropolitan"},
}
FR_RURAL = {(False, False): "rural", (False, True): "ruraux", (True, False): "rurale",
            (True, True): "rurales"}
"""French agreement of "rural": (feminine, plural) -> form."""
TEXTS: dict[str, dict[str, str]] = {
    "since": {"fr": "Depuis {what} (mois {step}), {where} : ",
              "en": "Since {what} (month {step}), {where}: "},
    "not_yet": {"fr": "effet à partir du mois {step}", "en": "effect from month {step}"},
    "uncertain": {"fr": "effet incertain", "en": "uncertain effect"},
    "early": {"fr": "trop tôt pour conclure", "en": "too early to tell"},
    "none": {"fr": "pas de changement", "en": "no change"},
    "in": {"fr": "dans {where}", "en": "in {where}"},
    "everywhere": {"fr": "sur toute la carte", "en": "across the map"},
    "few_left_out": {"fr": " ({n} de moins de {min} ménages simulés écartés)",
                     "en": " ({n} with fewer than {min} simulated households left out)"},
    "later": {"fr": " (avec les choix suivants)", "en": " (with the later choices)"},
    "points": {"fr": "points", "en": "points"},
    "title": {"fr": "Ce qui a changé depuis chaque décision",
              "en": "What changed since each decision"},
    "no_decision": {"fr": "Aucune décision pour l'instant : la séance suit la référence.",
                    "en": "No decision yet: the session follows the reference."},
    "rule": {"fr": "« effet incertain » : l'écart ne dépasse pas deux fois le bruit d'un mois "
                   "à l'autre de la simulation, ou trop peu de ménages simulés.",
             "en": "“uncertain effect”: the difference is within twice the run's "
                   "month-to-month noise, or too few simulated households."},
    "map_uncertain": {"fr": "gris clair : {n} territoire(s) à l'effet incertain (dans le "
                            "bruit de la simulation, ou moins de {min} ménages simulés)",
                      "en": "light grey: {n} territor(y/ies) with an uncertain effect (within "
                            "the run's noise, or fewer than {min} simulated households)"},
    "reference": {"fr": "Référence (sans les choix)", "en": "Reference (no choices)"},
    "now": {"fr": "Maintenant", "en": "Now"},
    "difference": {"fr": "Écart (maintenant − référence)", "en": "Difference (now − reference)"},
}


def tx(key: str, lang: str, **fmt: Any) -> str:
    """A before/after string in ``lang`` (English when ``lang`` is unknown)."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def decision_noun(policy: dict[str, Any], lang: str) -> str:
    """Words for a decision: "la fermeture des guichets (impôts)"."""
    ptype = policy["type"]
    key = ptype
    if ptype == "public_counters":
        key = "public_counters_close" if float(policy.get("change", 0)) < 0 \
            else "public_counters_open"
    if key not in DECISION_NOUNS:
        return i18n.policy_label(ptype, lang)
    which = ", ".join(i18n.choice_label(w, lang) for w in policy.get("which", ()))
    entry = DECISION_NOUNS[key]
    return (entry.get(lang) or entry["en"]).format(which=which)


def change_text(c: Change, unit: str, lang: str) -> str:
    """A change in words: "−13 points" for shares, the measure's unit otherwise."""
    if c.verdict in ("uncertain", "early", "none"):
        return tx(c.verdict, lang)
    if unit.startswith("share"):
        pts = 100.0 * c.diff
        digits = 0 if abs(pts) >= 10 else 1
        return f"{'+' if pts > 0 else ''}{i18n.fmt_number(pts, lang, digits)} {tx('points', lang)}"
    return i18n.fmt_diff(c.diff, unit, lang)


def _where_text(session: Session, policy: dict[str, Any], idx: np.ndarray, n: int,
                lang: str) -> str:
    terr = policy.get("territories", "all")
    if terr in (None, "all"):
        return tx("everywhere", lang)
    one, many = TERRITORY_NOUNS.get(session.map_name, {}).get(
        lang, ("territoire", "territoires") if lang == "fr" else ("territory", "territories"))
    noun = one if n == 1 else many
    if hasattr(terr, "model_dump"):
        terr = terr.model_dump()
    if terr.get("kinds") and not terr.get("codes") and not terr.get("regions"):
        adj = [KIND_ADJ.get(k, {}).get(lang, k) for k in terr["kinds"]]
        sep = " et " if lang == "fr" else " and "
        if lang == "fr":
            form = FR_RURAL[(session.map_name in FEMININE, n != 1)]
            adj = [form if a == "rural" else a for a in adj]
        text = f"{n} {noun} {sep.join(adj)}" if lang == "fr" else \
            f"{n} {sep.join(adj)} {noun}"
        return tx("in", lang, where=text)
    if terr.get("codes") and len(idx) <= 3:
        names = ", ".join(session.tmap.names[int(i)] for i in idx)
        return tx("in", lang, where=f"{n} {noun} ({names})")
    return tx("in", lang, where=f"{n} {noun}")


def decision_summaries(session: Session, measures: Sequence[str] | None, lang: str
                       ) -> list[DecisionSummary]:
    """For each policy decision of the live run (oldest first), what changed since.

    Args:
        session: the session (its live run and reference run).
        measures: territory measures to report (default: the scenario's question measures).
        lang: "fr" or "en".
    """
    with session.lock:
        if measures is None:
            measures = [m for m in question_measures(session) if m in TERRITORY_MEASURES]
        measures = [m for m in measures if m in TERRITORY_MEASURES]
        decisions = [c for c in session.live.choices if not c.is_start_param]
        out = []
        for k, c in enumerate(decisions):
            pol = make_policy(c.policy)
            idx = np.asarray(pol.indices(session.live.model), dtype=int)
            if idx.size == 0:
                idx = np.arange(session.tmap.n)
            what = decision_noun(c.policy, lang)
            later = any(set(make_policy(d.policy).indices(session.live.model)) & set(idx)
                        for d in decisions[k + 1:])
            where = _where_text(session, c.policy, idx, int(idx.size), lang)
            head = tx("since", lang, what=what, step=c.step, where=where)
            if session.steps <= c.step:
                out.append(DecisionSummary(c, head + tx("not_yet", lang, step=c.step + 1)))
                continue
            changes = [measure_change(session, m, idx) for m in measures]
            parts = []
            n_few = max((ch.n_few for ch in changes), default=0)
            for ch in changes:
                label = room_label(ch.measure, lang)
                if not label[1:2].isupper():
                    label = label[:1].lower() + label[1:]
                sep = " " if ch.verdict == "effect" else " : " if lang == "fr" else ": "
                parts.append(f"{label}{sep}{change_text(ch, MEASURES[ch.measure].unit, lang)}")
            text = head + (" ; " if lang == "fr" else "; ").join(parts)
            if n_few:
                text += tx("few_left_out", lang, n=n_few, min=MIN_AGENTS)
            if later:
                text += tx("later", lang)
            out.append(DecisionSummary(c, text, changes, later))
        return out


def room_label(measure: str, lang: str) -> str:
    """The label of a measure in the words of the room (see :data:`i18n.ROOM_LABELS`)."""
    return i18n.measure_label(measure, lang)


# ------------------------------------------------------------------------------- maps
def territory_uncertain(session: Session, measure: str) -> np.ndarray:
    """Per territory: is its live-minus-reference difference "effet incertain"?

    The module's rule applied to each territory alone: too few agents, or a difference within
    ``NOISE_FACTOR`` times its own month-to-month noise in the reference (divided by the
    square root of the map's window), or too few months to tell. An exact zero is not
    uncertain (nothing changed).
    """
    with session.lock:
        live, ref = session.live, session.baseline_run()
        s = session.steps
        win = session.window(measure)
        d = (live.territory_values(measure, s, window=win)
             - ref.territory_values(measure, s, window=win))
        first = max(1 if measure in _flows() else 0, s - NOISE_MONTHS)
        raw = np.stack([ref.territory_values(measure, k) for k in range(first, s + 1)])
        out = session.few_agents(live).copy()
        for k in range(session.tmap.n):
            v = verdict(float(d[k]), np.diff(raw[np.isfinite(raw[:, k]), k]), win)[0]
            out[k] |= v in ("uncertain", "early")
        return out


def before_after(session: Session, measure: str, lang: str) -> list[Any]:
    """The maps "reference | now | difference" of ``measure`` (:class:`view.MapView`).

    The two value maps share one scale. The difference map takes the measure's good/bad
    colours; a territory whose difference is "effet incertain" (:func:`territory_uncertain`)
    is drawn light grey, and the scale spans the other territories' differences. Before any
    choice the reference is the live run: the difference is zero everywhere.
    """
    from simulation.dashboard import view as vw

    with session.lock:
        ref, live = session.baseline_run(), session.live
        vals, scales = vw.map_scale(session, measure, "value", [ref, live])
        n = session.tmap.n
        dv = session.map_values(measure, live, "diff") if session.has_choices() \
            else np.zeros(n)
        unc = territory_uncertain(session, measure) if session.has_choices() \
            else session.few_agents(live)
        sure = dv[np.isfinite(dv) & ~unc]
        floor = 1e-3 if MEASURES[measure].unit.startswith("share") else 1e-6
        half = max(float(np.quantile(np.abs(sure), 0.98)) if sure.size else 0.0, floor)
        dscale = vw.colour_scale(dv, -half, half, center=0.0, measure=measure, uncertain=unc)
        names = vw.territory_names(session)
        win = session.window(measure)
        out = []
        for key, title, run, v, sc, mode in (
                ("reference", tx("reference", lang), ref, vals[0], scales[0], "value"),
                ("live", tx("now", lang), live, vals[1], scales[1], "value"),
                ("difference", tx("difference", lang), live, dv, dscale, "diff")):
            labels, rows = vw._hover_rows(session, run, measure, lang)
            n_few = int(session.few_agents(run).sum())
            legend = vw._legend(measure, mode, sc, not np.isfinite(v).any(), lang, win,
                                n_few if mode == "value" else 0)
            if mode == "diff" and unc.any():
                note = tx("map_uncertain", lang, n=int(unc.sum()), min=MIN_AGENTS)
                legend["note"] = " · ".join(x for x in (legend["note"], note) if x)
            out.append(vw.MapView(key, title, measure, session.steps, sc.fills, names,
                                  labels, rows, legend))
        return out


# ------------------------------------------------------------------------------- sharing
@dataclass
class Shared:
    """What a presentation tab shows of a session driven from another tab."""

    token: str
    measure: str = ""
    mode: str = "value"
    lang: str = i18n.DEFAULT_LANG
    rev: int = 0

    def set(self, measure: str, mode: str, lang: str | None = None) -> None:
        """Record what the facilitator picked (a presentation in another tab follows)."""
        lang = lang or self.lang
        if (measure, mode, lang) != (self.measure, self.mode, self.lang):
            self.measure, self.mode, self.lang = measure, mode, lang
            self.rev += 1


_SHARED: weakref.WeakKeyDictionary[Session, Shared] = weakref.WeakKeyDictionary()
_BY_TOKEN: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()
_SHARE_LOCK = threading.Lock()


def share(session: Session) -> Shared:
    """The sharing record of ``session`` (created once, with an unguessable token)."""
    with _SHARE_LOCK:
        rec = _SHARED.get(session)
        if rec is None:
            rec = Shared(secrets.token_urlsafe(12), map_measures(session)[0])
            _SHARED[session] = rec
            _BY_TOKEN[rec.token] = session
        return rec


def find_shared(token: str) -> Session | None:
    """The session shared under ``token`` (None: unknown or closed)."""
    with _SHARE_LOCK:
        return _BY_TOKEN.get(token) if token else None


def token_from_search(search: str | None) -> str:
    """The ``present=`` token of a URL's query string ("" when absent)."""
    from urllib.parse import parse_qs

    vals = parse_qs(search or "").get("present", [])
    return vals[0] if vals else ""


def fingerprint(session: Session) -> tuple:
    """Changes when anything a presentation shows changes (polled by a second tab)."""
    rec = _SHARED.get(session)
    return (session.steps, len(session.log), len(session.branches), session.compare,
            id(session.live), len(session.live.choices), session.scenario_name,
            rec.rev if rec else 0)


__all__ = [
    "Change", "DecisionSummary", "Shared", "before_after", "decision_noun",
    "decision_summaries", "find_shared", "fingerprint", "map_measures", "measure_change",
    "month_year", "present_charts", "present_view", "question_measures", "share",
    "start_year", "territory_uncertain", "token_from_search", "verdict",
]


# ------------------------------------------------------------------------------- presentation
PRESENT_CHART_WIDTH = 460
"""viewBox width of a presentation chart; the page keeps its column at least this wide."""


@dataclass
class PresentView:
    """Everything presentation mode draws for one month.

    Attributes:
        title: the scenario's title in the language.
        date: the calendar month ("juillet 2029").
        month: "mois 78".
        maps: one map (the live run, value or difference), or three for before / after.
        charts: (measure, SVG) of 2 or 3 large charts (none in before / after).
        chart_legend: legend of the charts' lines (HTML).
        texts: what changed since each decision (newest first; at most ``max_texts``).
        attribution: source of the map's outlines.
    """

    step: int
    title: str
    date: str
    month: str
    maps: list[Any]
    charts: list[tuple[str, str]]
    chart_legend: str
    texts: list[str]
    attribution: str


def present_view(session: Session, measure: str, mode: str, lang: str,
                 max_texts: int = 1) -> PresentView:
    """The presentation of the session's current month.

    Args:
        session: the session (driven from this tab or another one).
        measure: the map's measure (a territory measure).
        mode: "value", "diff" (difference from the reference) or "beforeafter" (three maps).
        lang: "fr" or "en".
        max_texts: how many decision texts to show (newest first).
    """
    from simulation.dashboard import charts as ch
    from simulation.dashboard import view as vw

    with session.lock:
        if measure not in TERRITORY_MEASURES:
            measure = map_measures(session)[0]
        texts = [d.text for d in decision_summaries(session, None, lang)][::-1][:max_texts]
        if mode == "beforeafter":
            maps = before_after(session, measure, lang)
            charts: list[tuple[str, str]] = []
        else:
            mode = mode if mode == "diff" and session.has_choices() else "value"
            vals, scales = vw.map_scale(session, measure, mode, [session.live])
            labels, rows = vw._hover_rows(session, session.live, measure, lang)
            legend = vw._legend(measure, mode, scales[0], not np.isfinite(vals[0]).any(), lang,
                                session.window(measure),
                                int(session.few_agents(session.live).sum()))
            maps = [vw.MapView("live", i18n.t("live_title", lang), measure, session.steps,
                               scales[0].fills, vw.territory_names(session), labels, rows,
                               legend)]
            n = PRESENT_CHARTS if not texts else PRESENT_CHARTS - 1
            br = session.compared()
            height = 168 if n >= 3 else 236
            charts = [(m, ch.chart_svg(m, session.series(m), session.choice_steps(), lang,
                                       branch_name=br.name if br else "",
                                       width=PRESENT_CHART_WIDTH, height=height, big=True))
                      for m in present_charts(session, n)]
        br = session.compared()
        return PresentView(
            session.steps, session.scenario.title(lang),
            month_year(session.steps, start_year(session), lang),
            i18n.t("month_of", lang, step=session.steps), maps, charts,
            ch.legend_html(session, lang, br.name if br else ""), texts,
            session.tmap.attribution)


def first_screen_needs_a_month(session: Session, measure: str) -> bool:
    """True at month 0 when ``measure`` has no value yet (a flow measure).

    The first screen of presentation mode would be grey: it computes month 1 first.
    """
    with session.lock:
        if session.steps != 0 or measure not in TERRITORY_MEASURES:
            return False
        return not np.isfinite(session.map_values(measure)).any()
