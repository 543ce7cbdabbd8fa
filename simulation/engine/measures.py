"""Measures: each registered once with its labels (English, French), unit and definition.

:func:`compute` evaluates them every step from the model's state and the month's ledger,
for every territory and for the whole map. ``docs/ODD.md`` lists them (``python -m
simulation.engine.measures`` prints the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulation.engine import kernels
from simulation.engine.agents.household import INCOME_FLOOR
from simulation.engine.population import population

if TYPE_CHECKING:  # pragma: no cover
    from simulation.engine.base import ModelBase as TerritoryModel


@dataclass(frozen=True)
class Measure:
    """Declaration of one measure.

    Attributes:
        name: identifier in results tables.
        label_en: English label.
        label_fr: French label.
        unit: unit of the value.
        definition: how it is computed.
        lo: smallest possible value (None: unbounded).
        hi: largest possible value (None: unbounded).
        scope: "both" (territory and map), "map" or "territory".
        headline: one of the three headline outcomes (attractiveness, inequality, local value).

    The good direction, the French unit and the display scale are declared once in
    :data:`DISPLAY` (below the list) and read through :attr:`good`, :attr:`unit_fr` and
    :meth:`display`: every table, map and chart takes its colours and units from there.
    """

    name: str
    label_en: str
    label_fr: str
    unit: str
    definition: str
    lo: float | None = None
    hi: float | None = None
    scope: str = "both"
    headline: bool = False

    @property
    def good(self) -> str | None:
        """The good direction: ``"higher"``, ``"lower"`` or None.

        From the point of view of the territory's residents, as public statistics read the
        measure; None when it has no good direction (a size, a market share the debate is
        about, a price).
        """
        return DISPLAY[self.name][0]

    @property
    def unit_fr(self) -> str:
        """The unit in French."""
        return DISPLAY[self.name][1]

    def display(self, lang: str = "en") -> tuple[float, str]:
        """How a value or a difference is shown: (factor, unit in ``lang``).

        Shares and 0-1 indices are shown x 100, levels in % and differences in points
        (the unit returned is ``"points"``; :meth:`level_unit` gives ``"%"``). Pure
        indices and ratios have no unit word.
        """
        if self.unit in ("share 0-1", "index 0-1"):
            return 100.0, "points"
        if self.unit.startswith("index") or self.unit == "ratio":
            return 1.0, ""
        return 1.0, self.unit_fr if lang == "fr" else self.unit

    def level_unit(self, lang: str = "en") -> str:
        """Unit of a displayed level (``%`` for shares, else :meth:`display`'s unit)."""
        f, u = self.display(lang)
        return "%" if f == 100.0 else u

    def clip(self, x: np.ndarray | float) -> np.ndarray:
        """``x`` clipped to the measure's natural range [lo, hi] (levels, not differences)."""
        lo = -np.inf if self.lo is None else self.lo
        hi = np.inf if self.hi is None else self.hi
        return np.clip(np.asarray(x, dtype=float), lo, hi)


_M = [
    Measure("households", "Households", "Ménages", "real households",
            "Households living in the territory (agents x weight).", 0, None),
    Measure("population_change", "Population change", "Évolution de la population",
            "% since start", "Change in the number of households since step 0.", -100, None),
    Measure("attractiveness", "Attractiveness (net migration)",
            "Attractivité (solde migratoire)", "per 1,000 households per year",
            "Net migration the relocation choices imply: households expected to move in minus "
            "those expected to move out (the logit probabilities of the month's movers, so "
            "without the choice draw's noise), summed over the last 12 months (annualised "
            "over the months run in the first year), per 1,000 of the territory's households "
            "per year; above 0 the territory gains residents by migration. Map: the same for "
            "towns and rural territories taken together (the rebalancing the source texts "
            "discuss). Formerly a choice-share index, now `choice_index`.",
            None, None, headline=True),
    Measure("choice_index", "Relocation choice index", "Indice de choix de localisation",
            "index (1 = proportional)",
            "Share of the expected relocation choices of a monthly sample of 1,500 households "
            "(logit probabilities if they moved, staying excluded), divided by the territory's "
            "share of households; map: the same index for towns and rural territories taken "
            "together. It falls with size (a large territory's own residents leaving count "
            "against it while they cannot choose it), so it ranks small territories high: "
            "for researchers comparing choice shares, not a reading of who gains residents.",
            0, None),
    Measure("choice_share", "Share of relocation choices", "Part des choix de localisation",
            "share 0-1", "Share of the month's expected relocation choices (logit "
            "probabilities of a sample of 1,500 households, stays excluded) going to the "
            "territory; map: sum (1).", 0, 1, scope="territory"),
    Measure("net_migration", "Net migration", "Solde migratoire",
            "per 1,000 households per year",
            "(Households moving in - moving out) this month x 12 / households x 1,000; map: "
            "inter-territory moves per 1,000 households per year.", None, None),
    Measure("net_migration_rate", "Net migration rate", "Taux de variation dû au solde "
            "migratoire", "% of population per year",
            "INSEE's definition applied to household agents: (households moving in - moving "
            "out) over the last 12 months / mean households over those months x 100 "
            "(annualised over the months run in the first year); map: 0 (the map is closed "
            "to migration).", None, None),
    Measure("natural_balance_rate", "Natural balance rate", "Taux de variation dû au solde "
            "naturel", "% of population per year",
            "INSEE's definition applied to household agents: (households formed - households "
            "dissolved) over the last 12 months / mean households over those months x 100 "
            "(annualised over the months run in the first year). The model's unit is the "
            "household, so this is the natural balance of households, not of persons.",
            None, None),
    Measure("mean_income", "Mean disposable income", "Revenu disponible moyen",
            "EUR/month per household", "Mean disposable income of households.", None, None),
    Measure("gini", "Gini of incomes", "Gini des revenus", "index 0-1",
            "Gini coefficient of household disposable incomes (negative incomes set to 0).",
            0, 1, headline=True),
    Measure("theil", "Theil index", "Indice de Theil", "index >= 0",
            "Theil T index of incomes (floored at 50 EUR/month).", 0, None),
    Measure("theil_between", "Theil, between territories", "Theil inter-territoires",
            "index >= 0", "Between-territory part of the map's Theil index (sum of income "
            "shares x log of relative mean incomes).", 0, None, scope="map", headline=True),
    Measure("theil_within", "Theil, within territories", "Theil intra-territoires",
            "index >= 0", "Within-territory part of the map's Theil index.", 0, None,
            scope="map"),
    Measure("gini_territories", "Gini between territories", "Gini inter-territoires",
            "index 0-1", "Population-weighted Gini of mean income per household across "
            "territories.", 0, 1, scope="map"),
    Measure("d9_d1", "Top/bottom ratio (D9/D1)", "Rapport D9/D1", "ratio",
            "Ninth decile over first decile of household incomes (floored at 50 EUR).",
            1, None),
    Measure("broadband_coverage", "Broadband coverage", "Couverture très haut débit",
            "share 0-1", "Share of premises with very-high-speed access (map: household-"
            "weighted).", 0, 1),
    Measure("illectronism", "Illectronism", "Illectronisme", "share 0-1",
            "Share of households whose digital literacy is below the illiteracy threshold.",
            0, 1),
    Measure("coverage_gap", "Broadband gap (urban - rural)", "Écart de couverture urbain-rural",
            "share points", "Household-weighted coverage of metropolises and cities minus that "
            "of towns and rural territories.", -1, 1, scope="map"),
    Measure("local_value_captured", "Local value captured", "Valeur captée localement",
            "share 0-1", "Share of residents' consumption spending (rent excluded: housing is "
            "always local) received by firms, the local platform and the authority of the same "
            "territory, from the month's ledger; map: spending-weighted mean.", 0, 1,
            headline=True),
    Measure("leakage_global", "Leakage to the global platform",
            "Fuite vers la plateforme mondiale", "share 0-1",
            "Global platform margin (commission minus local taxes) on residents' purchases, "
            "over residents' spending.", 0, 1),
    Measure("global_platform_share", "Global platform market share",
            "Part de marché de la plateforme mondiale", "share 0-1",
            "Share of the proximity basket bought through the global platform.", 0, 1),
    Measure("local_platform_share", "Local platform market share",
            "Part de marché des plateformes locales", "share 0-1",
            "Share of the proximity basket bought through a local platform.", 0, 1),
    Measure("local_tax_base", "Authority revenue per household",
            "Recettes locales par ménage", "EUR/month per household",
            "Authority revenue (taxes and grants) per resident household.", None, None),
    Measure("budget_balance", "Authority budget balance", "Solde budgétaire local",
            "EUR/month per household", "Authority revenue minus spending, per household.",
            None, None),
    Measure("employment_rate", "Employment rate", "Taux d'emploi", "share 0-1",
            "Employed households over working-age households (by residence).", 0, 1),
    Measure("unemployment_rate", "Unemployment rate", "Taux de chômage", "share 0-1",
            "By residence, as INSEE's localised rate: resident households without a job / "
            "resident labour force (households under the retirement age; the model has no "
            "other inactivity), wherever the job is.", 0, 1),
    Measure("telework_share", "Telework share", "Part de télétravailleurs", "share 0-1",
            "Share of employed households teleworking at least one day a week.", 0, 1),
    Measure("telework_days", "Telework days", "Jours de télétravail", "days/week",
            "Mean telework days a week of employed households (fully remote workers count 5).",
            0, 5),
    Measure("firms", "Firms", "Entreprises", "firm agents", "Live firm agents.", 0, None),
    Measure("firm_births", "Firm births", "Créations d'entreprises", "firm agents/month",
            "Firm agents created this month.", 0, None),
    Measure("firm_deaths", "Firm closures", "Fermetures d'entreprises", "firm agents/month",
            "Firm agents closed this month.", 0, None),
    Measure("non_take_up", "Non-take-up of rights", "Non-recours aux droits", "share 0-1",
            "Share of households eligible to the minimum income who do not receive it.", 0, 1),
    Measure("non_take_up_low_literacy", "Non-take-up, low literacy",
            "Non-recours, faible littératie", "share 0-1",
            "Non-take-up among eligible households below the illiteracy threshold.", 0, 1),
    Measure("service_access", "Access to public counters", "Accès aux guichets", "share 0-1",
            "Share of households within reach of a counter or a France Services house.", 0, 1),
    Measure("commute_km", "Commuting distance", "Distance domicile-travail",
            "km/month per household", "Commuting kilometres per household per month.",
            0, None),
    Measure("commute_co2", "Commuting CO2", "CO2 des trajets domicile-travail",
            "t CO2/month", "Commuting emissions of the territory's households.", 0, None),
    Measure("housing_price", "Housing price index", "Indice des prix du logement",
            "index", "Housing price index (national density = 1 at start).", 0, None),
]

# name: (good direction, French unit). "higher"/"lower": from the point of view of the
# territory's residents, as public statistics read the measure; None: no good direction (the
# measure is a size or a market share whose merits are what scenarios are run to discuss,
# or a price that is good for owners and bad for tenants).
DISPLAY: dict[str, tuple[str | None, str]] = {
    "households": (None, "ménages"),
    "population_change": ("higher", "% depuis le début"),
    "attractiveness": ("higher", "pour 1 000 ménages par an"),
    "choice_index": (None, "indice (1 = proportionnel)"),
    "choice_share": (None, "part 0-1"),
    "net_migration": ("higher", "pour 1 000 ménages par an"),
    "net_migration_rate": ("higher", "% de la population par an"),
    "natural_balance_rate": (None, "% de la population par an"),
    "mean_income": ("higher", "€/mois par ménage"),
    "gini": ("lower", "indice 0-1"),
    "theil": ("lower", "indice >= 0"),
    "theil_between": ("lower", "indice >= 0"),
    "theil_within": ("lower", "indice >= 0"),
    "gini_territories": ("lower", "indice 0-1"),
    "d9_d1": ("lower", "rapport"),
    "broadband_coverage": ("higher", "part 0-1"),
    "illectronism": ("lower", "part 0-1"),
    "coverage_gap": ("lower", "points de part"),
    "local_value_captured": ("higher", "part 0-1"),
    "leakage_global": ("lower", "part 0-1"),
    "global_platform_share": (None, "part 0-1"),
    "local_platform_share": (None, "part 0-1"),
    "local_tax_base": ("higher", "€/mois par ménage"),
    "budget_balance": (None, "€/mois par ménage"),
    "employment_rate": ("higher", "part 0-1"),
    "unemployment_rate": ("lower", "part 0-1"),
    "telework_share": (None, "part 0-1"),
    "telework_days": (None, "jours/semaine"),
    "firms": ("higher", "entreprises (agents)"),
    "firm_births": ("higher", "créations (agents)/mois"),
    "firm_deaths": ("lower", "fermetures (agents)/mois"),
    "non_take_up": ("lower", "part 0-1"),
    "non_take_up_low_literacy": ("lower", "part 0-1"),
    "service_access": ("higher", "part 0-1"),
    "commute_km": ("lower", "km/mois par ménage"),
    "commute_co2": ("lower", "t CO2/mois"),
    "housing_price": (None, "indice"),
}

MEASURES: dict[str, Measure] = {m.name: m for m in _M}
if set(DISPLAY) != set(MEASURES):  # pragma: no cover - a declaration error
    raise RuntimeError(f"measures without a DISPLAY entry: {set(MEASURES) ^ set(DISPLAY)}")
TERRITORY_MEASURES = [m.name for m in _M if m.scope in ("both", "territory")]
MAP_MEASURES = [m.name for m in _M if m.scope in ("both", "map")]
FLOW_MEASURES = ("attractiveness", "choice_index", "choice_share", "net_migration",
                 "local_value_captured", "leakage_global", "global_platform_share",
                 "local_platform_share",
                 "firm_births", "firm_deaths", "non_take_up", "non_take_up_low_literacy",
                 "budget_balance")
HEADLINE = ["attractiveness", "theil_between", "gini", "local_value_captured"]


def gini(x: np.ndarray, w: np.ndarray | None = None) -> float:
    """Gini coefficient of values ``x`` (weights ``w``), 0 for empty or all-zero input."""
    x = np.maximum(np.asarray(x, float), 0.0)
    if x.size == 0:
        return 0.0
    if w is None:
        w = np.ones_like(x)
    order = np.argsort(x, kind="stable")
    x, w = x[order], np.asarray(w, float)[order]
    cw = np.cumsum(w)
    cxw = np.cumsum(x * w)
    if cxw[-1] <= 0:
        return 0.0
    # area under the Lorenz curve by trapezoids
    lorenz = cxw / cxw[-1]
    prev = np.concatenate([[0.0], lorenz[:-1]])
    area = np.sum(w / cw[-1] * (lorenz + prev) / 2.0)
    return float(1.0 - 2.0 * area)


def compute(model: TerritoryModel) -> tuple[dict[str, float], np.ndarray]:
    """Evaluate every measure.

    Returns:
        (map-level values by name, territory-level array of shape (K, len(TERRITORY_MEASURES))).
    """
    p = model.p
    h = model.hh
    t = model.terr
    K = model.K
    W = model.household_weight
    pop = population(model)
    alive = pop.alive
    home = pop.home_alive
    inc = np.maximum(h.income[alive], 0.0)
    n_k = pop.n_k.astype(float)
    N = max(alive.size, 1)
    counts, extra = _status_counts(model, pop)
    real = n_k * W
    T: dict[str, np.ndarray] = {}
    M: dict[str, float] = {}
    T["households"] = real
    M["households"] = float(real.sum())
    T["population_change"] = np.where(model.households0 > 0,
                                      100.0 * (n_k / model.households0 - 1.0), 0.0)
    M["population_change"] = 100.0 * (N / model.households0.sum() - 1.0)
    # attractiveness
    cp = model.choice_prob
    share_choice = cp / cp.sum() if cp.sum() > 0 else np.zeros(K)
    pop_share = n_k / N
    T["choice_share"] = share_choice
    T["choice_index"] = np.divide(share_choice, pop_share, out=np.zeros(K),
                                  where=pop_share > 0)
    periph = model.tmap.kind >= 2
    ps = pop_share[periph].sum()
    M["choice_index"] = float(share_choice[periph].sum() / ps) if ps > 0 else float("nan")
    mi = model.counters.get("moves_in", np.zeros(K))
    mo = model.counters.get("moves_out", np.zeros(K))
    T["net_migration"] = np.divide((mi - mo) * 12_000.0, n_k, out=np.zeros(K), where=n_k > 0)
    M["net_migration"] = float(mi.sum() * 12_000.0 / N)
    e_net = (model.counters.get("expected_moves_in", np.zeros(K))
             - model.counters.get("expected_moves_out", np.zeros(K)))
    net_rate, nat_rate, nat_map, e_sum, pop_mean = _annual_rates(model, mi - mo, n_k, e_net)
    T["net_migration_rate"], M["net_migration_rate"] = net_rate, 0.0
    T["attractiveness"] = np.divide(e_sum * 1000.0, pop_mean, out=np.zeros(K),
                                    where=pop_mean > 0)
    pp = float(pop_mean[periph].sum())
    M["attractiveness"] = float(e_sum[periph].sum() * 1000.0 / pp) if pp > 0 else 0.0
    T["natural_balance_rate"], M["natural_balance_rate"] = nat_rate, nat_map
    # incomes and inequality. Sorted incomes: map level by a radix sort (np.sort's values);
    # by territory by sorting the key home + income / (max + 1), which orders by territory,
    # then income (exact to ~1e-13); every sum by territory is then one pass over
    # contiguous runs
    xs = kernels.sort_nonnegative(inc)
    M["gini"] = _gini_sorted(xs)
    top = float(xs[-1]) + 1.0 if xs.size else 1.0
    key = kernels.sort_nonnegative(home + inc / top)
    hs = key.astype(np.int64)
    xg = key
    xg -= hs
    xg *= top
    starts = np.concatenate([[0], np.cumsum(pop.n_k)]).astype(np.intp)
    xf_all = np.maximum(xs, INCOME_FLOOR)
    muf = float(xf_all.mean()) if xs.size else 1.0
    sum_k, rank_x, sum_f, sum_r, sum_rlr = kernels.sorted_group_sums(starts, xg, INCOME_FLOOR,
                                                                     muf)
    mean_k = np.divide(sum_k, n_k, out=np.zeros(K), where=n_k > 0)
    T["mean_income"] = mean_k
    mu = float(inc.mean()) if inc.size else 0.0
    M["mean_income"] = mu
    # Gini by territory: G = 2 sum_i i x_i / (n sum x) - (n + 1) / n, i the rank (1-based)
    gk = np.zeros(K)
    okg = (n_k > 0) & (sum_k > 0)
    gk[okg] = 2.0 * rank_x[okg] / (n_k[okg] * sum_k[okg]) - (n_k[okg] + 1.0) / n_k[okg]
    T["gini"] = np.clip(gk, 0.0, 1.0)
    # Theil index T = mean(r log r), r = x / mean (floored incomes), split into the
    # between-territory and within-territory parts
    M["theil"] = float(sum_rlr.sum() / N)
    muf_k = np.divide(sum_f, n_k, out=np.ones(K), where=n_k > 0)
    # T_k = mean(r_k log r_k) with r_k = x / mu_k = r * mu / mu_k
    a_k = muf / muf_k
    t_k = np.divide(sum_rlr * a_k + np.log(a_k) * a_k * sum_r, n_k,
                    out=np.zeros(K), where=n_k > 0)
    T["theil"] = np.maximum(t_k, 0.0)
    s_k = sum_f / max(sum_f.sum(), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.where(s_k > 0, s_k * np.log(muf_k / muf), 0.0)
    M["theil_between"] = float(max(between.sum(), 0.0))
    M["theil_within"] = float((s_k * T["theil"]).sum())
    M["gini_territories"] = gini(mean_k[n_k > 0], n_k[n_k > 0])
    M["d9_d1"] = _d9d1(xs)
    nk_i = n_k.astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(nk_i)[:-1]])
    ok = nk_i >= 10
    lo_i = starts + (0.1 * (nk_i - 1)).astype(np.int64)
    hi_i = starts + (0.9 * (nk_i - 1)).astype(np.int64)
    dec = np.ones(K)
    dec[ok] = (np.maximum(xg[hi_i[ok]], INCOME_FLOOR)
               / np.maximum(xg[lo_i[ok]], INCOME_FLOOR))
    T["d9_d1"] = dec
    # digital
    T["broadband_coverage"] = t.broadband.copy()
    M["broadband_coverage"] = float((t.broadband * n_k).sum() / N)
    illit_k = counts(ILLITERATE)
    T["illectronism"] = np.divide(illit_k, n_k, out=np.zeros(K), where=n_k > 0)
    M["illectronism"] = float(illit_k.sum() / alive.size) if alive.size else 0.0
    urban = model.tmap.kind <= 1
    w_u, w_r = n_k[urban].sum(), n_k[~urban].sum()
    M["coverage_gap"] = float(
        ((t.broadband * n_k)[urban].sum() / w_u if w_u else 0.0)
        - ((t.broadband * n_k)[~urban].sum() / w_r if w_r else 0.0))
    # local value captured, from the ledger
    fl = getattr(model, "flows_now", None)
    if fl is not None:
        spend = fl["spending"]
        retained = model.local_retained
        T["local_value_captured"] = np.divide(retained, spend, out=np.zeros(K),
                                              where=spend > 0)
        M["local_value_captured"] = float(retained.sum() / max(spend.sum(), 1e-9))
        T["leakage_global"] = np.divide(fl["margin"], spend, out=np.zeros(K), where=spend > 0)
        M["leakage_global"] = float(fl["margin"].sum() / max(spend.sum(), 1e-9))
        b = fl["basket"]
        T["global_platform_share"] = np.divide(fl["glob_basket"], b, out=np.zeros(K),
                                               where=b > 0)
        M["global_platform_share"] = float(fl["glob_basket"].sum() / max(b.sum(), 1e-9))
        T["local_platform_share"] = np.divide(fl["local_basket"], b, out=np.zeros(K),
                                              where=b > 0)
        M["local_platform_share"] = float(fl["local_basket"].sum() / max(b.sum(), 1e-9))
    else:
        for name in ("local_value_captured", "leakage_global", "global_platform_share",
                     "local_platform_share"):
            T[name] = np.zeros(K)
            M[name] = 0.0
    a = model.auth
    T["local_tax_base"] = np.divide(a.revenue, real, out=np.zeros(K), where=real > 0)
    M["local_tax_base"] = float(a.revenue.sum() / max(real.sum(), 1.0))
    T["budget_balance"] = np.divide(a.revenue - a.spending, real, out=np.zeros(K),
                                    where=real > 0)
    M["budget_balance"] = float((a.revenue - a.spending).sum() / max(real.sum(), 1.0))
    # labour
    lf_k = counts(WORKING_AGE)
    emp_k = counts(EMPLOYED | WORKING_AGE)
    T["employment_rate"] = np.divide(emp_k, lf_k, out=np.zeros(K), where=lf_k > 0)
    M["employment_rate"] = float(emp_k.sum() / max(lf_k.sum(), 1.0))
    T["unemployment_rate"] = 1.0 - T["employment_rate"]
    T["unemployment_rate"][lf_k == 0] = 0.0
    M["unemployment_rate"] = 1.0 - M["employment_rate"]
    tw_k = counts(EMPLOYED | TELEWORKING)
    T["telework_share"] = np.divide(tw_k, emp_k, out=np.zeros(K), where=emp_k > 0)
    M["telework_share"] = float(tw_k.sum() / max(emp_k.sum(), 1))
    twd_k = extra[1]
    all_emp = counts(EMPLOYED)
    T["telework_days"] = np.divide(twd_k, all_emp, out=np.zeros(K), where=all_emp > 0)
    M["telework_days"] = float(twd_k.sum() / max(all_emp.sum(), 1))
    f = model.firms
    T["firms"] = np.bincount(f.terr[f.alive], minlength=K).astype(float)
    M["firms"] = float(f.alive.sum())
    fb = model.counters.get("firm_births", np.zeros(K)).astype(float)
    fd = model.counters.get("firm_deaths", np.zeros(K)).astype(float)
    T["firm_births"], M["firm_births"] = fb, float(fb.sum())
    T["firm_deaths"], M["firm_deaths"] = fd, float(fd.sum())
    # services
    el_k = counts(ELIGIBLE)
    nt_k = counts(ELIGIBLE, TAKEN_UP)
    T["non_take_up"] = np.divide(nt_k, el_k, out=np.zeros(K), where=el_k > 0)
    M["non_take_up"] = float(nt_k.sum() / max(el_k.sum(), 1))
    el_lk = counts(ELIGIBLE | ILLITERATE)
    nt_lk = counts(ELIGIBLE | ILLITERATE, TAKEN_UP)
    T["non_take_up_low_literacy"] = np.divide(nt_lk, el_lk, out=np.zeros(K), where=el_lk > 0)
    M["non_take_up_low_literacy"] = float(nt_lk.sum() / max(el_lk.sum(), 1))
    acc = model.service_access
    T["service_access"] = acc.copy()
    M["service_access"] = float((acc * n_k).sum() / N)
    km_k = extra[0]
    T["commute_km"] = np.divide(km_k, n_k, out=np.zeros(K), where=n_k > 0)
    M["commute_km"] = float(km_k.sum() / alive.size) if alive.size else 0.0
    T["commute_co2"] = km_k * W * p.co2_per_km / 1000.0
    M["commute_co2"] = float(T["commute_co2"].sum())
    T["housing_price"] = t.price.copy()
    M["housing_price"] = float((t.price * n_k).sum() / N)
    if model.steps == 0:
        # flow measures are undefined before the first month has run
        for name in FLOW_MEASURES:
            if name in T:
                T[name] = np.full(K, np.nan)
            if name in M:
                M[name] = float("nan")
    terr = np.column_stack([T[name] for name in TERRITORY_MEASURES])
    return {name: M[name] for name in MAP_MEASURES}, terr


