"""Every audience-facing string of the dashboard, in French and English.

Labels of parameters and measures come from their declarations (``label_fr`` / ``label_en`` in
:mod:`simulation.engine.params` and :mod:`simulation.engine.measures`); this module adds the
dashboard's own
words, the names of policy types and of their fields, and number formatting in each language
(French: decimal comma, narrow no-break space between thousands, ``12,5 %``).

Example:
    >>> t("step", "fr")
    'Mois suivant'
    >>> fmt_number(1234.5, "fr", 1)
    '1\u202f234,5'
"""

from __future__ import annotations

import math
from typing import Any

LANGS: tuple[str, ...] = ("fr", "en")
DEFAULT_LANG = "fr"

# --------------------------------------------------------------------------- UI strings
STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"fr": "Terrinum · atelier", "en": "Terrinum · workshop"},
    "app_subtitle": {
        "fr": "Ce que le numérique fait aux territoires",
        "en": "What digital technology does to territories",
    },
    "language": {"fr": "Langue", "en": "Language"},
    "step": {"fr": "Mois suivant", "en": "Step"},
    "play": {"fr": "Lecture", "en": "Play"},
    "pause": {"fr": "Pause", "en": "Pause"},
    "reset": {"fr": "Réinitialiser", "en": "Reset"},
    "speed": {"fr": "Vitesse", "en": "Speed"},
    "speed_slow": {"fr": "lente", "en": "slow"},
    "speed_normal": {"fr": "normale", "en": "normal"},
    "speed_fast": {"fr": "rapide", "en": "fast"},
    "month_counter": {"fr": "Mois {step}", "en": "Month {step}"},
    "year_counter": {"fr": "année {year}, mois {month}", "en": "year {year}, month {month}"},
    "scenario": {"fr": "Scénario", "en": "Scenario"},
    "scenario_loaded": {"fr": "Scénario chargé : {name}", "en": "Scenario loaded: {name}"},
    "map_label": {"fr": "Carte", "en": "Map"},
    "households_agents": {"fr": "{n} ménages-agents", "en": "{n} household agents"},
    "seed": {"fr": "graine {seed}", "en": "seed {seed}"},
    "controls": {"fr": "Déroulé", "en": "Run"},
    "show_on_map": {"fr": "Indicateur sur la carte", "en": "Measure on the map"},
    "map_mode": {"fr": "Afficher", "en": "Show"},
    "mode_value": {"fr": "valeur", "en": "value"},
    "mode_diff": {"fr": "écart au scénario de référence",
                  "en": "difference from the baseline"},
    "links": {"fr": "Liaisons de transport", "en": "Transport links"},
    "circles": {"fr": "Cercles de population", "en": "Population circles"},
    "labels": {"fr": "Noms", "en": "Names"},
    "no_data_yet": {"fr": "disponible dès le mois 1", "en": "available from month 1"},
    "legend_more": {"fr": "plus", "en": "more"},
    "legend_less": {"fr": "moins", "en": "less"},
    "legend_higher": {"fr": "plus haut que la référence", "en": "higher than baseline"},
    "legend_lower": {"fr": "plus bas que la référence", "en": "lower than baseline"},
    "legend_better": {"fr": "mieux", "en": "better"},
    "legend_worse": {"fr": "moins bien", "en": "worse"},
    "legend_smoothed": {"fr": "moyenne des {months} derniers mois",
                        "en": "mean of the last {months} months"},
    "legend_few_agents": {"fr": "gris clair : {n} territoire(s) de moins de {min} ménages "
                                "simulés, chiffre trop incertain",
                          "en": "light grey: {n} territor(y/ies) with fewer than {min} "
                                "simulated households, figure too uncertain"},
    "few_agents": {"fr": "incertain : peu de ménages simulés",
                   "en": "uncertain: few simulated households"},
    "inset_paris": {"fr": "Paris et petite couronne", "en": "Paris and inner suburbs"},
    "hover_hint": {
        "fr": "Survolez un territoire pour ses chiffres ; un clic le sélectionne pour les "
              "leviers et garde ses chiffres affichés.",
        "en": "Hover over a territory for its figures; a click selects it for the levers and "
              "keeps its figures shown.",
    },
    "population": {"fr": "Population", "en": "Population"},
    "kind": {"fr": "Type", "en": "Kind"},
    "charts": {"fr": "Indicateurs de la carte au fil du temps",
               "en": "Map-level measures over time"},
    "charts_pick": {"fr": "Courbes affichées", "en": "Charts shown"},
    "series_live": {"fr": "cette séance", "en": "this session"},
    "series_baseline": {"fr": "référence (sans les choix)", "en": "baseline (no choices)"},
    "series_branch": {"fr": "branche {name}", "en": "branch {name}"},
    "months_axis": {"fr": "mois", "en": "months"},
    "choice_marker": {"fr": "choix", "en": "choice"},
    "levers": {"fr": "Leviers", "en": "Levers"},
    "levers_help": {
        "fr": "Le choix s'applique dès le mois suivant, aux territoires choisis. Un levier "
              "sur ce qu'une politique du scénario fixe encore (une fermeture progressive de "
              "guichets, par exemple) est refusé : le message dit laquelle et jusqu'à quel "
              "mois. ✓ dans le journal : l'effet est constaté dans le modèle.",
        "en": "The choice takes effect from next month, in the chosen territories. A lever on "
              "something a scenario policy still sets (a phased closure of counters, say) "
              "is refused: the message says which policy and until which month. ✓ in the "
              "log: the effect is seen in the model.",
    },
    "policy_type": {"fr": "Politique", "en": "Policy"},
    "where": {"fr": "Où", "en": "Where"},
    "where_all": {"fr": "tous les territoires", "en": "all territories"},
    "where_kinds": {"fr": "par type de territoire", "en": "by kind of territory"},
    "where_regions": {"fr": "par région", "en": "by region"},
    "where_codes": {"fr": "territoires choisis (clic sur la carte)",
                    "en": "chosen territories (click on the map)"},
    "map_wide": {"fr": "s'applique à toute la carte", "en": "applies to the whole map"},
    "apply_now": {"fr": "Appliquer maintenant", "en": "Apply now"},
    "set_value": {"fr": "utiliser", "en": "set"},
    "presets": {"fr": "Exemples", "en": "Examples"},
    "map_settings": {"fr": "Réglages pour toute la carte", "en": "Map-wide settings"},
    "setting": {"fr": "Réglage", "en": "Setting"},
    "current_value": {"fr": "valeur actuelle : {value}", "en": "current value: {value}"},
    "month0_only": {
        "fr": "hypothèse de départ : modifiable au mois 0 seulement (réinitialiser)",
        "en": "starting assumption: can be changed at month 0 only (reset)",
    },
    "range": {"fr": "plage {lo} à {hi}", "en": "range {lo} to {hi}"},
    "log": {"fr": "Journal des choix", "en": "Log of choices"},
    "log_empty": {"fr": "Aucun choix pour l'instant.", "en": "No choices yet."},
    "log_month": {"fr": "mois {step}", "en": "month {step}"},
    "log_undone": {"fr": "abandonné (retour en arrière)", "en": "dropped (went back)"},
    "log_from": {"fr": "effet dès le mois {step}", "en": "effective from month {step}"},
    "log_overwritten": {"fr": "effet au mois {step}, puis écrasé par une autre politique ✗",
                        "en": "took effect at month {step}, then overwritten by another "
                              "policy ✗"},
    "held_scenario": {"fr": "la politique du scénario « {policy} » — {kind} —",
                      "en": "the scenario's policy “{policy}” — {kind} —"},
    "held_choice": {"fr": "un choix précédent, « {policy} » — {kind} —",
                    "en": "an earlier choice, “{policy}” — {kind} —"},
    "lever_held": {
        "fr": "Levier refusé : {who} fixe {control} ici jusqu'au mois {until} et écraserait "
              "ce levier. Vous pourrez l'appliquer dès le mois {ok} (effet dès le mois "
              "{until}), ou ailleurs.",
        "en": "Lever refused: {who} sets {control} here until month {until} and would "
              "overwrite this lever. You can apply it from month {ok} on (effective from "
              "month {until}), or elsewhere.",
    },
    "lever_held_forever": {
        "fr": "Levier refusé : {who} fixe {control} ici jusqu'à la fin de la simulation et "
              "écraserait ce levier.",
        "en": "Lever refused: {who} sets {control} here until the end of the run and would "
              "overwrite this lever.",
    },
    "held_payer": {"fr": "Elle fait payer {payer} : avec ce payeur, le levier s'applique "
                         "dès maintenant.",
                   "en": "It makes {payer} pay: with that payer the lever applies now."},
    "setting_held": {
        "fr": "Réglage refusé : {who} fixe {control} jusqu'au mois {until} et écraserait "
              "cette valeur de départ.",
        "en": "Setting refused: {who} sets {control} until month {until} and would "
              "overwrite this starting value.",
    },
    "setting_held_forever": {
        "fr": "Réglage refusé : {who} fixe {control} chaque mois jusqu'à la fin de la "
              "simulation et écraserait cette valeur de départ.",
        "en": "Setting refused: {who} sets {control} every month to the end of the run and "
              "would overwrite this starting value.",
    },
    "log_start_param": {"fr": "valeur de départ : {label} = {value}",
                        "en": "starting value: {label} = {value}"},
    "log_branch_saved": {"fr": "branche {name} enregistrée", "en": "branch {name} saved"},
    "log_branch_back": {"fr": "retour au point de départ de la branche {name}",
                        "en": "back to the starting point of branch {name}"},
    "log_model": {"fr": "Modèle", "en": "Model"},
    "log_cancelled": {"fr": "annulé", "en": "undone"},
    "log_undo": {"fr": "annulation : {text}", "en": "undo: {text}"},
    "log_decision_back": {"fr": "retour à la décision du mois {step} : {text}",
                          "en": "back to the decision of month {step}: {text}"},
    "log_back_hint": {"fr": "Cliquez sur une décision pour revenir à ce moment-là.",
                      "en": "Click a decision to go back to that moment."},
    "undo": {"fr": "Annuler la dernière décision", "en": "Undo the last decision"},
    "undone_msg": {"fr": "Décision annulée : {text}", "en": "Decision undone: {text}"},
    "nothing_to_undo": {"fr": "Aucune décision à annuler.", "en": "No decision to undo."},
    "reset_confirm": {
        "fr": "Tout réinitialiser ? Décisions et branches seront perdues (enregistrez "
              "l'atelier d'abord).",
        "en": "Reset everything? Decisions and branches will be lost (save the workshop "
              "first).",
    },
    "reset_yes": {"fr": "Oui, réinitialiser", "en": "Yes, reset"},
    "reset_no": {"fr": "Non", "en": "No"},
    "branch_name": {"fr": "Nom de la branche", "en": "Branch name"},
    "rename": {"fr": "Renommer", "en": "Rename"},
    "mode_branch": {"fr": "écart avec la branche comparée",
                    "en": "difference from the compared branch"},
    "branch_diff_title": {"fr": "Séance en cours − branche {name}",
                          "en": "Current session − branch {name}"},
    "workshop": {"fr": "Atelier", "en": "Workshop"},
    "workshop_help": {
        "fr": "Enregistrez tout l'atelier (décisions, branches, référence) dans un fichier et "
              "rouvrez-le plus tard : les chiffres sont identiques.",
        "en": "Save the whole workshop (decisions, branches, reference) to a file and reopen "
              "it later: the numbers are identical.",
    },
    "save_workshop": {"fr": "Enregistrer l'atelier", "en": "Save the workshop"},
    "load_workshop": {"fr": "Ouvrir un atelier", "en": "Open a workshop"},
    "workshop_loaded": {"fr": "Atelier ouvert : {name}, mois {step}",
                        "en": "Workshop opened: {name}, month {step}"},
    "export_branch": {"fr": "Branche {name} (TOML)", "en": "Branch {name} (TOML)"},
    "branches": {"fr": "Branches", "en": "Branches"},
    "branches_help": {
        "fr": "Enregistrez l'état actuel comme branche, essayez un autre choix à partir du "
              "même point, et comparez côte à côte.",
        "en": "Save the current state as a branch, try a different choice from the same "
              "point, and compare them side by side.",
    },
    "save_branch": {"fr": "Enregistrer une branche", "en": "Save as branch"},
    "compare_with": {"fr": "Comparer avec", "en": "Compare with"},
    "compare_none": {"fr": "aucune", "en": "none"},
    "back_to_fork": {"fr": "Revenir au point de départ", "en": "Back to its starting point"},
    "branch_from": {"fr": "depuis le mois {step}", "en": "from month {step}"},
    "branch_title": {"fr": "Branche {name}", "en": "Branch {name}"},
    "live_title": {"fr": "Séance en cours", "en": "Current session"},
    "max_branches": {"fr": "{n} branches au plus", "en": "at most {n} branches"},
    "export": {"fr": "Exporter", "en": "Export"},
    "export_scenario": {"fr": "Scénario (TOML)", "en": "Scenario (TOML)"},
    "export_charts": {"fr": "Courbes (PNG)", "en": "Charts (PNG)"},
    "export_help": {
        "fr": "Le fichier rejoue exactement la séance : terrinum run FICHIER",
        "en": "The file replays the session exactly: terrinum run FILE",
    },
    "headline": {"fr": "Chiffres clés", "en": "Key figures"},
    "now": {"fr": "maintenant", "en": "now"},
    "baseline": {"fr": "référence", "en": "baseline"},
    "difference": {"fr": "écart", "en": "difference"},
    "selected": {"fr": "Territoires sélectionnés", "en": "Selected territories"},
    "clear_selection": {"fr": "Effacer la sélection", "en": "Clear selection"},
    "error": {"fr": "Erreur", "en": "Error"},
    "busy": {"fr": "Calcul…", "en": "Computing…"},
    "nothing_selected": {
        "fr": "Choisissez au moins un territoire (cliquez sur la carte).",
        "en": "Choose at least one territory (click on the map).",
    },
    "attribution": {"fr": "Contours", "en": "Outlines"},
    "all": {"fr": "tous", "en": "all"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "territories_n": {"fr": "{n} territoires", "en": "{n} territories"},
    "present": {"fr": "Présentation", "en": "Presentation"},
    "present_help": {"fr": "touche P : présentation ; Échap : retour",
                     "en": "key P: presentation; Esc: back"},
    "present_exit": {"fr": "Quitter la présentation", "en": "Leave presentation"},
    "present_tab": {"fr": "Présentation dans un autre onglet",
                    "en": "Presentation in another tab"},
    "present_shared": {"fr": "Présentation : la séance est menée depuis un autre onglet",
                       "en": "Presentation: the session is run from another tab"},
    "present_gone": {"fr": "Cette présentation n'existe plus (séance fermée ou serveur "
                           "redémarré) : rouvrez-la depuis l'onglet de l'animateur.",
                     "en": "This presentation no longer exists (session closed or server "
                           "restarted): open it again from the facilitator's tab."},
    "mode_beforeafter": {"fr": "avant / après : référence | maintenant | écart",
                         "en": "before / after: reference | now | difference"},
    "month_of": {"fr": "mois {step}", "en": "month {step}"},
    "not_a_number": {"fr": "un nombre, par exemple 0,7", "en": "a number, for example 0.7"},
}

