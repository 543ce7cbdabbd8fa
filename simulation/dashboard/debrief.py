"""The printable one-page debrief of a saved workshop (``terrinum debrief WORKSHOP.json``).

A workshop file (:mod:`simulation.dashboard.workshop`) holds the scenario, the seed, the
household agents, the month reached and the room's decisions. The debrief:

1. rebuilds the session from the file and exports two scenario files with the dashboard's own
   export (:meth:`~simulation.dashboard.state.Session.export_scenario`): ``reference.toml``
   (the scenario with none of the room's decisions) and ``decisions.toml`` (the same with the
   decisions that took effect; ``terrinum run decisions.toml`` replays the live run), both
   over the workshop's length (the months run, as years = months / 12);
2. runs them with ``N`` paired replications (common random numbers:
   :func:`simulation.scenarios.compare.compare`, replication ``k`` of both uses seed ``k``);
3. writes ``debrief.html``: one A4 page (print stylesheet) with the title, the date, the
   decisions (each as "mois 31 (août 2025)": month 0 is January of the run's start year), the
   room's votes (hidden when there are none), the before/after table of the scenario's
   question measures (reference | after the decisions | difference with its 95 % interval,
   "distinguable" or "incertain" after the false-discovery-rate control of
   :mod:`simulation.reports.style`, good/bad colours from there too), and the commands that
   make it again.

Votes are read from the file's ``votes`` list, one table per question::

    {"question": "Que faire des guichets ?", "month": 12,
     "options": ["fermer les guichets ruraux", "ouvrir des France services", "ne rien faire"],
     "counts": {"fermer les guichets ruraux": 4, "ouvrir des France services": 11,
                "ne rien faire": 2}}

or with ``"ballots": [{"option": "ne rien faire"}, ...]`` (one per phone) instead of
``counts``; other keys (predictions, the winner) are kept in the file and not printed.
"""

from __future__ import annotations

import datetime as _dt
import html
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.dashboard import i18n
from simulation.dashboard import state as st
from simulation.dashboard.beforeafter import MONTHS, month_year
from simulation.dashboard.workshop import WorkshopError, load_workshop
from simulation.engine.results import atomic_write_text
from simulation.errors import clip_repr
from simulation.reports import style
from simulation.scenarios.wording import WINDOW_MONTHS, effect_numbers