def _annual_rates(model: TerritoryModel, net: np.ndarray, n_k: np.ndarray,
                  expected_net: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """Net migration and natural balance rates over the last 12 months (% per year).

    Keeps the months' flows and end-of-month households (agents) in ``model._demo_window``
    (one entry per step; a second call in the same step does not add one). Returns the
    territory rates, the map's natural balance rate, the expected net migration summed over
    the window and annualised (agents per year) and the window's mean households (agents).
    """
    K = model.K
    win = model.__dict__.setdefault("_demo_window", {"step": -1, "rows": []})
    if model.steps > 0 and win["step"] != model.steps:
        form = model.counters.get("formations", np.zeros(K))
        diss = model.counters.get("dissolutions", np.zeros(K))
        e = np.zeros(K) if expected_net is None else np.asarray(expected_net, float)
        win["rows"] = [*win["rows"][-11:],
                       (np.asarray(net, float), np.asarray(form - diss, float), n_k.copy(),
                        e.copy())]
        win["step"] = model.steps
    rows = win["rows"]
    if not rows:
        return np.zeros(K), np.zeros(K), 0.0, np.zeros(K), n_k.astype(float)
    m = len(rows)
    net_s = sum(r[0] for r in rows) * (12.0 / m)
    nat_s = sum(r[1] for r in rows) * (12.0 / m)
    mean_pop = sum(r[2] for r in rows) / m
    e_s = sum(r[3] for r in rows) * (12.0 / m)
    pct = 100.0
    net_rate = np.divide(net_s * pct, mean_pop, out=np.zeros(K), where=mean_pop > 0)
    nat_rate = np.divide(nat_s * pct, mean_pop, out=np.zeros(K), where=mean_pop > 0)
    return (net_rate, nat_rate, float(nat_s.sum() * pct / max(mean_pop.sum(), 1.0)), e_s,
            np.asarray(mean_pop, float))


def _gini_sorted(xs: np.ndarray) -> float:
    n = xs.size
    tot = xs.sum()
    if n == 0 or tot <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.clip(2.0 * np.sum(i * xs) / (n * tot) - (n + 1.0) / n, 0.0, 1.0))


