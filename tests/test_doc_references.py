"""The README and the docs name only code that exists: file paths and dotted module names.

A restructure that moves a module must also move every mention of it, or a newcomer following the
docs looks for ``simulation/territory.py`` and finds nothing. This test reads the README, every
``docs/**/*.md`` (the teaching packs included) and the data's ``SOURCES.md`` and checks each
``simulation/...`` or ``benchmarks/...`` path and each ``simulation.x.y`` / ``python -m x.y`` name.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
        ROOT / "simulation" / "data" / "SOURCES.md"]

PATH = re.compile(r"(?<![\w./-])((?:simulation|benchmarks|scripts|tests)/[\w./*-]*[\w*])")
DOTTED = re.compile(r"(?<![\w./-])((?:simulation|benchmarks)(?:\.[A-Za-z_]\w*)+)")


def _path_exists(ref: str) -> bool:
    if "*" in ref:
        return any(ROOT.glob(ref))
    return (ROOT / ref).exists()


def _dotted_exists(ref: str) -> bool:
    """True when ``ref`` is a module, or a module followed by attributes that exist."""
    parts = ref.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def _references(pattern: re.Pattern) -> list[tuple[str, int, str]]:
    out = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            out += [(doc.relative_to(ROOT).as_posix(), n, m.group(1).rstrip("."))
                    for m in pattern.finditer(line)]
    return out


def test_the_checks_catch_a_moved_module():
    assert _path_exists("simulation/engine/model.py")
    assert not _path_exists("simulation/territory.py")
    assert _dotted_exists("simulation.engine.kernels")
    assert _dotted_exists("simulation.world.maps.load_map")
    assert not _dotted_exists("simulation.territory")
    assert not _dotted_exists("simulation.world.maps.no_such_function")


@pytest.mark.parametrize("kind", ["paths", "modules"])
def test_docs_name_only_existing_code(kind):
    if kind == "paths":
        missing = [r for r in _references(PATH) if not _path_exists(r[2])]
    else:
        missing = [r for r in _references(DOTTED) if not _dotted_exists(r[2])]
    assert not missing, "docs name code that does not exist:\n" + "\n".join(
        f"{doc}:{n}: {ref}" for doc, n, ref in missing)