# --------------------------------------------------------------------------- policies
POLICY_LABELS: dict[str, dict[str, str]] = {
    "broadband_rollout": {"fr": "Déploiement du très haut débit", "en": "Broadband roll-out"},
    "public_counters": {"fr": "Guichets publics (fermer ou ouvrir)",
                        "en": "Public counters (close or open)"},
    "france_services": {"fr": "Maisons France Services", "en": "France Services houses"},
    "tiers_lieux": {"fr": "Tiers-lieux", "en": "Tiers-lieux (third places)"},
    "digital_mediators": {"fr": "Conseillers numériques", "en": "Digital mediators"},
    "platform_dependence": {"fr": "Plateforme mondiale : commission et marketing",
                            "en": "Global platform: commission and marketing"},
    "local_platform": {"fr": "Plateforme locale coopérative", "en": "Local cooperative platform"},
    "platform_tax": {"fr": "Taxe sur le chiffre d'affaires des plateformes",
                     "en": "Tax on platform turnover"},
    "new_deal": {"fr": "Offres d'accueil (emploi + logement)",
                 "en": "Attraction offers (job + housing)"},
    "equalisation": {"fr": "Péréquation des budgets locaux",
                     "en": "Equalisation of local budgets"},
    "telework_norm": {"fr": "Norme de télétravail", "en": "Telework norm"},
}

