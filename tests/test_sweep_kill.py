"""A sweep killed at any phase resumes, and its folder then equals an uninterrupted sweep's.

Each sweep runs the ``terrinum sweep`` command in a subprocess in its own process group (a new
session) with the test hook ``TERRINUM_TEST_KILL_AT`` (``simulation.experiments.store``), which
SIGKILLs the group (the command and its pool workers) at a chosen point; the next command resumes
whatever state that left. Equal means: the same set of files (no lock file, no temporaries),
``runs/*.parquet`` and ``design.csv`` byte for byte, and ``manifest.json`` equal except its
``created`` time.

To keep the test short on a busy machine, the commands are forked from one launcher process
that has imported the package once (as the sweep's own fork server does for its workers); the
last command of the first test is a fresh ``python -m simulation.cli`` process.
"""

from __future__ import annotations

import json
import os
import platform
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.experiments.files import load_experiment
from simulation.experiments.store import KILL_ENV, LOCK, FolderLock, is_temporary
from simulation.experiments.sweep import MANIFEST, RUNS, SweepError, sweep

DATA = Path(__file__).parent / "data" / "experiments"
EXP = DATA / "kill_phases.toml"
ROOT = Path(__file__).resolve().parents[1]
N_RUNS = 4


def _argv(out: Path, workers: int, resume: bool) -> list[str]:
    return ["sweep", str(EXP), "--out", str(out), "--workers", str(workers),
            "--quiet"] + (["--resume"] if resume else [])


def _sweep_cli(out: Path, workers: int, resume: bool = False) -> tuple[int, str, str]:
    """The command in a fresh Python process in a new session: (status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(KILL_ENV, None)
    r = subprocess.run([sys.executable, "-m", "simulation.cli", *_argv(out, workers, resume)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
                       start_new_session=True)
    return r.returncode, r.stdout, r.stderr


# reads one job a line, forks a child in a new session that runs the command and exits;
# answers the child's exit status (negative: killed by that signal)
_LAUNCHER = """
import json, os, sys, traceback
import simulation.cli, simulation.experiments.files, simulation.experiments.sweep
from simulation.engine import kernels
kernels.warm_up()
print('ready', flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        for fd, name in ((1, 'out'), (2, 'err')):
            os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        for k, v in job['env'].items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            rc = simulation.cli.main(job['argv'])
        except BaseException:
            traceback.print_exc()
            rc = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


@pytest.fixture(scope="module")
def launcher():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", _LAUNCHER], cwd=ROOT, env=env, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert _answer(p) == "ready"
    yield p
    p.stdin.close()
    p.wait(timeout=30)


def _answer(p: subprocess.Popen, timeout: float = 180) -> str:
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    assert ready, "the launched sweep did not end"
    return p.stdout.readline().strip()


def _sweep_forked(launcher, out: Path, workers: int, kill: str | None = None,
                  resume: bool = False) -> tuple[int, str, str]:
    """The command in a child of the launcher, in a new session: (status, stdout, stderr)."""
    logs = out.parent / f"{out.name}.out", out.parent / f"{out.name}.err"
    job = {"argv": _argv(out, workers, resume), "env": {KILL_ENV: kill},
           "out": str(logs[0]), "err": str(logs[1])}
    launcher.stdin.write(json.dumps(job) + "\n")
    launcher.stdin.flush()
    rc = int(_answer(launcher))
    return rc, logs[0].read_text(), logs[1].read_text()


def _listing(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))


def _snapshot(out: Path) -> tuple[dict[str, bytes], dict]:
    """Every file's bytes, and the manifest without its creation time."""
    files = {p.relative_to(out).as_posix(): p.read_bytes()
             for p in sorted(out.rglob("*")) if p.is_file()}
    man = json.loads(files.pop(MANIFEST))
    man.pop("created")
    return files, man


def _temps(names: list[str], of: str) -> list[str]:
    return [n for n in names if is_temporary(Path(n).name, None if of == "*" else [of])
            and (of != "*" or n.startswith(f"{RUNS}/"))]


