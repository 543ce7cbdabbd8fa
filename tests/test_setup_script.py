"""Quick checks of setup.sh, .ci/run and scripts/fetch_solara_assets.py (no network, no venv)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "setup.sh"
BASH = shutil.which("bash") or "/bin/bash"


def run_setup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BASH, str(SETUP), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def bare_env(tmp_path: Path, path_dir: Path, **extra: str) -> dict[str, str]:
    """An environment whose PATH has only ``path_dir`` and no pyenv/uv to fall back on."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (tmp_path / "empty-pyenv").mkdir(exist_ok=True)
    env = {
        "PATH": str(path_dir),
        "HOME": str(home),
        "PYENV_ROOT": str(tmp_path / "empty-pyenv"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def fake_python(path: Path, version: str, rc: int) -> Path:
    """A stand-in interpreter that answers setup.sh's probe with ``version`` and exit ``rc``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\nexit {rc}\n")
    path.chmod(0o755)
    return path


def real_python_wrapper(path: Path) -> Path:
    """A launcher for the interpreter running the tests (Python >= 3.12)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


# ----------------------------------------------------------------------------- setup.sh


def test_setup_script_is_valid_bash():
    assert os.access(SETUP, os.X_OK), "setup.sh must be executable"
    subprocess.run([BASH, "-n", str(SETUP)], check=True)


def test_help_lists_the_commands():
    res = run_setup("--help")
    assert res.returncode == 0
    for word in ("demo", "test", "install", "TERRINUM_PYTHON", "TERRINUM_CHROMIUM"):
        assert word in res.stdout


@pytest.mark.parametrize("args", [(), ("bogus",), ("--bogus", "test")])
def test_bad_usage_exits_2(args):
    res = run_setup(*args)
    assert res.returncode == 2
    assert "ERROR" in res.stderr
    assert "Usage" in res.stderr


def test_no_python_312_prints_install_advice(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir / "python3", "3.11.7", 2)
    res = run_setup("find-python", env=bare_env(tmp_path, bin_dir))
    assert res.returncode == 1
    err = res.stderr
    assert "No Python 3.12 or newer found" in err
    assert "python3 is Python 3.11.7 (too old)" in err
    for advice in (
        "apt-get install python3.12",
        "deadsnakes",
        "brew install python@3.12",
        "pyenv install 3.12",
        "uv python install 3.12",
        "python.org",
        "TERRINUM_PYTHON=",
    ):
        assert advice in err, advice


def test_python_without_venv_module_is_explained(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir / "python3.12", "3.12.3", 3)
    res = run_setup("find-python", env=bare_env(tmp_path, bin_dir))
    assert res.returncode == 1
    assert "python3.12-venv" in res.stderr


def test_finds_python312_on_path(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir / "python3", "3.11.7", 2)
    real_python_wrapper(bin_dir / "python3.12")
    res = run_setup("find-python", env=bare_env(tmp_path, bin_dir))
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip()).resolve() == Path(sys.executable).resolve()


def test_finds_inactive_pyenv_version(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir / "python3", "3.11.7", 2)
    env = bare_env(tmp_path, bin_dir)
    pyenv_root = tmp_path / "pyenv"
    real_python_wrapper(pyenv_root / "versions" / "3.12.9" / "bin" / "python")
    env["PYENV_ROOT"] = str(pyenv_root)
    res = run_setup("find-python", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip()


def test_terrinum_python_too_old_is_an_error(tmp_path):
    bin_dir = tmp_path / "bin"
    old = fake_python(tmp_path / "old" / "python", "3.10.1", 2)
    real_python_wrapper(bin_dir / "python3.12")
    res = run_setup("find-python", env=bare_env(tmp_path, bin_dir, TERRINUM_PYTHON=str(old)))
    assert res.returncode == 1
    assert "TERRINUM_PYTHON" in res.stderr
    assert "3.10.1" in res.stderr


def test_ci_runs_exactly_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    text = ci.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "exec bash setup.sh test" in text


# ----------------------------------------------------------------------------- asset fetcher


@pytest.fixture(scope="module")
def fetcher():
    name = "fetch_solara_assets_under_test"
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "fetch_solara_assets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


def test_resolve_version(fetcher):
    meta = {
        "name": "vega",
        "dist-tags": {"latest": "6.1.0"},
        "versions": {v: {} for v in ["5.2.0", "5.10.1", "5.9.9", "6.1.0", "5.11.0-rc.1"]},
    }
    assert fetcher.resolve_version("5", meta) == "5.10.1"
    assert fetcher.resolve_version("5.x", meta) == "5.10.1"
    assert fetcher.resolve_version("5.9", meta) == "5.9.9"
    assert fetcher.resolve_version("5.2.0", meta) == "5.2.0"
    assert fetcher.resolve_version("latest", meta) == "6.1.0"
    with pytest.raises(fetcher.FetchError):
        fetcher.resolve_version("7", meta)
    with pytest.raises(fetcher.FetchError):
        fetcher.resolve_version("5.3.0", meta)


def _fake_registry(tmp_path: Path, *, corrupt: bool = False) -> str:
    """A file:// npm registry holding one package, ``fakereq@1.2.3`` (only require.js)."""
    reg = tmp_path / "registry"
    reg.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in {
            "package/package.json": b'{"name": "fakereq", "version": "1.2.3"}',
            "package/require.js": b"var requirejs = 1;",
            "package/require.js.map": b"{}",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    tgz = buf.getvalue()
    (reg / "fakereq-1.2.3.tgz").write_bytes(tgz)
    shasum = hashlib.sha1(b"other" if corrupt else tgz).hexdigest()
    packument = {
        "name": "fakereq",
        "dist-tags": {"latest": "1.2.3"},
        "versions": {
            "1.2.3": {"dist": {"tarball": (reg / "fakereq-1.2.3.tgz").as_uri(), "shasum": shasum}}
        },
    }
    (reg / "fakereq").write_text(json.dumps(packument))
    return reg.as_uri() + "/"


def test_fetch_unpacks_verifies_and_is_idempotent(fetcher, tmp_path, monkeypatch, capsys):
    pkg = fetcher.Package("fakereq", "1.2.3", {"require.js", "require.min.js"}, {"test"})
    monkeypatch.setattr(fetcher, "discover", lambda **kw: ([pkg], []))
    dest = tmp_path / "cdn"
    registry = _fake_registry(tmp_path)

    assert fetcher.main(["--dest", str(dest), "--check"]) == 1
    assert fetcher.main(["--dest", str(dest), "--registry", registry, "--npm", "never"]) == 0
    pkg_dir = dest / "fakereq@1.2.3"
    assert (pkg_dir / "require.js").read_bytes() == b"var requirejs = 1;"
    # jsDelivr minifies on the fly; the fetcher provides the .min.js name Solara asks for
    assert (pkg_dir / "require.min.js").read_bytes() == b"var requirejs = 1;"
    assert not (pkg_dir / "require.js.map").exists()
    marker = json.loads((pkg_dir / fetcher.MARKER).read_text())
    assert marker["version"] == "1.2.3"

    # second run: nothing to do, so an unreachable registry does not matter
    bad = (tmp_path / "nowhere").as_uri() + "/"
    assert fetcher.main(["--dest", str(dest), "--registry", bad, "--npm", "never"]) == 0
    assert fetcher.main(["--dest", str(dest), "--check"]) == 0
    assert "already present" in capsys.readouterr().out


def test_fetch_rejects_corrupt_download(fetcher, tmp_path, monkeypatch, capsys):
    pkg = fetcher.Package("fakereq", "1.2.3", {"require.js"}, {"test"})
    monkeypatch.setattr(fetcher, "discover", lambda **kw: ([pkg], []))
    dest = tmp_path / "cdn"
    registry = _fake_registry(tmp_path, corrupt=True)
    assert fetcher.main(["--dest", str(dest), "--registry", registry, "--npm", "never"]) == 1
    err = capsys.readouterr().err
    assert "checksum mismatch" in err
    assert "Fix:" in err
    assert not (dest / "fakereq@1.2.3").exists()


def test_fetch_reports_missing_file(fetcher, tmp_path, monkeypatch, capsys):
    pkg = fetcher.Package("fakereq", "1.2.3", {"dist/bundle.js"}, {"solara.html.j2"})
    monkeypatch.setattr(fetcher, "discover", lambda **kw: ([pkg], []))
    registry = _fake_registry(tmp_path)
    dest = tmp_path / "cdn"
    assert fetcher.main(["--dest", str(dest), "--registry", registry, "--npm", "never"]) == 1
    assert "lacks dist/bundle.js" in capsys.readouterr().err


def test_discovery_reads_solaras_own_references(fetcher):
    pytest.importorskip("solara")
    packages, _warnings = fetcher.discover()
    keys = {p.key for p in packages}
    assert "requirejs@2.3.6" in keys or any(k.startswith("requirejs@") for k in keys)
    assert any(k.startswith("@widgetti/solara-vuetify") for k in keys)
    assert any(k.startswith("@widgetti/vue-grid-layout@") for k in keys)
    assert any(k.startswith("font-awesome@") for k in keys)
    app = next(p for p in packages if p.name.startswith("@widgetti/solara-vuetify"))
    assert any(f.endswith(".min.js") for f in app.files)
    assert all("{{" not in f and "${" not in f for p in packages for f in p.files)


def test_offline_env_points_at_the_cache(fetcher, tmp_path):
    env = fetcher.offline_env(tmp_path / "share" / "solara" / "cdn")
    assert env["SOLARA_ASSETS_PROXY"] == "False"
    assert env["SOLARA_ASSETS_CDN"] == "/static/assets/cdn"
    assert env["SOLARA_ASSETS_EXTRA_LOCATIONS"] == str(tmp_path / "share" / "solara")
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_installed_solara_assets_are_complete():
    """The dashboard needs the offline assets; `bash setup.sh test` fetches them first."""
    pytest.importorskip("solara")
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fetch_solara_assets.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr


def test_kernel_warm_up_command_prints_no_runtime_warning():
    """setup.sh compiles the kernels with a command whose stderr has no RuntimeWarning."""
    import re

    text = SETUP.read_text()
    m = re.search(r'"\$VENV/bin/python" (-m [\w.]+)', text[text.index("compile_kernels()"):])
    assert m is not None and "kernels" not in m.group(1).split(".")[-1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="default")
    proc = subprocess.run([sys.executable, *m.group(1).split()], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and "kernels ready" in proc.stdout