# what a policy changes (Policy.controls) -> words for the refusal of a lever
CONTROL_LABELS: dict[str, dict[str, str]] = {
    "counters_tax": {"fr": "les guichets des impôts", "en": "the tax counters"},
    "counters_social": {"fr": "les guichets de la sécurité sociale",
                        "en": "the social-security counters"},
    "counters_post": {"fr": "les bureaux de poste", "en": "the post offices"},
    "mediators": {"fr": "les conseillers numériques", "en": "the digital mediators"},
    "france_services": {"fr": "les maisons France Services", "en": "the France Services houses"},
    "tiers_lieux": {"fr": "les tiers-lieux", "en": "the tiers-lieux"},
    "broadband": {"fr": "la couverture en très haut débit", "en": "the broadband coverage"},
    "rollout_pace": {"fr": "le rythme du déploiement du très haut débit",
                     "en": "the pace of the broadband roll-out"},
    "newdeal_rate": {"fr": "les offres d'accueil", "en": "the attraction offers"},
    "local_platform": {"fr": "la plateforme locale", "en": "the local platform"},
    "local_platform_support": {"fr": "le soutien public à la plateforme locale",
                               "en": "the public support of the local platform"},
    "local_commission": {"fr": "la commission de la plateforme locale",
                         "en": "the local platform's commission"},
    "platform_tax": {"fr": "la taxe sur les plateformes", "en": "the platform tax"},
    "platform_push": {"fr": "le marketing de la plateforme mondiale",
                      "en": "the global platform's marketing"},
}
PAYER_CONTROL = {"fr": "qui paie ({what})", "en": "who pays for {what}"}