def _runs(names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(f"{RUNS}/") and n.endswith(".parquet")
            and not Path(n).name.startswith(".")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[dict[str, bytes], dict]:
    """An uninterrupted sweep of the fixture (in this process)."""
    out = tmp_path_factory.mktemp("kill") / "uninterrupted"
    rep = sweep(load_experiment(EXP), out, workers=1, progress=False)
    assert (rep.ran, rep.total) == (N_RUNS, N_RUNS)
    assert LOCK not in _listing(out)                 # a finished sweep leaves no lock file
    files, man = _snapshot(out)
    assert sorted(files) == ["design.csv"] + sorted(f"{RUNS}/{r['run_id']}.parquet"
                                                    for r in man["runs"])
    return files, man


def _kill_chain(launcher, out: Path, workers: int, steps: list[tuple[str, bool, object]]
                ) -> None:
    """Run the sweep once per step, killed at the step's phase; check what each kill left."""
    for phase, resume, expect in steps:
        rc, _, err = _sweep_forked(launcher, out, workers, kill=phase, resume=resume)
        assert rc == -signal.SIGKILL, (phase, rc, err[-2000:])
        names = _listing(out)
        assert expect(names), (phase, names)


def _finish_and_compare(result: tuple[int, str, str], out: Path, already: int,
                        reference) -> None:
    rc, stdout, stderr = result
    assert rc == 0, stderr[-2000:]
    assert f"{N_RUNS - already} run(s)" in stdout and f"{already} already done" in stdout
    files, man = _snapshot(out)
    ref_files, ref_man = reference
    assert sorted(files) == sorted(ref_files)        # no lock, no temporary, nothing missing
    for name, data in ref_files.items():
        assert files[name] == data, f"{name} differs from the uninterrupted sweep's"
    assert man == ref_man


def test_killed_at_every_phase_one_worker_resumes_to_the_same_bytes(tmp_path, reference,
                                                                   launcher):
    out = tmp_path / "one"
    steps = [
        # the lock is taken, nothing else yet
        ("before-manifest", False, lambda n: n == [LOCK]),
        # half a manifest in its temporary, no manifest.json (resumed below with --resume)
        ("manifest-write", False,
         lambda n: MANIFEST not in n and len(_temps(n, MANIFEST)) == 1),
        # manifest.json in place, design.csv never written
        ("after-manifest", True,
         lambda n: MANIFEST in n and "design.csv" not in n and not _temps(n, MANIFEST)),
        ("design-write", False,
         lambda n: "design.csv" not in n and len(_temps(n, "design.csv")) == 1),
        ("after-design", False,
         lambda n: "design.csv" in n and not _temps(n, "design.csv") and RUNS not in n),
        # the first run file half written
        ("run-write", False, lambda n: not _runs(n) and len(_temps(n, "*")) == 1),
        # just after the second run file (the half-written one was removed and redone)
        ("between-runs:2", False, lambda n: len(_runs(n)) == 2 and not _temps(n, "*")),
        # every run written, the lock file still there (a dead pid in it)
        ("after-runs", False, lambda n: len(_runs(n)) == N_RUNS and LOCK in n),
    ]
    _kill_chain(launcher, out, 1, steps)
    assert (out / LOCK).read_text().startswith("pid ")
    _finish_and_compare(_sweep_cli(out, 1), out, N_RUNS, reference)   # a fresh process


def test_killed_with_two_workers_resumes_to_the_same_bytes(tmp_path, reference, launcher):
    out = tmp_path / "two"
    steps = [
        ("manifest-write", False,
         lambda n: MANIFEST not in n and len(_temps(n, MANIFEST)) == 1),
        # the pool's second finished run half written (the first is in place)
        ("run-write:2", False, lambda n: len(_runs(n)) == 1 and len(_temps(n, "*")) == 1),
        # one more run in place; the pool's other runs were killed in flight
        ("between-runs", False, lambda n: len(_runs(n)) == 2 and not _temps(n, "*")),
    ]
    _kill_chain(launcher, out, 2, steps)
    _finish_and_compare(_sweep_forked(launcher, out, 2), out, 2, reference)


# ---------------------------------------------------------------- the pieces, in this process
def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftovers_of_a_killed_start_are_resumable_even_with_resume(tmp_path):
    exp = load_experiment(EXP)
    out = tmp_path / "left"
    out.mkdir()
    (out / LOCK).write_text(f"pid {_dead_pid()} on {platform.node()}\n")
    (out / ".manifest.json.k2j3h4l_").write_text('{"format": "terrin')
    (out / ".design.csv.abcd1234").write_text("run_id,po")
    rep = sweep(exp, out, workers=1, progress=False, resume=True, limit=1)
    assert (rep.ran, rep.skipped, rep.total) == (1, 0, N_RUNS)
    assert _listing(out) == sorted(["design.csv", MANIFEST, RUNS, f"{RUNS}/"
                                    f"{exp.runs()[0].run_id}.parquet"])


def test_foreign_content_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / ".manifest.json.k2j3h4l_").write_text("{")
    with pytest.raises(SweepError, match="not empty and holds no sweep.*notes.txt"):
        sweep(load_experiment(EXP), out, workers=1, progress=False)
    assert _listing(out) == [".manifest.json.k2j3h4l_", "notes.txt"]   # no lock left either
    with pytest.raises(SweepError, match="nothing to resume"):
        sweep(load_experiment(EXP), tmp_path / "empty", resume=True, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SweepError, match="nothing to resume"):
        sweep(load_experiment(EXP), tmp_path / "empty", resume=True, progress=False)
    assert _listing(tmp_path / "empty") == []


def _holder(lock_file: Path, text: str) -> subprocess.Popen:
    """A process that writes ``text`` into the lock file, holds its flock 1 s, then exits."""
    code = ("import fcntl, sys, time\n"
            "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "f.seek(0); f.truncate(); f.write(sys.argv[2]); f.flush()\n"
            "print('locked', flush=True); time.sleep(1.0)\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(lock_file), text],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_lock_blocks_a_live_holder_and_waits_out_a_dead_one(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    live = _holder(folder / LOCK, "")
    try:
        live_text = f"pid {live.pid} on {platform.node()}"
        (folder / LOCK).write_text(live_text)
        t0 = time.monotonic()
        with pytest.raises(SweepError, match=f"another sweep is writing.*{live_text}"):
            with FolderLock(folder, what="sweep", error=SweepError):
                pass
        assert time.monotonic() - t0 < 0.5                # a live holder: refused at once
    finally:
        live.wait(timeout=10)
    # the recorded holder is dead but a child of it still holds the lock for a moment
    child = _holder(folder / LOCK, f"pid {_dead_pid()} on {platform.node()}")
    t0 = time.monotonic()
    with FolderLock(folder, what="sweep", error=SweepError, wait_dead=10) as lock:
        waited = time.monotonic() - t0
        assert lock.found_stale
        assert (folder / LOCK).read_text() == f"pid {os.getpid()} on {platform.node()}\n"
    child.wait(timeout=10)
    assert waited > 0.3
    assert not (folder / LOCK).exists()


def test_a_malformed_kill_hook_is_a_user_error(tmp_path, monkeypatch, capsys):
    from simulation.cli import main

    monkeypatch.setenv(KILL_ENV, "run-write:0")
    out = tmp_path / "hook"
    rc = main(["sweep", str(EXP), "--out", str(out), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and KILL_ENV in err and "Traceback" not in err
    assert not out.exists()                           # the lock's folder removed again
