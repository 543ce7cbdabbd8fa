"""Plausibility of the baseline against France's data: the figures' definitions, the observed
figures computed from the shipped INSEE files, and a fast version of the model checks
(``python -m benchmarks.plausibility`` prints the full one)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import plausibility as pl


def test_zipf_exponent_of_an_exact_rank_size_law():
    """Sizes proportional to 1/(rank - 1/2)^(1/a) have exponent a; doubling all sizes
    leaves it unchanged."""
    for a in (0.8, 1.0, 1.25):
        sizes = 1e6 * (np.arange(1, 97) - 0.5) ** (-1.0 / a)
        assert pl.zipf_exponent(sizes) == pytest.approx(a, rel=1e-9)
        assert pl.zipf_exponent(2 * sizes) == pytest.approx(a, rel=1e-9)


def test_growth_figures_sign_and_names():
    """Large territories growing faster give a positive correlation and a falling exponent
    (more concentration); the extremes carry their names."""
    start = np.array([100.0, 200.0, 400.0, 800.0])
    end = start * np.array([0.9, 1.0, 1.1, 1.3])
    g = pl.growth_figures(start, end, ["a", "b", "c", "d"])
    assert g["corr_size_growth"] > 0.9
    assert g["zipf_change"] < 0
    assert g["growth_min_name"] == "a" and g["growth_min_pct"] == pytest.approx(-10.0)
    assert g["growth_max_name"] == "d" and g["growth_max_pct"] == pytest.approx(30.0)


def test_observed_france_figures_from_the_data_files():
    """The figures of the data's README (INSEE estimates 2003-2023, unemployment 2019Q4)."""
    o = pl.observed(20)
    assert o["period"] == "2003-2023"
    assert o["zipf_change"] == pytest.approx(-0.057, abs=0.001)
    assert o["corr_size_growth"] == pytest.approx(0.30, abs=0.015)
    assert o["growth_min_pct"] == pytest.approx(-12.2, abs=0.1)
    assert o["growth_max_pct"] == pytest.approx(31.0, abs=0.1)
    assert o["unemployment_sd_pts_2019Q4"] == pytest.approx(1.52, abs=0.01)
    assert o["unemployment_max_pct_2019Q4"] == pytest.approx(13.2)
    # France passes its own bounds
    for name in ("zipf_change", "corr_size_growth", "growth_sd_pct", "growth_min_pct",
                 "growth_max_pct", "unemployment_sd_pts", "unemployment_max_pct"):
        assert pl.verdict(name, o[name]), name


# Fast version: 50,000 households, 3 years (about 7 s). Bounds are tolerant for the
# sampling noise of small territories (Lozère has about 55 household agents at this size;
# at 10,000 households its 11 agents alone put the unemployment sd above 5 points) and the
# short run, but a model whose baseline drifts as issue 11 measured fails them.
FAST = {"households": 50_000, "years": 3.0, "seed": 1}
TOLERANT = {
    "zipf_change": (-0.12, 0.06),
    "corr_size_growth": (-0.3, None),
    "growth_sd_pct": (None, 13.5),
    "growth_min_pct": (-30.0, None),
    "growth_max_pct": (None, 60.0),
    "unemployment_sd_pts": (None, 5.0),
    "unemployment_max_pct": (None, 30.0),
}


def test_fast_baseline_within_tolerant_bounds():
    """The calibrated baseline (shipped territory constants and parameters, issue 12)."""
    r = pl.run_one(FAST["seed"], FAST["households"], FAST["years"]).values
    failed = [f"{n} = {r[n]:+.3f} outside {TOLERANT[n]}" for n in TOLERANT
              if not pl.verdict(n, r[n], TOLERANT)]
    # no firm agent above 2 % of its sector's jobs, or 4 times an equal share where a
    # sector has fewer than 200 firm agents at this size
    cap = max(2.0, 400.0 / max(r["largest_firm_sector_firms"], 1))
    if r["largest_firm_share_pct"] > cap:
        failed.append(f"largest firm {r['largest_firm_share_pct']:.1f} % > {cap:.1f} %")
    assert not failed, "; ".join(failed)


