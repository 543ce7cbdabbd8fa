"""The room's questions, predictions and votes (simulation.dashboard.room), without a server.

The HTTP side (50 phones, the facilitator's key, the phone page in Chromium) is in
test_room_server.py.
"""

from __future__ import annotations

import json

import pytest

from simulation.dashboard import debrief as db
from simulation.dashboard import room as rm
from simulation.dashboard import state as st
from simulation.dashboard import workshop as ws
from simulation.errors import InputError
from simulation.world.maps import KINDS

CLOSE = {"type": "public_counters", "change": -1.0, "which": ["tax"],
         "territories": {"kinds": ["rural"]}}
OPTIONS = [("fermer les guichets ruraux", CLOSE),
           ("ouvrir des France services", {"type": "france_services", "per_territory": 2.0,
                                           "territories": {"kinds": ["rural"]}}),
           ("ne rien faire", None)]


@pytest.fixture
def room() -> rm.Room:
    r = rm.Room()
    s = st.Session("baseline", households=4_000)
    s.step(2)
    r.attach(s)
    return r


def test_a_question_needs_a_linked_workshop():
    with pytest.raises(rm.RoomError, match="No workshop is linked"):
        rm.Room().ask("Q ?", OPTIONS)


@pytest.mark.parametrize(("text", "options", "measure", "match"), [
    ("", OPTIONS, None, "question: write a text"),
    ("x" * 141, OPTIONS, None, "at most 140"),
    ("Q ?", OPTIONS[:1], None, "1 given, 2 to 4 allowed"),
    ("Q ?", OPTIONS * 2, None, "6 given, 2 to 4 allowed"),
    ("Q ?", [("a", None), ("a", None)], None, "same text"),
    ("Q ?", [("a", None), ("  ", None)], None, "option 2: write a text"),
    ("Q ?", OPTIONS, "gdp", "not a territory measure"),
])
def test_bad_questions_are_refused_with_what_is_allowed(room, text, options, measure, match):
    with pytest.raises(InputError, match=match):
        room.ask(text, options, measure)
    assert room.question is None


def test_one_phone_one_vote_and_counts(room):
    q = room.ask("Que faire des guichets ?", OPTIONS)
    assert q.phase == "vote" and q.month == 2
    for k in range(7):
        room.vote(f"phone{k}", q.id, k % 3)  # 3, 2, 2
    with pytest.raises(rm.RoomError, match="already voted"):
        room.vote("phone0", q.id, 1)
    assert q.counts() == [3, 2, 2]
    assert room.close() == 0
    with pytest.raises(rm.RoomError, match="Voting is not open"):
        room.vote("late", q.id, 1)
    assert q.counts() == [3, 2, 2]


@pytest.mark.parametrize("option", [3, -1, "0", 1.0, True, None])
def test_a_phone_cannot_vote_outside_the_options(room, option):
    q = room.ask("Q ?", OPTIONS)
    with pytest.raises(rm.RoomError, match="Unknown choice") as err:
        room.vote("p", q.id, option)
    assert err.value.status == 400
    assert q.counts() == [0, 0, 0]


def test_a_vote_for_an_old_question_or_without_a_phone_is_refused(room):
    q = room.ask("Q ?", OPTIONS)
    with pytest.raises(rm.RoomError, match="question is over"):
        room.vote("p", q.id + 1, 0)
    with pytest.raises(rm.RoomError, match="Open the voting page first"):
        room.vote("", q.id, 0)
    with pytest.raises(rm.RoomError, match="already open"):
        room.ask("Another ?", OPTIONS)


def test_predictions_come_before_the_vote(room):
    q = room.ask("Q ?", OPTIONS, "service_access")
    assert q.phase == "predict"
    with pytest.raises(rm.RoomError, match="Voting is not open"):
        room.vote("p1", q.id, 0)
    room.predict("p1", q.id, "down")
    room.predict("p2", q.id, "none")
    with pytest.raises(rm.RoomError, match="already made its prediction"):
        room.predict("p1", q.id, "up")
    with pytest.raises(rm.RoomError, match="Unknown choice"):
        room.predict("p3", q.id, "sideways")
    room.open_vote()
    with pytest.raises(rm.RoomError, match="Predictions are closed"):
        room.predict("p3", q.id, "up")
    room.vote("p1", q.id, 0)
    assert q.prediction_counts() == {"down": 1, "none": 1, "up": 0}


def test_a_tie_leaves_the_choice_to_the_facilitator(room):
    q = room.ask("Q ?", OPTIONS)
    room.vote("a", q.id, 0)
    room.vote("b", q.id, 2)
    assert room.close() is None
    with pytest.raises(rm.RoomError, match="Tie: the facilitator picks among fermer les "
                                           "guichets ruraux, ne rien faire"):
        room.apply()
    assert room.apply(2) is None  # "ne rien faire": no decision
    assert q.applied == "decision" and q.applied_option == 2
    assert not room.session.live.choices


