"""The repository is self-contained: no text file points to a path outside it.

Relative paths with parent-directory steps that climb out of the repository or name nothing in
it and absolute paths of a developer's machine (the folders work, root, home and
Users at the root of the file system) are refused. Figures and sources belong in ``docs/DATA.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TEXT_SUFFIXES = {".py", ".md", ".toml", ".cff", ".txt", ".cfg", ".ini", ".sh", ".yml", ".yaml",
                 ".csv", ".html", ".rst", ".json", ".geojson"}
TEXT_NAMES = {".gitignore", "run"}
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "build", "dist", "out", "results",
             "test-artifacts", "node_modules", ".pytest_cache", ".ruff_cache"}
UP = ".." + "/"  # written in two parts so that this file does not match itself
PARENT = re.compile(r"(?:" + re.escape(UP) + r")+[\w.\-/]*")
ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:" + "|".join(("wo" + "rk", "ro" + "ot", "ho" + "me",
                                                          "Us" + "ers")) + r")(?=/|\b)")


def _text_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1]):
            continue
        if not path.is_file() or (path.suffix not in TEXT_SUFFIXES
                                  and path.name not in TEXT_NAMES):
            continue
        out.append(path)
    return out


def _outside(path: Path, ref: str, root: Path) -> bool:
    """True when the relative path ``ref``, read from ``path``'s folder, leaves the repository
    or names nothing in it (a file that was outside, such as a facts page one level up)."""
    target = (path.parent / ref.rstrip(".")).resolve()
    return not target.is_relative_to(root) or not target.exists()


def find_outside_paths(files: list[Path], root: Path = ROOT) -> list[str]:
    """``file:line: text`` of every path outside the repository ``root`` in ``files``."""
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            hits = [m.group(0) for m in PARENT.finditer(line) if _outside(path, m.group(0), root)]
            hits += [m.group(0) for m in ABSOLUTE.finditer(line)]
            found += [f"{path.relative_to(root)}:{n}: {h}" for h in hits]
    return found


def test_scan_finds_paths_outside(tmp_path):
    # the scanner itself, on a small repository: a file in a sub-folder with one path of each kind
    root = tmp_path / "repo"
    (root / "maps").mkdir(parents=True)
    (root / "maps" / "valley_nodes.csv").write_text("code\n", encoding="utf-8")
    (root / "sub").mkdir()
    probe = root / "sub" / "probe.md"
    probe.write_text(f"see {UP}{UP}{UP}FACTS.md and /{'wo'}rk/shared/x.md, /{'ro'}ot/a\n"
                     f"inside: {UP}maps/valley_nodes.csv, https://example.org/{'wo'}rk/x\n"
                     f"inside but missing: `{UP}FACTS.md`.\n", encoding="utf-8")
    hits = find_outside_paths([probe], root.resolve())
    assert [h.split(": ", 1)[1] for h in hits] == [
        f"{UP}{UP}{UP}FACTS.md", f"/{'wo'}rk", f"/{'ro'}ot", f"{UP}FACTS.md"], hits


def test_no_path_outside_the_repository():
    files = _text_files()
    assert len(files) > 50 and any(f.name == "DATA.md" for f in files)
    found = find_outside_paths(files)
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_docs_cite_data_md():
    for rel in ("docs/ODD.md", "docs/MAPS.md", "simulation/data/SOURCES.md"):
        assert "DATA.md" in (ROOT / rel).read_text(encoding="utf-8"), rel
    data = (ROOT / "docs" / "DATA.md").read_text(encoding="utf-8")
    # the figures the maps are built from are on the page, with their sources
    for figure in ("66,165,815", "2.16", "3,600", "6,985", "3,500", "2,865", "21,650",
                   "insee.fr/fr/statistiques/8680726", "gregoiredavid/france-geojson"):
        assert figure in data, figure


def test_data_md_lists_every_sourced_parameter():
    from simulation.engine.params import PARAMS

    data = (ROOT / "docs" / "DATA.md").read_text(encoding="utf-8")
    own = ("assumption", "choice", "model design", "scenario lever")
    sourced = [p.name for p in PARAMS.values()
               if not p.source.lower().startswith(own) or "calibrated" in p.source.lower()]
    assert len(sourced) > 20
    missing = [n for n in sourced if f"| `{n}` |" not in data]
    assert not missing, f"parameters with a published source not in docs/DATA.md F: {missing}"



def test_citation_metadata_and_report_line() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[1]
    cff = (root / "CITATION.cff").read_text(encoding="utf-8")
    fields = dict(line.split(": ", 1) for line in cff.splitlines()
                  if ": " in line and not line.startswith((" ", "-")))
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    assert fields["cff-version"] == "1.2.0"
    assert fields["version"].strip('"') == version
    assert "Terrinum" in fields["title"]
    assert "## How to cite" in (root / "README.md").read_text(encoding="utf-8")
    from simulation.reports.cite import cite_html, how_to_cite

    assert "CITATION.cff" in how_to_cite("en") and "Pour citer" in how_to_cite("fr")
    assert "How to cite" in cite_html()
    # both HTML report writers end with it (the comparison report, one language per file,
    # with the sentence in its language)
    assert "how_to_cite(lang)" in (root / "simulation" / "scenarios" / "report.py"
                                   ).read_text(encoding="utf-8")
    assert "cite_html()" in (root / "simulation" / "experiments" / "analysis.py"
                             ).read_text(encoding="utf-8")
