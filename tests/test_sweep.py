"""Sweeps: dataset folder, kill and resume, engines giving identical data, folder rules."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.experiments.files import load_experiment
from simulation.experiments.sweep import (
    MANIFEST,
    RUNS,
    SweepError,
    execute_run,
    finished_runs,
    make_tasks,
    read_manifest,
    read_runs,
    sweep,
)

DATA = Path(__file__).parent / "data" / "experiments"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny():
    return load_experiment(DATA / "tiny_grid.toml")


@pytest.fixture(scope="module")
def tiny_local(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    rep = sweep(tiny, out, workers=2, progress=False)
    assert rep.ran == 8 and rep.skipped == 0 and not rep.failed
    return out


def _files(out: Path) -> list[str]:
    return sorted(p.name for p in (out / RUNS).iterdir())


# ---------------------------------------------------------------- the dataset
def test_dataset_layout_manifest_and_rows(tiny, tiny_local):
    out = tiny_local
    planned = [r.run_id for r in tiny.runs()]
    assert _files(out) == sorted(f"{i}.parquet" for i in planned)   # no temp file left
    man = read_manifest(out)
    assert man["experiment"]["sha256"] == tiny.sha256
    assert man["experiment"]["text"] == (DATA / "tiny_grid.toml").read_text()
    assert man["seeds"] == tiny.seeds()
    assert [r["run_id"] for r in man["runs"]] == planned
    assert man["design"]["factors"] == tiny.factor_names and man["design"]["points"] == 4
    assert man["terrinum_version"] and man["model_code_sha256"]
    assert man["scenario"]["sha256"] == tiny.scenario.sha256
    design = pd.read_csv(out / "design.csv")
    assert list(design["run_id"]) == planned
    df = read_runs(out)
    assert set(df["run_id"]) == set(planned)
    assert set(df["territory"]) == {"_map", "@kinds=rural"}
    one = df[df["run_id"] == planned[5]]
    assert one["global_commission"].unique().tolist() == [tiny.runs()[5].values[
        "global_commission"]]
    assert one["step"].max() == 12 and one["seed"].iloc[0] == tiny.runs()[5].seed
    # a run file is what execute_run returns, and that is the runner's map-level table
    from simulation.scenarios.runner import run_replication

    t = make_tasks(tiny)[5]
    direct = run_replication(tiny.scenario, t.seed, years=1, params=t.params,
                             policies=t.policies, n_households=1000, territories=False)
    mine = one[one["territory"] == "_map"].sort_values(["step", "measure"])
    ref = direct.sort_values(["step", "measure"])
    assert np.array_equal(mine["value"].to_numpy(), ref["value"].to_numpy(), equal_nan=True)


def test_rural_series_is_household_weighted_mean(tiny):
    t = make_tasks(tiny)[0]
    from simulation.scenarios.runner import run_replication

    full = run_replication(tiny.scenario, t.seed, years=1, params=t.params,
                           policies=t.policies, n_households=1000, territories=True)
    mine = execute_run(t)
    rural = [c for c in full["territory"].unique() if c.startswith("R")]
    last = full[(full["step"] == 12) & full["territory"].isin(rural)]
    att = last[last["measure"] == "attractiveness"].set_index("territory")["value"]
    w = last[last["measure"] == "households"].set_index("territory")["value"]
    expect = float((att * w).sum() / w.sum())
    got = mine[(mine["territory"] == "@kinds=rural") & (mine["step"] == 12)]["value"]
    assert got.iloc[0] == pytest.approx(expect, rel=1e-12)


# ---------------------------------------------------------------- kill and resume
def test_killed_sweep_resumes_without_duplicate_or_missing_run(tmp_path):
    exp_file = DATA / "kill_grid.toml"
    exp = load_experiment(exp_file)
    planned = sorted(r.run_id for r in exp.runs())
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "simulation.cli", "sweep", str(exp_file), "--out", str(out),
           "--workers", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while len(finished_runs(out)) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no run file appeared"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)          # the sweep and its pool workers
    proc.wait(timeout=30)
    proc.stderr.close()
    done_at_kill = finished_runs(out)
    assert 3 <= len(done_at_kill) < len(planned), "the sweep was not killed part-way"
    for p in (out / RUNS).glob("*.parquet"):
        pd.read_parquet(p)                       # every run file present is complete
    (out / RUNS / ".stale.parquet.tmp").write_bytes(b"half a file")   # a writer's leftover

    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{len(done_at_kill)} already done" in r.stdout
    assert _files(out) == [f"{i}.parquet" for i in planned]   # no duplicate, no missing

    ref = tmp_path / "uninterrupted"
    rep = sweep(exp, ref, workers=1, progress=False)      # in this process
    assert rep.ran == len(planned)
    a, b = read_runs(out), read_runs(ref)
    assert len(a) == len(b) and not a.duplicated(["run_id", "territory", "measure",
                                                  "step"]).any()
    pd.testing.assert_frame_equal(a, b)
    ma, mb = (json.loads((d / MANIFEST).read_text()) for d in (out, ref))
    for k in ("created", "model_code_sha256"):   # (others may edit the model meanwhile)
        ma.pop(k), mb.pop(k)
    assert ma == mb


# ---------------------------------------------------------------- engines
def test_local_pool_and_dask_local_cluster_give_identical_data(tiny, tiny_local, tmp_path):
    out = tmp_path / "dask"
    rep = sweep(tiny, out, dask_local=2, progress=False)
    assert rep.ran == 8 and "dask" in rep.engine
    pd.testing.assert_frame_equal(read_runs(tiny_local), read_runs(out))
    a = pd.read_parquet(tiny_local / RUNS / f"{tiny.runs()[0].run_id}.parquet")
    b = pd.read_parquet(out / RUNS / f"{tiny.runs()[0].run_id}.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_existing_dask_scheduler_by_address(tiny, tiny_local, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        out = tmp_path / "sched"
        rep = sweep(tiny, out, scheduler=cluster.scheduler_address, progress=False, limit=3)
        assert rep.ran == 3 and cluster.scheduler_address in rep.engine
    for run_file in (out / RUNS).glob("*.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(run_file),
                                      pd.read_parquet(tiny_local / RUNS / run_file.name))


def test_in_process_run_equals_pool_run(tiny, tiny_local):
    t = make_tasks(tiny)[6]
    a = execute_run(t)
    b = pd.read_parquet(tiny_local / RUNS / f"{t.run_id}.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_partial_sweep_then_completion_equals_one_go(tiny, tiny_local, tmp_path):
    out = tmp_path / "parts"
    assert sweep(tiny, out, workers=1, progress=False, limit=3).ran == 3
    assert len(finished_runs(out)) == 3
    rep = sweep(tiny, out, workers=2, progress=False, resume=True)
    assert (rep.skipped, rep.ran) == (3, 5)
    pd.testing.assert_frame_equal(read_runs(out), read_runs(tiny_local))


# ---------------------------------------------------------------- folder rules
def test_another_experiment_into_the_folder_is_an_error(tiny_local, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text((DATA / "tiny_grid.toml").read_text().replace("seed = 7", "seed = 8"))
    before = _files(tiny_local)
    with pytest.raises(SweepError, match="holds another sweep.*experiment file differs"):
        sweep(load_experiment(other), tiny_local, workers=1, progress=False)
    with pytest.raises(SweepError, match="holds another sweep"):
        sweep(load_experiment(other), tiny_local, workers=1, progress=False, resume=True)
    assert _files(tiny_local) == before


def test_quick_variant_into_full_folder_is_an_error(tmp_path):
    exp = load_experiment("tiers_lieux_commission", quick=True)
    out = tmp_path / "q"
    sweep(exp, out, workers=1, progress=False, limit=1)
    with pytest.raises(SweepError, match="--quick differs"):
        sweep(load_experiment("tiers_lieux_commission"), out, workers=1, progress=False)


def test_resume_needs_a_sweep_and_folders_must_be_empty(tiny, tmp_path, capsys):
    from simulation.cli import main

    with pytest.raises(SweepError, match="nothing to resume"):
        sweep(tiny, tmp_path / "new", resume=True, progress=False)
    assert not (tmp_path / "new").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match="not empty and holds no sweep"):
        sweep(tiny, busy, progress=False)
    rc = main(["sweep", str(DATA / "tiny_grid.toml"), "--out", str(busy), "--quiet"])
    assert rc == 2 and "not empty" in capsys.readouterr().err


def test_two_sweeps_never_write_into_one_folder_at_once(tiny, tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SweepError, match="another sweep is writing"):
            sweep(tiny, out, progress=False)
    assert not (out / MANIFEST).exists()


def test_failed_runs_are_reported_and_retried(tiny, tmp_path, monkeypatch):
    import simulation.experiments.sweep as sw

    out = tmp_path / "fail"
    bad = tiny.runs()[2].run_id
    real = sw.execute_run

    def flaky(task):
        if task.run_id == bad:
            raise RuntimeError("boom")
        return real(task)

    monkeypatch.setattr(sw, "execute_run", flaky)     # runs in this process (workers=1)
    with pytest.raises(SweepError, match=f"1 of 8 run.*failed.*{bad}.*boom.*same command"):
        sweep(tiny, out, workers=1, progress=False)
    assert len(finished_runs(out)) == 7
    monkeypatch.undo()
    rep = sweep(tiny, out, workers=2, progress=False)
    assert (rep.skipped, rep.ran) == (7, 1)


# ---------------------------------------------------------------- Mesa's own runner
def test_mesa_batch_run_on_territory_model_still_works():
    import mesa

    from simulation.engine.model import TerritoryModel

    out = mesa.batch_run(TerritoryModel, parameters={"map": "synthetic", "n_households": 500,
                                                     "global_commission": [0.1, 0.2]},
                         rng=[3], max_steps=2, number_processes=1, display_progress=False)
    df = pd.DataFrame(out)
    assert len(df) == 2 and set(df["global_commission"]) == {0.1, 0.2}
    assert df["Step"].eq(2).all() and df["gini"].between(0, 1).all()
