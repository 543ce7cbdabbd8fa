"""Command-line gaps of issue 9 §4: list experiments, did-you-mean, analyse on other folders,
compare --map/--set, edges CSV beside a nodes CSV, map file hashes in the run manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from simulation.cli import main
from simulation.world.maps import edges_beside

MAPS = Path(__file__).parent / "data" / "maps"
SMALL = ["--years", "0.25", "--households", "300", "--workers", "1", "--no-plots", "--quiet"]


def test_list_experiments(capsys):
    from simulation.experiments.files import available_experiments

    assert main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    names = available_experiments()
    assert names and all(n in out for n in names)
    assert "INVALID" not in out


def test_mistyped_scenario_name_gets_did_you_mean(capsys):
    assert main(["run", "basline", *SMALL]) == 2
    assert "did you mean 'baseline'" in capsys.readouterr().err
    assert main(["run", "zzzzqqq", *SMALL]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_analyse_on_compare_and_run_folders_says_what_they_are(tmp_path, capsys):
    cmp = tmp_path / "cmp"
    cmp.mkdir()
    (cmp / "manifest.json").write_text(json.dumps({"kind": "terrinum comparison"}))
    assert main(["analyse", str(cmp)]) == 2
    err = capsys.readouterr().err
    assert "comparison folder" in err and "terrinum sweep" in err and "None" not in err
    run = tmp_path / "run"
    assert main(["run", "teaching_synthetic", *SMALL, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["analyse", str(run)]) == 2
    err = capsys.readouterr().err
    assert "run folder" in err and "terrinum sweep" in err and "None" not in err


def test_edges_beside_a_nodes_file(tmp_path):
    assert edges_beside(MAPS / "valley_nodes.csv") == MAPS / "valley_edges.csv"
    shutil.copy(MAPS / "valley_nodes.csv", tmp_path / "nodes.csv")
    assert edges_beside(tmp_path / "nodes.csv") is None
    shutil.copy(MAPS / "valley_edges.csv", tmp_path / "edges.csv")
    assert edges_beside(tmp_path / "nodes.csv") == tmp_path / "edges.csv"


def test_run_map_csv_uses_edges_beside_and_hashes_map_files(tmp_path, capsys):
    nodes = tmp_path / "nodes.csv"
    shutil.copy(MAPS / "valley_nodes.csv", nodes)
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", "teaching_synthetic", "--map", str(nodes), *SMALL, "--out", str(a)]) == 0
    assert "no edges file beside it" in capsys.readouterr().out
    shutil.copy(MAPS / "valley_edges.csv", tmp_path / "edges.csv")
    assert main(["run", "teaching_synthetic", "--map", str(nodes), *SMALL, "--out", str(b)]) == 0
    assert "edges.csv beside it" in capsys.readouterr().out
    man_a = json.loads((a / "manifest.json").read_text())
    man_b = json.loads((b / "manifest.json").read_text())
    assert [Path(f["path"]).name for f in man_a["map_files"]] == ["nodes.csv"]
    assert [Path(f["path"]).name for f in man_b["map_files"]] == ["nodes.csv", "edges.csv"]
    want = hashlib.sha256((tmp_path / "edges.csv").read_bytes()).hexdigest()
    assert man_b["map_files"][1]["sha256"] == want


def test_compare_takes_map_and_set(tmp_path, capsys):
    out = tmp_path / "cmp"
    data = Path(__file__).parent / "data" / "scenarios"
    assert main(["compare", "teaching_synthetic", str(data / "good_synthetic_tax.toml"),
                 "--reps", "1", *SMALL, "--map", str(MAPS / "valley_nodes.csv"),
                 "--set", "move_rate=0.05", "--out", str(out)]) == 0
    assert "valley_edges.csv beside it" in capsys.readouterr().out
    man = json.loads((out / "manifest.json").read_text())
    assert man["map"].endswith("valley_nodes.csv")
    assert all(s["params"]["move_rate"] == 0.05 for s in man["scenarios"])