# (policy type, field) -> label and unit in each language, in the words of a mayor. The unit is
# that of the value the lever panel shows (:attr:`simulation.dashboard.levers.FieldSpec.scale`):
# "%" and "% des locaux" for shares and relative changes; it follows the number in the log
# ("3 % du chiffre d'affaires local").
FIELD_LABELS: dict[tuple[str, str], dict[str, tuple[str, str]]] = {
    ("broadband_rollout", "target"): {
        "fr": ("Objectif de couverture en très haut débit", "% des locaux"),
        "en": ("Broadband coverage goal", "% of premises")},
    ("broadband_rollout", "pace"): {"fr": ("Rythme du déploiement", "points de couverture par an"),
                                    "en": ("Roll-out pace", "points of coverage a year")},
    ("public_counters", "change"): {"fr": ("Variation du nombre de guichets", "%"),
                                    "en": ("Change in the number of counters", "%")},
    ("public_counters", "which"): {"fr": ("Guichets concernés", ""),
                                   "en": ("Counters concerned", "")},
    ("france_services", "per_territory"): {"fr": ("Maisons par territoire", "maisons"),
                                           "en": ("Houses per territory", "houses")},
    ("france_services", "per_100k_households"): {
        "fr": ("Maisons pour 100 000 ménages", "maisons"),
        "en": ("Houses per 100,000 households", "houses")},
    ("tiers_lieux", "places"): {"fr": ("Nouveaux tiers-lieux par territoire", "lieux"),
                                "en": ("New tiers-lieux per territory", "places")},
    ("tiers_lieux", "per_100k_households"): {
        "fr": ("Tiers-lieux pour 100 000 ménages", "lieux"),
        "en": ("Tiers-lieux per 100,000 households", "places")},
    ("digital_mediators", "per_10k_households"): {
        "fr": ("Conseillers pour 10 000 ménages", "conseillers"),
        "en": ("Mediators per 10,000 households", "mediators")},
    ("digital_mediators", "per_territory"): {
        "fr": ("Conseillers par territoire", "conseillers"),
        "en": ("Mediators per territory", "mediators")},
    ("digital_mediators", "change"): {
        "fr": ("Variation du nombre de conseillers en poste", "%"),
        "en": ("Change in the number of mediators in post", "%")},
    ("platform_dependence", "commission"): {"fr": ("Commission", "% du prix de vente"),
                                            "en": ("Commission", "% of the sale price")},
    ("platform_dependence", "dominant_commission"): {
        "fr": ("Commission une fois dominante", "% du prix de vente"),
        "en": ("Commission once dominant", "% of the sale price")},
    ("platform_dependence", "push"): {"fr": ("Poussée commerciale", "utilité"),
                                      "en": ("Marketing push", "utility")},
    ("local_platform", "commission"): {"fr": ("Commission", "% du prix de vente"),
                                       "en": ("Commission", "% of the sale price")},
    ("local_platform", "convenience"): {"fr": ("Bonus de commodité", "utilité"),
                                        "en": ("Convenience bonus", "utility")},
    ("local_platform", "support_eur_per_household"): {
        "fr": ("Soutien public", "EUR/mois par ménage"),
        "en": ("Public support", "EUR/month per household")},
    ("platform_tax", "rate"): {"fr": ("Taux de la taxe", "% du chiffre d'affaires local"),
                               "en": ("Tax rate", "% of local turnover")},
    ("new_deal", "offers_per_year"): {"fr": ("Offres par an", "ménages par an"),
                                      "en": ("Offers per year", "households per year")},
    ("equalisation", "level"): {
        "fr": ("Péréquation", "% de la dotation de l'État selon la richesse fiscale"),
        "en": ("Equalisation", "% of the state grant shared by tax wealth")},
    ("telework_norm", "days"): {"fr": ("Jours de télétravail", "jours par semaine"),
                                "en": ("Telework days", "days a week")},
}
PAYER_FIELD = {"fr": ("Qui paie", ""), "en": ("Who pays", "")}

