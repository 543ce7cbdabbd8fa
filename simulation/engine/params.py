"""Every model parameter, declared once.

Each :class:`Param` carries its default, unit, allowed range, English and French labels,
its group and, where one exists, its source. The model validates its keyword arguments
against this registry; the scenario loader, the sweep bounds, the dashboard sliders, the
``terrinum list`` command and the parameter table of ``docs/ODD.md`` all read the same
declaration (``python -m simulation.engine.params`` prints the Markdown table).

Groups:
    structure: size and shape of a run (number of agents, map-independent constants).
    behaviour: behavioural parameters of households and firms (estimated or assumed).
    economy: prices, wages, taxes and transfers.
    lever: policy choices a territory or the state makes.
    uncertainty: things nobody chooses (platform growth, fuel prices, telework norms).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from simulation.errors import InputError, clip_repr

GROUPS = ("structure", "behaviour", "economy", "lever", "uncertainty")


class ParameterError(InputError):
    """A parameter name, type or value that the registry does not allow."""


@dataclass(frozen=True)
class Param:
    """Declaration of one model parameter.

    Attributes:
        name: identifier used in code, scenario files and sweeps.
        default: default value.
        unit: unit of the value (e.g. "EUR/month", "1/month", "share 0-1").
        lo: smallest allowed value (inclusive).
        hi: largest allowed value (inclusive).
        label_en: short English label (dashboard, plots).
        label_fr: short French label.
        group: one of :data:`GROUPS`.
        doc: one-sentence meaning.
        source: bibliographic source or "assumption" with the reasoning.
        kind: "float", "int" or "bool".
        declared_default: the declared default when ``default`` is a calibrated value
            (:mod:`simulation.engine.calibrated`), else None.
    """

    name: str
    default: float | int | bool
    unit: str
    lo: float
    hi: float
    label_en: str
    label_fr: str
    group: str
    doc: str
    source: str = "assumption"
    kind: str = "float"
    declared_default: float | int | bool | None = None

    @property
    def calibrated(self) -> bool:
        """Whether the default comes from the shipped calibration (ODD 1.3)."""
        return self.declared_default is not None

    def check(self, value: Any, where: str = "") -> float | int | bool:
        """Return ``value`` converted to the declared type, or raise :class:`ParameterError`."""
        prefix = f"{where}: " if where else ""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParameterError(
                f"{prefix}parameter '{self.name}' must be true or false, got "
                f"{clip_repr(value)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(
                f"{prefix}parameter '{self.name}' must be a number ({self.unit}), "
                f"got {type(value).__name__} {clip_repr(value)}; allowed range "
                f"{self.range_text()}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(
                f"{prefix}parameter '{self.name}' must be a finite number, got {value!r}; "
                f"allowed range {self.range_text()}"
            )
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ParameterError(
                    f"{prefix}parameter '{self.name}' must be a whole number, got {value!r}; "
                    f"allowed range {self.range_text()}"
                )
        if not (self.lo <= value <= self.hi):
            raise ParameterError(
                f"{prefix}parameter '{self.name}' = {clip_repr(value)} is out of range; "
                f"allowed range {self.range_text()} ({self.doc})"
            )
        return int(value) if self.kind == "int" else float(value)

    def range_text(self) -> str:
        """Human-readable allowed range with unit."""
        if self.kind == "bool":
            return "true or false"
        return f"[{_fmt(self.lo)}, {_fmt(self.hi)}] {self.unit}"


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


_P: list[Param] = [
    # ---------------------------------------------------------------- structure
    Param("n_households", 50_000, "household agents", 50, 5_000_000, "Household agents",
          "Agents ménages", "structure",
          "Number of household agents; each stands for (real households / n_households) "
          "real households (about 600 on the map of France at the default).",
          "choice: large enough for territory-level measures on 96 départements, small "
          "enough for a live dashboard; speed measured by python -m benchmarks.bench", "int"),
    Param("households_per_firm", 12.0, "household agents per firm agent", 2, 200,
          "Households per firm agent", "Ménages par agent entreprise", "structure",
          "Initial number of household agents per firm agent (sets the number of firm agents).",
          "choice: keeps about 4,000 firm agents at the default"),
    # ---------------------------------------------------------------- demography
    Param("formation_rate", 0.0175, "1/year", 0.0, 0.1, "Household formation rate",
          "Taux de formation des ménages", "behaviour",
          "New households formed per existing household and year (young adults leaving home).",
          "assumption: balances dissolutions at the start (about 1.75 %/year), so the number of "
          "households is roughly stable; raise it to study growth (INSEE: households grow "
          "about 0.8 %/year as their size falls)"),
    Param("dissolution_rate_old", 0.075, "1/year", 0.0, 0.5, "Dissolution rate 75+",
          "Taux de dissolution 75 ans et +", "behaviour",
          "Annual probability that a household whose reference person is 75 or older dissolves.",
          "assumption, order of magnitude of INSEE mortality at 75-90"),
    Param("dissolution_rate_senior", 0.015, "1/year", 0.0, 0.2, "Dissolution rate 60-74",
          "Taux de dissolution 60-74 ans", "behaviour",
          "Annual probability of dissolution for a household aged 60-74.", "assumption"),
    Param("dissolution_rate_young", 0.003, "1/year", 0.0, 0.1, "Dissolution rate <60",
          "Taux de dissolution <60 ans", "behaviour",
          "Annual probability of dissolution (death, merger) for a household under 60.",
          "assumption"),
    Param("retirement_age", 63.0, "years", 55, 70, "Retirement age", "Âge de départ à la retraite",
          "economy", "Age at which a household leaves the labour force and draws a pension.",
          "French legal age 62 rising to 64 (2023 reform); 63 as a mid-period value"),
    # ---------------------------------------------------------------- labour market
    Param("wage_low", 1_700.0, "EUR/month", 500, 10_000, "Wage, low skill", "Salaire peu qualifié",
          "economy", "Reference net monthly wage of a low-skill worker at average productivity.",
          "INSEE private-sector net wages 2022: ouvriers/employés about 1,900-2,000 EUR "
          "(unconfirmed here; order of magnitude)"),
    Param("wage_mid", 2_400.0, "EUR/month", 500, 15_000, "Wage, mid skill",
          "Salaire qualification moyenne", "economy",
          "Reference net monthly wage of a mid-skill worker.",
          "INSEE 2022: professions intermédiaires about 2,500 EUR (unconfirmed here)"),
    Param("wage_high", 4_200.0, "EUR/month", 500, 30_000, "Wage, high skill", "Salaire cadre",
          "economy", "Reference net monthly wage of a high-skill worker.",
          "INSEE 2022: cadres about 4,300 EUR net (unconfirmed here)"),
    Param("share_high_skill", 0.20, "share 0-1", 0.0, 0.8, "Share high skill", "Part de cadres",
          "structure", "Initial share of households whose earner is high skill (cadre).",
          "INSEE: cadres about 21 % of employment (2022, unconfirmed here)"),
    Param("share_mid_skill", 0.35, "share 0-1", 0.0, 0.8, "Share mid skill",
          "Part qualification moyenne", "structure",
          "Initial share of mid-skill earners (professions intermédiaires, skilled employees).",
          "assumption"),
    Param("separation_rate", 0.012, "1/month", 0.0, 0.2, "Job separation rate",
          "Taux de séparation", "behaviour", "Monthly probability that a job ends (quit, "
          "end of contract) apart from layoffs.", "assumption, about 14 %/year"),
    Param("matching_efficiency", 0.35, "1/month", 0.01, 1.0, "Matching efficiency",
          "Efficacité d'appariement", "behaviour",
          "Share of min(job seekers, reachable vacancies) matched in a month.", "assumption"),
    Param("max_commute_min", 60.0, "minutes one way", 10, 240, "Max commuting time",
          "Temps de trajet maximal", "behaviour",
          "Longest one-way trip a worker accepts for a job he must attend in person.",
          "assumption; few French commuters travel more than an hour one way"),
    Param("agglomeration_elasticity", 0.03, "elasticity", 0.0, 0.15,
          "Agglomeration elasticity", "Élasticité d'agglomération", "behaviour",
          "Elasticity of firm productivity with respect to the territory's density.",
          "Combes, Duranton, Gobillon & Roux (2010), 'Estimating agglomeration economies with "
          "history, geology, and worker effects', and Combes et al. (2008, 2012): about 0.02-0.05 "
          "on French data"),
    Param("wage_curve_elasticity", 0.1, "elasticity", 0.0, 0.5, "Wage-curve elasticity",
          "Élasticité de la courbe des salaires", "behaviour",
          "Minus the elasticity of wages with respect to the unemployment rate of the "
          "workplace's territory relative to the map's (the wage curve: w proportional to "
          "(u / u_map)^-elasticity).",
          "Blanchflower & Oswald (1994, 'The Wage Curve'; 1995, JEP 9(3)): about -0.1 in "
          "many countries; Nijkamp & Poot (2005) meta-analysis: about -0.07"),
    Param("wage_curve_min_unemployment", 0.02, "share 0-1", 0.001, 0.2,
          "Wage-curve unemployment floor", "Plancher de chômage de la courbe des salaires",
          "structure",
          "Unemployment rates below this are taken at this value in the wage curve (keeps "
          "log(u) finite where no one is out of work).",
          "assumption: frictional unemployment; no French département was below 4 % in "
          "2019-2023 (INSEE), so it binds only for small territories' sampling noise"),
    Param("remote_share_high", 0.60, "share 0-1", 0.0, 1.0, "Remote-able jobs, high skill",
          "Emplois télétravaillables, cadres", "behaviour",
          "Share of high-skill households whose job can be done remotely.",
          "DARES 2024 (via Vie publique): 61 % of teleworkers are cadres"),
    Param("remote_share_mid", 0.25, "share 0-1", 0.0, 1.0, "Remote-able jobs, mid skill",
          "Emplois télétravaillables, intermédiaires", "behaviour",
          "Share of mid-skill households whose job can be done remotely.", "assumption"),
    Param("remote_share_low", 0.04, "share 0-1", 0.0, 1.0, "Remote-able jobs, low skill",
          "Emplois télétravaillables, peu qualifiés", "behaviour",
          "Share of low-skill households whose job can be done remotely.",
          "DARES 2024: 12 % of employés and 1 % of ouvriers telework"),
    Param("full_remote_share", 0.15, "share 0-1", 0.0, 1.0, "Fully remote jobs",
          "Emplois entièrement à distance", "uncertainty",
          "Share of remote-able vacancies that can be held fully at a distance, from anywhere "
          "on the map (the network is the workplace).", "assumption"),
    # ---------------------------------------------------------------- incomes, taxes
    Param("unemployment_benefit_rate", 0.57, "share of reference wage", 0.0, 1.0,
          "Unemployment benefit rate", "Taux d'indemnisation chômage", "economy",
          "Unemployment benefit as a share of the reference wage, for up to 24 months.",
          "Unédic: ARE replaces about 57 % of the gross reference wage (unconfirmed here)"),
    Param("benefit_months", 24, "months", 0, 60, "Benefit duration", "Durée d'indemnisation",
          "economy", "Months of unemployment benefit before minimum-income eligibility only.",
          "Unédic maximum for under-53s (unconfirmed here)", "int"),
    Param("pension_rate", 0.70, "share of reference wage", 0.0, 1.2, "Pension replacement",
          "Taux de remplacement retraite", "economy",
          "Pension as a share of the reference wage of the household's skill.",
          "assumption (DREES: net replacement rates about 70-75 %)"),
    Param("minimum_income", 1_000.0, "EUR/month", 0, 3_000, "Income floor of rights",
          "Plancher des droits sociaux", "economy",
          "Monthly income that means-tested rights (RSA, prime d'activité, housing benefit) "
          "guarantee a household that claims them: the benefits top its income up to it.",
          "RSA about 636 EUR for a single person in 2024, plus prime d'activité and housing "
          "benefit (service-public.fr, unconfirmed here); a package-level assumption"),
    Param("income_tax_rate", 0.14, "share of income", 0.0, 0.6, "Income tax and contributions",
          "Impôt et contributions", "economy",
          "Flat rate of national tax and social contributions on household income (to the "
          "state); the starting rate when 'state_fiscal_rule' is on.", "assumption"),
    Param("local_tax_household", 0.025, "share of income", 0.0, 0.2, "Local tax, households",
          "Fiscalité locale, ménages", "economy",
          "Local property taxes paid by households, as a share of income, times the square "
          "root of the local housing price index.", "assumption"),
    Param("local_tax_firm", 0.012, "share of sales", 0.0, 0.2, "Local tax, firms",
          "Fiscalité locale, entreprises", "economy",
          "Local business taxes (CFE, CVAE) as a share of sales, paid to the firm's territory.",
          "assumption"),
    Param("state_fiscal_rule", True, "", 0, 1, "State balances its budget",
          "Règle budgétaire de l'État", "economy",
          "If true, the state's income tax rate moves each month towards the rate that "
          "balances its budget (transfers, grants, programmes); if false it stays at "
          "'income_tax_rate' and the state runs deficits or surpluses.", "model design",
          "bool"),
    Param("corporate_tax_rate", 0.25, "share of profit", 0.0, 0.6, "Corporate tax",
          "Impôt sur les sociétés", "economy", "Tax on positive monthly profits, to the state.",
          "French statutory rate 25 % (2022)"),
    Param("state_grant_per_household", 80.0, "EUR/month/household", 0, 1_000,
          "State grant per household", "Dotation de l'État par ménage", "economy",
          "State block grant (DGF) to local authorities, per resident household.",
          "DGF about 27 bn EUR/year for about 30 M households (order of magnitude)"),
    Param("equalisation", 0.3, "share 0-1", 0.0, 1.0, "Equalisation", "Péréquation", "lever",
          "Share of the state grant allocated in inverse proportion to each territory's tax base "
          "per household (0: per household only; 1: fully equalising).", "assumption"),
    Param("authority_service_share", 0.95, "share of revenue", 0.0, 1.0,
          "Authority current spending", "Dépenses courantes", "economy",
          "Share of its smoothed revenue an authority spends each month on local services "
          "(bought from local firms); the rest is saved.", "assumption"),
    Param("allow_debt", False, "", 0, 1, "Authorities may borrow", "Endettement autorisé",
          "lever", "If false, an authority never spends money it does not have: programmes "
          "are scaled down to its cash.", "model design", "bool"),
    # ---------------------------------------------------------------- consumption
    Param("mpc_income", 0.88, "share of disposable income", 0.3, 1.0,
          "Propensity to consume", "Propension à consommer", "behaviour",
          "Share of disposable income spent each month (rent included).",
          "INSEE household saving rate about 12-15 % (order of magnitude)"),
    Param("mpc_wealth", 0.01, "1/month", 0.0, 0.1, "Spending out of savings",
          "Consommation de l'épargne", "behaviour",
          "Share of positive savings spent each month.", "assumption"),
    Param("rent_base", 600.0, "EUR/month", 0, 5_000, "Rent at price index 1",
          "Loyer à l'indice 1", "economy",
          "Monthly rent paid by a renting household where the housing price index is 1.",
          "assumption; French average rent order of magnitude"),
    Param("owner_share", 0.58, "share 0-1", 0.0, 1.0, "Home owners", "Propriétaires",
          "structure", "Share of households owning their home; renters pay rent to owners of "
          "their territory.", "INSEE: 57-58 % of households are owner-occupiers"),
    Param("proximity_share", 0.50, "share of non-housing spending", 0.05, 0.95,
          "Proximity spending", "Dépenses de proximité", "behaviour",
          "Share of non-housing spending on retail and proximity services (where the shop, "
          "global platform and local platform compete).", "assumption"),
    Param("tourism_share", 0.10, "share of non-housing spending", 0.0, 0.5, "Tourism spending",
          "Dépenses de tourisme", "behaviour",
          "Share of non-housing spending on tourism and culture.", "assumption"),
    Param("digital_share", 0.08, "share of non-housing spending", 0.0, 0.5,
          "Digital services spending", "Dépenses de services numériques", "behaviour",
          "Share of non-housing spending on digital services bought at a distance.",
          "assumption"),
    # ---------------------------------------------------------------- platforms
    Param("global_commission", 0.15, "share of sale", 0.0, 0.6, "Global platform commission",
          "Commission de la plateforme mondiale", "lever",
          "Commission the global platform keeps on each sale it intermediates.",
          "Amazon Seller Central FR: 15 % referral fee in most categories"),
    Param("global_commission_dominant", 0.15, "share of sale", 0.0, 0.6,
          "Commission once dominant", "Commission en position dominante", "uncertainty",
          "Commission the global platform charges once its market share exceeds "
          "'dominance_share' (strategy: low while growing, higher once dominant).",
          "assumption; Uber/Deliveroo 25-35 % (DATA.md C)"),
    Param("dominance_share", 0.35, "market share 0-1", 0.0, 1.0, "Dominance threshold",
          "Seuil de domination", "uncertainty",
          "Market share above which the global platform switches to its dominant commission.",
          "assumption"),
    Param("global_convenience", -2.0, "utility", -8.0, 4.0, "Global platform convenience",
          "Commodité de la plateforme mondiale", "behaviour",
          "Base utility of buying through the global platform relative to a local shop.",
          "calibrated: about 12-13 % online share of retail at start (FEVAD 2023: 12.5 %)"),
    Param("commission_pass_through", 4.0, "utility per unit commission", 0.0, 20.0,
          "Commission passed on to buyers", "Répercussion de la commission",
          "behaviour", "Loss of the platform's utility to buyers per unit of its commission "
          "(sellers pass commissions on to prices); commissions also deter sellers from "
          "listing (listing rate x (1 - commission / 0.6)).", "assumption"),
    Param("platform_growth", 0.01, "utility/year", -0.5, 0.5, "Platform growth",
          "Croissance des plateformes", "uncertainty",
          "Yearly rise of the global platform's convenience (logistics, catalogue).",
          "assumption; e-commerce share of retail rose from 4.5 % (2009) to 12.5 % (2023)"),
    Param("platform_push", 0.0, "utility", -3.0, 3.0, "Platform market push",
          "Poussée commerciale de la plateforme", "lever",
          "Extra utility from the global platform's marketing push (a scenario lever).",
          "assumption"),
    Param("network_effect", 1.0, "utility per unit market share", 0.0, 10.0,
          "Network effect", "Effet de réseau", "behaviour",
          "Rise of a platform's utility per unit of its market share (users) plus its "
          "sellers' share: the platform's increasing returns.", "assumption"),
    Param("literacy_weight", 2.5, "utility per unit literacy", 0.0, 10.0,
          "Literacy weight online", "Poids de la littératie en ligne", "behaviour",
          "Utility of online channels rises with the household's digital literacy.",
          "assumption; INSEE 2021: illectronism 15.4 %"),
    Param("shop_density_weight", 1.0, "utility per log shop density", 0.0, 5.0,
          "Shop density weight", "Poids de la densité commerciale", "behaviour",
          "Utility of local shops rises with the log of proximity-firm capacity per household "
          "relative to its initial level (shops closing push buyers online).", "assumption"),
    Param("global_local_tax_share", 0.01, "share of local turnover", 0.0, 0.5,
          "Global platform local tax", "Impôt local de la plateforme mondiale", "economy",
          "Share of its turnover in a territory that the global platform pays to that "
          "territory's authority.", "assumption; DATA.md C: platforms book revenue abroad"),
    Param("platform_tax", 0.0, "share of local turnover", 0.0, 0.3, "Tax on platform turnover",
          "Taxe sur le chiffre d'affaires des plateformes", "lever",
          "Extra tax on the global platform's turnover in each territory, paid to its authority.",
          "scenario lever (France's 3 % digital services tax as a reference point)"),
    Param("local_commission", 0.05, "share of sale", 0.0, 0.6, "Local platform commission",
          "Commission de la plateforme locale", "lever",
          "Commission a local cooperative platform keeps; its surplus stays in its territory.",
          "assumption"),
    Param("local_convenience", -3.2, "utility", -8.0, 4.0, "Local platform convenience",
          "Commodité de la plateforme locale", "behaviour",
          "Base utility of buying through a local platform relative to a local shop.",
          "assumption"),
    Param("local_platform_min_share", 0.01, "market share 0-1", 0.0, 0.5,
          "Local platform survival share", "Seuil de survie plateforme locale", "behaviour",
          "A local platform whose market share stays below this for 12 months closes.",
          "assumption"),
    Param("seller_listing_rate", 0.005, "1/month", 0.0, 1.0, "Seller listing rate",
          "Taux de référencement des vendeurs", "behaviour",
          "Monthly probability that a digitally mature firm starts selling on a platform, "
          "multiplied by the platform's market share relative to 10 %.", "assumption"),
    # ---------------------------------------------------------------- firms
    Param("labour_share", 0.62, "share of sales", 0.1, 1.0, "Labour share", "Part salariale",
          "behaviour", "Share of expected sales a firm aims to spend on wages (sets its "
          "employment target).", "INSEE: labour share of value added about 60-65 %"),
    Param("scale_elasticity", 0.7, "elasticity", 0.0, 0.95, "Returns to scale in sales",
          "Rendements d'échelle des ventes", "behaviour",
          "Elasticity of a firm's demand weight with respect to its capacity (employees x "
          "productivity): its share of a market is proportional to capacity^elasticity "
          "(below 1: decreasing returns, so a firm's sales grow less than its workforce).",
          "gamma = alpha (sigma - 1) / sigma with returns to scale of variable inputs alpha "
          "about 0.85-0.9 (span of control; Atkeson & Kehoe 2005, JPE 113(5)) and elasticity "
          "of substitution sigma about 5-6 (Head & Mayer 2014, Handbook of International "
          "Economics vol. 4: median trade elasticity about 5): 0.68-0.75"),
    Param("rent_sharing_elasticity", 0.1, "elasticity", 0.0, 1.0, "Rent sharing",
          "Partage de la rente", "behaviour",
          "Elasticity of a firm's wages with respect to its own productivity (relative to "
          "its sector and territory); the rest of a productivity gain lowers its unit cost.",
          "Card, Cardoso, Heining & Kline (2018, JOLE 36(S1)): wage elasticities with "
          "respect to firm value added per worker mostly 0.05-0.15"),
    Param("firm_birth_rate", 0.008, "1/month", 0.0, 0.1, "Firm birth rate",
          "Taux de création d'entreprises", "behaviour",
          "Monthly firm creations per existing firm agent, before local modifiers.",
          "INSEE: about 10 % creation rate per year (excluding micro-entrepreneurs, order of "
          "magnitude)"),
    Param("birth_broadband_effect", 1.0, "relative effect", 0.0, 5.0, "Broadband effect on births",
          "Effet du très haut débit sur les créations", "behaviour",
          "Relative rise of firm creation per unit broadband coverage (interacts with skills).",
          "assumption; Czernich et al. (2011) +0.9-1.5 pp growth per 10 pp broadband"),
    Param("birth_tierslieux_effect", 0.5, "relative effect", 0.0, 5.0,
          "Tiers-lieux effect on births", "Effet des tiers-lieux sur les créations", "behaviour",
          "Relative rise of firm creation per tiers-lieu seat per 100 households.",
          "assumption; DATA.md D: no causal estimate found"),
    Param("firm_fixed_cost", 0.0, "mid-skill monthly wages per firm agent per month", 0.0,
          20.0, "Fixed operating cost", "Coût fixe de fonctionnement", "economy",
          "Overheads a firm agent pays every month whatever its sales (premises, insurance, "
          "services), in mid-skill monthly wages of one household agent (wage_mid x household "
          "weight EUR/month); paid as commercial rent to the territory's property owners. It "
          "makes small firms close (free entry with a fixed cost). Off by default: at 2.5 the "
          "number of firm agents is stationary but they concentrate in the metropolises and "
          "the spread of unemployment by département doubles (ODD 7.13).",
          "mechanism: free entry with a fixed operating cost (Hopenhayn 1992, Econometrica "
          "60(5)); default 0 (off) because its spatial effect is not confronted with data (no "
          "firm demography by département in simulation/data) and the shipped calibration was "
          "made without it (ODD 7.13, 9.1)"),
    Param("closure_months", 6, "months", 1, 60, "Months of losses before closure",
          "Mois de pertes avant fermeture", "behaviour",
          "A firm whose cash stays negative this many consecutive months closes.",
          "assumption", "int"),
    Param("digital_adoption_rate", 0.02, "1/month", 0.0, 0.5, "Digital adoption rate",
          "Taux d'adoption numérique", "behaviour",
          "Monthly rise of a firm's digital maturity towards 1, times broadband coverage and "
          "the share of skilled residents.", "assumption"),
    Param("digital_investment_cost", 2_000.0, "EUR per firm agent per 0.01 maturity", 0, 1e6,
          "Digital investment cost", "Coût de l'investissement numérique", "economy",
          "Cost of raising a firm agent's digital maturity by 0.01 (paid to digital firms).",
          "assumption"),
    Param("digital_productivity_gain", 0.10, "share", 0.0, 1.0, "Digital productivity gain",
          "Gain de productivité numérique", "behaviour",
          "Productivity of a fully digital firm relative to a non-digital one, minus 1.",
          "order of magnitude: Czernich et al. (2011) 2.7-3.9 % GDP per head after "
          "broadband; WIK +0.94 % productivity per 1 % availability (low confidence)"),
    Param("export_growth", 0.0, "1/year", -0.2, 0.2, "Export growth",
          "Croissance des exportations", "uncertainty",
          "Yearly growth of demand from outside the map.", "assumption"),
    # ---------------------------------------------------------------- housing, congestion
    Param("housing_price_elasticity", 0.3, "1/year", 0.0, 5.0, "Housing price elasticity",
          "Élasticité des prix du logement", "behaviour",
          "Yearly relative rise of the housing price index per unit excess occupancy over "
          "'target_occupancy' (relative).", "assumption"),
    Param("target_occupancy", 0.92, "share of dwellings", 0.5, 1.0, "Normal occupancy",
          "Taux d'occupation normal", "structure",
          "Occupied share of the housing stock at which prices are stable.",
          "INSEE: about 8 % of dwellings vacant"),
    Param("housing_supply_rate", 0.1, "1/year", 0.0, 1.0, "Housing supply response",
          "Réponse de l'offre de logements", "behaviour",
          "Yearly growth of the housing stock per unit relative excess of the price index "
          "over the cost of new supply (construction happens only where the price is above "
          "that cost; new building responds slowly).",
          "assumption; stock-flow model of DiPasquale & Wheaton (1992, JUE 20(2))"),
    Param("housing_depreciation", 0.003, "1/year", 0.0, 0.05, "Housing depreciation",
          "Dépréciation du parc de logements", "structure",
          "Yearly share of the housing stock that disappears (demolition, merging, change "
          "of use).", "assumption: order of magnitude of dwellings disappearing each year in "
          "France (some tens of thousands out of about 37 million)"),
    Param("housing_anchor_speed", 0.2, "1/year", 0.0, 2.0, "House-price anchoring",
          "Rappel des prix du logement", "behaviour",
          "Yearly speed at which the price index returns towards its fundamental level (the "
          "initial price-to-income ratio and the density of the territory).",
          "assumption; error-correction of house prices towards incomes (Malpezzi 1999, "
          "JHE 8(1); Gallin 2006, Real Estate Economics 34(3))"),
    Param("construction_cost_index", 0.6, "housing price index", 0.0, 3.0,
          "Construction cost", "Coût de construction", "structure",
          "Cost of building a dwelling, in units of the housing price index (1 = the map's "
          "mean price at start): the lowest cost of new supply anywhere; above it, the cost "
          "of new supply rises with density (land).",
          "assumption: building costs of about 1,500-2,000 EUR/m2 against a mean price of "
          "about 3,000 EUR/m2 for existing dwellings (orders of magnitude)"),
    Param("density_price_elasticity", 0.2, "elasticity", 0.0, 1.0, "Price-density elasticity",
          "Élasticité prix-densité", "structure",
          "Initial housing price index = (density / national density)^elasticity.",
          "assumption: gives Paris about 4x Creuse, as in rents per m2"),
    Param("congestion_elasticity", 0.5, "elasticity", 0.0, 3.0, "Congestion elasticity",
          "Élasticité de congestion", "behaviour",
          "Travel times inside and into a territory scale with (population / initial "
          "population)^elasticity.", "assumption"),
    # ---------------------------------------------------------------- public services
    Param("counter_reach_km", 8.0, "km", 0.5, 50, "Counter reach", "Portée d'un guichet",
          "behaviour", "Radius within which a public counter is reachable; access = share "
          "of the territory's area covered.",
          "law 2010-123: 90 % of a département within 5 km / 20 min of a postal point"),
    Param("takeup_counter", 0.85, "probability", 0.0, 1.0, "Take-up at a counter",
          "Recours au guichet", "behaviour",
          "Probability that an eligible household who reaches a counter takes up its right.",
          "calibrated: overall non-take-up about 30 % (DREES 2022: about 34 % for RSA, "
          "unconfirmed here)"),
    Param("takeup_online", 0.80, "probability", 0.0, 1.0, "Take-up online", "Recours en ligne",
          "behaviour", "Probability of taking a right up online for a fully literate, "
          "connected household (scaled by literacy above the illiteracy threshold).",
          "assumption"),
    Param("takeup_mediated", 0.75, "probability", 0.0, 1.0, "Take-up with a mediator",
          "Recours avec un médiateur", "behaviour",
          "Probability of taking a right up for a household helped by a digital mediator or a "
          "France Services adviser.", "assumption"),
    Param("claim_renewal_rate", 0.33, "1/month", 0.0, 1.0, "Claim renewal rate",
          "Taux de renouvellement des demandes", "behaviour",
          "Monthly probability an eligible household (re)applies; RSA is declared quarterly.",
          "RSA quarterly declaration"),
    Param("illiteracy_threshold", 0.3, "literacy 0-1", 0.0, 1.0, "Illiteracy threshold",
          "Seuil d'illectronisme", "structure",
          "Households with literacy below this cannot use online services alone.",
          "calibrated so that about 15 % are below at start (INSEE 2021: 15.4 %)"),
    Param("mediator_caseload", 40.0, "households/month per mediator", 0, 500,
          "Mediator caseload", "Accompagnements par médiateur", "behaviour",
          "Households a digital mediator can help each month.",
          "ANCT: 4.1 M accompaniments by about 4,000 advisers over about 2 years"),
    Param("france_services_caseload", 400.0, "households/month per house", 0, 5_000,
          "France Services caseload", "Accompagnements par maison France Services", "behaviour",
          "Households one France Services house can help each month.",
          "DATA.md B: about 20 requests a day per site"),
    Param("mediators_initial", 4_000.0, "mediators (map of France)", 0, 50_000,
          "Initial digital mediators", "Conseillers numériques initiaux", "structure",
          "Digital mediators at start, allocated by population (scaled to the map's share of "
          "France's households on other maps).", "ANCT: 4,000 conseillers numériques funded"),
    Param("literacy_learning", 0.0004, "literacy/month", 0.0, 0.05, "Self-learning",
          "Apprentissage autonome", "behaviour",
          "Monthly literacy gain of a connected household under 75 by itself.", "assumption"),
    Param("literacy_mediated_gain", 0.03, "literacy per contact", 0.0, 0.5,
          "Mediated learning", "Apprentissage accompagné", "behaviour",
          "Literacy gain of a household helped by a mediator in a month.", "assumption"),
    Param("literacy_decline_old", 0.002, "literacy/month", 0.0, 0.05, "Skill obsolescence 75+",
          "Obsolescence des compétences 75+", "behaviour",
          "Monthly literacy loss of a household aged 75 or more (skills obsolescence).",
          "assumption"),
    # ---------------------------------------------------------------- telework, tiers-lieux
    Param("telework_days", 1.5, "days/week", 0.0, 5.0, "Telework norm", "Norme de télétravail",
          "uncertainty", "Days a week a worker with a remote-able job and connectivity works "
          "from home or a tiers-lieu.",
          "DARES 2024: 26 % telework occasionally, 5 % at least 3 days (2023)"),
    Param("telework_uptake", 1.0, "share 0-1", 0.0, 1.0, "Telework uptake",
          "Recours au télétravail", "uncertainty",
          "Share of workers with a remote-able job and connectivity who telework (the others "
          "commute every day); the history scenario sets it month by month so that the "
          "national share of teleworking employees follows the observed path.",
          "1 (all who can) by default, to be calibrated; DARES 2024: 9 % of employees "
          "teleworked in 2019, 31 % in early 2021, 26 % in 2023"),
    Param("tiers_lieu_seats", 20.0, "seats per tiers-lieu", 1, 500, "Seats per tiers-lieu",
          "Postes par tiers-lieu", "structure",
          "Workstations a tiers-lieu offers remote workers without home broadband.",
          "assumption; DATA.md B: 55 % of tiers-lieux offer coworking"),
    Param("workdays_per_month", 20.0, "days", 1, 31, "Workdays per month", "Jours ouvrés par mois",
          "structure", "Working days in a month.", "about 218 working days/year"),
    Param("co2_per_km", 0.19, "kg CO2/km", 0.0, 1.0, "CO2 per car km", "CO2 par km en voiture",
          "structure", "Emissions of one commuting kilometre (average car, one occupant).",
          "ADEME Base Carbone, average car about 0.19-0.22 kg CO2e/km (unconfirmed here)"),
    Param("fuel_price", 0.12, "EUR/km", 0.0, 1.0, "Fuel cost per km", "Coût du carburant par km",
          "uncertainty", "Fuel cost of one commuting kilometre (spent at local retailers).",
          "7 L/100 km at about 1.7 EUR/L"),
    # ---------------------------------------------------------------- relocation
    Param("move_rate", 0.006, "1/month", 0.0, 0.2, "Relocation consideration rate",
          "Taux d'examen d'un déménagement", "behaviour",
          "Monthly probability that a household compares territories (it may stay).",
          "assumption; INSEE: about 11 % of people move each year, a third of them further"),
    Param("beta_income", 2.0, "utility per log EUR", 0.0, 10.0, "Weight of income",
          "Poids du revenu", "behaviour", "Location utility of log expected income.",
          "assumption"),
    Param("beta_housing", 2.0, "utility per share of income", 0.0, 10.0, "Weight of housing cost",
          "Poids du coût du logement", "behaviour",
          "Location disutility of the rent-to-income ratio.", "assumption"),
    Param("beta_amenity", 1.0, "utility per unit amenity", 0.0, 10.0, "Weight of amenities",
          "Poids des aménités", "behaviour",
          "Location utility of the amenity index (culture, services, the capital's pull).",
          "assumption"),
    Param("distance_decay", 0.012, "utility/minute", 0.0, 0.2, "Distance decay",
          "Décroissance avec la distance", "behaviour",
          "Disutility per minute of travel between the current and the candidate territory.",
          "assumption"),
    Param("attachment", 2.5, "utility", 0.0, 20.0, "Attachment to place",
          "Attachement au territoire", "behaviour",
          "Utility of staying where one lives (moving costs, social ties).", "assumption"),
    Param("beta_size", 1.0, "utility per log dwelling", 0.0, 5.0, "Weight of size",
          "Poids de la taille", "behaviour",
          "Location utility of the log housing stock of a territory: a territory is an "
          "aggregate of dwellings, each an elementary alternative; 1 is the coefficient of "
          "an aggregate whose dwellings are alike.",
          "McFadden (1978), Modelling the choice of residential location"),
    Param("new_deal_bonus", 1.0, "utility", 0.0, 10.0, "Attraction-offer appeal",
          "Attrait des offres d'accueil", "behaviour",
          "Utility of a territory offering a job plus housing to newcomers (New Deal), while "
          "offers remain.", "assumption"),
    # ---------------------------------------------------------------- public spending costs
    Param("counter_cost", 9_000.0, "EUR/month per counter", 0, 1e6, "Counter running cost",
          "Coût d'un guichet", "economy", "Monthly running cost of a public counter (staff).",
          "assumption: about 2-3 staff"),
    Param("france_services_cost", 9_000.0, "EUR/month per house", 0, 1e6,
          "France Services running cost", "Coût d'une maison France Services", "economy",
          "Monthly running cost of a France Services house.",
          "IGA via Senate report r21-778 (2022): mean running cost about 110,000 EUR/year in "
          "2020 (94,000 in rural areas)"),
    Param("mediator_cost", 4_200.0, "EUR/month per mediator", 0, 1e5, "Mediator cost",
          "Coût d'un médiateur", "economy", "Monthly cost of a digital mediator.",
          "ANCT: about 50 k EUR/year per conseiller numérique (4,000 posts, >200 M EUR)"),
    Param("france_services_state_subsidy", 2_917.0, "EUR/month per house", 0, 1e6,
          "State subsidy per France Services", "Forfait de l'État par France Services",
          "lever",
          "State and national operators' flat subsidy to each France Services house (FNADT "
          "and Fonds national France services); the local authority that runs it pays the "
          "rest.",
          "30,000 EUR/year in 2019-2022, 35,000 EUR/year in 2023 (Banque des Territoires, 10 "
          "March 2023), rising to 50,000 EUR/year by 2026 (answer to AN question 16-10490QE, "
          "23 April 2024); mean running cost about 110,000 EUR/year (IGA, Senate report "
          "r21-778, 2022)"),
    Param("mediator_state_subsidy", 1_250.0, "EUR/month per mediator", 0, 1e5,
          "State subsidy per mediator", "Subvention de l'État par médiateur", "lever",
          "State subsidy to the employer of a digital mediator (conseiller numérique); the "
          "local authority pays the rest.",
          "conseillers numériques France Services from 2023: 17,500 EUR the first year and "
          "12,500 EUR the next for public employers (about 15,000 EUR/year; La Gazette des "
          "communes, 2023); 50,000 EUR over two years in 2021-2022 (France Relance)"),
    Param("tiers_lieu_grant", 4_200.0, "EUR/month per tiers-lieu", 0, 1e6, "Tiers-lieu grant",
          "Subvention d'un tiers-lieu", "economy",
          "Monthly public grant keeping one supported tiers-lieu open.",
          "Fabriques de territoires: 50 k EUR/year for 3 years"),
    Param("broadband_cost_dense", 600.0, "EUR/premise", 0, 1e5, "Broadband cost, dense areas",
          "Coût du THD, zones denses", "economy",
          "Cost of connecting one premise at the national density; rises as density falls "
          "(x (national density / density)^0.5, capped at 8x).", "assumption"),
    Param("new_deal_subsidy", 400.0, "EUR/month per newcomer", 0, 5_000,
          "New-Deal housing subsidy", "Aide au logement New Deal", "economy",
          "Monthly housing support paid by the authority to a newcomer on an attraction offer, "
          "for 12 months.", "assumption"),
]



def _calibrated(declared: list[Param]) -> list[Param]:
    """The declarations with the shipped calibrated values as defaults (ODD 1.3).

    A calibrated parameter's ``source`` says so and keeps the declared default and source
    (``declared_default``); a name or value in the shipped file that the declarations do
    not allow is an error of the package, raised at import.
    """
    from simulation.engine import calibrated

    path = calibrated.data_dir() / calibrated.CALIBRATED_FILE
    try:
        values = calibrated.parameter_values()
        names = {p.name for p in declared}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParameterError(f"{path}: unknown parameters {unknown}")
        out = []
        for p in declared:
            if p.name in values:
                v = p.check(values[p.name], where=str(path))
                p = replace(p, default=v, declared_default=p.default,
                            source=f"calibrated (docs/CALIBRATION.md), declared default "
                                   f"{_fmt(p.default)}: {p.source}")
            out.append(p)
    except (ParameterError, calibrated.DrawError) as exc:
        if calibrated.data_dir() == calibrated.DATA_DIR:
            raise   # the package's own file: an error of the package
        # a folder the user chose (TERRINUM_CALIBRATION_DIR): importing the package must
        # not fail; the command line and TerritoryModel report the problem as an error
        calibrated.note_import_problem(str(exc))
        return list(declared)
    return out


_P = _calibrated(_P)
PARAMS: dict[str, Param] = {p.name: p for p in _P}
assert len(PARAMS) == len(_P), "duplicate parameter name"
for _p in _P:
    assert _p.group in GROUPS, _p.name
    if _p.kind != "bool":
        assert _p.lo <= _p.default <= _p.hi, _p.name


def defaults() -> dict[str, float | int | bool]:
    """Return a dict of every parameter's default value."""
    return {p.name: p.default for p in _P}


