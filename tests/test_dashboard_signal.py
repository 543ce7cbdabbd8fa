"""terrinum dashboard stopped with SIGTERM stops its solara child (issue 9 §4)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_sigterm_to_dashboard_stops_the_solara_child(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen([sys.executable, "-m", "simulation.cli", "dashboard", "--port",
                               str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        kids: list[int] = []
        while time.time() < deadline and parent.poll() is None:
            kids = _children(parent.pid)
            if kids:
                break
            time.sleep(0.2)
        if parent.poll() is not None:
            pytest.skip(f"dashboard did not start here: {parent.stderr.read()[:300]!r}")
        assert kids, "no solara child started"
        time.sleep(2)
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
        deadline = time.time() + 20
        while time.time() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.2)
        assert not any(_alive(k) for k in kids), "the solara child outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for k in _children(parent.pid):
            os.kill(k, signal.SIGKILL)