# Quick choices of a relative change (levers.CHANGE_PRESETS); per policy type, "" the default.
QUICK_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "": {
        "close_all": {"fr": "Fermer tous", "en": "Close all"},
        "close_half": {"fr": "Fermer la moitié", "en": "Close half"},
        "double": {"fr": "Doubler", "en": "Double"},
    },
    "digital_mediators": {
        "close_all": {"fr": "Supprimer tous les postes", "en": "End all posts"},
        "close_half": {"fr": "Supprimer la moitié", "en": "End half"},
        "double": {"fr": "Doubler", "en": "Double"},
    },
}

# A relative change in words, for the log: keys all (−100 %), half (−50 %), double (+100 %),
# none (0), less and more (any other, with {pct}: "30 %").
CHANGE_WORDS: dict[str, dict[str, dict[str, str]]] = {
    "public_counters": {
        "all": {"fr": "fermeture de tous les guichets", "en": "closure of all the counters"},
        "half": {"fr": "fermeture de la moitié des guichets",
                 "en": "closure of half the counters"},
        "double": {"fr": "doublement du nombre de guichets",
                   "en": "doubling of the number of counters"},
        "none": {"fr": "pas de changement du nombre de guichets",
                 "en": "no change in the number of counters"},
        "less": {"fr": "fermeture de {pct} des guichets", "en": "closure of {pct} of the counters"},
        "more": {"fr": "ouverture de {pct} de guichets en plus",
                 "en": "opening of {pct} more counters"},
    },
    "digital_mediators": {
        "all": {"fr": "suppression de tous les postes de conseillers numériques",
                "en": "end of all the digital mediators' posts"},
        "half": {"fr": "suppression de la moitié des postes de conseillers numériques",
                 "en": "end of half the digital mediators' posts"},
        "double": {"fr": "doublement du nombre de conseillers numériques",
                   "en": "doubling of the number of digital mediators"},
        "none": {"fr": "pas de changement du nombre de conseillers numériques",
                 "en": "no change in the number of digital mediators"},
        "less": {"fr": "suppression de {pct} des postes de conseillers numériques",
                 "en": "end of {pct} of the digital mediators' posts"},
        "more": {"fr": "{pct} de conseillers numériques en plus",
                 "en": "{pct} more digital mediators"},
    },
}

