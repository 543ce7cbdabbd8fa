"""Where the built-in files are: scenarios, experiments, map data, dashboard assets.

This module is the one place that knows. Two layouts are supported:

* **installed wheel** (``pip install terrinum-*.whl``): the build copies the repository's
  top-level ``scenarios/`` and ``experiments/`` folders and Solara's front-end assets into the
  package, under ``simulation/_builtin/`` (see ``setup.py``); they are found with
  :mod:`importlib.resources`;
* **source checkout or editable install** (``bash setup.sh``): ``simulation/_builtin/`` does not
  exist; the folders are the checkout's own ``scenarios/`` and ``experiments/`` (beside the
  ``simulation`` package, next to ``pyproject.toml``), and the dashboard assets are Solara's
  proxy cache, filled by ``scripts/fetch_solara_assets.py``.

The map data (``simulation/data/``) is package data in both layouts.

Every function returns a :class:`pathlib.Path` (the package is never imported from a zip file:
wheels install unpacked), which may not exist when the files are missing; callers say so.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

BUILTIN_PACKAGE_DIR = "_builtin"
"""Folder of ``simulation`` that holds the files the wheel build copies in."""

SOLARA_ASSETS_SUBDIR = "solara"
"""Folder of :data:`BUILTIN_PACKAGE_DIR` holding the dashboard assets (``cdn/`` and
``build.json``, what they were built for)."""


def package_dir() -> Path:
    """Folder of the installed ``simulation`` package."""
    return Path(str(importlib.resources.files("simulation")))


def builtin_dir() -> Path | None:
    """``simulation/_builtin`` when the package was installed from a wheel, else None."""
    p = package_dir() / BUILTIN_PACKAGE_DIR
    return p if p.is_dir() else None


def checkout_root() -> Path | None:
    """Root of the source checkout the package is imported from, else None.

    A checkout is recognised by ``pyproject.toml`` beside the ``simulation`` package.
    """
    root = package_dir().parent
    return root if (root / "pyproject.toml").is_file() and (root / "simulation").is_dir() else None


def is_wheel_install() -> bool:
    """True when the built-in files come from an installed wheel (not a checkout)."""
    return builtin_dir() is not None


def _builtin_folder(name: str) -> Path:
    packaged = builtin_dir()
    if packaged is not None and (packaged / name).is_dir():
        return packaged / name
    root = checkout_root()
    if root is not None:
        return root / name
    return package_dir() / BUILTIN_PACKAGE_DIR / name  # missing: callers report no files


def builtin_scenarios_dir() -> Path:
    """Folder of the built-in scenario files (``*.toml``)."""
    return _builtin_folder("scenarios")


def builtin_experiments_dir() -> Path:
    """Folder of the built-in experiment files (``*.toml``)."""
    return _builtin_folder("experiments")


def data_dir() -> Path:
    """Folder of the map data (CSV, GeoJSON and their ``SOURCES.md``)."""
    return package_dir() / "data"


def packaged_assets_dir() -> Path | None:
    """The dashboard assets a wheel carries (``_builtin/solara/cdn`` in the package), else None."""
    packaged = builtin_dir()
    if packaged is None:
        return None
    p = packaged / SOLARA_ASSETS_SUBDIR / "cdn"
    return p if p.is_dir() else None


def assets_build_info() -> dict[str, str]:
    """What the packaged dashboard assets were built for (e.g. ``{"solara": "1.64.1"}``).

    Empty outside a wheel install or when the wheel recorded nothing.
    """
    packaged = builtin_dir()
    if packaged is None:
        return {}
    info = packaged / SOLARA_ASSETS_SUBDIR / "build.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def dashboard_assets_dir() -> Path:
    """Folder of Solara's front-end assets that the dashboard serves (its "CDN" folder).

    The wheel's packaged copy when there is one; otherwise Solara's proxy cache of the
    environment (``<venv>/share/solara/cdn``), which ``scripts/fetch_solara_assets.py`` fills.
    Needs Solara installed in the second case.
    """
    packaged = packaged_assets_dir()
    if packaged is not None:
        return packaged
    import solara.server.settings as server_settings

    return Path(server_settings.assets.proxy_cache_dir)


def fetch_script() -> Path | None:
    """The script that lists, checks and fetches the dashboard assets, else None.

    ``scripts/fetch_solara_assets.py`` in a checkout; the wheel carries a copy in
    ``simulation/_builtin/`` so that the dashboard can check its assets the same way.
    """
    root = checkout_root()
    if root is not None and (root / "scripts" / "fetch_solara_assets.py").is_file():
        return root / "scripts" / "fetch_solara_assets.py"
    packaged = builtin_dir()
    if packaged is not None and (packaged / "fetch_solara_assets.py").is_file():
        return packaged / "fetch_solara_assets.py"
    return None


__all__ = ["builtin_scenarios_dir", "builtin_experiments_dir", "data_dir",
           "dashboard_assets_dir", "packaged_assets_dir", "assets_build_info", "fetch_script",
           "checkout_root", "builtin_dir", "is_wheel_install", "package_dir"]
