"""The calibration report: ``terrinum analyse CALIBRATION_FOLDER``.

Writes into ``FOLDER/report/``: ``report.html`` (self-contained: figures as base64 PNG, inline
CSS), its figures, and ``CALIBRATION.md`` (the same content in Markdown, which
``scripts/ship_calibration.py`` copies to ``docs/CALIBRATION.md``). Sections: provenance;
the screening (why these parameters); the ABC generations; the posterior (marginals against
the prior, pairwise correlations, what the data pin down: posterior sd over prior sd); every
target observed vs simulated (tables, scatter plots by département, a map of the migration
residuals); the plausibility figures; the territory constants; what is still off.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

PINNED, WEAK = 0.5, 0.8   # posterior sd / prior sd: below PINNED pinned down, above WEAK not


def _load(folder: Path) -> dict:
    f = Path(folder)
    out = {"manifest": json.loads((f / "manifest.json").read_text()),
           "calibrated": json.loads((f / "calibrated.json").read_text()),
           "screening": pd.read_csv(f / "screening.csv"),
           "generations": pd.read_csv(f / "generations.csv"),
           "posterior": pd.read_csv(f / "posterior.csv"),
           "fit": pd.read_csv(f / "fit.csv", dtype={"code": str}),
           "plausibility": pd.read_csv(f / "plausibility.csv"),
           "reference": json.loads((f / "constants_reference.json").read_text()),
           "stage": json.loads((f / "calibrated_stage.json").read_text())}
    return out


def _priors(man: dict, names: list[str]) -> dict[str, tuple[float, float]]:
    from simulation.calibration.files import load_calibration

    try:
        cal = load_calibration(man["calibration"]["file"] or man["calibration"]["name"],
                               quick=bool(man["calibration"]["quick"]))
        return {p.name: (p.lo, p.hi) for p in cal.priors if p.name in names}
    except Exception:  # noqa: BLE001 - the file moved: fall back to the declared ranges
        from simulation.engine.params import PARAMS

        return {n: (PARAMS[n].lo, PARAMS[n].hi) for n in names}


def _wstats(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    w = w / w.sum()
    m = float((w * x).sum())
    return m, float(np.sqrt((w * (x - m) ** 2).sum()))


def identifiability(post: pd.DataFrame, priors: dict[str, tuple[float, float]]
                    ) -> pd.DataFrame:
    """Posterior mean, sd, 5-95 % range and sd ratio to the uniform prior's, by parameter."""
    w = post["weight"].to_numpy(float)
    rows = []
    for name, (lo, hi) in priors.items():
        x = post[name].to_numpy(float)
        m, s = _wstats(x, w)
        order = np.argsort(x)
        cw = np.cumsum(w[order]) / w.sum()
        q5, q95 = x[order][np.searchsorted(cw, 0.05)], x[order][min(np.searchsorted(cw, 0.95),
                                                                      x.size - 1)]
        ratio = s / ((hi - lo) / np.sqrt(12.0))
        verdict = ("pinned down" if ratio < PINNED else "weakly informed" if ratio < WEAK
                   else "not informed by the data")
        rows.append({"parameter": name, "prior": f"{lo:g} to {hi:g}", "mean": m, "sd": s,
                     "q05": q5, "q95": q95, "sd_ratio": ratio, "verdict": verdict})
    return pd.DataFrame(rows)


def target_table(fit: pd.DataFrame) -> pd.DataFrame:
    """One row per target: observed and simulated (means for territory targets), fit."""
    rows = []
    for name, g in fit.groupby("target", sort=False):
        terr = g["level"].iloc[0] == "territory"
        z2 = float((g["z"] ** 2).mean())
        row = {"target": name, "level": g["level"].iloc[0], "unit": g["unit"].iloc[0],
               "observed": float(g["observed"].mean()), "simulated": float(g["simulated"].mean()),
               "sd": float(g["sd"].iloc[0]), "mean_z2": z2,
               "rmse": float(np.sqrt(((g["simulated"] - g["observed"]) ** 2).mean())),
               "corr": float(g["observed"].corr(g["simulated"])) if terr else float("nan"),
               "fits": z2 <= 4.0, "source": g["source"].iloc[0]}
        rows.append(row)
    return pd.DataFrame(rows)


