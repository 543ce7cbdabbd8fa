"""The comparison report, one language per file: the answer first, then the details.

:func:`render_report` writes a self-contained HTML page (images embedded, print stylesheet)
in English or French. Its first section answers each scenario's question in plain words
with the effects on the measures the scenario names (``[question] measures``), each called
distinguishable from noise only after the false-discovery-rate control of
:mod:`simulation.reports.style`; the levers, maps, tables, assumptions and provenance follow.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.engine.measures import MEASURES
from simulation.engine.params import PARAMS
from simulation.reports import style
from simulation.scenarios.files import Scenario, describe_policy
from simulation.scenarios.runner import replication_warnings, uncertainty_text
from simulation.scenarios.wording import WINDOW_MONTHS, effect_numbers, effect_sentence
from simulation.scenarios.wording import safe_label as _safe

# The comparison (simulation.scenarios.compare.Comparison) is passed in: compare writes the
# report, so this module does not import it (not even for type checking: no import cycle).
Comparison = Any

LANGS = ("en", "fr")
"""Languages of the report."""

ASSUMPTION_PARAMS = ["agglomeration_elasticity", "housing_price_elasticity",
                     "congestion_elasticity", "network_effect", "global_commission",
                     "global_convenience", "platform_growth", "telework_days",
                     "full_remote_share", "takeup_counter", "takeup_online", "takeup_mediated",
                     "illiteracy_threshold", "mediator_caseload", "move_rate", "attachment",
                     "birth_broadband_effect", "birth_tierslieux_effect",
                     "digital_productivity_gain", "equalisation", "state_grant_per_household"]
"""Main parameters listed in the report's assumptions (plus any a scenario changes)."""

DEFAULT_QUESTION = ("attractiveness", "local_value_captured", "theil_between", "non_take_up")
"""Measures of the answer when a scenario names none (``[question] measures``)."""

REPORT_FILES = {"en": "report.html", "fr": "report.fr.html"}
"""File name of the report in each language."""

