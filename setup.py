"""Build steps that put the built-in files into the wheel and the sdist.

Everything else about the package is in ``pyproject.toml``. Two setuptools commands are
extended:

* ``build_py`` (wheel, and ``pip install .``) copies into ``simulation/_builtin/`` of the build:
  the top-level ``scenarios/*.toml`` and ``experiments/*.toml`` (which stay where users look for
  them in the repository: there is no second copy in git), ``scripts/fetch_solara_assets.py``
  and Solara's front-end assets (``solara/cdn/``, with ``solara/build.json`` naming the Solara
  version they are for). An editable install (``pip install -e .``, what ``bash setup.sh``
  does) copies nothing: :mod:`simulation.resources` then finds the checkout's folders and the
  venv's asset cache.
* ``sdist`` adds the assets as ``solara-assets/`` so that a wheel built from the sdist (what
  ``python -m build`` does) needs no network.

The assets are never committed. They come from, in this order: ``solara-assets/`` of an
unpacked sdist; the folder in ``TERRINUM_SOLARA_ASSETS``; or the asset cache of the first Python
that has Solara among ``TERRINUM_BUILD_PYTHON``, the building Python, ``.venv/bin/python`` of
the checkout and ``$VIRTUAL_ENV/bin/python``, filled first with ``scripts/fetch_solara_assets.py``
when something is missing (that needs the npm registry once). ``TERRINUM_BUILD_ASSETS=skip``
builds without them (the dashboard then says how to fetch them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SDIST_ASSETS = "solara-assets"
BUILTIN = ("simulation", "_builtin")
FETCH_SCRIPT = ROOT / "scripts" / "fetch_solara_assets.py"

# Parts of the npm packages that the page never requests: TypeScript types, sources for
# bundlers, tests and docs. Only dropped from the packages named here, whose page files are
# all known (codemirror, for one, is loaded file by file and is kept whole).
_PRUNE_DIRS = {"src", "types", "lib", "extension-src", "test", "tests", "docs"}
_PRUNE_PACKAGES = ("echarts@", "katex@", "vega@", "vega-lite@", "vega-embed@", "mermaid@")
_PRUNE_SUFFIXES = (".map", ".d.ts", ".d.mts", ".d.cts")
# The front-end bundle exists for ipywidgets 7 and 8; the page loads the installed one's.
_VARIANT = re.compile(r"(?:solara-vuetify-app|main)(\d+)\.")


class AssetsError(RuntimeError):
    """The dashboard assets could not be found or fetched for the build."""


def _clean_env() -> dict[str, str]:
    """This environment without what a build front-end sets to isolate the building Python.

    (pip's build isolation puts its own ``PYTHONPATH`` in front, which would hide the other
    interpreter's Solara.)
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONSAFEPATH")}
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    return env


def _probe(python: str) -> dict | None:
    """Solara's version, ipywidgets' major version and the asset cache of ``python``."""
    code = ("import json, solara, ipywidgets, solara.server.settings as s; "
            "print(json.dumps({'solara': solara.__version__, "
            "'ipywidgets': ipywidgets.__version__.split('.')[0], "
            "'cache': str(s.assets.proxy_cache_dir)}))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120,
                             env=_clean_env(), cwd=ROOT.parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _candidate_pythons() -> list[str]:
    cands = [os.environ.get("TERRINUM_BUILD_PYTHON", ""), sys.executable,
             str(ROOT / ".venv" / "bin" / "python")]
    if os.environ.get("VIRTUAL_ENV"):
        cands.append(str(Path(os.environ["VIRTUAL_ENV"]) / "bin" / "python"))
    out = []
    for c in cands:
        if c and Path(c).exists() and c not in out:
            out.append(c)
    return out


def find_assets() -> tuple[Path, dict] | None:
    """The folder of Solara's assets to package and what they were built for, or None (skip).

    Raises:
        AssetsError: no source of assets was found, or fetching them failed.
    """
    if os.environ.get("TERRINUM_BUILD_ASSETS", "").lower() in ("skip", "0", "no", "false"):
        print("terrinum build: TERRINUM_BUILD_ASSETS=skip: the dashboard assets are not packaged")
        return None
    sdist_dir = ROOT / SDIST_ASSETS
    if (sdist_dir / "cdn").is_dir():
        info = json.loads((sdist_dir / "build.json").read_text(encoding="utf-8"))
        return sdist_dir / "cdn", info
    explicit = os.environ.get("TERRINUM_SOLARA_ASSETS")
    if explicit:
        p = Path(explicit)
        if not p.is_dir():
            raise AssetsError(f"TERRINUM_SOLARA_ASSETS={explicit} is not a folder")
        info = {"solara": os.environ.get("TERRINUM_SOLARA_VERSION", "unknown")}
        return p, info
    tried = _candidate_pythons()
    for python in tried:
        probe = _probe(python)
        if probe is None:
            continue
        cache = Path(probe.pop("cache"))
        if FETCH_SCRIPT.is_file():
            rc = subprocess.run([python, str(FETCH_SCRIPT), "--quiet", "--dest", str(cache)],
                                env=_clean_env(), cwd=ROOT.parent).returncode
            if rc != 0:
                raise AssetsError(f"scripts/fetch_solara_assets.py (with {python}) could not "
                                  "fetch the dashboard assets (message above)")
        return cache, probe
    raise AssetsError(
        "the wheel carries the dashboard's front-end assets, but no Python with Solara was "
        f"found to list them (tried: {', '.join(tried) or 'none'}). Fix: run `bash setup.sh "
        "install` first, or set TERRINUM_BUILD_PYTHON=/path/to/python (with solara "
        "installed) or TERRINUM_SOLARA_ASSETS=/folder/of/assets; TERRINUM_BUILD_ASSETS=skip "
        "builds without them")


def _keep(rel: Path, ipywidgets_major: str) -> bool:
    """Whether the asset file ``rel`` (relative to the asset folder) goes into the package."""
    name = rel.name
    if name.endswith(_PRUNE_SUFFIXES):
        return False
    m = _VARIANT.search(name)
    if m and "solara-vuetify-app@" in rel.as_posix() and ipywidgets_major \
            and m.group(1) != ipywidgets_major:
        return False
    parts = rel.parts
    pkg_depth = 2 if parts[0].startswith("@") else 1
    pkg = "/".join(parts[:pkg_depth])
    if pkg.startswith(_PRUNE_PACKAGES) and len(parts) > pkg_depth + 1 \
            and parts[pkg_depth] in _PRUNE_DIRS:
        return False
    return True


def copy_assets(src: Path, info: dict, dest: Path) -> int:
    """Copy the assets in ``src`` to ``dest/cdn`` (pruned) with ``dest/build.json``; bytes."""
    if dest.exists():
        shutil.rmtree(dest)
    total = 0
    major = str(info.get("ipywidgets", ""))
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or rel.parts[0].startswith(".") or not _keep(rel, major):
            continue
        target = dest / "cdn" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        total += path.stat().st_size
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "build.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n",
                                     encoding="utf-8")
    return total


def copy_tomls(src: Path, dest: Path) -> None:
    """Copy the ``*.toml`` files of ``src`` into ``dest`` (replacing it)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for p in sorted(src.glob("*.toml")):
        shutil.copyfile(p, dest / p.name)


def commands() -> dict[str, type]:
    """The extended setuptools commands (setuptools is imported here, only when building)."""
    from setuptools.command.build_py import build_py as _build_py
    from setuptools.command.sdist import sdist as _sdist

    class build_py(_build_py):  # noqa: N801 (setuptools' command name)
        """``build_py`` that also copies the built-in files into ``simulation/_builtin``."""

        def run(self) -> None:
            """Build the package, then add the built-in files (not in editable mode)."""
            super().run()
            if getattr(self, "editable_mode", False):
                return  # an editable install finds the checkout's files (simulation.resources)
            target = Path(self.build_lib).joinpath(*BUILTIN)
            for name in ("scenarios", "experiments"):
                if not (ROOT / name).is_dir():
                    raise AssetsError(f"{ROOT / name} is missing: the built-in {name} go "
                                      "into the package")
                copy_tomls(ROOT / name, target / name)
            if FETCH_SCRIPT.is_file():
                shutil.copyfile(FETCH_SCRIPT, target / FETCH_SCRIPT.name)
            found = find_assets()
            if found is not None:
                size = copy_assets(found[0], found[1], target / "solara")
                print(f"terrinum build: dashboard assets for Solara {found[1].get('solara')} "
                      f"({size / 1e6:.0f} MB) from {found[0]}")

    class sdist(_sdist):  # noqa: N801 (setuptools' command name)
        """``sdist`` that also carries the dashboard assets (``solara-assets/``)."""

        def make_release_tree(self, base_dir: str, files: list[str]) -> None:
            """Lay out the sdist's files, then add the assets."""
            super().make_release_tree(base_dir, files)
            found = find_assets()
            if found is not None:
                copy_assets(found[0], found[1], Path(base_dir) / SDIST_ASSETS)

    return {"build_py": build_py, "sdist": sdist}


if __name__ == "__main__":  # how setuptools runs this file; tests import the helpers only
    from setuptools import setup

    setup(cmdclass=commands())
