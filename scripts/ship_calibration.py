"""Make a finished calibration the package's: copy its results into simulation/data/calibration.

Usage: ``python scripts/ship_calibration.py OUT`` (OUT: a ``terrinum calibrate`` folder).

Copies ``calibrated.json`` (calibrated defaults, territory constants, provenance) and
``draws.csv`` (posterior draws with their constants), then regenerates ``docs/CALIBRATION.md``
from the folder (:func:`simulation.calibration.report.calibration_markdown`). Refuses a folder
whose calibration is not finished or is a ``--quick`` one. After shipping, refresh the
regression baseline (``python tests/update_baseline.py``): every default run changes.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "simulation" / "data" / "calibration"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    need = ["calibrated.json", "draws.csv", "manifest.json", "fit.csv", "plausibility.csv"]
    missing = [n for n in need if not (out / n).is_file()]
    if missing:
        print(f"{out}: not a finished calibration (missing {', '.join(missing)}); run "
              "terrinum calibrate first", file=sys.stderr)
        return 2
    man = json.loads((out / "manifest.json").read_text())
    if man.get("calibration", {}).get("quick"):
        print(f"{out}: a --quick calibration is a smoke test, not shipped", file=sys.stderr)
        return 2
    DEST.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "draws.csv", DEST / "draws.csv")
    sys.path.insert(0, str(ROOT))
    from simulation.calibration.report import calibration_markdown

    # machine paths are not shipped: the output folder becomes OUT, the calibration file
    # its path in the repository
    cal_file = man["calibration"].get("file") or ""
    rel = f"experiments/{Path(cal_file).name}" if cal_file else ""

    def portable(text: str) -> str:
        if cal_file:
            text = text.replace(cal_file, rel)
        return text.replace(str(out.resolve()), "OUT").replace(str(out), "OUT")

    (DEST / "calibrated.json").write_text(portable((out / "calibrated.json").read_text()),
                                          encoding="utf-8")
    (ROOT / "docs" / "CALIBRATION.md").write_text(portable(calibration_markdown(out)),
                                                  encoding="utf-8")
    print(f"shipped {out} -> {DEST.relative_to(ROOT)}; docs/CALIBRATION.md regenerated; now "
          "run: python tests/update_baseline.py")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