CHOICE_LABELS: dict[str, dict[str, str]] = {
    "state": {"fr": "l'État", "en": "the state"},
    "authority": {"fr": "la collectivité", "en": "the local authority"},
    "region": {"fr": "la région", "en": "the region"},
    "tax": {"fr": "impôts", "en": "tax"},
    "social": {"fr": "social (CAF, CPAM)", "en": "social security"},
    "post": {"fr": "poste", "en": "post"},
}

KIND_LABELS: dict[str, dict[str, str]] = {
    "metropolis": {"fr": "métropoles", "en": "metropolises"},
    "city": {"fr": "villes", "en": "cities"},
    "town": {"fr": "petites villes", "en": "towns"},
    "rural": {"fr": "territoires ruraux", "en": "rural territories"},
}
KIND_SINGULAR: dict[str, dict[str, str]] = {
    "metropolis": {"fr": "métropole", "en": "metropolis"},
    "city": {"fr": "ville", "en": "city"},
    "town": {"fr": "petite ville", "en": "town"},
    "rural": {"fr": "rural", "en": "rural"},
}

PRESET_LABELS: dict[str, dict[str, str]] = {
    "close_rural_tax_offices": {
        "fr": "Fermer les centres des impôts des territoires ruraux",
        "en": "Close the tax offices in rural territories",
    },
    "tiers_lieux_creuse": {
        "fr": "Ouvrir dix tiers-lieux dans la Creuse",
        "en": "Open ten tiers-lieux in Creuse",
    },
    "mediators_everywhere": {
        "fr": "Un conseiller numérique pour 10 000 ménages partout",
        "en": "One digital mediator per 10,000 households everywhere",
    },
    "platform_tax_3": {
        "fr": "Taxer les plateformes à 3 % partout",
        "en": "Tax platforms at 3 % everywhere",
    },
}


# French words for the declared units (parameters, measures); English is the declaration.
UNITS_FR: dict[str, str] = {
    "share 0-1": "part 0-1",
    "share of sale": "part de la vente",
    "share of local turnover": "part du chiffre d'affaires local",
    "market share 0-1": "part de marché 0-1",
    "utility": "utilité",
    "utility/year": "utilité par an",
    "days/week": "jours par semaine",
    "1/year": "par an",
    "EUR/km": "EUR/km",
    "real households": "ménages",
    "% since start": "% depuis le début",
    "index (1 = proportional)": "indice (1 = proportionnel)",
    "per 1,000 households per year": "pour 1 000 ménages par an",
    "EUR/month per household": "EUR/mois par ménage",
    "index 0-1": "indice 0-1",
    "index >= 0": "indice ≥ 0",
    "ratio": "rapport",
    "share points": "points",
    "firm agents": "agents entreprises",
    "firm agents/month": "agents entreprises par mois",
    "km/month per household": "km/mois par ménage",
    "t CO2/month": "t CO2/mois",
    "index": "indice",
}


# --------------------------------------------------------------------------- lookups
def t(key: str, lang: str, **fmt: Any) -> str:
    """The string ``key`` in ``lang``, formatted with ``fmt``.

    Args:
        key: a key of :data:`STRINGS`.
        lang: "fr" or "en" (anything else falls back to English).
        **fmt: values for the ``{placeholders}``.

    Raises:
        KeyError: an unknown key (a missing translation is a bug, never silent).
    """
    entry = STRINGS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def _pick(table: dict[str, str], lang: str) -> str:
    return table.get(lang) or table["en"]