def _figures(d: dict, folder: Path, priors: dict) -> list[tuple[str, Path]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs: list[tuple[str, Path]] = []
    fit = d["fit"]
    terr = [t for t in fit["target"].unique() if (fit["target"] == t).sum() > 1]
    if terr:
        n = len(terr)
        fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.6), layout="constrained")
        for ax, t in zip(np.atleast_1d(axes), terr, strict=True):
            g = fit[fit["target"] == t]
            ax.scatter(g["observed"], g["simulated"], s=10, alpha=0.7)
            lo = float(min(g["observed"].min(), g["simulated"].min()))
            hi = float(max(g["observed"].max(), g["simulated"].max()))
            ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.8)
            ax.set_title(f"{t} (r = {g['observed'].corr(g['simulated']):.2f})", fontsize=9)
            ax.set_xlabel(f"observed ({g['unit'].iloc[0]})", fontsize=8)
            ax.set_ylabel("simulated", fontsize=8)
        p = folder / "fit_territories.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        figs.append(("Observed vs simulated by département (one dot each; line: equality)", p))
    post = d["posterior"]
    names = list(priors)
    w = post["weight"].to_numpy(float)
    fig, axes = plt.subplots(1, len(names), figsize=(3.0 * len(names), 2.8),
                             layout="constrained")
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        lo, hi = priors[name]
        ax.hist(post[name], bins=12, range=(lo, hi), weights=w, density=True, alpha=0.8)
        ax.axhline(1.0 / (hi - lo), color="0.3", ls="--", lw=0.8, label="prior")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    p = folder / "posterior_marginals.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    figs.append(("Posterior marginals (weighted last generation) against the uniform prior", p))
    corr = _wcorr(post[names].to_numpy(float), w)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.8 * len(names)),
                           layout="constrained")
    im = ax.imshow(corr, vmin=-1, vmax=1, cmap="PuOr")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8)
    p = folder / "posterior_correlations.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    figs.append(("Pairwise posterior correlations (weighted)", p))
    nm = fit[fit["target"] == fit["target"].iloc[0]]
    if len(nm) > 1:
        try:
            from simulation.reports.maps import plot_choropleth
            from simulation.world.maps import load_map

            tmap = load_map("france-departements", start_year=int(
                d["calibrated"]["location_constants"].get("start_year", 2019)))
            res = (nm.set_index("code")["simulated"] - nm.set_index("code")["observed"])
            vals = res.reindex([str(c) for c in tmap.codes]).to_numpy(float)
            p = folder / "residuals_map.png"
            fig = plot_choropleth(tmap, vals, title=f"{nm['target'].iloc[0]}: simulated - "
                                  "observed", label=nm["unit"].iloc[0], path=p,
                                  diverging=True)
            del fig
            figs.append(("Map of the residuals of net migration (simulated - observed)", p))
        except Exception:  # noqa: BLE001 - not the France map: no outlines to draw
            pass
    tr = pd.DataFrame(d["stage"]["trace"])
    ref = pd.DataFrame(d["reference"]["trace"])
    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    ax.plot(ref["iteration"], ref["rms_gap"], "o-", label="reference (prior centre)")
    ax.plot(tr["iteration"], tr["rms_gap"], "s-", label="calibrated parameters")
    ax.set_xlabel("fixed-point iteration")
    ax.set_ylabel("rms gap to observed (%/year)")
    ax.legend(fontsize=8)
    p = folder / "constants_trace.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    figs.append(("Fixed point of the territory constants: expected net migration vs observed", p))
    return figs