DEFAULT_REPS = 5
"""Paired replications of the reference and of the decisions (``--reps``)."""
MAX_REPS = 200
"""Largest ``--reps`` accepted."""
MAX_SHOWN_DECISIONS = 12
"""Decisions listed on the page (more are counted, and listed in ``decisions.toml``)."""
MAX_SHOWN_VOTES = 4
"""Vote questions printed on the page (the first ones)."""
MAX_SHOWN_MEASURES = 8
"""Rows of the before/after table at most (the question's first measures)."""
MAX_OPTIONS = 4
MIN_OPTIONS = 2
FILES = {"page": "debrief.html", "reference": "reference.toml", "decisions": "decisions.toml"}
"""Files written in the output folder."""
LANGS = ("fr", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"fr": "Débriefing de l'atelier", "en": "Workshop debrief"},
    "generated": {"fr": "généré le {date}", "en": "generated on {date}"},
    "setup": {"fr": "Carte {map} · {hh} ménages simulés · graine {seed} · {months} mois "
                    "({start} → {end})",
              "en": "Map {map} · {hh} simulated households · seed {seed} · {months} months "
                    "({start} → {end})"},
    "question": {"fr": "Question", "en": "Question"},
    "decisions": {"fr": "Décisions de la salle", "en": "The room's decisions"},
    "no_decision": {"fr": "Aucune décision : la séance a suivi le scénario tel quel.",
                    "en": "No decision: the session followed the scenario as it is."},
    "month": {"fr": "mois {step} ({date})", "en": "month {step} ({date})"},
    "left_out": {"fr": "prise au dernier mois : sans effet dans la période, non comptée",
                 "en": "taken at the last month: no effect within the period, not counted"},
    "more_decisions": {"fr": "… et {n} autre(s) décision(s), listées dans {file}",
                       "en": "… and {n} more decision(s), listed in {file}"},
    "votes": {"fr": "Votes", "en": "Votes"},
    "vote_n": {"fr": "{n} voix", "en": "{n} vote(s)"},
    "more_votes": {"fr": "… et {n} autre(s) vote(s) dans le fichier de l'atelier",
                   "en": "… and {n} more vote(s) in the workshop file"},
    "table": {"fr": "Avant / après : les indicateurs de la question",
              "en": "Before / after: the question's measures"},
    "col_measure": {"fr": "Indicateur", "en": "Measure"},
    "col_ref": {"fr": "Référence", "en": "Reference"},
    "col_after": {"fr": "Après les décisions", "en": "After the decisions"},
    "col_diff": {"fr": "Écart (IC à 95 %)", "en": "Difference (95 % CI)"},
    "unit_points": {"fr": "niveaux en %, écart en {unit}", "en": "levels in %, difference in "
                                                                 "{unit}"},
    "unit_in": {"fr": "en {unit}", "en": "in {unit}"},
    "col_verdict": {"fr": "Lecture", "en": "Reading"},
    "better": {"fr": "distinguable, mieux", "en": "distinguishable, better"},
    "worse": {"fr": "distinguable, moins bien", "en": "distinguishable, worse"},
    "rise": {"fr": "distinguable, hausse", "en": "distinguishable, rise"},
    "fall": {"fr": "distinguable, baisse", "en": "distinguishable, fall"},
    "unclear": {"fr": "incertain", "en": "uncertain"},
    "how_read": {
        "fr": "Moyenne des {w} derniers mois de la période, {n} réplications appariées "
              "(mêmes graines pour la référence et les décisions) ; écart avec son intervalle "
              "de confiance à 95 %. « Distinguable » : l'intervalle exclut zéro après le "
              "contrôle du taux de fausses découvertes (Benjamini-Hochberg, 5 %) sur les {m} "
              "indicateurs ; sinon « incertain » : l'écart peut venir du hasard de la "
              "simulation. Bleu : mieux pour les habitants ; orange : moins bien ; gris : "
              "incertain.",
        "en": "Mean of the last {w} months of the period, {n} paired replications (same "
              "seeds for the reference and the decisions); difference with its 95 % "
              "confidence interval. \"Distinguishable\": the interval excludes zero after the "
              "false-discovery-rate control (Benjamini-Hochberg, 5 %) over the {m} measures; "
              "otherwise \"uncertain\": the gap can be the simulation's chance. Blue: better "
              "for residents; orange: worse; grey: uncertain."},
    "one_rep": {"fr": "Une seule réplication : pas d'intervalle, rien n'est dit distinguable "
                      "(relancez avec --reps 5 ou plus).",
                "en": "A single replication: no interval, nothing is called distinguishable "
                      "(run again with --reps 5 or more)."},
    "rerun": {"fr": "Pour le refaire", "en": "To run it again"},
    "rerun_this": {"fr": "ce débriefing :", "en": "this debrief:"},
    "rerun_compare": {"fr": "la même comparaison, sans le fichier d'atelier :",
                      "en": "the same comparison, without the workshop file:"},
    "rerun_live": {"fr": "la séance telle que la salle l'a vue (une réplication) :",
                   "en": "the session as the room saw it (one replication):"},
    "model_note": {"fr": "Terrinum est un modèle à agents : ces chiffres montrent des "
                         "mécanismes et des ordres de grandeur, pas une prévision.",
                   "en": "Terrinum is an agent-based model: these figures show mechanisms "
                         "and orders of magnitude, not a forecast."},
}


def tr(key: str, lang: str, **fmt: Any) -> str:
    """The page's text ``key`` in ``lang`` (French when the language has none)."""
    s = TEXT[key].get(lang) or TEXT[key]["fr"]
    return s.format(**fmt) if fmt else s


