"""Small things a new user tries first (issue 9, sections 2 and 4): each one as they type it."""

from __future__ import annotations

from pathlib import Path


def test_readme_command_table_lists_demo_and_lists():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `terrinum")]
    assert any(line.startswith("| `terrinum demo") for line in table)
    assert any("list" in line and "experiments" in line for line in table)