def _wcorr(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    w = w / w.sum()
    m = (w[:, None] * x).sum(axis=0)
    c = ((x - m) * w[:, None]).T @ (x - m)
    s = np.sqrt(np.diag(c))
    return c / np.outer(s, s)


WHY = {
    "telework_share": "the observed path is imposed as a target share, but the model can reach "
                      "it only among employees with a remote-able job and remote access "
                      "(remote_share_* x broadband or a tiers-lieu seat)",
    "unemployment_rate": "by-département unemployment at 20,000 households rests on about 100 "
                         "working households per département: its sampling noise alone is "
                         "2-3 points",
    "log_median_income": "the model's incomes are per household, Filosofi's per consumption "
                         "unit; and about 200 households per département",
    "d9_d1": "household incomes (not per consumption unit) of about 200 households per "
             "département",
    "net_migration_rate": "the constants are fitted at 50,000 households; at 20,000 the "
                          "expected rates carry about 0.5 %/year of sampling noise",
    "illectronism_75_plus": "literacy at start is drawn by age from one national curve; the "
                            "75+ share depends on literacy_decline_old only",
    "online_retail_share": "global_convenience was screened out; its declared default keeps the "
                           "platform share",
}


PLAUSIBILITY_WHY = {
    "growth_min_pct": (
        "the emptiest départements lose more than France's did, even in the mean trajectory: "
        "the model's country does not grow (households are stable by construction, France "
        "grew 9.5 % in 2003-2023), it has no retirement migration (no age-specific amenity or "
        "propensity to move in the location choice), and the natural balance of households "
        "of ageing départements drifts down, which constants fitted to net migration "
        "2014-2019 do not compensate (ODD 1.4)"),
}
"""Why a plausibility figure can be off, by figure (other figures point to ODD 1.4)."""


def _still_off(tt: pd.DataFrame, fit: pd.DataFrame, plaus: pd.DataFrame) -> list[str]:
    out = []
    kinds = fit.drop_duplicates("target").set_index("target")["kind"]
    for r in tt.itertuples():
        if r.fits:
            continue
        why = WHY.get(kinds[r.target], "")
        out.append(f"{r.target}: mean squared z {r.mean_z2:.1f} (observed {r.observed:.3g}, "
                   f"simulated {r.simulated:.3g} {r.unit})" + (f"; {why}" if why else ""))
    for r in plaus.itertuples():
        if not r.passes:
            why = PLAUSIBILITY_WHY.get(r.figure, "not diagnosed yet (ODD 1.4 lists the mechanisms "
                                                  "behind each figure)")
            value = getattr(r, "ensemble", r.mean)
            what = "ensemble" if hasattr(r, "ensemble") else "mean"
            out.append(f"plausibility {r.figure}: {what} {value:+.3g} against France "
                       f"{r.france:+.3g}, bound {r.lo if r.lo == r.lo else ''}"
                       f"..{r.hi if r.hi == r.hi else ''}: {why}")
    out.append("non-take-up of rights: no target, because no sourced national figure is in "
               "the data given (docs/DATA.md cites DREES 2022, unconfirmed here); it is not "
               "calibrated")
    return out


def _ensemble_size(plaus: pd.DataFrame) -> str:
    if "runs" not in plaus.columns or not len(plaus):
        return ""
    return (f" Ensemble: {int(plaus['runs'].iloc[0])} runs of "
            f"{int(plaus['households'].iloc[0]):,} households.")


def _check_runs(d: dict) -> int:
    """How many runs of the calibrated model the fit's means are over."""
    if "runs" in d["fit"].columns and len(d["fit"]):
        return int(d["fit"]["runs"].iloc[0])
    # folders made before fit.csv had a runs column: the check runs were the seed_ columns
    return len(d["plausibility"].filter(like="seed_").columns)


def _fmt(x: object) -> str:
    if isinstance(x, float):
        if x != x:
            return ""
        return f"{x:.4g}"
    return str(x)


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]).replace("|", "/") for c in cols) + " |")
    return "\n".join(lines)