ROOM_LABELS: dict[str, dict[str, str]] = {
    "theil_between": {"fr": "Écart de revenus entre territoires",
                      "en": "Income gap between territories"},
    "theil_within": {"fr": "Écart de revenus au sein des territoires",
                     "en": "Income gap within territories"},
    "theil": {"fr": "Inégalités de revenus (Theil)", "en": "Income inequality (Theil)"},
    "gini": {"fr": "Inégalités de revenus (Gini)", "en": "Income inequality (Gini)"},
    "gini_territories": {"fr": "Écart de revenu moyen entre territoires",
                         "en": "Gap in mean income between territories"},
    "d9_d1": {"fr": "Écart entre revenus aisés et modestes (D9/D1)",
              "en": "Gap between high and low incomes (D9/D1)"},
    "coverage_gap": {"fr": "Fracture numérique : écart de couverture villes-campagnes",
                     "en": "Digital divide: urban-rural coverage gap"},
    "illectronism": {"fr": "Illectronisme (fracture numérique)",
                     "en": "Illectronism (digital divide)"},
}
"""Labels of the dashboard in the words of a mayor, not of a statistician (the reports keep
the declarations' technical labels: "Theil inter-territoires" is "écart de revenus entre
territoires" in the room)."""


def measure_label(name: str, lang: str) -> str:
    """Label of a measure for the room: :data:`ROOM_LABELS`, else its declaration.

    The declarations are in :mod:`simulation.engine.measures` (``label_fr``/``label_en``).
    """
    from simulation.engine.measures import MEASURES

    if name in ROOM_LABELS:
        return _pick(ROOM_LABELS[name], lang)
    m = MEASURES[name]
    return m.label_fr if lang == "fr" else m.label_en


def param_label(name: str, lang: str) -> str:
    """Label of a parameter (from its declaration in :mod:`simulation.engine.params`)."""
    from simulation.engine.params import PARAMS

    p = PARAMS[name]
    return p.label_fr if lang == "fr" else p.label_en


def unit_label(unit: str, lang: str) -> str:
    """A declared unit in ``lang`` (French words where known, else the declaration)."""
    if lang == "fr":
        return UNITS_FR.get(unit, unit)
    return unit


def policy_label(ptype: str, lang: str) -> str:
    """Name of a policy type; the type identifier itself when none is declared."""
    return _pick(POLICY_LABELS[ptype], lang) if ptype in POLICY_LABELS else ptype


def control_label(control: str, lang: str) -> str:
    """Words for a control a policy writes (``Policy.controls``): the control name if unknown."""
    if control.startswith("param:"):
        from simulation.engine.params import PARAMS

        name = control[6:]
        return param_label(name, lang).lower() if name in PARAMS else name
    if control.startswith("payer:"):
        what = control[6:]
        what = _pick(CONTROL_LABELS[what], lang) if what in CONTROL_LABELS else what
        return _pick(PAYER_CONTROL, lang).format(what=what)
    return _pick(CONTROL_LABELS[control], lang) if control in CONTROL_LABELS else control


def field_label(ptype: str, field: str, lang: str) -> tuple[str, str]:
    """(label, unit) of a policy field; the field name and no unit when none is declared."""
    if field == "payer":
        entry = PAYER_FIELD
    else:
        entry = FIELD_LABELS.get((ptype, field))
    if entry is None:
        return field.replace("_", " "), ""
    return entry.get(lang) or entry["en"]


def quick_label(ptype: str, key: str, lang: str) -> str:
    """Label of a quick choice of a relative change ("Fermer la moitié")."""
    table = QUICK_LABELS.get(ptype, {}).get(key) or QUICK_LABELS[""][key]
    return _pick(table, lang)


def change_words(ptype: str, change: float, lang: str) -> str:
    """A relative change in words: −0.5 of the counters is "fermeture de la moitié des guichets".

    Types without words (:data:`CHANGE_WORDS`) get the signed percentage alone.
    """
    table = CHANGE_WORDS.get(ptype)
    pct = fmt_lever(abs(change) * 100.0, "%", lang)
    if table is None:
        return fmt_lever(change * 100.0, "%", lang, signed=True)
    key = {-1.0: "all", -0.5: "half", 0.0: "none", 1.0: "double"}.get(
        round(float(change), 9), "less" if change < 0 else "more")
    return _pick(table[key], lang).format(pct=pct)


def choice_label(value: str, lang: str) -> str:
    """Label of a choice value (payer, counter kind, territory kind)."""
    if value in CHOICE_LABELS:
        return _pick(CHOICE_LABELS[value], lang)
    if value in KIND_LABELS:
        return _pick(KIND_LABELS[value], lang)
    return value


def kind_label(kind: str, lang: str, plural: bool = True) -> str:
    """Label of a territory kind (metropolis, city, town, rural)."""
    table = KIND_LABELS if plural else KIND_SINGULAR
    return _pick(table[kind], lang) if kind in table else kind


def preset_label(key: str, lang: str) -> str:
    """Label of an example lever."""
    return _pick(PRESET_LABELS[key], lang)