def month_text(step: int, start_year: int, lang: str) -> str:
    """A decision's month for the page: ``"mois 31 (août 2025)"``."""
    return tr("month", lang, step=step, date=month_year(step, start_year, lang))


# ------------------------------------------------------------------------------- votes
@dataclass
class Vote:
    """One vote of the room: the question, the month, and the count of every option."""

    question: str
    month: int | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Votes cast."""
        return sum(self.counts.values())


def read_votes(raw: list[Any], file: str) -> list[Vote]:
    """The workshop file's ``votes`` as :class:`Vote` rows (see the module's format).

    Raises:
        WorkshopError: a vote that is not in that format (file, key and what is allowed).
    """
    out = []
    for i, v in enumerate(raw):
        where = f"votes[{i}]"
        if not isinstance(v, dict):
            raise WorkshopError(file, where, f"invalid value {clip_repr(v)}",
                                "a table with question, options and counts (or ballots)")
        q = v.get("question")
        if not isinstance(q, str) or not q.strip():
            raise WorkshopError(file, f"{where}.question", f"invalid value {clip_repr(q)}",
                                "the question's text")
        month = v.get("month")
        if month is not None and (isinstance(month, bool) or not isinstance(month, int)
                                  or month < 0):
            raise WorkshopError(file, f"{where}.month", f"invalid value {clip_repr(month)}",
                                "a whole number of months >= 0, or no month")
        opts = v.get("options")
        if (not isinstance(opts, list) or not MIN_OPTIONS <= len(opts) <= MAX_OPTIONS
                or not all(isinstance(o, str) and o.strip() for o in opts)
                or len(set(opts)) != len(opts)):
            raise WorkshopError(file, f"{where}.options", f"invalid value {clip_repr(opts)}",
                                f"a list of {MIN_OPTIONS} to {MAX_OPTIONS} different option "
                                "texts")
        counts = dict.fromkeys(opts, 0)
        if "counts" in v:
            c = v["counts"]
            if not isinstance(c, dict):
                raise WorkshopError(file, f"{where}.counts", f"invalid value {clip_repr(c)}",
                                    "a table option -> number of votes")
            for k, n in c.items():
                if k not in counts:
                    raise WorkshopError(file, f"{where}.counts.{k}", "not one of the options",
                                        ", ".join(opts))
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise WorkshopError(file, f"{where}.counts.{k}",
                                        f"invalid value {clip_repr(n)}",
                                        "a whole number of votes >= 0")
                counts[k] = n
        elif "ballots" in v:
            b = v["ballots"]
            if not isinstance(b, list):
                raise WorkshopError(file, f"{where}.ballots", f"invalid value {clip_repr(b)}",
                                    "a list of ballots, each {\"option\": ...}")
            for k, ballot in enumerate(b):
                opt = ballot.get("option") if isinstance(ballot, dict) else ballot
                if opt not in counts:
                    raise WorkshopError(file, f"{where}.ballots[{k}].option",
                                        f"invalid value {clip_repr(opt)}", ", ".join(opts))
                counts[opt] += 1
        else:
            raise WorkshopError(file, f"{where}.counts", "missing",
                                "counts (option -> votes) or ballots (one per phone)")
        out.append(Vote(q.strip(), month, counts))
    return out


# ------------------------------------------------------------------------------- debrief
@dataclass
class Debrief:
    """What the page shows (also what the tests read).

    Attributes:
        workshop: the workshop file.
        lang: the page's language.
        title: the scenario's title in ``lang``.
        question: the scenario's question in ``lang`` ("" when it has none).
        months: months the workshop ran (the period compared).
        start_year: calendar year of month 0.
        decisions: ``(month, text, counted)`` per decision, oldest first (``counted``: it
            took effect within the period).
        votes: the room's votes.
        table: one row per question measure: ``measure``, ``label``, ``reference``,
            ``after``, ``diff``, ``ci_low``, ``ci_high``, ``unit``, ``distinguishable``,
            ``verdict`` (better, worse, rise, fall, unclear), ``colour``.
        reps: paired replications.
        commands: the commands that make the page and its numbers again.
        files: the files written (page, reference, decisions).
        setup: map, households, seed.
    """

    workshop: str
    lang: str
    title: str
    question: str
    months: int
    start_year: int
    decisions: list[tuple[int, str, bool]]
    votes: list[Vote]
    table: list[dict[str, Any]]
    reps: int
    commands: list[tuple[str, str]]
    files: dict[str, Path] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    generated: str = ""


def check_options(workshop: str | Path, reps: int, lang: str) -> None:
    """Check ``--reps`` and ``--lang`` before anything runs.

    Raises:
        WorkshopError: with the option's name and what is allowed.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= MAX_REPS:
        raise WorkshopError(workshop, "--reps", f"invalid value {clip_repr(reps)}",
                            f"a whole number of replications in [1, {MAX_REPS}]")
    if lang not in LANGS:
        raise WorkshopError(workshop, "--lang", f"invalid value {clip_repr(lang)}",
                            " or ".join(LANGS))