def _d9d1(xs: np.ndarray) -> float:
    """D9/D1 of sorted incomes, each decile floored at INCOME_FLOOR."""
    n = xs.size
    if n < 10:
        return 1.0
    return float(max(xs[int(0.9 * (n - 1))], INCOME_FLOOR)
                 / max(xs[int(0.1 * (n - 1))], INCOME_FLOOR))


# household status flags counted by :func:`_status_counts` (bits of one code)
WORKING_AGE, EMPLOYED, TELEWORKING, ELIGIBLE, TAKEN_UP, ILLITERATE = (1 << i for i in range(6))


def _status_counts(model: TerritoryModel, pop):
    """Counts of live households by territory and status flags, in one pass.

    Every live household gets a 6-bit code of its flags (working age, employed, teleworking
    one day a week or more, eligible to the minimum income, taking it up, below the
    illiteracy threshold); counting (territory, code) pairs once gives every count the
    measures need (exact integers, as separate counts would give).

    The same pass sums commuting km and telework days by territory.

    Returns:
        ``(counts, sums)``: ``counts(has, lacks=0)`` gives households by territory (float)
        with all the flags of ``has`` and none of ``lacks``; ``sums`` (2 x K) are commuting
        km (per month) and telework days (per week) by territory.
    """
    h = model.hh
    p = model.p
    table, sums = kernels.status_pass(
        h.alive, pop.home, model.K, h.age, float(p.retirement_age), h.employer,
        h.telework_days, h.eligible, h.taken_up, h.literacy, float(p.illiteracy_threshold),
        h.commute_km)
    flags = np.arange(64)

    def counts(has: int, lacks: int = 0) -> np.ndarray:
        sel = ((flags & has) == has) & ((flags & lacks) == 0)
        return table[:, sel].sum(axis=1).astype(float)

    return counts, sums


def markdown_table() -> str:
    """The measures as a Markdown table (for docs/ODD.md)."""
    lines = ["| name | label (en / fr) | unit (en / fr) | range | better | scope | definition |",
             "|---|---|---|---|---|---|---|"]
    for m in _M:
        rng = f"[{'-inf' if m.lo is None else f'{m.lo:g}'}, " \
              f"{'inf' if m.hi is None else f'{m.hi:g}'}]"
        lines.append(f"| `{m.name}` | {m.label_en} / {m.label_fr} | {m.unit} / {m.unit_fr} | "
                     f"{rng} | {m.good or '-'} | {m.scope} | {m.definition} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
