"""Regression baseline: summary measures of a fixed-seed run, kept in tests/baseline.json.

If the model changes on purpose, refresh the file with ``python tests/update_baseline.py``
and review the diff; the failure message lists every measure that moved.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from regression import CONFIG, YEARS, summary  # noqa: E402


def test_summary_matches_baseline():
    stored = json.loads(Path(__file__).with_name("baseline.json").read_text(encoding="utf-8"))
    assert stored["config"] == CONFIG and stored["years"] == YEARS
    now = summary()
    diffs = []
    for k, old in stored["summary"].items():
        new = now.get(k)
        if new is None or not math.isclose(new, old, rel_tol=1e-7, abs_tol=1e-9):
            diffs.append(f"  {k:26s} baseline {old:.10g}  now {new!s:>16s}")
    for k in now.keys() - stored["summary"].keys():
        diffs.append(f"  {k:26s} new measure, not in baseline")
    assert not diffs, ("summary differs from tests/baseline.json (run "
                       "'python tests/update_baseline.py' if the change is intended):\n"
                       + "\n".join(diffs))
