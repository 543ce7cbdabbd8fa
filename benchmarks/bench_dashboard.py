"""Benchmark: time from a click on "Step" to the updated map and charts, in a real browser.

For each map it starts the dashboard server as ``terrinum dashboard`` does (baseline scenario,
the dashboard's default household agents for the map), opens the page in headless Chromium
(Playwright, Debian's ``chromium``), and for each step measures, inside the page, the time
from the click on the Step button to the moment the step counter, every map and every chart
show the new month (polled at each animation frame). It then pulls a lever and saves a
branch, so that three runs step together (live, baseline, branch), and measures again.

Usage::

    python -m benchmarks.bench_dashboard                  # both built-in French maps
    python -m benchmarks.bench_dashboard --steps 30 --maps france-regions

Targets: under 300 ms on both maps, also with a reference and a branch running (issue 14;
issue 5 asked under 1 s on france-departements).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_MS = {"france-regions": 300.0, "france-departements": 300.0}

CLICK_TO_UPDATE = """async (n) => {
  const t0 = performance.now();
  document.querySelector('.tn-step').click();
  const done = () => {
    const c = document.querySelector('[data-testid=step-counter]');
    if (!c || c.dataset.step != String(n)) return false;
    const maps = document.querySelectorAll('svg.tn-map');
    const charts = document.querySelectorAll('svg.tn-chart');
    if (!maps.length || !charts.length) return false;
    for (const m of maps) if (m.getAttribute('data-map-step') != String(n)) return false;
    for (const ch of charts) if (ch.getAttribute('data-step') != String(n)) return false;
    return true;
  };
  while (!done()) await new Promise(r => requestAnimationFrame(r));
  return performance.now() - t0;
}"""


def _summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"median": statistics.median(s), "p90": s[int(0.9 * (len(s) - 1))],
            "min": s[0], "max": s[-1]}


def measure(page: object, steps: int, start: int) -> list[float]:
    """Click Step ``steps`` times from month ``start``; the click-to-update times in ms."""
    return [float(page.evaluate(CLICK_TO_UPDATE, start + i + 1)) for i in range(steps)]


def bench_map(map_name: str, steps: int, households: int | None, chromium: str) -> dict:
    """Benchmark one map; returns the timings (ms) of plain steps and of steps with a branch."""
    from playwright.sync_api import sync_playwright

    from simulation.dashboard.cli import running_server

    with running_server("baseline", map_name=map_name, households=households) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(120_000)
                t0 = time.perf_counter()
                page.goto(url, wait_until="domcontentloaded")
                page.locator(".tn-step").wait_for(state="visible")
                page.locator("svg.tn-chart").first.wait_for()
                load_s = time.perf_counter() - t0
                n_terr = page.locator("svg.tn-map [data-territory]").count()
                warm = 3
                measure(page, warm, 0)
                plain = measure(page, steps, warm)
                month = warm + steps
                page.locator(".tn-preset").first.click()
                page.locator(".tn-apply").click()
                page.wait_for_selector(".tn-log-row[data-log-kind=policy]")
                page.locator(".tn-save-branch").click()
                page.wait_for_selector("svg.tn-map[data-run='branch']")
                branch = measure(page, steps, month)
            finally:
                browser.close()
    return {"map": map_name, "territories": n_terr, "load_s": load_s, "plain": plain,
            "branch": branch}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maps", nargs="+", default=["france-regions", "france-departements"])
    ap.add_argument("--steps", type=int, default=20, help="measured steps per case (default 20)")
    ap.add_argument("--households", type=int, default=None,
                    help="household agents (default: the dashboard's default for each map)")
    ap.add_argument("--chromium", default=os.environ.get("TERRINUM_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args(argv)
    if not Path(args.chromium).is_file():
        print(f"error: no Chromium at {args.chromium} (apt-get install -y chromium, or "
              "--chromium PATH)", file=sys.stderr)
        return 2
    from simulation.dashboard.state import DEFAULT_HOUSEHOLDS, FALLBACK_HOUSEHOLDS

    print(f"Click on Step -> map and charts updated, in headless Chromium ({args.steps} steps "
          f"per case, after 3 warm-up steps; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    print(f"{'map':22s} {'agents':>7s} {'case':28s} {'median':>8s} {'p90':>8s} {'min':>8s} "
          f"{'max':>8s} {'target':>8s}")
    worst = 0.0
    for name in args.maps:
        res = bench_map(name, args.steps, args.households, args.chromium)
        hh = args.households or DEFAULT_HOUSEHOLDS.get(name, FALLBACK_HOUSEHOLDS)
        target = TARGET_MS.get(name, float("nan"))
        for case, label in (("plain", "step"), ("branch", "step, baseline + branch too")):
            s = _summary(res[case])
            ok = "ok" if s["median"] < target else "SLOW"
            worst = max(worst, s["median"] / target if target == target else 0.0)
            print(f"{name:22s} {hh:7d} {label:28s} {s['median']:7.0f}ms {s['p90']:7.0f}ms "
                  f"{s['min']:7.0f}ms {s['max']:7.0f}ms {target:6.0f}ms {ok}")
        print(f"{'':22s} {'':7s} page load to Step button: {res['load_s']:.1f} s, "
              f"{res['territories']} territories drawn")
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