# --------------------------------------------------------------------------- numbers
UNIT_SYMBOLS: dict[str, dict[str, str]] = {"pt": {"fr": "points", "en": "points"}}
"""Words of the lever panel's display units (levers.FieldSpec.unit); "%" is itself."""
NBSP = "\u202f"  # narrow no-break space (French thousands separator and before %)


def fmt_number(x: float | None, lang: str, digits: int = 2) -> str:
    """A number with ``digits`` decimals in the language's style ("–" for missing)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    s = f"{x:,.{digits}f}"
    if lang == "fr":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", NBSP)
    return s.replace("-", "−")


def _digits_for(x: float) -> int:
    a = abs(x)
    if a >= 1000:
        return 0
    if a >= 100:
        return 1
    if a >= 1:
        return 2
    return 3


def fmt_value(x: float | None, unit: str, lang: str) -> str:
    """A value with its unit, readable by a room: shares as percentages, EUR with thousands.

    Args:
        x: the value (None or NaN gives "–").
        unit: the declared unit (``"share 0-1"`` and ``"share ..."`` are shown in %).
        lang: "fr" or "en".
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    u = unit or ""
    if u.startswith("share") or u == "share points":
        pct = fmt_number(100.0 * x, lang, 1)
        return f"{pct}{NBSP}%" if lang == "fr" else f"{pct} %"
    if u.startswith("% "):
        pct = fmt_number(x, lang, 2)
        return f"{pct}{NBSP}%" if lang == "fr" else f"{pct} %"
    if u.startswith("EUR"):
        return f"{fmt_number(x, lang, 0)} €"
    if u in ("real households", "persons", "firm agents") or u.startswith("firm agents"):
        return fmt_number(x, lang, 0)
    return fmt_number(x, lang, _digits_for(float(x)))


def fmt_diff(x: float | None, unit: str, lang: str) -> str:
    """A difference with its sign: shares and percentages in points ("+1,2 pt")."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    sign = "+" if x > 0 else ""
    u = unit or ""
    if u.startswith("share") or u.startswith("% "):
        pts = 100.0 * x if u.startswith("share") else x
        return f"{sign}{fmt_number(pts, lang, 1 if abs(pts) >= 0.1 or pts == 0 else 2)}" \
            f"{NBSP if lang == 'fr' else ' '}pt"
    return sign + fmt_value(x, u, lang)


def parse_number(text: str) -> float:
    """A number typed in a lever's box, in French or English style.

    "0,7", "0.7", "−1", "-1", "1 000", "1 000,5" and "12,5 %" are all read; a comma is
    the decimal separator unless it separates thousands in a number that also has a point.

    Raises:
        ValueError: not a number (the message quotes the text).
    """
    s = str(text).strip().replace("−", "-").replace(NBSP, "").replace(" ", "")
    s = s.replace(" ", "").rstrip("%")
    if "," in s and "." in s:
        s = s.replace(",", "")  # 1,234.5: English thousands
    else:
        s = s.replace(",", ".")
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"not a number: {str(text)[:40]!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"not a finite number: {str(text)[:40]!r}")
    return v


def fmt_plain(x: float | int | bool, lang: str) -> str:
    """A lever value as typed (no unit conversion): 0.25, 10, oui/yes."""
    if isinstance(x, bool):
        return t("yes" if x else "no", lang)
    if isinstance(x, int) or float(x).is_integer():
        return fmt_number(float(x), lang, 0)
    d = 3 if abs(float(x)) < 1 else 2
    s = fmt_number(float(x), lang, d)
    sep = "," if lang == "fr" else "."
    if sep in s:
        s = s.rstrip("0").rstrip(sep)
    return s


def fmt_lever(x: float | None, unit: str, lang: str, signed: bool = False) -> str:
    """A lever value as the panel shows it, with its unit: "2,5 %", "−50 %", "10 points".

    ``unit`` is a display unit of :attr:`simulation.dashboard.levers.FieldSpec.unit` ("%",
    "pt": :data:`UNIT_SYMBOLS`) or any words. ``x`` is the shown value
    (:meth:`simulation.dashboard.levers.FieldSpec.shown`); the number is :func:`fmt_plain`'s
    (decimal comma in French), "%" after a narrow no-break space in French, a space in
    English; ``signed`` puts "+" before a positive change.
    """
    if x is None:
        return "–"
    x = round(float(x), 9) + 0.0  # 30.000000000000004 is 30; -0.0 is 0
    s = fmt_plain(x, lang)
    if signed and x > 0:
        s = "+" + s
    if not unit:
        return s
    unit = _pick(UNIT_SYMBOLS[unit], lang) if unit in UNIT_SYMBOLS else unit
    sep = NBSP if lang == "fr" and unit.startswith("%") else " "
    return f"{s}{sep}{unit}"
