"""The wheel works outside the repository (issue 9, section 1).

The slow test builds the wheel from a copy of the checkout (``pip wheel . --no-deps``), installs
it into a throw-away venv in a temporary folder and runs the user's commands there, from another
temporary folder, with the checkout nowhere on the path: ``terrinum list``, ``run``, ``demo``,
``sweep <built-in> --quick`` and ``dashboard`` (page and assets served from 127.0.0.1, no
external host in the page).

To keep it short, the throw-away venv reuses this test environment's installed dependencies
instead of downloading them again: its site-packages gets a ``.pth`` line pointing at ours
(added after the wheel is installed, so pip only sees the new venv), and the dependencies' data
files that pip would have put under the venv's prefix (Jupyter's nbconfig and nbextensions,
which the Solara server reads) are linked from ours. The wheel's ``simulation`` is checked to be
the one imported. The fast tests check :mod:`simulation.resources` in both layouts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from simulation import resources

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", ".git", "out", "build", "dist", "*.egg-info",
                                "__pycache__", "results", "test-artifacts", ".pytest_cache",
                                ".ruff_cache", "solara-assets", "_builtin", "tests", "docs")


# ----------------------------------------------------------------------------- fast checks


def test_checkout_layout_finds_the_repository_folders():
    assert not resources.is_wheel_install()
    assert resources.checkout_root() == ROOT
    assert resources.builtin_scenarios_dir() == ROOT / "scenarios"
    assert resources.builtin_experiments_dir() == ROOT / "experiments"
    assert resources.data_dir() == ROOT / "simulation" / "data"
    assert (resources.data_dir() / "france_departements.csv").is_file()
    assert resources.fetch_script() == ROOT / "scripts" / "fetch_solara_assets.py"


def test_lookups_use_the_resources_module(tmp_path, monkeypatch):
    from simulation.experiments import files as experiment
    from simulation.scenarios import files as scenario

    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "only_one.toml").write_text('name = "only_one"\n')
    (tmp_path / "experiments").mkdir()
    monkeypatch.setattr(scenario, "builtin_scenarios_dir", lambda: tmp_path / "scenarios")
    monkeypatch.setattr(experiment, "builtin_experiments_dir", lambda: tmp_path / "experiments")
    assert scenario.builtin_names() == ["only_one"]
    assert scenario.builtin_path("baseline") is None
    assert experiment.available_experiments() == []


def _fake_wheel_package(tmp_path: Path, *, assets: bool, solara: str = "1.0.0") -> Path:
    pkg = tmp_path / "site-packages" / "simulation"
    for name in ("scenarios", "experiments"):
        (pkg / "_builtin" / name).mkdir(parents=True)
    (pkg / "_builtin" / "fetch_solara_assets.py").write_text("# copy\n")
    (pkg / "data").mkdir()
    if assets:
        (pkg / "_builtin" / "solara" / "cdn").mkdir(parents=True)
        (pkg / "_builtin" / "solara" / "build.json").write_text(json.dumps({"solara": solara}))
    return pkg


def test_wheel_layout_finds_the_packaged_copies(tmp_path, monkeypatch):
    pkg = _fake_wheel_package(tmp_path, assets=True, solara="1.2.3")
    monkeypatch.setattr(resources, "package_dir", lambda: pkg)
    assert resources.is_wheel_install()
    assert resources.checkout_root() is None
    assert resources.builtin_scenarios_dir() == pkg / "_builtin" / "scenarios"
    assert resources.builtin_experiments_dir() == pkg / "_builtin" / "experiments"
    assert resources.dashboard_assets_dir() == pkg / "_builtin" / "solara" / "cdn"
    assert resources.assets_build_info() == {"solara": "1.2.3"}
    assert resources.fetch_script() == pkg / "_builtin" / "fetch_solara_assets.py"


def test_dashboard_advice_in_a_wheel_names_no_setup_step(tmp_path, monkeypatch):
    pytest.importorskip("solara")
    import solara

    from simulation.dashboard import cli

    pkg = _fake_wheel_package(tmp_path / "a", assets=True, solara="0.0.1")
    monkeypatch.setattr(resources, "package_dir", lambda: pkg)
    advice = cli.assets_fix()
    assert "solara==0.0.1" in advice and "setup.sh" not in advice
    pkg = _fake_wheel_package(tmp_path / "b", assets=True, solara=solara.__version__)
    monkeypatch.setattr(resources, "package_dir", lambda: pkg)
    assert "reinstall" in cli.assets_fix() and "setup.sh" not in cli.assets_fix()
    pkg = _fake_wheel_package(tmp_path / "c", assets=False)
    monkeypatch.setattr(resources, "package_dir", lambda: pkg)
    advice = cli.assets_fix()
    assert str(pkg / "_builtin" / "fetch_solara_assets.py") in advice
    assert "setup.sh" not in advice and "scripts/" not in advice


def test_build_prunes_only_what_the_page_never_loads():
    import importlib.util

    spec = importlib.util.spec_from_file_location("terrinum_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)   # not __main__: defines the helpers, runs no build
    keep = mod._keep
    app = "@widgetti/solara-vuetify-app@10.1.1/dist/"
    assert keep(Path(app + "solara-vuetify-app8.min.js"), "8")
    assert keep(Path(app + "main8.css"), "8")
    assert not keep(Path(app + "solara-vuetify-app7.min.js"), "8")
    assert not keep(Path(app + "155.solara-vuetify-app7.min.js"), "8")
    assert keep(Path("echarts@5.4.0/dist/echarts.js"), "8")
    assert not keep(Path("echarts@5.4.0/lib/core.js"), "8")
    assert not keep(Path("echarts@5.4.0/types/dist/echarts.d.ts"), "8")
    assert keep(Path("codemirror@5.65.3/lib/codemirror.js"), "8")   # loaded file by file
    assert not keep(Path("vega@5/build/vega.js.map"), "8")


# ----------------------------------------------------------------------------- the wheel


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
         ) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """Build the wheel, install it in a throw-away venv; yields (venv, work dir, env, wheel)."""
    pytest.importorskip("solara")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update({"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "MPLBACKEND": "Agg",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                # the build lists the assets with this Python's Solara and copies its cache
                "TERRINUM_BUILD_PYTHON": sys.executable})
    started = time.monotonic()
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(base / "dist")],
         cwd=base, env=env, timeout=900)
    built = time.monotonic() - started
    (wheel,) = (base / "dist").glob("terrinum-*.whl")
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB, built in {built:.0f} s")

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base, env=env)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
          str(wheel)], cwd=base, env=env)
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=base, env=env).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_terrinum_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    for sub in ("etc/jupyter", "share/jupyter"):
        if (Path(sys.prefix) / sub).is_dir():
            (venv / sub).parent.mkdir(parents=True, exist_ok=True)
            (venv / sub).symlink_to(Path(sys.prefix) / sub)
    work = base / "elsewhere"
    work.mkdir()
    env.pop("TERRINUM_BUILD_PYTHON")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    return venv, work, env, wheel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_wheel_carries_the_builtin_files(wheel_env):
    venv, work, env, wheel = wheel_env
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in sorted((ROOT / "scenarios").glob("*.toml")):
        assert f"simulation/_builtin/scenarios/{p.name}" in names
    for p in sorted((ROOT / "experiments").glob("*.toml")):
        assert f"simulation/_builtin/experiments/{p.name}" in names
    assert "simulation/data/france_departements.csv" in names
    assert "simulation/_builtin/solara/build.json" in names
    assert any(n.startswith("simulation/_builtin/solara/cdn/requirejs@") for n in names)
    assert not any(n.endswith(".map") for n in names)

    code = ("import simulation, json; from simulation import resources as r; "
            "print(json.dumps([simulation.__file__, str(r.builtin_scenarios_dir()), "
            "str(r.dashboard_assets_dir()), r.is_wheel_install()]))")
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=work, env=env).stdout
    init, scen, assets, is_wheel = json.loads(out.strip().splitlines()[-1])
    assert Path(init).is_relative_to(venv), init   # the wheel's simulation, not the checkout
    assert Path(scen).is_relative_to(venv) and Path(assets).is_relative_to(venv)
    assert is_wheel


@pytest.mark.slow
def test_wheel_commands_run_from_another_folder(wheel_env):
    venv, work, env, _ = wheel_env
    t = venv / "bin" / "terrinum"

    out = _run([str(t), "list"], cwd=work, env=env).stdout
    for name in ("baseline", "teaching_synthetic", "office_closures_with_mediators"):
        assert re.search(rf"^\s+{name}\s", out, re.M), out[-2000:]
    assert "(none found)" not in out
    assert "installed with the package" in out and "repository" not in out

    _run([str(t), "run", "baseline", "--years", "1", "--households", "1000", "--no-plots",
          "--quiet", "--out", "out/run"], cwd=work, env=env)
    run_dir = work / "out" / "run"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "baseline" in json.dumps(manifest)
    assert (run_dir / "scenario.toml").read_text().strip()
    assert len((run_dir / "results.csv").read_text().splitlines()) > 12  # 12 months + header

    # the demo's scenarios all extend the built-in baseline
    _run([str(t), "demo", "--reps", "1", "--years", "1", "--households", "1000", "--workers",
          "1", "--no-plots", "--quiet", "--out", "out/demo"], cwd=work, env=env)
    demo = work / "out" / "demo"
    assert (demo / "report.html").stat().st_size > 1000
    assert len(list((demo / "scenarios").glob("*.toml"))) >= 3

    _run([str(t), "sweep", "tiers_lieux_commission", "--quick", "--workers", "1", "--quiet",
          "--out", "out/sweep"], cwd=work, env=env)
    sweep = work / "out" / "sweep"
    assert (sweep / "manifest.json").is_file()
    assert any((sweep / "runs").rglob("*.parquet"))


@pytest.mark.slow
def test_wheel_dashboard_serves_page_and_assets_locally(wheel_env):
    venv, work, env, _ = wheel_env
    port = _free_port()
    log = (work / "dashboard.log").open("w+")
    proc = subprocess.Popen([str(venv / "bin" / "terrinum"), "dashboard", "teaching_baseline",
                             "--port", str(port)], cwd=work, env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def get(path: str) -> bytes:
        with urllib.request.urlopen(url + path, timeout=30) as r:
            assert r.status == 200, path
            return r.read()

    try:
        deadline = time.monotonic() + 240
        page = None
        while page is None:
            assert proc.poll() is None, f"dashboard exited {proc.returncode}: {log_tail(log)}"
            try:
                page = get("/").decode("utf-8")
            except OSError:
                assert time.monotonic() < deadline, f"no page in 240 s: {log_tail(log)}"
                time.sleep(1)
        refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
        refs += re.findall(r"""url\(\s*["']?([^"')]+)""", page)
        assert refs, page[:2000]
        external = [r for r in refs if re.match(r"^(?:[a-z]+:)?//", r, re.I)
                    and not re.match(r"^(?:https?:)?//(?:127\.0\.0\.1|localhost)[:/]", r)]
        assert not external, external
        assert "jsdelivr" not in page and "unpkg" not in page
        cdn = [r for r in refs if r.startswith("/static/assets/cdn/")]
        assert any("requirejs@" in r for r in cdn) and any("solara-vuetify" in r for r in cdn)
        for ref in cdn:
            assert len(get(ref)) > 1000, ref
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        # the server's child process (solara) is in the same process group: it is gone too
        closed = _wait_closed(port, 15)
        if not closed:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    assert closed, f"port {port} still served after the dashboard was stopped"


def _wait_closed(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.5)
    return False


def log_tail(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-3000:]
