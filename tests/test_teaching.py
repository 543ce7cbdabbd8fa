"""The teaching packs work as written: each assignment's commands give the key's answers.

Every assignment of ``docs/TEACHING.md`` / ``docs/TEACHING.fr.md`` has a student sheet and an
answer key in ``docs/teaching/`` (``NN_name_student.md``, ``NN_name_key.md`` and their ``.fr.md``
versions). The key ends with a table of checked answers between ``<!-- checks:start -->`` and
``<!-- checks:end -->``; the French key carries the same table in French. These tests

* check that the sheets, keys and overviews give the same commands and that the two keys give
  the same answers;
* run each assignment's commands exactly as the sheet gives them (same scenarios, replications,
  households, years, and the scenario file the student sheet asks students to write), in a
  scratch folder, through the ``terrinum`` entry point;
* assert every answer of the key on the ``effects_*.csv`` files the commands write: the sign of
  the effect, its order of magnitude (within a factor of two of the key's figure) and whether
  it is ``distinguishable`` (after the Benjamini-Hochberg control) or not, as the key says.

The wall-clock time of each assignment is printed (``pytest -s``) for the class times the docs
state; it is not asserted (no timed unit tests).
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.cli import main
from simulation.scenarios.files import SCENARIO_DIR, load_scenario

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKS = DOCS / "teaching"
ASSIGNMENTS = ["01_counters_mediators", "02_broadband_telework", "03_platforms_local_value",
               "04_budgets_equalisation"]
FR_WORDS = {"hausse": "higher", "baisse": "lower", "aucune": "none", "oui": "yes",
            "non": "no", "la plupart": "most", "carte": "map", "ciblés": "targeted",
            "ailleurs": "elsewhere", "groupes": "groups", "territoires": "territory"}
FILES = {"map": "effects_map.csv", "groups": "effects_groups.csv",
         "territory": "effects_territory.csv"}
KIND_CODES = {"metropolis": "M", "city": "C", "town": "T", "rural": "R"}


# ============================================================================ reading the packs
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def commands(text: str) -> list[str]:
    """The ``terrinum compare`` commands of a document, in order (indented or fenced)."""
    return [" ".join(m.group(1).split())
            for m in re.finditer(r"^\s*(terrinum compare .+)$", text, flags=re.MULTILINE)]


def checks(text: str) -> list[dict[str, str]]:
    """The rows of the key's table of checked answers (French words mapped to English)."""
    block = text.split("<!-- checks:start -->", 1)[1].split("<!-- checks:end -->", 1)[0]
    rows = [[c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            for line in block.strip().splitlines() if line.strip().startswith("|")]
    cols = ["command", "file", "scenario", "where", "measure", "direction",
            "distinguishable", "about"]
    out = []
    for r in rows[2:]:   # header and separator
        assert len(r) == len(cols), r
        out.append({c: FR_WORDS.get(v, v) for c, v in zip(cols, r, strict=True)})
    return out


def student_toml(text: str) -> str:
    """The TOML block a student sheet asks students to add to their copied file ('' if none)."""
    m = re.search(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    return m.group(1) if m else ""


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_pack_is_complete_and_consistent(name):
    """Sheets and keys exist in both languages, give the same commands and the same answers."""
    files = {f"{part}{lang}": PACKS / f"{name}_{part}{lang}.md"
             for part in ("student", "key") for lang in ("", ".fr")}
    for f in files.values():
        assert f.is_file(), f"missing {f.relative_to(ROOT)}"
    cmds = commands(_text(files["key"]))
    assert cmds, f"{name}: the key gives no command"
    for f in files.values():
        assert commands(_text(f)) == cmds, f"{f.name} gives other commands than the key"
    for overview in (DOCS / "TEACHING.md", DOCS / "TEACHING.fr.md"):
        text = _text(overview)
        assert f"teaching/{name}_student" in text and f"teaching/{name}_key" in text
        for c in cmds:
            assert c in commands(text), f"{overview.name} lacks: {c}"
    en, fr = checks(_text(files["key"])), checks(_text(files["key.fr"]))
    assert en and en == fr, "the French key's checked answers differ from the English key's"
    assert student_toml(_text(files["student"])) == student_toml(_text(files["student.fr"]))
    for c in cmds:
        for ref in shlex.split(c)[2:]:
            if not ref.startswith("-") and not ref.endswith(".toml") and not ref.isdigit() \
                    and "/" not in ref:
                load_scenario(ref)   # every built-in the command names exists


def test_class_times_are_stated():
    """The overviews state a measured time for every assignment."""
    for overview in (DOCS / "TEACHING.md", DOCS / "TEACHING.fr.md"):
        heads = re.findall(r"^## (\d)\. .*$", _text(overview), flags=re.MULTILINE)
        assert heads[:4] == ["1", "2", "3", "4"]
        secs = [sec for sec in re.split(r"^## ", _text(overview), flags=re.MULTILINE)
                if re.match(r"\d\. ", sec)]
        for sec in secs[:4]:
            assert re.search(r"\d+ (min|s)\b", sec.splitlines()[0]), sec.splitlines()[0]


def test_the_student_file_is_the_shipped_solution(tmp_path, monkeypatch):
    """Assignment 1: a copy of teaching_counters.toml plus the sheet's block is
    teaching_mediators.toml, and runs under its own name."""
    monkeypatch.chdir(tmp_path)
    mine = _student_file(_text(PACKS / "01_counters_mediators_student.md"))
    s, ref = load_scenario(mine), load_scenario("teaching_mediators")
    assert s.name == "my_counters" and "teaching_counters" in s.name_note
    assert s.policy_dicts() == ref.policy_dicts()
    assert (s.map, s.years, s.n_households, s.params) == (ref.map, ref.years,
                                                          ref.n_households, ref.params)


def _student_file(sheet: str) -> Path:
    """Do what the sheet says: copy teaching_counters.toml, add the sheet's policy block."""
    block = student_toml(sheet)
    assert block, "the student sheet gives no TOML block"
    mine = Path("my_counters.toml")
    shutil.copyfile(SCENARIO_DIR / "teaching_counters.toml", mine)
    with mine.open("a", encoding="utf-8") as f:
        f.write("\n" + block)
    return mine


# ============================================================================ running them
def _value(tables: dict[str, pd.DataFrame], row: dict[str, str]) -> tuple[list[float], list[bool]]:
    df = tables[row["file"]]
    df = df[(df["scenario"] == row["scenario"]) & (df["measure"] == row["measure"])]
    where = row["where"]
    if row["file"] == "groups":
        df = df[df["group"] == where]
    elif row["file"] == "territory":
        code = KIND_CODES.get(where)
        df = df[df["territory"].str.startswith(code)] if code else df[df["territory"] == where]
    assert len(df), f"no row for {row}"
    return df["diff"].astype(float).tolist(), df["distinguishable"].astype(bool).tolist()


def _check(tables: dict[str, pd.DataFrame], row: dict[str, str]) -> list[str]:
    """What the model shows that differs from the key's row ([] when it agrees)."""
    diffs, dist = _value(tables, row)
    mean = sum(diffs) / len(diffs)
    bad = []
    want = row["distinguishable"]
    n_dist = sum(dist)
    if (want == "yes" and n_dist < len(dist)) or (want == "no" and n_dist > 0) or (
            want == "most" and not n_dist > len(dist) / 2):
        bad.append(f"distinguishable in {n_dist} of {len(dist)} row(s), key says {want}")
    if row["direction"] in ("higher", "lower"):
        sign = 1.0 if row["direction"] == "higher" else -1.0
        if any(sign * d <= 0 for d in diffs):
            bad.append(f"direction: diff(s) {diffs}, key says {row['direction']}")
        about = float(row["about"])
        if not (0.5 * abs(about) <= abs(mean) <= 2.0 * abs(about)):
            bad.append(f"magnitude: mean diff {mean:.4g}, key says about {about:g}")
    return bad


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_assignment_gives_the_keys_answers(name, tmp_path, monkeypatch, capsys):
    """Run the assignment as the sheet says; every checked answer of the key holds."""
    monkeypatch.chdir(tmp_path)
    key = _text(PACKS / f"{name}_key.md")
    sheet = _text(PACKS / f"{name}_student.md")
    if student_toml(sheet):
        _student_file(sheet)
    rows = checks(key)
    timings = []
    for k, cmd in enumerate(commands(key), start=1):
        argv = shlex.split(cmd)[1:]
        out = Path(argv[argv.index("--out") + 1])
        t0 = time.perf_counter()
        assert main(argv) == 0, cmd
        timings.append(time.perf_counter() - t0)
        tables = {f: pd.read_csv(out / csv) for f, csv in FILES.items()
                  if (out / csv).is_file()}
        problems = [f"{r['scenario']} {r['where']} {r['measure']}: {p}"
                    for r in rows if r["command"] == str(k) for p in _check(tables, r)]
        assert not problems, f"{name}, command {k} ({cmd}):\n" + "\n".join(problems)
    with capsys.disabled():
        print(f"\n[teaching] {name}: " + ", ".join(
            f"command {k}: {t:.0f} s" for k, t in enumerate(timings, start=1))
            + f"; total {sum(timings):.0f} s")
