"""Saved workshops, undo, going back to a decision, named branches and exports (no browser).

Every test compares numbers with a session built another way (a session where a decision was
never taken, a fresh replay, a plain ``terrinum run`` of the exported file): equal to the last
bit, since the model is deterministic for a seed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from simulation.cli.main import main
from simulation.dashboard import state as st
from simulation.dashboard import workshop as ws
from simulation.engine.measures import MAP_MEASURES
from simulation.scenarios.files import load_scenario

HH = 1_500  # household agents: small and fast
TIERS = {"type": "tiers_lieux", "places": 10, "territories": {"codes": ["23"]}}
TAX = {"type": "platform_tax", "rate": 0.05, "territories": "all"}
COUNTERS = {"type": "public_counters", "change": -1.0, "which": ["tax"],
            "territories": {"kinds": ["rural"]}}


def fresh(scenario: str = "baseline", **kw) -> st.Session:
    return st.Session(scenario, households=HH, **kw)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_run(a: st.Run, b: st.Run, where: str) -> None:
    """Same map-level measures every month and the same territory table at the last one."""
    assert a.steps == b.steps, where
    for k, (ha, hb) in enumerate(zip(a.map_history(), b.map_history(), strict=True)):
        bad = {m: (ha[m], hb[m]) for m in MAP_MEASURES if not same(ha[m], hb[m])}
        assert not bad, f"{where}, month {k}: {bad}"
    assert np.array_equal(a.model._history_terr[-1], b.model._history_terr[-1],
                          equal_nan=True), where


def differ(a: st.Run, b: st.Run) -> bool:
    return any(not same(a.model.map_measures[m], b.model.map_measures[m]) for m in MAP_MEASURES)


@pytest.fixture(scope="module")
def workshop_session() -> st.Session:
    """A session with a starting value, two decisions, a named branch and one undo."""
    s = fresh()
    s.set_param("fuel_price", 0.15)
    s.step(1)
    s.pull(TIERS)
    s.step(2)
    s.save_branch("avec tiers-lieux")
    s.pull(TAX)
    s.step(1)
    s.set_param("telework_days", 2.5)
    s.step(1)
    s.undo()  # the telework norm of month 4 is undone
    s.step(1)
    return s


# ------------------------------------------------------------------ undo and go back
def test_undo_gives_the_numbers_of_a_session_without_that_decision():
    s = fresh()
    s.step(1)
    s.pull(TIERS)
    s.step(2)
    s.pull(TAX)
    s.step(3)
    with_tax = s.live.fork()
    assert s.undo().policy["type"] == "platform_tax"
    assert s.steps == 6 and [c.policy["type"] for c in s.decisions()] == ["tiers_lieux"]
    never = fresh()
    never.step(1)
    never.pull(TIERS)
    never.step(5)
    assert_same_run(s.live, never.live, "undo")
    assert differ(with_tax, s.live), "the undone tax had changed the numbers"
    assert s.live.model.platform_tax_terr.max() == 0.0
    rows = st.log_rows(s, "fr")
    assert rows[0]["kind"] == "undo" and rows[0]["text"].startswith("annulation :")
    tax_row = next(r for r in rows if r["kind"] == "policy" and "taxe" in r["text"].lower())
    assert tax_row["status"] == "annulé" and tax_row["back"] is False
    # undoing the last one leaves no decision: the live run is the reference again
    s.undo()
    assert not s.has_choices() and s.baseline is None
    with pytest.raises(st.LeverError, match="no decision to undo"):
        s.undo()


def test_undo_of_a_starting_value_restores_the_scenario_value():
    s = fresh()
    s.set_param("fuel_price", 0.2)
    s.step(2)
    s.undo()
    assert s.start_params == {} and s.live.model.p.fuel_price == \
        load_scenario("baseline").params.get("fuel_price", st.PARAMS["fuel_price"].default)
    never = fresh()
    never.step(2)
    assert_same_run(s.live, never.live, "start value undone")


def test_undo_of_a_second_starting_value_keeps_the_first():
    s = fresh()
    s.set_param("fuel_price", 0.2)
    s.set_param("telework_days", 2.0)
    s.set_param("fuel_price", 0.25)
    assert [r["status"] for r in st.log_rows(s, "en") if r["kind"] == "start_param"] == \
        ["", "", ""], "every starting value is live"
    s.step(2)
    s.undo()  # fuel 0.25 undone: back to 0.2
    assert s.start_params == {"fuel_price": 0.2, "telework_days": 2.0}
    assert s.live.model.p.fuel_price == 0.2 and s.live.model.p.telework_days == 2.0
    ref = fresh()
    ref.set_param("telework_days", 2.0)
    ref.set_param("fuel_price", 0.2)
    ref.step(2)
    assert_same_run(s.live, ref.live, "second starting value undone")


def test_going_back_to_a_decision_replays_to_its_month_with_the_decisions_up_to_it():
    s = fresh()
    s.step(1)
    s.pull(TIERS)
    s.step(2)
    s.pull(TAX)
    s.step(3)
    rows = st.log_rows(s, "en")
    tiers_row = next(r for r in rows if r["kind"] == "policy" and r["step"] == 1)
    assert tiers_row["back"] is True
    s.go_back(tiers_row["index"])
    assert s.steps == 1 and [c.policy["type"] for c in s.decisions()] == ["tiers_lieux"]
    ref = fresh()
    ref.step(1)
    ref.pull(TIERS)
    assert_same_run(s.live, ref.live, "back to month 1")
    s.step(2)
    ref.step(2)
    assert_same_run(s.live, ref.live, "continued after going back")
    rows = st.log_rows(s, "en")
    assert rows[0]["kind"] == "decision_back" and "month 1" in rows[0]["text"]
    tax_row = next(r for r in rows if r["kind"] == "policy" and r["step"] == 3)
    assert tax_row["status"] == "dropped (went back)"
    with pytest.raises(st.LeverError, match="not a decision"):
        s.go_back(0)  # the scenario line
    with pytest.raises(st.LeverError, match="not a decision"):
        s.go_back(tax_row["index"])  # a dropped decision


# ------------------------------------------------------------------ branches
def test_branches_take_names_checked_and_renamed_in_the_log():
    s = fresh("teaching_synthetic")
    assert s.save_branch("  fermer   les guichets ").name == "fermer les guichets"
    assert s.save_branch().name == "A"
    assert s.save_branch("  ").name == "B", "a blank name: the next free letter"
    for bad, words in (("x" * 41, "41 characters"), ("a\tb\x07", "control"),
                       ("A", "already used")):
        with pytest.raises(st.LeverError, match=words):
            s.save_branch(bad)
    with pytest.raises(st.LeverError, match="empty"):
        s.rename_branch(0, " ")
    s.rename_branch(1, "ne rien faire")
    assert [b.name for b in s.branches] == ["fermer les guichets", "ne rien faire", "B"]
    assert [r["text"] for r in st.log_rows(s, "fr") if r["kind"] == "branch_saved"] == [
        "branche B enregistrée", "branche ne rien faire enregistrée",
        "branche fermer les guichets enregistrée"]
    with pytest.raises(st.LeverError, match="already used"):
        s.rename_branch(0, "ne rien faire")


def test_branch_difference_map_is_live_minus_branch():
    s = fresh()
    s.step(1)
    s.save_branch("sans taxe")
    s.pull(TAX)
    s.step(3)
    w = s.window("local_value_captured")  # a flow: the mean of the months so far
    assert w == 4
    live = s.live.territory_values("local_value_captured", 4, window=w)
    branch = s.branches[0].run.territory_values("local_value_captured", 4, window=w)
    diff = s.map_values("local_value_captured", mode="branch")
    assert np.array_equal(diff, live - branch, equal_nan=True)
    assert np.nanmax(np.abs(diff)) > 0, "the tax changed the local value captured"
    from simulation.dashboard import view as vw

    view = vw.build_view(s, vw.ViewOptions(lang="fr", measure="local_value_captured",
                                           mode="branch"))
    assert len(view.maps) == 1 and view.maps[0].key == "branch_diff"
    assert view.maps[0].title == "Séance en cours − branche sans taxe"
    assert "branche comparée" in view.maps[0].legend["title"]


# ------------------------------------------------------------------ workshop files
def test_saved_workshop_reloads_to_identical_numbers(workshop_session, tmp_path):
    s = workshop_session
    path = ws.save_workshop(s, tmp_path / "atelier.json", lang="en")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "terrinum-workshop" and data["version"] == 1
    assert data["votes"] == [] and data["seed"] == s.seed and data["households"] == HH
    assert data["map"] == "france-departements" and data["language"] == "en"
    assert [d["month"] for d in data["decisions"]] == [0, 1, 3]
    assert [b["name"] for b in data["branches"]] == ["avec tiers-lieux"]
    assert not list(tmp_path.glob(".atelier.json.*")), "no temporary file left"
    r, lang = ws.load_workshop(path)
    assert lang == "en" and r.steps == s.steps == 6
    assert_same_run(r.live, s.live, "reloaded live run")
    assert_same_run(r.baseline_run(), s.baseline_run(), "reloaded reference run")
    br, rbr = s.branches[0], r.branches[0]
    assert (rbr.name, rbr.fork_step, rbr.fork_choices) == (br.name, br.fork_step,
                                                           br.fork_choices)
    assert_same_run(rbr.run, br.run, "reloaded branch")
    assert r.compare == s.compare == 0 and r.start_params == {"fuel_price": 0.15}
    for lang in ("fr", "en"):
        assert st.log_rows(r, lang) == st.log_rows(s, lang)
    # the reloaded session goes on exactly like the saved one
    a, b = s.live.fork(), r.live.fork()
    a.advance_to(8)
    b.advance_to(8)
    assert_same_run(a, b, "continued")
    r.undo()
    assert [c.policy["type"] for c in r.decisions() if c.policy] == ["tiers_lieux"]


def test_bad_workshop_files_say_file_key_and_what_is_allowed(workshop_session, tmp_path):
    good = ws.workshop_dict(workshop_session)
    path = tmp_path / "w.json"

    def error_of(data: object, raw: str | None = None) -> str:
        path.write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
        with pytest.raises(ws.WorkshopError) as exc:
            ws.load_workshop(path)
        assert str(exc.value).startswith(f"{path}: ")
        return str(exc.value)

    def changed(**kw: object) -> dict:
        return {**json.loads(json.dumps(good)), **kw}

    assert "not JSON" in error_of(None, "{ nope")
    assert "NaN is not a number" in error_of(None, '{"format": NaN}')
    msg = error_of(changed(format="other"))
    assert "format: invalid value 'other'" in msg and 'allowed: "terrinum-workshop"' in msg
    assert "version: version 9 is not read" in error_of(changed(version=9))
    msg = error_of(changed(colour="blue"))
    assert "colour: unknown key" in msg and "allowed: format, version" in msg
    assert "month: invalid value -1; allowed: a whole number of months" in \
        error_of(changed(month=-1))
    assert "seed: invalid value 'x'" in error_of(changed(seed="x"))
    assert "language: invalid value 'de'; allowed: fr or en" in error_of(changed(language="de"))
    d = changed()
    d["decisions"][1]["policy"]["type"] = "magic"
    msg = error_of(d)
    assert "decisions[1].policy:" in msg and "terrinum list policies" in msg
    d = changed()
    d["decisions"][1]["month"] = 99
    assert "decisions[1].month: invalid value 99" in error_of(d)
    d = changed()
    d["decisions"][1]["month"] = 2
    assert "decisions[1].policy.start: start" in error_of(d)
    d = changed()
    d["branches"][0]["name"] = ""
    assert "branches[0].name: " in error_of(d)
    assert "compare: invalid value 3" in error_of(changed(compare=3))
    d = changed()
    d["start_params"] = {"fuel_price": 99.0}
    assert "start_params.fuel_price: invalid value 99.0" in error_of(d)
    assert "a list, not a table" in error_of([1, 2])
    with pytest.raises(ws.WorkshopError, match="missing.json: .*workshop file"):
        ws.load_workshop(tmp_path / "missing.json")


# ------------------------------------------------------------------ export and replay
def _last_month(out) -> tuple[int, dict[str, float]]:
    df = pd.read_parquet(out / "results.parquet")
    m = df[df["territory"] == "_map"]
    last = int(m["step"].max())
    return last, dict(m[m["step"] == last].set_index("measure")["value"])


def test_exported_workshop_and_branch_replay_with_a_plain_terrinum_run(tmp_path, capsys):
    s = fresh()
    s.set_param("fuel_price", 0.15)
    s.step(1)
    s.pull(TIERS)
    s.step(2)
    s.save_branch("tiers-lieux seuls")
    s.pull(COUNTERS)
    s.step(2)
    s.pull(TAX)  # chosen at the last month: not in effect yet, left out of the file
    text = s.export_toml("fr")
    assert "left out (takes effect after month 5): month 5" in text
    path = tmp_path / "atelier.toml"
    path.write_text(text, encoding="utf-8")
    sc = load_scenario(path)
    assert sc.years == 5 / 12 and sc.seed == s.seed and sc.n_households == HH
    assert [(p.type, p.start_step) for p in sc.policies[-2:]] == [("tiers_lieux", 2),
                                                                   ("public_counters", 4)]
    assert [p.label for p in sc.policies[-2:]] == ["workshop decision, month 1",
                                                   "workshop decision, month 3"]
    out = tmp_path / "run"
    assert main(["run", str(path), "--quiet", "--no-plots", "--workers", "1",
                 "--out", str(out)]) == 0
    last, got = _last_month(out)
    assert last == s.steps == 5
    want = s.live.model.map_measures
    bad = {m: (got[m], want[m]) for m in MAP_MEASURES if not same(got[m], want[m])}
    assert not bad, f"terrinum run of the exported file differs: {bad}"
    # the branch is its own file and replays to the branch's numbers
    btext = s.export_toml("fr", branch=0)
    assert btext.startswith("# Workshop branch 'tiers-lieux seuls'")
    bpath = tmp_path / "branche.toml"
    bpath.write_text(btext, encoding="utf-8")
    bsc = load_scenario(bpath)
    assert bsc.name == "baseline_branch_tiers-lieux_seuls_m5"
    assert [p.type for p in bsc.policies][-1] == "tiers_lieux"
    bout = tmp_path / "brun"
    assert main(["run", str(bpath), "--quiet", "--no-plots", "--workers", "1",
                 "--out", str(bout)]) == 0
    last, bgot = _last_month(bout)
    bwant = s.branches[0].run.model.map_measures
    assert last == 5 and not {m for m in MAP_MEASURES if not same(bgot[m], bwant[m])}
    assert any(not same(bgot[m], got[m]) for m in MAP_MEASURES), "branch differs from live"


def test_reopened_export_shows_its_decisions_beside_the_reference_run(tmp_path):
    s = fresh()
    s.step(2)
    s.pull(TIERS)
    s.step(1)
    s.pull(COUNTERS)
    s.step(2)
    path = tmp_path / "atelier.toml"
    path.write_text(s.export_toml("en"), encoding="utf-8")
    r = st.Session(str(path), households=HH)
    assert r.steps == 5 and r.has_choices()
    rows = [x for x in st.log_rows(r, "en") if x["kind"] == "policy"]
    assert [x["step"] for x in rows] == [3, 2] and all(x["back"] for x in rows)
    assert "Creuse (23)" in rows[1]["text"] and rows[1]["status"].endswith("✓")
    assert not any(p.label for p in r.scenario.policies if p.label and "workshop" in p.label)
    assert_same_run(r.live, s.live, "reopened live run")
    ref = fresh()
    ref.step(5)
    assert_same_run(r.baseline_run(), ref.live, "reference run of the reopened file")
    assert differ(r.live, r.baseline_run())
    # undo works on the reopened file as on the original session
    r.undo()
    s.undo()
    assert_same_run(r.live, s.live, "undo after reopening")


def test_dashboard_command_opens_a_workshop_file_and_refuses_a_bad_one(
        workshop_session, tmp_path, capsys):
    import argparse

    from simulation.cli import build_parser
    from simulation.dashboard import cli

    path = ws.save_workshop(workshop_session, tmp_path / "atelier.json")
    args = build_parser().parse_args(["dashboard", "--workshop", str(path)])
    env = cli.server_env(args, tmp_path / "cdn", base={"PATH": "/bin"})
    assert env["TERRINUM_DASHBOARD_WORKSHOP"] == str(path.resolve())
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "terrinum-workshop", "version": 1, "month": "x"}',
                   encoding="utf-8")
    ns = argparse.Namespace(scenario="baseline", host="127.0.0.1", port=8765, households=None,
                            seed=None, lang="fr", map=None, workshop=str(bad))
    with pytest.raises(cli.DashboardError, match=r"bad.json: scenario: missing; allowed"):
        cli.check_startup(ns)
    assert cli.cmd_dashboard(ns) == 2
    err = capsys.readouterr().err
    assert "bad.json: scenario: missing" in err and "Traceback" not in err