def make_debrief(workshop: str | Path, out: str | Path, *, reps: int = DEFAULT_REPS,
                 lang: str = "fr", workers: int | None = None, progress: bool = False,
                 command_path: str | None = None, today: _dt.date | None = None) -> Debrief:
    """Rebuild a workshop, run the reference and its decisions paired, write the page.

    Args:
        workshop: the workshop file saved by the dashboard (JSON).
        out: output folder (created): ``debrief.html``, ``reference.toml``,
            ``decisions.toml``.
        reps: paired replications (common random numbers), at least 1.
        lang: ``"fr"`` (default) or ``"en"``.
        workers: worker processes (default: the usable cores).
        progress: show a progress bar.
        command_path: how the re-run command names the workshop file (default: as given).
        today: the date printed on the page (default: today).

    Returns:
        The :class:`Debrief` shown on the page.

    Raises:
        WorkshopError: a bad file or option (file, key and what is allowed).
        InputFileError: an output folder that cannot be used.
    """
    from simulation.safe_io import check_output_dir
    from simulation.scenarios.compare import compare
    from simulation.scenarios.files import load_scenario
    from simulation.scenarios.report import question_measures

    file = str(workshop)
    check_options(file, reps, lang)
    out = check_output_dir(out, "--out (the debrief folder)")
    session, _saved_lang = load_workshop(workshop)
    months = int(session.steps)
    if months < 1:
        raise WorkshopError(file, "month", "0: the workshop never ran a month",
                            "a workshop saved after at least one month (press step in the "
                            "dashboard)")
    with session.lock:
        votes = read_votes(list(getattr(session, "votes", [])), file)
    sc = session.scenario
    base_name = str(session.scenario_name)
    ref_sc = session.export_scenario(st.Run(session.live.model, []),
                                     name=f"{base_name}_reference_m{months}"[:100])
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in FILES.items()}
    head = (f"# Reference of the workshop {file} (Terrinum debrief): the scenario "
            f"{base_name} with none of the room's decisions, over the {months} months the "
            f"workshop ran, seed {session.seed}, {session.households} household agents.\n")
    atomic_write_text(head + ref_sc.to_toml(), paths["reference"])
    atomic_write_text(session.export_toml(lang), paths["decisions"])
    # the comparison runs the files as written, so `terrinum compare` on them gives the same
    ref_run = load_scenario(paths["reference"])
    after_run = load_scenario(paths["decisions"])
    cmp = compare(ref_run, [after_run], reps=reps, workers=workers, progress=progress)
    em = cmp.effects_map
    sub = em[em["scenario"] == cmp.labels[1]].set_index("measure")
    measures = question_measures(sc)[:MAX_SHOWN_MEASURES]
    table = [_row(sub.loc[m].to_dict() | {"measure": m}, lang) for m in measures]

    start_year = int(getattr(session.live.model, "start_year", 2023))
    decisions = []
    for c in session.decisions():
        counted = c.is_start_param or c.step < months
        decisions.append((int(c.step), st.choice_text(session, c, lang), bool(counted)))

    wpath = command_path or file
    q_out = shlex.quote(str(out))
    commands = [
        (tr("rerun_this", lang), shlex.join(["terrinum", "debrief", wpath, "--reps", str(reps),
                                             "--lang", lang, "--out", str(out)])),
        (tr("rerun_compare", lang),
         f"terrinum compare {shlex.quote(str(paths['reference']))} "
         f"{shlex.quote(str(paths['decisions']))} --reps {reps} --lang {lang} "
         f"--out {q_out}/compare"),
        (tr("rerun_live", lang), f"terrinum run {shlex.quote(str(paths['decisions']))}"),
    ]
    today = today or _dt.date.today()
    d = Debrief(
        workshop=file, lang=lang, title=sc.title(lang),
        question=(sc.question_fr or sc.question_en) if lang == "fr"
        else (sc.question_en or sc.question_fr),
        months=months, start_year=start_year, decisions=decisions, votes=votes, table=table,
        reps=reps, commands=commands, files=paths,
        setup={"map": session.map_name, "households": int(session.households),
               "seed": int(session.seed), "n_measures": int(len(sub))},
        generated=f"{today.day} {MONTHS[lang][today.month - 1]} {today.year}")
    atomic_write_text(render(d), paths["page"])
    return d