W: dict[str, dict[str, str]] = {
    "title": {"en": "Scenario comparison", "fr": "Comparaison de scénarios"},
    "meta": {"en": "Map <b>{map}</b> · {years} years · {hh} household agents · {reps} paired "
                   "replication(s) per scenario · seeds {seeds}{draws} · Terrinum {v} · {created}",
             "fr": "Carte <b>{map}</b> · {years} ans · {hh} agents ménages · {reps} "
                   "réplication(s) appariée(s) par scénario · graines {seeds}{draws} · "
                   "Terrinum {v} · {created}"},
    "draws_meta": {"en": " · posterior draws {d}", "fr": " · tirages a posteriori {d}"},
    "warnings": {"en": "Warnings", "fr": "Avertissements"},
    "notes": {"en": "Notes", "fr": "Remarques"},
    "answer": {"en": "The answer in brief", "fr": "La réponse en bref"},
    "answer_intro": {
        "en": "Each scenario against the baseline <i>{base}</i>, on the measures its question "
              "names; effects over the last {w} months of the run, mean over paired "
              "replications, with 95 % confidence intervals. An effect is called "
              "distinguishable from noise only when it survives a false-discovery-rate "
              "control (Benjamini-Hochberg, 5 %) across every measure of the scenario's "
              "table.",
        "fr": "Chaque scénario face à la référence <i>{base}</i>, sur les indicateurs que "
              "nomme sa question ; effets sur les {w} derniers mois, moyenne des réplications "
              "appariées, avec intervalles de confiance à 95 %. Un effet n'est dit "
              "distinguable du hasard que s'il résiste au contrôle du taux de fausses "
              "découvertes (Benjamini-Hochberg, 5 %) sur l'ensemble des indicateurs du "
              "scénario."},
    "question": {"en": "Question", "fr": "Question"},
    "in_targeted": {"en": "In the {n} territories where its policies apply",
                    "fr": "Dans les {n} territoires où ses politiques s'appliquent"},
    "count": {"en": "{k} of {n} map-level measures show an effect distinguishable from noise"
                    "{which}.",
              "fr": "{k} indicateur(s) sur {n} (carte entière) montrent un effet distinguable "
                    "du hasard{which}."},
    "none_dist": {"en": "No map-level measure shows an effect distinguishable from noise at "
                        "{reps} replications.",
                  "fr": "Aucun indicateur de la carte entière ne montre d'effet distinguable "
                        "du hasard avec {reps} réplications."},
    "how": {"en": "How to read this report", "fr": "Comment lire ce rapport"},
    "how_text": {
        "en": "Each scenario was run {reps} time(s) with the same random seeds as the "
              "baseline (common random numbers): replication k of every scenario meets the "
              "same chance events, so differences come from the scenario, not from luck. An "
              "effect is scenario minus baseline; shares are in percentage points. The 95 % "
              "interval says how much the effect varies with {unc}. Blue marks a change for "
              "the better, orange for the worse (as public statistics read the measure); "
              "purple and green a rise or fall of a measure with no good direction (a market "
              "share, a price); grey an effect not distinguishable from noise. None of this "
              "says whether the model's assumptions (listed below) are right.",
        "fr": "Chaque scénario a été simulé {reps} fois avec les mêmes graines aléatoires que "
              "la référence (nombres aléatoires communs) : la réplication k de chaque scénario "
              "rencontre les mêmes aléas, si bien que les écarts viennent du scénario et non "
              "du hasard. Un effet est l'écart scénario moins référence ; les parts sont en "
              "points de pourcentage. L'intervalle à 95 % dit combien l'effet varie avec "
              "{unc}. Le bleu marque une amélioration, l'orange une dégradation (au sens où "
              "la statistique publique lit l'indicateur) ; le violet et le vert une hausse "
              "ou une baisse d'un indicateur sans bon sens (une part de marché, un prix) ; "
              "le gris un effet non distinguable du hasard. Rien de cela ne dit si les "
              "hypothèses du modèle (listées plus bas) sont justes."},
    "overview": {"en": "All scenarios at a glance", "fr": "Tous les scénarios d'un coup d'œil"},
    "details": {"en": "Details", "fr": "Détails"},
    "source": {"en": "Source text", "fr": "Texte source"},
    "levers": {"en": "Levers and policies", "fr": "Leviers et politiques"},
    "no_change": {"en": "No change from the baseline.", "fr": "Aucun changement."},
    "default": {"en": "default", "fr": "défaut"},
    "where": {"en": "Where the policies apply", "fr": "Là où les politiques s'appliquent"},
    "where_text": {"en": "Targeted: {n} territories ({codes}); household-weighted means of "
                         "the territories' effects.",
                   "fr": "Territoires visés : {n} ({codes}) ; moyennes des effets par "
                         "territoire pondérées par les ménages."},
    "targeted": {"en": "In the targeted territories", "fr": "Dans les territoires visés"},
    "elsewhere": {"en": "Elsewhere", "fr": "Ailleurs"},
    "all_effects": {"en": "All map-level effects", "fr": "Tous les effets (carte entière)"},
    "th_measure": {"en": "Measure", "fr": "Indicateur"},
    "th_unit": {"en": "Unit of the effect", "fr": "Unité de l'effet"},
    "th_base": {"en": "Baseline", "fr": "Référence"},
    "th_scen": {"en": "Scenario", "fr": "Scénario"},
    "th_effect": {"en": "Effect", "fr": "Effet"},
    "th_ci": {"en": "95 % CI", "fr": "IC à 95 %"},
    "th_dist": {"en": "Distinguishable?", "fr": "Distinguable ?"},
    "to": {"en": "to", "fr": "à"},
    "v_better": {"en": "yes, better", "fr": "oui, mieux"},
    "v_worse": {"en": "yes, worse", "fr": "oui, moins bien"},
    "v_rise": {"en": "yes, up", "fr": "oui, hausse"},
    "v_fall": {"en": "yes, down", "fr": "oui, baisse"},
    "v_unclear": {"en": "no", "fr": "non"},
    "cap_forest": {"en": "Effects at the end with 95 % confidence intervals, every scenario",
                   "fr": "Effets en fin de période avec IC à 95 %, tous les scénarios"},
    "cap_levels": {"en": "Measures over time, every scenario (levels)",
                   "fr": "Indicateurs dans le temps, tous les scénarios (niveaux)"},
    "cap_maps": {"en": "Effects of {s} by territory, on the question's measures (hatched: not "
                       "distinguishable from noise)",
                 "fr": "Effets de {s} par territoire, sur les indicateurs de la question "
                       "(hachuré : non distinguable du hasard)"},
    "cap_time": {"en": "Effect of {s} over time (paired difference and its interval)",
                 "fr": "Effet de {s} dans le temps (écart apparié et son intervalle)"},
    "assumptions": {"en": "Assumptions", "fr": "Hypothèses"},
    "assumptions_text": {
        "en": "The model's main parameters, their values in each scenario, units and sources "
              "(every parameter is declared in <code>simulation/engine/params.py</code>; "
              "<code>terrinum list params</code> lists them). 'assumption' marks values not "
              "estimated from data; 'calibrated' values were fitted to France's data.",
        "fr": "Principaux paramètres du modèle, leur valeur dans chaque scénario, unité et "
              "source (chaque paramètre est déclaré dans "
              "<code>simulation/engine/params.py</code> ; <code>terrinum list params</code> "
              "les liste). « assumption » signale une valeur posée et non estimée ; "
              "« calibrated » une valeur ajustée aux données de la France."},
    "th_param": {"en": "Parameter", "fr": "Paramètre"},
    "th_group": {"en": "Group", "fr": "Groupe"},
    "th_source": {"en": "Source", "fr": "Source"},
    "draws_cell": {"en": "draws {lo} to {hi}", "fr": "tirages {lo} à {hi}"},
    "provenance": {"en": "Provenance", "fr": "Traçabilité"},
    "th_file": {"en": "File", "fr": "Fichier"},
    "overrides": {"en": "in-memory overrides", "fr": "modifications en mémoire"},
    "seeds": {"en": "Seeds: master {m}; replications {r}",
              "fr": "Graines : maîtresse {m} ; réplications {r}"},
    "draws_line": {"en": "Posterior draws by replication: {d}; {sel}",
                   "fr": "Tirages a posteriori par réplication : {d} ; {sel}"},
    "calib": {"en": "Calibration", "fr": "Calage"},
    "calib_none": {"en": "none shipped (declared defaults)",
                   "fr": "aucun (valeurs déclarées)"},
    "version": {"en": "Terrinum version {v}; Python {p}", "fr": "Version de Terrinum {v} ; "
                                                                 "Python {p}"},
    "command": {"en": "Command", "fr": "Commande"},
    "api": {"en": "(Python API)", "fr": "(API Python)"},
    "rerun": {"en": "Re-run exactly, from the folder of this report with the copies of the "
                    "scenarios as run: {a}; or from the original files: {b}{mod}. Results are "
                    "identical whatever <code>--workers</code>.",
              "fr": "Relancer à l'identique, depuis le dossier de ce rapport avec les copies "
                    "des scénarios tels que simulés : {a} ; ou depuis les fichiers d'origine : "
                    "{b}{mod}. Les résultats sont identiques quel que soit "
                    "<code>--workers</code>."},
    "modified": {"en": " (these files were modified in memory; see the overrides above)",
                 "fr": " (ces fichiers ont été modifiés en mémoire ; voir plus haut)"},
    "elapsed": {"en": "Runs took {s} s with {w} worker process(es).",
                "fr": "Les simulations ont pris {s} s avec {w} processus."},
    "uncertainty": {"en": "Uncertainty in the intervals", "fr": "Incertitude des intervalles"},
    "other_lang": {"en": "Version française : {f}", "fr": "English version: {f}"},
}