def test_ensemble_removes_the_noise_that_biases_one_run_s_extremes():
    """Territories with the same expected growth plus independent sampling noise: one run's
    smallest growth is far below the expected one, the ensemble's is close to it, and the
    noise measured across runs is the noise put in."""
    from simulation.calibration.plausible import (
        ensemble_growth_figures,
        growth_noise,
        noise_extremes,
    )

    rng = np.random.default_rng(3)
    K, R = 96, 32
    start = np.tile(np.linspace(150.0, 2000.0, K), (R, 1))
    expected = np.linspace(-10.0, 20.0, K)           # % over the run
    noise = 8.0                                       # points, as small territories at 50k
    end = start * (1 + (expected[None, :] + noise * rng.standard_normal((R, K))) / 100)
    names = [f"t{i}" for i in range(K)]
    one_run = pl.growth_figures(start[0], end[0], names)["growth_min_pct"]
    ens = ensemble_growth_figures(start, end, names)
    assert one_run < -20.0                            # noise drags one run's extreme down
    assert ens["growth_min_pct"] == pytest.approx(-10.0, abs=4.0)
    assert ens["growth_sd_pct"] < pl.growth_figures(start[0], end[0], names)["growth_sd_pct"]
    sd = growth_noise(start, end)
    assert np.median(sd) == pytest.approx(noise, rel=0.2)
    pred = noise_extremes(expected, np.full(K, noise))
    assert pred["min_lo"] < one_run < pred["min_hi"]  # the run's extreme is what noise gives
    assert pred["min_median"] < -20.0 < -10.0 < pred["max_median"]
    # without noise, the ensemble of identical runs is the run
    same = ensemble_growth_figures(np.stack([start[0]] * 3), np.stack([start[0] * 1.1] * 3),
                                   names)
    assert same["growth_min_pct"] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="two replications"):
        growth_noise(start[:1], end[:1])


def test_benchmark_ensemble_of_runs(monkeypatch):
    """benchmarks.plausibility's ensemble: mean households and mean unemployment by
    département over the runs, the largest firm share over the runs, and the noise."""
    names = ["a", "b", "c"]

    def run(seed, end, u, firm):
        return pl.RunFigures(seed, {"largest_firm_share_pct": firm}, 0.0,
                             np.array([100.0, 100.0, 400.0]), np.asarray(end, float),
                             np.asarray(u, float), names)
    runs = [run(1, [60, 100, 440], [30, 5, 6], 0.4), run(2, [100, 100, 440], [6, 5, 6], 0.5)]
    e = pl.ensemble(runs, names)
    assert e["growth_min_pct"] == pytest.approx(-20.0)      # mean 80 of 100, not the 60
    assert e["growth_min_name"] == "a"
    assert e["unemployment_max_pct"] == pytest.approx(18.0)
    assert e["unemployment_sd_pts"] < float(np.std([30, 5, 6], ddof=1))
    assert e["largest_firm_share_pct"] == pytest.approx(0.5)
    assert e["noise"]["growth_sd"][0] == pytest.approx(np.std([-40, 0], ddof=1))


def test_benchmark_prints_runs_ensemble_and_noise(capsys):
    """python -m benchmarks.plausibility end to end (tiny): each run's figures, the ensemble
    with its verdicts, the national growth and the sampling-noise line; bad input exits 2."""
    assert pl.main(["--households", "1000", "--years", "0.5", "--seeds", "1", "2",
                    "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "One run per seed" in out and "s1" in out and "s2" in out
    assert "The ensemble: figures of the mean trajectory over the 2 runs" in out
    ens = [ln for ln in out.splitlines() if ln.startswith("min growth (%)")]
    assert len(ens) == 2 and ("PASS" in ens[1] or "FAIL" in ens[1]) and "of 2 out" in ens[1]
    assert "national growth: France " in out and "the model " in out
    assert "sampling noise: a département's growth differs between runs" in out
    assert pl.main(["--workers", "0"]) == 2
    assert "--workers >= 1" in capsys.readouterr().err