def _row(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """One line of the before/after table from an effect row of the comparison."""
    m = row["measure"]
    nums = effect_numbers(row, lang)
    dist = bool(row.get("distinguishable", False)) and int(row["n"]) >= 2
    diff = float(row["diff"])
    unit = nums["unit"]
    lvl_unit = "%" if nums["level_unit"] == "%" else ""   # other units: under the label
    return {"measure": m, "label": i18n.measure_label(m, lang),
            "reference": f"{nums['baseline']} {lvl_unit}".strip(),
            "after": f"{nums['scenario']} {lvl_unit}".strip(),
            "diff": nums["diff"],
            "ci_low": nums["ci_low"], "ci_high": nums["ci_high"],
            "has_ci": bool(np.isfinite(float(row["ci_low"]))) and int(row["n"]) >= 2,
            "unit": unit, "distinguishable": dist,
            "unit_note": (tr("unit_points", lang, unit=unit) if lvl_unit == "%"
                          else tr("unit_in", lang, unit=unit)) if unit else "",
            "verdict": style.verdict(m, diff, dist),
            "colour": style.change_colour(m, diff, dist),
            "value": diff}


# ------------------------------------------------------------------------------- the page
CSS = """
@page { size: A4 portrait; margin: 12mm 13mm; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Helvetica", "Arial", sans-serif; color: #1a1a1a; }
body { margin: 0 auto; max-width: 184mm; padding: 8mm 0; font-size: 10pt; line-height: 1.3; }
h1 { font-size: 16pt; margin: 0 0 1mm; }
h2 { font-size: 11.5pt; margin: 4mm 0 1.5mm; border-bottom: 0.4mm solid #bbb;
     padding-bottom: 0.6mm; }
p { margin: 0 0 1.5mm; }
.sub { font-size: 12pt; margin: 0 0 1mm; }
.meta { color: #555; font-size: 9pt; }
.question { font-style: italic; }
ol, ul { margin: 0 0 1mm; padding-left: 6mm; }
li { margin: 0 0 0.6mm; }
li.left-out { color: #777; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; table-layout: fixed; }
table.votes col.opt { width: 55%; } table.votes col.n { width: 15%; }
table.beforeafter col.m { width: 31%; } table.beforeafter col.lv { width: 13%; }
table.beforeafter col.d { width: 24%; } table.beforeafter col.v { width: 19%; }
.unit { display: block; color: #666; font-size: 8pt; }
th, td { border-bottom: 0.25mm solid #ddd; padding: 1mm 1.5mm; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.verdict { font-weight: 600; }
td.num .ci { display: block; font-size: 8.5pt; }
.swatch { display: inline-block; width: 3mm; height: 3mm; margin-right: 1.2mm;
          border-radius: 0.5mm; vertical-align: -0.3mm; }
.bar { display: inline-block; height: 3mm; vertical-align: -0.4mm; margin-right: 1mm;
       min-width: 0.8mm; }
.note { color: #444; font-size: 8.5pt; margin-top: 1.5mm; }
.votes td.num { width: 18mm; }
code, pre { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 8.3pt; }
pre { margin: 0.4mm 0 1.4mm; padding: 1mm 1.5mm; background: #f5f5f5; white-space: pre-wrap;
      word-break: break-all; }
.rerun p { margin: 0; font-size: 9pt; }
footer { margin-top: 3mm; color: #666; font-size: 8.3pt; }
@media print {
  body { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, table, tr { break-inside: avoid; }
}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render(d: Debrief) -> str:
    """The page's HTML (self-contained: no script, no external file)."""
    lang = d.lang
    end = month_year(d.months, d.start_year, lang)
    setup = tr("setup", lang, map=_e(d.setup.get("map", "")),
               hh=_e(i18n.fmt_plain(int(d.setup.get("households", 0)), lang)),
               seed=_e(d.setup.get("seed", "")), months=d.months,
               start=_e(month_year(0, d.start_year, lang)), end=_e(end))
    parts = [f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
             f"<title>{_e(tr('title', lang))} — {_e(d.title)}</title>\n"
             f"<style>{CSS}</style>\n</head>\n<body>\n"]
    parts.append(f'<header>\n<h1>{_e(tr("title", lang))}</h1>\n'
                 f'<p class="sub" data-role="title">{_e(d.title)}</p>\n'
                 f'<p class="meta" data-role="date">{setup} · '
                 f'{_e(tr("generated", lang, date=d.generated))}</p>\n')
    if d.question:
        parts.append(f'<p class="question" data-role="question"><strong>'
                     f'{_e(tr("question", lang))} :</strong> {_e(d.question)}</p>\n'
                     if lang == "fr" else
                     f'<p class="question" data-role="question"><strong>'
                     f'{_e(tr("question", lang))}:</strong> {_e(d.question)}</p>\n')
    parts.append("</header>\n")
    # decisions
    parts.append(f'<section id="decisions">\n<h2>{_e(tr("decisions", lang))}</h2>\n')
    if not d.decisions:
        parts.append(f"<p>{_e(tr('no_decision', lang))}</p>\n")
    else:
        parts.append("<ol>\n")
        for step, text, counted in d.decisions[:MAX_SHOWN_DECISIONS]:
            extra = "" if counted else f" — {_e(tr('left_out', lang))}"
            cls = "" if counted else ' class="left-out"'
            parts.append(f'<li{cls} data-month="{step}"><strong>'
                         f"{_e(month_text(step, d.start_year, lang))}</strong> : "
                         f"{_e(text)}{extra}</li>\n" if lang == "fr" else
                         f'<li{cls} data-month="{step}"><strong>'
                         f"{_e(month_text(step, d.start_year, lang))}</strong>: "
                         f"{_e(text)}{extra}</li>\n")
        parts.append("</ol>\n")
        more = len(d.decisions) - MAX_SHOWN_DECISIONS
        if more > 0:
            more_text = tr("more_decisions", lang, n=more, file=FILES["decisions"])
            parts.append(f'<p class="note">{_e(more_text)}</p>\n')
    parts.append("</section>\n")
    # votes: hidden when the room did not vote
    if d.votes:
        parts.append(f'<section id="votes">\n<h2>{_e(tr("votes", lang))}</h2>\n')
        for v in d.votes[:MAX_SHOWN_VOTES]:
            when = f" — {_e(month_text(v.month, d.start_year, lang))}" \
                if v.month is not None else ""
            parts.append(f'<p><strong>{_e(v.question)}</strong>{when}</p>\n'
                         '<table class="votes"><colgroup><col class="opt"><col class="n"><col>'
                         '</colgroup><tbody>\n')
            top = max(v.counts.values()) if v.counts else 0
            for opt, n in v.counts.items():
                width = 0.0 if v.total == 0 else 40.0 * n / max(v.total, 1)
                mark = " ✓" if n == top and n > 0 and list(v.counts.values()).count(top) == 1 \
                    else ""
                parts.append(f'<tr data-option="{_e(opt)}"><td>{_e(opt)}{mark}</td>'
                             f'<td class="num" data-count="{n}">'
                             f'{_e(tr("vote_n", lang, n=n))}</td><td>'
                             f'<span class="bar" style="width:{width:.1f}mm;'
                             f'background:#5e5e5e"></span></td></tr>\n')
            parts.append("</tbody></table>\n")
        more = len(d.votes) - MAX_SHOWN_VOTES
        if more > 0:
            parts.append(f'<p class="note">{_e(tr("more_votes", lang, n=more))}</p>\n')
        parts.append("</section>\n")
    # before / after
    parts.append(f'<section id="beforeafter">\n<h2>{_e(tr("table", lang))}</h2>\n'
                 '<table class="beforeafter"><colgroup><col class="m"><col class="lv">'
                 '<col class="lv"><col class="d"><col class="v"></colgroup>\n<thead><tr>'
                 f'<th>{_e(tr("col_measure", lang))}</th>'
                 f'<th>{_e(tr("col_ref", lang))}</th>'
                 f'<th>{_e(tr("col_after", lang))}</th>'
                 f'<th>{_e(tr("col_diff", lang))}</th>'
                 f'<th>{_e(tr("col_verdict", lang))}</th></tr></thead>\n<tbody>\n')
    to = " à " if lang == "fr" else " to "
    for r in d.table:
        ci = f'<span class="ci">({_e(r["ci_low"])}{to}{_e(r["ci_high"])})</span>' \
            if r["has_ci"] else ""
        unit = f'<span class="unit">{_e(r["unit_note"])}</span>' if r["unit_note"] else ""
        parts.append(
            f'<tr class="{r["verdict"]}" data-measure="{_e(r["measure"])}" '
            f'data-verdict="{r["verdict"]}" data-colour="{r["colour"]}">'
            f'<td>{_e(r["label"])}{unit}</td><td class="num">{_e(r["reference"])}</td>'
            f'<td class="num">{_e(r["after"])}</td>'
            f'<td class="num" style="color:{r["colour"]}">{_e(r["diff"])}{ci}</td>'
            f'<td class="verdict" style="color:{r["colour"]}">'
            f'<span class="swatch" style="background:{r["colour"]}"></span>'
            f'{_e(tr(r["verdict"], lang))}</td></tr>\n')
    parts.append("</tbody></table>\n")
    n_meas = d.setup.get("n_measures", len(d.table))
    note = tr("how_read", lang, w=min(WINDOW_MONTHS, d.months), n=d.reps, m=n_meas)
    if d.reps < 2:
        note += " " + tr("one_rep", lang)
    parts.append(f'<p class="note">{_e(note)}</p>\n</section>\n')
    # how to re-run
    parts.append(f'<section class="rerun" id="rerun">\n<h2>{_e(tr("rerun", lang))}</h2>\n')
    for what, cmd in d.commands:
        parts.append(f"<p>{_e(what)}</p>\n<pre data-role=\"command\">{_e(cmd)}</pre>\n")
    parts.append("</section>\n")
    parts.append(f"<footer>{_e(tr('model_note', lang))}</footer>\n</body>\n</html>\n")
    return "".join(parts)


def table_frame(d: Debrief) -> pd.DataFrame:
    """The before/after table as a DataFrame (one row per measure)."""
    return pd.DataFrame(d.table)


__all__ = ["DEFAULT_REPS", "Debrief", "FILES", "MONTHS", "Vote", "check_options",
           "make_debrief", "month_text", "month_year", "read_votes", "render", "table_frame"]