def _t(key: str, lang: str, **fmt: Any) -> str:
    text = W[key][lang]
    return text.format(**fmt) if fmt else text


def _esc(x: Any) -> str:
    return html.escape(str(x))


def source_label(source: str, lang: str) -> str:
    """A scenario's source reference in words: "seed 003 (...)" becomes "source text 3".

    The source texts are numbered files (``seeds/seed_003.md`` in the project's shared
    material, docs/DATA.md H); "seed" there is not a random seed. In French the English
    gloss in parentheses is dropped.
    """
    word = _t("source", lang).lower()
    out = re.sub(r"\bseeds? (\d{1,3})\b", lambda m: f"{word} {int(m.group(1))}", source)
    out = re.sub(r"\b(\d{1,3}) and (\d{1,3})\b", lambda m: f"{int(m.group(1))} "
                 f"{'et' if lang == 'fr' else 'and'} {int(m.group(2))}", out)
    if lang == "fr":
        out = re.sub(r"\s*\([^)]*\)", "", out).strip().rstrip(".")
    return out[:1].upper() + out[1:]


def question_measures(s: Scenario) -> list[str]:
    """The measures answering ``s``'s question (its declaration, else :data:`DEFAULT_QUESTION`)."""
    return list(s.question_measures) or list(DEFAULT_QUESTION)


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def _sentence_items(rows: pd.DataFrame, measures: list[str], lang: str, draws: bool,
                    prefix: str = "", label: str = "") -> list[str]:
    items = []
    sub = rows.set_index("measure")
    for m in measures:
        if m not in sub.index:
            continue
        row = sub.loc[m].to_dict() | {"measure": m}
        v = style.verdict(m, float(row["diff"]), bool(row.get("distinguishable", False)))
        text = effect_sentence(row, lang, draws=draws)
        attr = "data-group-measure" if prefix else "data-measure"   # group rows differ
        items.append(f'<li {attr}="{_esc(m)}" data-scenario="{_esc(label)}" class="{v}">'
                     f"{_esc(prefix + ' — ' if prefix else '')}{_esc(text)}</li>")
    return items


