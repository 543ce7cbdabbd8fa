"""scripts/check_calibration.py: a calibration folder against the shipped calibration."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "simulation" / "data" / "calibration"


def _script():
    spec = importlib.util.spec_from_file_location("check_calibration",
                                                  ROOT / "scripts" / "check_calibration.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "calib"
    out.mkdir()
    for name in ("calibrated.json", "draws.csv"):
        shutil.copyfile(SHIPPED / name, out / name)
    return out


def test_a_copy_of_the_shipped_calibration_is_identical(tmp_path, capsys):
    mod = _script()
    out = _copy(tmp_path)
    assert mod.main([str(out)]) == 0
    assert "reproduces the shipped calibration" in capsys.readouterr().out


def test_a_changed_constant_is_reported(tmp_path, capsys):
    mod = _script()
    out = _copy(tmp_path)
    d = json.loads((out / "calibrated.json").read_text())
    first = sorted(d["location_constants"]["values"])[0]
    d["location_constants"]["values"][first] += 0.01
    (out / "calibrated.json").write_text(json.dumps(d))
    res = mod.compare(out)
    assert res["parameters"] == 0.0 and res["posterior draws"] == 0.0
    assert abs(res["territory constants"] - 0.01) < 1e-9
    assert mod.main([str(out)]) == 1
    assert "does NOT reproduce" in capsys.readouterr().out


def test_a_folder_without_results_is_refused(tmp_path, capsys):
    assert _script().main([str(tmp_path)]) == 2
    assert "not a finished calibration" in capsys.readouterr().err
