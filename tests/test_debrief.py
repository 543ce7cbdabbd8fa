"""The printable debrief of a saved workshop (``terrinum debrief``): content, errors, one A4 page.

The workshop is built with the dashboard's own session and saved with workshop.py's save: the
teaching region (1,500 households, 24 months) where the room closes every tax and social
counter of towns and rural areas at month 2, a known strong effect on access to counters.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest

from simulation.cli.main import main
from simulation.dashboard import debrief as db
from simulation.dashboard import state as st
from simulation.dashboard import workshop as ws
from simulation.reports import style
from simulation.scenarios.files import load_scenario

QUESTION = ("service_access", "non_take_up", "non_take_up_low_literacy")
CLOSE = {"type": "public_counters", "change": -1.0, "which": ["tax", "social"],
         "territories": {"kinds": ["town", "rural"]}}
VOTE = {"question": "Que faire des guichets ?", "month": 2,
        "options": ["fermer les guichets ruraux", "ouvrir des France services", "ne rien faire"],
        "counts": {"fermer les guichets ruraux": 9, "ouvrir des France services": 5,
                   "ne rien faire": 1}}


@pytest.fixture(scope="module")
def workshop_file(tmp_path_factory) -> Path:
    sc = dataclasses.replace(load_scenario("teaching_baseline"), question_measures=QUESTION)
    s = st.Session(sc, households=1_500)
    s.step(2)
    s.pull(CLOSE)
    s.step(22)
    s.votes = [VOTE]
    return ws.save_workshop(s, tmp_path_factory.mktemp("ws") / "atelier.json")


@pytest.fixture(scope="module")
def made(workshop_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("debrief")
    return db.make_debrief(workshop_file, out, reps=5, workers=2), out


def test_month_year_counts_from_january_of_the_start_year():
    assert db.month_year(0, 2023, "fr") == "janvier 2023"
    assert db.month_year(31, 2023, "fr") == "août 2025"
    assert db.month_text(2, 2023, "fr") == "mois 2 (mars 2023)"
    assert db.month_year(11, 2023, "en") == "December 2023"


def test_the_debrief_lists_decisions_votes_and_the_question_rows(made):
    d, out = made
    assert d.months == 24 and d.reps == 5
    assert [(m, counted) for m, _, counted in d.decisions] == [(2, True)]
    assert "−100" in d.decisions[0][1] or "-100" in d.decisions[0][1]
    assert [r["measure"] for r in d.table] == list(QUESTION)
    assert d.votes[0].counts["ouvrir des France services"] == 5 and d.votes[0].total == 15
    page = (out / "debrief.html").read_text(encoding="utf-8")
    assert "mois 2 (mars 2023)" in page and 'lang="fr"' in page
    assert page.count('data-option="') == 3 and 'data-count="9"' in page
    assert sorted(p.name for p in out.iterdir()) == ["debrief.html", "decisions.toml",
                                                     "reference.toml"]


def test_closing_all_counters_is_shown_as_a_distinguishable_fall_of_access(made):
    d, out = made
    row = next(r for r in d.table if r["measure"] == "service_access")
    assert row["value"] < -0.02                      # at least 2 points of access lost
    assert row["distinguishable"] and row["verdict"] == "worse"
    assert row["colour"] == style.WORSE              # orange
    page = (out / "debrief.html").read_text(encoding="utf-8")
    tr = re.search(r'<tr class="worse" data-measure="service_access".*?</tr>', page).group(0)
    assert "distinguable, moins bien" in tr and style.WORSE in tr
    # a row not distinguishable reads "incertain" in grey
    for r in d.table:
        if not r["distinguishable"]:
            assert r["verdict"] == "unclear" and r["colour"] == style.UNCLEAR


def test_the_rerun_commands_are_on_the_page_and_reproduce_the_files(made, workshop_file):
    d, out = made
    page = (out / "debrief.html").read_text(encoding="utf-8")
    assert f"terrinum debrief {workshop_file} --reps 5 --lang fr --out {out}" in page
    assert f"terrinum run {out / 'decisions.toml'}" in page
    dec = load_scenario(out / "decisions.toml")
    ref = load_scenario(out / "reference.toml")
    assert dec.years * 12 == pytest.approx(24) and ref.years * 12 == pytest.approx(24)
    assert len(dec.policies) == len(ref.policies) + 1   # the room's closure, only in one
    assert ref.n_households == dec.n_households == 1_500


def test_no_votes_hides_the_section_and_english_works(workshop_file, tmp_path):
    data = json.loads(workshop_file.read_text(encoding="utf-8"))
    data["votes"] = []
    f = tmp_path / "w.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    d = db.make_debrief(f, tmp_path / "o", reps=2, lang="en", workers=2)
    page = (tmp_path / "o" / "debrief.html").read_text(encoding="utf-8")
    assert d.votes == [] and 'id="votes"' not in page
    assert "month 2 (March 2023)" in page and 'lang="en"' in page


@pytest.mark.parametrize("vote, key", [
    ({"question": "q", "options": ["a"], "counts": {"a": 1}}, "votes[0].options"),
    ({"question": "q", "options": ["a", "b"], "counts": {"c": 1}}, "votes[0].counts.c"),
    ({"question": "q", "options": ["a", "b"], "counts": {"a": -1}}, "votes[0].counts.a"),
    ({"question": "q", "options": ["a", "b"]}, "votes[0].counts"),
    ({"question": "q", "options": ["a", "b"], "ballots": [{"option": "z"}]},
     "votes[0].ballots[0].option"),
])
def test_bad_votes_name_the_key(vote, key):
    with pytest.raises(ws.WorkshopError) as e:
        db.read_votes([vote], "atelier.json")
    assert e.value.key == key and "atelier.json" in str(e.value) and "allowed" in str(e.value)


def test_ballots_are_counted_one_per_phone():
    v = db.read_votes([{"question": "q", "options": ["a", "b"],
                        "ballots": [{"option": "a"}, {"option": "b"}, {"option": "a"}]}], "f")
    assert v[0].counts == {"a": 2, "b": 1}


def test_cli_errors_exit_2_with_file_and_key(tmp_path, capsys, workshop_file):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "terrinum-workshop", "version": 9}', encoding="utf-8")
    assert main(["debrief", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "version" in err and "Traceback" not in err
    assert main(["debrief", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.json" in capsys.readouterr().err
    assert main(["debrief", str(workshop_file), "--reps", "0", "--out", str(tmp_path)]) == 2
    assert "--reps" in capsys.readouterr().err
    assert main(["debrief", str(workshop_file), "--lang", "de", "--out", str(tmp_path)]) == 2
    assert "fr or en" in capsys.readouterr().err
    data = json.loads(workshop_file.read_text(encoding="utf-8"))
    data["votes"] = [{"question": "q", "options": ["a", "b"], "counts": {"a": "x"}}]
    f = tmp_path / "v.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    assert main(["debrief", str(f), "--reps", "1", "--out", str(tmp_path / "o2")]) == 2
    assert "votes[0].counts.a" in capsys.readouterr().err


CHROMIUM = os.environ.get("TERRINUM_CHROMIUM", "/usr/bin/chromium")


@pytest.mark.browser
def test_the_debrief_prints_on_one_a4_page(made):
    if not CHROMIUM or not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium binary at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    _, out = made
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = b.new_page()
            urls: list[str] = []
            page.on("request", lambda r: urls.append(r.url))
            page.goto((out / "debrief.html").as_uri())
            pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
            assert pages == 1
            # nothing wider than the A4 printable width (794 px at 96 dpi, less margins)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 794 - 98, "height": 1000})
            over = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > document.body.clientWidth + 1)
                .map(e => e.tagName + '.' + e.className)""")
            assert over == []
            assert all(u.startswith("file:") for u in urls)   # self-contained page
        finally:
            b.close()