def _effects_table(df: pd.DataFrame, label: str, lang: str, kind: str = "map") -> str:
    head = "".join(f"<th>{_esc(_t(k, lang))}</th>" for k in (
        "th_measure", "th_unit", "th_base", "th_scen", "th_effect", "th_ci", "th_dist"))
    rows = []
    for _, r in df.iterrows():
        m = MEASURES[r["measure"]]
        nums = effect_numbers(r, lang)
        sig = bool(r["distinguishable"])
        verdict = style.verdict(r["measure"], float(r["diff"]), sig)
        colour = style.change_colour(r["measure"], float(r["diff"]), sig)
        f = float(nums["scale"])
        lvl = " %" if f == 100.0 else ""
        rows.append(
            f'<tr class="effect {verdict}{" sig" if sig else ""}" data-verdict="{verdict}" '
            f'data-q="{float(r["q_value"])!r}" data-scenario="{_esc(label)}" '
            f'data-measure="{_esc(r["measure"])}" data-kind="{kind}" data-scale="{f!r}">'
            f"<td>{_esc(m.label_fr if lang == 'fr' else m.label_en)}</td>"
            f"<td>{_esc(nums['unit'])}</td>"
            f'<td class="num base" data-value="{float(r["baseline_mean"])!r}">'
            f"{_esc(nums['baseline'])}{lvl}</td>"
            f'<td class="num scen" data-value="{float(r["scenario_mean"])!r}">'
            f"{_esc(nums['scenario'])}{lvl}</td>"
            f'<td class="num diff" data-value="{float(r["diff"])!r}">{_esc(nums["diff"])}</td>'
            f'<td class="num ci" data-low="{float(r["ci_low"])!r}" '
            f'data-high="{float(r["ci_high"])!r}">'
            f'<span class="lo">{_esc(nums["ci_low"])}</span> {_t("to", lang)} '
            f'<span class="hi">{_esc(nums["ci_high"])}</span></td>'
            f'<td class="verdict" style="color:{colour}">{_esc(_t("v_" + verdict, lang))}'
            "</td></tr>")
    return (f'<table class="effects" data-scenario="{_esc(label)}"><tr>{head}</tr>'
            f'{"".join(rows)}</table>')