def _sections(d: dict, priors: dict) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, text, table) of every section, shared by the HTML and the Markdown."""
    man, cal = d["manifest"], d["calibrated"]
    prov = cal["provenance"]
    tt = target_table(d["fit"])
    ident = identifiability(d["posterior"], priors)
    scr = d["screening"].copy()
    scr_cols = ["parameter", "score", "selected"] + [c for c in scr.columns
                                                     if c.startswith("mu_star:")][:6]
    gens = d["generations"]
    lc = cal["location_constants"]["values"]
    cvals = np.array(list(lc.values()), float)
    s = []
    s.append(("Provenance", (
        f"Calibration `{man['calibration']['name']}` (file SHA-256 "
        f"{man['calibration']['sha256'][:12]}, quick = {man['calibration']['quick']}); "
        f"command `{prov.get('command')}`; terrinum {prov['terrinum_version']}, model code "
        f"SHA-256 {prov['model_code_sha256'][:12]}; pyabc {prov['versions'].get('pyabc')}; "
        f"master seed {prov['seed']}; {prov['runs']} model runs in {prov['run_time_s']:.0f} s; "
        f"{len(prov['data'])} data files hashed (manifest.json)."), None))
    s.append(("Screening: why these parameters", (
        "Morris elementary effects (SALib) of each candidate on each target's mean squared "
        "standardised residual, the territory constants corrected for each parameter vector; "
        "score = mean over targets of mu* / the largest mu* of that target. The parameters "
        "with the highest scores are calibrated; the others keep their declared defaults. "
        "Common random numbers across points: part of each mu* is noise."),
        scr[scr_cols]))
    s.append(("ABC-SMC generations", (
        f"pyabc, {len(d['posterior'])} particles, median epsilon schedule, multivariate "
        "normal transitions; distance = weighted mean over targets of the mean squared "
        "standardised residual."), gens))
    s.append(("Posterior: what the data pin down", (
        f"sd ratio = posterior sd / uniform prior sd: below {PINNED} pinned down, above "
        f"{WEAK} not informed. Calibrated defaults = posterior medians: "
        + ", ".join(f"{k} = {v:.4g}" for k, v in cal["parameters"].items()) + "."), ident))
    s.append(("Targets: observed vs simulated", (
        f"Means over {_check_runs(d)} runs of the "
        "calibrated model; for a territory target, the mean over départements, the rmse and "
        "the correlation across départements. A target fits when its mean squared z <= 4."),
        tt[["target", "level", "unit", "observed", "simulated", "sd", "mean_z2", "rmse",
            "corr", "fits", "source"]]))
    s.append(("Plausibility figures (issue 11 bounds, 20 years)", (
        "France: INSEE population estimates over the same number of years ending in 2023. "
        "The verdict (passes) is on the ensemble: the figure of the mean households by "
        "département over the runs, the model's expected dynamics. One run's extremes and "
        "spread across départements also hold the sampling noise of the smallest ones (a few "
        "dozen household agents at the calibration's size), which France's figures do not "
        "have; seed_ columns are the runs, runs_out how many of them are outside the bound "
        "(ODD 1.4)." + _ensemble_size(d["plausibility"])),
        d["plausibility"]))
    s.append(("Territory constants", (
        f"{len(cvals)} constants (utility, household-weighted mean 0): from {cvals.min():.2f} "
        f"to {cvals.max():.2f}, sd {cvals.std():.2f}. Fixed point gap (rms, %/year): "
        f"reference {d['reference']['trace'][-1]['rms_gap']:.3f}, calibrated "
        f"{d['stage']['trace'][-1]['rms_gap']:.3f}."), None))
    s.append(("What is still off, and why", "\n".join(
        f"- {x}" for x in _still_off(tt, d["fit"], d["plausibility"])), None))
    return s


def calibration_markdown(folder: str | Path) -> str:
    """The report as Markdown (``docs/CALIBRATION.md`` of the shipped calibration)."""
    d = _load(Path(folder))
    priors = _priors(d["manifest"], list(d["calibrated"]["parameters"]))
    lines = ["# Calibration", "",
             "Generated by `python scripts/ship_calibration.py FOLDER` from a "
             "`terrinum calibrate` folder (do not edit by hand). How the calibration works: "
             "`simulation/calibration/` and ODD 1.3.", ""]
    for title, text, table in _sections(d, priors):
        lines += [f"## {title}", "", text, ""]
        if table is not None:
            lines += [_md_table(table), ""]
    return "\n".join(lines)


def write_report(folder: str | Path, dest: str | Path | None = None) -> Path:
    """Write ``report.html``, its figures and ``CALIBRATION.md``; return the HTML path."""
    folder = Path(folder)
    dest = Path(dest) if dest else folder / "report"
    dest.mkdir(parents=True, exist_ok=True)
    d = _load(folder)
    priors = _priors(d["manifest"], list(d["calibrated"]["parameters"]))
    figs = _figures(d, dest, priors)
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Calibration {html.escape(d['manifest']['calibration']['name'])}</title>"
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;"
             "font-size:15px}table{border-collapse:collapse;font-size:12px}td,th{border:1px "
             "solid #ccc;padding:2px 6px}img{max-width:100%}</style></head><body>",
             f"<h1>Calibration report: {html.escape(d['manifest']['calibration']['name'])}</h1>"]
    for title, text, table in _sections(d, priors):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if text.startswith("- "):
            parts.append("<ul>" + "".join(f"<li>{html.escape(x[2:])}</li>"
                                          for x in text.split("\n")) + "</ul>")
        else:
            parts.append(f"<p>{html.escape(text)}</p>")
        if table is not None:
            parts.append(table.to_html(index=False, float_format=lambda x: f"{x:.4g}"))
    parts.append("<h2>Figures</h2>")
    for cap, p in figs:
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,"
                     f"{data}'><figcaption>{html.escape(cap)}</figcaption></figure>")
    parts.append("</body></html>")
    out = dest / "report.html"
    out.write_text("\n".join(parts), encoding="utf-8")
    (dest / "CALIBRATION.md").write_text(calibration_markdown(folder), encoding="utf-8")
    return out
