"""Refresh tests/baseline.json (the only way it may change; review the diff in the PR).

Usage: python tests/update_baseline.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regression import CONFIG, YEARS, summary  # noqa: E402

if __name__ == "__main__":
    path = Path(__file__).with_name("baseline.json")
    data = {"config": CONFIG, "years": YEARS, "summary": summary()}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")