def _fmtp(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _params_table(cmp: Comparison, lang: str) -> str:
    names = list(ASSUMPTION_PARAMS)
    for s in cmp.all_scenarios:
        for k in s.params:
            if k not in names:
                names.append(k)
    drawn: dict[str, list[float]] = {}
    for d in cmp.draws or []:
        for k, v in d.params.items():
            drawn.setdefault(k, []).append(v)
    for k in drawn:
        if k not in names:
            names.append(k)
    head = (f"<tr><th>{_t('th_param', lang)}</th><th>{_t('th_group', lang)}</th>"
            + "".join(f"<th>{_esc(s.title(lang))}</th>" for s in cmp.all_scenarios)
            + f"<th>{_t('th_unit', lang)}</th><th>{_t('th_source', lang)}</th></tr>")

    def cell(s: Scenario, k: str) -> str:
        if k in s.params or k not in drawn:
            return _fmtp(s.params.get(k, PARAMS[k].default))
        return _t("draws_cell", lang, lo=f"{min(drawn[k]):g}", hi=f"{max(drawn[k]):g}")

    rows = []
    for k in names:
        p = PARAMS[k]
        cells = "".join(f"<td class=num>{_esc(cell(s, k))}</td>" for s in cmp.all_scenarios)
        rows.append(f"<tr><td><code>{_esc(k)}</code><br>"
                    f"{_esc(p.label_fr if lang == 'fr' else p.label_en)}</td>"
                    f"<td>{_esc(p.group)}</td>{cells}<td>{_esc(p.unit)}</td>"
                    f"<td class=small>{_esc(p.source)}</td></tr>")
    return f'<table class="assumptions">{head}{"".join(rows)}</table>'


def _rerun_command(cmp: Comparison, copies: bool = False) -> str:
    def arg(s: Scenario) -> str:
        return str(s.path) if s.path else s.name

    flags = ["--reps", str(len(cmp.seeds)), "--seed", str(cmp.master_seed), "--years",
             f"{cmp.years:g}", "--households", str(cmp.n_households)]
    if cmp.draws:
        flags += ["--draws", str(cmp.n_draws)]
    if copies:
        files = [f"scenarios/{_safe(label)}.toml" for label in cmp.labels]
        return shlex.join(["terrinum", "compare", *files, *flags])
    return shlex.join(["terrinum", "compare", arg(cmp.baseline),
                       *[arg(s) for s in cmp.scenarios], *flags])


def _number(x: float, lang: str) -> str:
    s = f"{x:,.0f}"
    return s.replace(",", "\u202f") if lang == "fr" else s


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1180px;padding:1.2em 1.6em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #2b6cb0;
padding-bottom:.2em}h3{margin-top:1.3em}.meta{color:#555}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}
th{background:#eef3f8;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}tr.sig td.diff{font-weight:bold}
tr.better td.diff,li.better{color:BETTER}tr.worse td.diff,li.worse{color:WORSE}
tr.rise td.diff,li.rise{color:RISE}tr.fall td.diff,li.fall{color:FALL}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}.box{background:#f7f9fb;border-left:4px solid #2b6cb0;
padding:.5em 1em;margin:.8em 0}code{background:#f0f0f0;padding:0 .25em}
ul.answer li{margin:.35em 0;font-size:1.05em}.question{font-size:1.1em}
.small{font-size:.85em;color:#555}.warning{color:#8a4b00;font-weight:bold}
section.answer{page-break-after:always}
@media print{body{max-width:none;padding:0;font-size:10pt}h2{page-break-after:avoid}
figure,table,tr{page-break-inside:avoid}section.scenario{page-break-before:always}
a{color:inherit;text-decoration:none}.box{border-left-width:2px}}
""".replace("BETTER", style.BETTER).replace("WORSE", style.WORSE).replace(
    "RISE", style.RISE).replace("FALL", style.FALL)


def render_report(cmp: Comparison, images: dict[str, list[tuple[str, Path]]],
                  manifest: dict[str, Any], title: str | None = None, lang: str = "en") -> str:
    """The self-contained HTML report in one language.

    Args:
        cmp: the comparison.
        images: ``"_all"`` and each label -> (kind, PNG path) to embed; kinds: ``forest``,
            ``levels``, ``maps``, ``time``.
        manifest: provenance (as written to ``manifest.json``).
        title: page title (default: the scenarios' titles).
        lang: ``"en"`` or ``"fr"``.

    Returns:
        The HTML text.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    R = len(cmp.seeds)
    dr = bool(cmp.draws)
    base = cmp.baseline
    scen_titles = ", ".join(s.title(lang) for s in cmp.scenarios)
    colon = " :" if lang == "fr" else ":"
    title = title or f"{_t('title', lang)}{colon} {scen_titles}"
    caption = {"forest": _t("cap_forest", lang), "levels": _t("cap_levels", lang)}
    draws_meta = (_t("draws_meta", lang, d=_esc([d.index for d in cmp.draws]))
                  if cmp.draws else "")
    other = "en" if lang == "fr" else "fr"
    h: list[str] = [
        "<!DOCTYPE html>", f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        '<p class="meta">' + _t("meta", lang, map=_esc(base.map),
                                years=f"{cmp.years:g}", hh=_number(cmp.n_households, lang),
                                reps=R, seeds=_esc(cmp.seeds), draws=draws_meta,
                                v=_esc(manifest["terrinum_version"]),
                                created=_esc(manifest["created"]))
        + f' · <span class="small">{_esc(_t("other_lang", lang, f=REPORT_FILES[other]))}'
          "</span></p>",
    ]
    warnings = replication_warnings(R, lang)
    other_notes = [n for n in cmp.notes if not n.startswith("WARNING")]
    if warnings:
        h.append(f'<div class="box notes"><p><b>{_t("warnings", lang)}</b></p><ul>'
                 + "".join(f'<li class="warning">{_esc(w)}</li>' for w in warnings)
                 + "</ul></div>")
    if other_notes and lang == "en":   # the notes are the runner's (English) remarks
        h.append(f'<div class="notes"><p><b>{_t("notes", lang)}</b></p><ul>'
                 + "".join(f'<li class="note">{_esc(n)}</li>' for n in other_notes)
                 + "</ul></div>")
    # ------------------------------------------------------------------ the answer
    em = cmp.effects_map
    eg = cmp.effects_groups
    h.append(f'<section class="answer" id="answer"><h2>{_t("answer", lang)}</h2>')
    h.append("<p>" + _t("answer_intro", lang, base=_esc(base.title(lang)), w=WINDOW_MONTHS)
             + "</p>")
    for label, s in zip(cmp.labels[1:], cmp.scenarios, strict=True):
        q = s.question_fr if lang == "fr" else s.question_en
        h.append(f'<h3 id="answer-{_esc(_safe(label))}">{_esc(s.title(lang))}</h3>')
        if q:
            h.append(f'<p class="question"><b>{_t("question", lang)}{colon}</b> {_esc(q)}</p>')
        rows = em[em["scenario"] == label]
        qm = question_measures(s)
        items = _sentence_items(rows, qm, lang, dr, label=label)
        g = eg[(eg["scenario"] == label) & (eg["group"] == "targeted")] if len(eg) else eg
        if len(g):
            n = int(g["n_territories"].iloc[0])
            items += _sentence_items(g, qm[:2], lang, dr, _t("in_targeted", lang, n=n), label)
        h.append('<ul class="answer">' + "".join(items) + "</ul>")
        dist = rows[rows["distinguishable"]]
        if len(dist):
            which = ", ".join((MEASURES[m].label_fr if lang == "fr" else
                               MEASURES[m].label_en).lower() for m in dist["measure"][:6])
            h.append('<p class="count">' + _esc(_t("count", lang, k=len(dist), n=len(rows),
                                                   which=f" ({which}"
                                                   + (", …)" if len(dist) > 6 else ")")))
                     + "</p>")
        else:
            h.append('<p class="count">' + _esc(_t("none_dist", lang, reps=R)) + "</p>")
    colon = " :" if lang == "fr" else ":"
    h.append(f'<div class="box"><p><b>{_t("how", lang)}.</b> '
             + _esc(_t("how_text", lang, reps=R, unc=uncertainty_text(cmp.n_draws, lang)))
             + f'</p><p class="uncertainty" data-draws="{cmp.n_draws}"><b>'
               f'{_t("uncertainty", lang)}{colon}</b> '
             + f"{_esc(uncertainty_text(cmp.n_draws, lang))}.</p></div></section>")
    # ------------------------------------------------------------------ details
    h.append(f'<h2 id="overview">{_t("overview", lang)}</h2>')
    for kind, p in images.get("_all", []):
        h.append(_img(p, caption.get(kind, kind)))
    for label, s in zip(cmp.labels[1:], cmp.scenarios, strict=True):
        h.append(f'<section class="scenario" id="scenario-{_esc(_safe(label))}">')
        h.append(f"<h2>{_esc(s.title(lang))} — {_t('details', lang).lower()}</h2>")
        desc = s.description_fr if lang == "fr" else s.description_en
        if desc:
            h.append(f"<p>{_esc(desc)}</p>")
        if s.source:
            h.append(f"<p class=small>{_esc(source_label(s.source, lang))}</p>")
        h.append(f"<h3>{_t('levers', lang)}</h3>")
        base_pols = {json.dumps(d, sort_keys=True) for d in base.policy_dicts()}
        items = [describe_policy(p, lang) for p in s.policies
                 if json.dumps(p.to_dict(), sort_keys=True) not in base_pols]
        for k, v in s.params.items():
            if base.params.get(k) != v:
                prm = PARAMS[k]
                items.append(f"{prm.label_fr if lang == 'fr' else prm.label_en} "
                             f"({prm.group}){' :' if lang == 'fr' else ':'} {_fmtp(v)} "
                             f"{prm.unit} ({_t('default', lang)} {_fmtp(prm.default)})")
        items = items or [_t("no_change", lang)]
        h.append("<ul>" + "".join(f"<li>{_esc(a)}</li>" for a in items) + "</ul>")
        g = eg[eg["scenario"] == label] if len(eg) else eg
        if len(g):
            tgt = g[g["group"] == "targeted"]
            ntg = int(tgt["n_territories"].iloc[0]) if len(tgt) else 0
            codes = tgt["territories"].iloc[0] if len(tgt) else ""
            h.append(f"<h4>{_t('where', lang)}</h4><p class=small>"
                     + _esc(_t("where_text", lang, n=ntg, codes=codes)) + "</p>")
            items = []
            for grp in ("targeted", "elsewhere"):
                items += _sentence_items(g[g["group"] == grp], question_measures(s), lang, dr,
                                         _t(grp, lang), label)
            h.append('<ul class="groups">' + "".join(items) + "</ul>")
        for kind, p in images.get(label, []):
            key = {"maps": "cap_maps", "time": "cap_time"}.get(kind)
            h.append(_img(p, _t(key, lang, s=s.title(lang)) if key else kind))
        h.append(f"<h3>{_t('all_effects', lang)}</h3>")
        h.append(_effects_table(em[em["scenario"] == label], label, lang))
        h.append("</section>")
    # ------------------------------------------------------------------ assumptions, provenance
    h.append(f'<h2 id="assumptions">{_t("assumptions", lang)}</h2>')
    h.append(f"<p>{_t('assumptions_text', lang)}</p>")
    h.append(_params_table(cmp, lang))
    h.append(f'<h2 id="provenance">{_t("provenance", lang)}</h2>')
    rows_p = []
    for sm in manifest["scenarios"]:
        for f in sm["files"]:
            rows_p.append(f"<tr><td>{_esc(sm['label'])}</td><td><code>{_esc(f['path'])}</code>"
                          f"</td><td><code>{_esc(f['sha256'])}</code></td></tr>")
        if sm["overrides"]:
            rows_p.append(f"<tr><td>{_esc(sm['label'])}</td><td>{_t('overrides', lang)}</td>"
                          f"<td><code>{_esc(json.dumps(sm['overrides'], default=str))}</code>"
                          "</td></tr>")
    h.append(f"<table class=provenance><tr><th>{_t('th_scen', lang)}</th><th>"
             f"{_t('th_file', lang)}</th><th>SHA-256</th></tr>" + "".join(rows_p) + "</table>")
    calib = (", ".join(f"<code>{_esc(f['path'])}</code> <code>{_esc(f['sha256'])}</code>"
                       for f in manifest.get("calibration", {}).get("files", []))
             or _t("calib_none", lang))
    modified = any(s.overrides and any(k not in ("years", "n_households") for o in s.overrides
                                       for k in o) for s in cmp.all_scenarios)
    h.append(
        "<ul>"
        f"<li>{_esc(_t('seeds', lang, m=cmp.master_seed, r=cmp.seeds))}</li>"
        + (f"<li>{_esc(_t('draws_line', lang, d=[d.index for d in cmp.draws], sel=manifest['draws']['selection']))}</li>"  # noqa: E501
           if cmp.draws else "")
        + f"<li>{_t('calib', lang)}{colon} {calib}</li>"
        f"<li>{_esc(_t('version', lang, v=manifest['terrinum_version'], p=manifest['python']))}"
        "</li>"
        f"<li>{_t('command', lang)}{colon} <code>"
        f"{_esc(manifest['command'] or _t('api', lang))}</code></li>"
        "<li>" + _t("rerun", lang, a=f"<code>{_esc(_rerun_command(cmp, True))}</code>",
                    b=f"<code>{_esc(_rerun_command(cmp))}</code>",
                    mod=_t("modified", lang) if modified else "") + "</li>"
        f"<li>{_esc(_t('elapsed', lang, s=f'{cmp.elapsed_s:.0f}', w=cmp.workers))}</li>"
        "</ul>")
    from simulation.reports.cite import how_to_cite

    h.append(f'<p class="cite">{_esc(how_to_cite(lang))}</p>')
    h.append("</body></html>")
    return "\n".join(h)


def distinguishable_summary(cmp: Comparison) -> pd.DataFrame:
    """Per scenario: measures tested and distinguishable after FDR control (map level)."""
    em = cmp.effects_map
    return (em.groupby("scenario")
              .agg(tested=("measure", "size"), distinguishable=("distinguishable", "sum"))
              .reset_index())


__all__ = ["render_report", "source_label", "question_measures", "LANGS", "REPORT_FILES",
           "DEFAULT_QUESTION", "W", "distinguishable_summary"]