def test_the_winner_applied_as_a_decision_changes_the_run_and_its_result_is_shown():
    # the dashboard's default households on départements, as the presentation tests: enough
    # agents per rural département for the verdict, and 14 months of reference noise
    room = rm.Room()
    s = st.Session("baseline")
    s.step(14)
    room.attach(s)
    q = room.ask("Q ?", OPTIONS, "service_access")
    for k in range(5):
        room.predict(f"p{k}", q.id, "down" if k < 4 else "up")
    room.open_vote()
    for k in range(5):
        room.vote(f"p{k}", q.id, 0 if k < 3 else 1)
    assert room.close() == 0
    choice = room.apply()
    assert choice is not None and choice.policy["type"] == "public_counters"
    assert s.live.choices[-1] is choice and choice.step == 14
    s.step(8)
    res = room.show_result("fr")
    # closing the rural tax counters lowers the access to counters there: beyond the noise
    assert res["outcome"] == "down" and res["verdict"] == "effect" and res["diff"] < 0
    rural = int((s.tmap.kind == KINDS.index("rural")).sum())
    assert res["territories"] <= rural and res["months"] == 8
    assert res["text"].startswith("accès aux guichets") or "guichets" in res["text"]
    phone = room.question_state("p0", "fr")
    assert phone["phase"] == "result" and phone["result"]["outcome_words"] == "baisse nette"
    assert phone["predictions"] == {"down": 4, "none": 0, "up": 1}
    assert phone["my_vote"] == 0 and phone["counts"] == [3, 2, 0]


def test_applied_as_a_branch_keeps_the_run_without_the_decision(room):
    s = room.session
    q = room.ask("Q ?", OPTIONS)
    room.vote("p", q.id, 0)
    room.close()
    room.apply(as_branch=True)
    assert q.applied == "branch"
    (br,) = s.branches
    assert br.name == "sans fermer les guichets ruraux"[:st.MAX_BRANCH_NAME]
    assert not [c for c in br.run.choices if not c.is_start_param]
    assert s.live.choices[-1].policy["type"] == "public_counters"


def test_a_refused_lever_leaves_no_branch_behind(room):
    s = room.session
    bad = [("taxe", {"type": "platform_tax", "rate": 7.0, "territories": "all"}),
           ("rien", None)]
    q = room.ask("Q ?", bad)
    room.vote("p", q.id, 0)
    room.close()
    with pytest.raises(Exception):  # noqa: B017  (pydantic's validation error)
        room.apply(as_branch=True)
    assert s.branches == [] and q.phase == "closed"


def test_votes_are_logged_saved_with_the_workshop_and_printed_by_the_debrief(room, tmp_path):
    s = room.session
    q = room.ask("Que faire des guichets ?", OPTIONS, "service_access")
    room.predict("a", q.id, "down")
    room.open_vote()
    for k, o in enumerate([0, 0, 1]):
        room.vote(f"p{k}", q.id, o)
    room.close()
    room.apply()
    room.end()
    (rec,) = s.votes
    assert rec["question"] == "Que faire des guichets ?" and rec["month"] == 2
    assert rec["counts"] == {"fermer les guichets ruraux": 2, "ouvrir des France services": 1,
                             "ne rien faire": 0}
    assert rec["predictions"] == {"down": 1, "none": 0, "up": 0}
    assert rec["winner"] == "fermer les guichets ruraux"
    assert rec["applied"] == {"as": "decision", "option": "fermer les guichets ruraux",
                              "month": 2}
    path = tmp_path / "atelier.json"
    path.write_text(ws.workshop_json(s, "fr"), encoding="utf-8")
    assert json.loads(path.read_text())["votes"][0]["counts"] == rec["counts"]
    again, _ = ws.load_workshop_text(path.read_text(), str(path))
    assert again.votes == s.votes
    (vote,) = db.read_votes(again.votes, str(path))
    assert vote.total == 3 and vote.counts["fermer les guichets ruraux"] == 2


def test_the_next_question_is_a_new_entry_of_the_log(room):
    for text in ("Q1 ?", "Q2 ?"):
        q = room.ask(text, OPTIONS)
        room.vote("p", q.id, 1)
        room.close()
        room.end()
    assert [v["question"] for v in room.session.votes] == ["Q1 ?", "Q2 ?"]
    assert room.question is None


def test_ready_questions_fit_the_map_and_are_valid_policies():
    s = st.Session("baseline", households=2_000)
    keys = rm.templates(s)
    assert "counters" in keys
    from simulation.engine.policies import make_policy

    for key in keys:
        for lang in ("fr", "en"):
            q, opts, m = rm.template(key, lang)
            assert q and 2 <= len(opts) <= 4 and m
            for _, p in opts:
                if p is not None:
                    assert len(make_policy({**p, "start": 0.0}).indices(s.live.model)) > 0


def test_the_qr_code_is_an_svg_of_the_address():
    svg = rm.qr_svg("http://192.168.1.20:8765/v")
    assert svg.startswith("<svg") and "path" in svg


def test_projected_screen_keeps_the_predicted_measure_chart_while_a_question_is_open():
    from simulation.dashboard import app
    from simulation.dashboard import room as rm

    charts = [("population", "<svg a>"), ("service_access", "<svg b>"), ("jobs", "<svg c>")]
    assert app._present_charts(charts, None) == charts
    q = rm.Question(id=1, text="?", options=[], month=0, measure="service_access")
    assert app._present_charts(charts, q) == [("service_access", "<svg b>")]
    q.measure = None
    assert app._present_charts(charts, q) == [("population", "<svg a>")]