def unknown_message(name: str, where: str = "") -> str:
    """Build the error message for an unknown parameter name, with close matches."""
    close = difflib.get_close_matches(name, PARAMS.keys(), n=3, cutoff=0.6) \
        if len(name) <= 100 else []
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    prefix = f"{where}: " if where else ""
    return (
        f"{prefix}unknown parameter {clip_repr(name)}{hint} "
        f"(run 'terrinum list params' for the {len(PARAMS)} declared parameters)"
    )


class Parameters(Mapping[str, Any]):
    """Validated, read-only parameter values with attribute access (``p.wage_low``)."""

    def __init__(self, overrides: Mapping[str, Any] | None = None, where: str = "") -> None:
        values = defaults()
        for key, value in (overrides or {}).items():
            if key not in PARAMS:
                raise ParameterError(unknown_message(key, where))
            values[key] = PARAMS[key].check(value, where)
        if values["share_high_skill"] + values["share_mid_skill"] > 1.0:
            raise ParameterError(
                f"{where + ': ' if where else ''}share_high_skill + share_mid_skill must not "
                f"exceed 1 (got {values['share_high_skill'] + values['share_mid_skill']:g})"
            )
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __reduce__(self):
        return (Parameters, (self.__dict__["_values"],))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Parameters are read-only; use replace(...)")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @classmethod
    def from_draw(cls, k: int, overrides: Mapping[str, Any] | None = None,
                  where: str = "") -> Parameters:
        """Parameters of shipped posterior draw ``k``, with ``overrides`` on top.

        The draw sets the calibrated parameters (``simulation/data/calibration/draws.csv``);
        the others keep their defaults. The draw's territory constants are not parameters:
        ``TerritoryModel(draw=k)`` takes both.

        Raises:
            simulation.engine.calibrated.DrawError: no such draw.
        """
        from simulation.engine import calibrated

        return cls({**calibrated.draw(k).params, **dict(overrides or {})}, where)

    def replace(self, **changes: Any) -> Parameters:
        """Return a copy with some values changed (validated)."""
        return Parameters({**self._values, **changes})

    def changed(self) -> dict[str, Any]:
        """Return the values that differ from the defaults."""
        return {k: v for k, v in self._values.items() if v != PARAMS[k].default}

    def to_dict(self) -> dict[str, Any]:
        """Return a plain dict of all values."""
        return dict(self._values)


def markdown_table() -> str:
    """Return the parameter table in Markdown (used by docs/ODD.md)."""
    lines = [
        "| name | group | default | unit | range | label (en / fr) | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in _P:
        rng = "true/false" if p.kind == "bool" else f"{_fmt(p.lo)} to {_fmt(p.hi)}"
        lines.append(
            f"| `{p.name}` | {p.group} | {p.default} | {p.unit} | {rng} | "
            f"{p.label_en} / {p.label_fr} | {p.source} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
