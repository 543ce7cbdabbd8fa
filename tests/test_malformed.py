"""Bad input never crashes: a corpus of malformed files through every entry point.

The corpus lives in ``tests/data/malformed/{scenarios,experiments,maps}``; each file states in
its header what the error must say::

    # class: numbers            (the class of defect of issue 10)
    # expect: parameters.x      (the key path the message must name; "-" for the whole file)
    # says: finite              (words the message must contain)
    # edges: name.edges.csv     (maps: the edges file to load with these nodes)
    # quick: true               (experiments: the error shows with --quick)

Files whose bytes cannot hold a header (empty, UTF-16, Latin-1, binary) have their
expectations in :data:`HEADERLESS`. Files whose name starts with ``_`` are valid helpers.
Cases that cannot be files in a repository (devices, FIFOs, symbolic links, names too long
for the file system, megabyte strings) are generated here.

Every case goes through the Python loaders (a typed :class:`~simulation.errors.InputError`)
and the command line run in-process (``validate``, ``run``, ``compare``, ``sweep``): exit
status 2, one message naming the file, the key path and what is allowed, no traceback, a few
kilobytes at most, a few seconds, and nothing written to the output folder. A subset runs in
real subprocesses with capped memory and CPU time.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.errors import InputError
from simulation.experiments.files import ExperimentError, load_experiment
from simulation.scenarios.files import ScenarioError, load_scenario
from simulation.world.maps import MapError, load_csv_map, load_map

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "data" / "malformed"
MAX_OUTPUT = 4_096          # bytes of output allowed for one error
MAX_SECONDS = 8.0           # wall time of one in-process call (the machine is shared)
MAX_RSS_GROWTH_MB = 200     # growth of this process's peak memory over one call

HEADERLESS = {
    "scenarios/empty_file.toml": ("-", "empty", "types"),
    "scenarios/utf16.toml": ("-", "UTF-16", "messages"),
    "scenarios/latin1.toml": ("-", "UTF-8", "messages"),
    "scenarios/nul_bytes.toml": ("-", "NUL", "messages"),
    "experiments/empty_file.toml": ("-", "empty", "types"),
    "maps/empty_file.csv": ("line 1", "empty", "maps"),
    "maps/utf16.csv": ("-", "UTF-16", "maps"),
    "maps/latin1.csv": ("-", "UTF-8", "maps"),
    "maps/nul_bytes.csv": ("-", "NUL", "maps"),
}
CLASSES = {"numbers", "paths", "resources", "types", "messages"}


def _header(path: Path) -> dict[str, str]:
    text = path.read_bytes().decode("utf-8", "replace")
    return dict(re.findall(r"^\ufeff?# (class|expect|says|edges|quick): (.*)$", text, re.M))


def _cases(kind: str) -> list:
    out = []
    for path in sorted((CORPUS / kind).iterdir()):
        if path.name.startswith("_") or path.name.endswith(".edges.csv"):
            continue
        rel = f"{kind}/{path.name}"
        head = _header(path)
        if rel in HEADERLESS:
            key, says, cls = HEADERLESS[rel]
            head = {"expect": key, "says": says, "class": cls}
        assert "expect" in head, f"{rel}: no '# expect:' header and not in HEADERLESS"
        out.append(pytest.param(path, head, id=path.stem))
    return out


SCENARIOS = _cases("scenarios")
EXPERIMENTS = _cases("experiments")
MAPS = _cases("maps")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_message(text: str, file: str | Path, head: dict[str, str]) -> None:
    """One bounded message that names the file, the key path and what is allowed."""
    assert len(text.encode("utf-8")) <= MAX_OUTPUT, f"{len(text)} characters of output"
    assert "Traceback" not in text
    assert Path(str(file)).name[:60] in text, text
    key = head.get("expect", "-")
    if key != "-":
        assert key in text, (key, text)
    if head.get("says"):
        assert head["says"] in text, (head["says"], text)
    assert re.search(r"allowed|must|at most|expected|required|did you mean", text), text


def check_cli(argv: list[str], capsys, file: str | Path, head: dict[str, str],
              out: Path | None = None) -> str:
    """Run the command line in-process: exit 2, one checked message, nothing written."""
    capsys.readouterr()
    t0, peak0 = time.perf_counter(), _peak_mb()
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse
        status = exc.code
    elapsed = time.perf_counter() - t0
    cap = capsys.readouterr()
    assert status == 2, (argv, cap.err)
    assert cap.err.count("terrinum: error:") == 1, cap.err
    check_message(cap.err + cap.out, file, head)
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s"
    assert _peak_mb() - peak0 < MAX_RSS_GROWTH_MB
    if out is not None:
        assert not out.exists(), f"{out} was written"
    return cap.err


# ============================================================================ the corpus
def test_corpus_covers_every_class_with_at_least_80_files():
    cases = SCENARIOS + EXPERIMENTS + MAPS
    assert len(cases) >= 80
    classes = {p.values[1].get("class") for p in SCENARIOS}
    assert CLASSES <= classes, CLASSES - classes
    assert len(MAPS) >= 20 and len(EXPERIMENTS) >= 20


# ============================================================================ scenarios
@pytest.mark.parametrize("path, head", SCENARIOS)
def test_scenario_python_loader_raises_a_typed_error(path, head):
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    check_message(str(info.value), path, head)
    assert time.perf_counter() - t0 < MAX_SECONDS


@pytest.mark.parametrize("path, head", SCENARIOS)
def test_scenario_validate_run_and_compare_exit_2(path, head, capsys, tmp_path):
    check_cli(["validate", str(path)], capsys, path, head)
    out = tmp_path / "out"
    check_cli(["run", str(path), "--out", str(out), "--quiet", "--no-plots", "--workers", "1"],
              capsys, path, head, out)
    check_cli(["compare", "teaching_baseline", str(path), "--out", str(out), "--quiet",
               "--no-plots", "--workers", "1", "--reps", "1"], capsys, path, head, out)
    check_cli(["compare", str(path), "teaching_baseline", "--out", str(out), "--quiet",
               "--no-plots", "--workers", "1", "--reps", "1"], capsys, path, head, out)


def test_validate_reports_every_bad_file_and_still_accepts_good_ones(capsys):
    good = ROOT / "scenarios" / "teaching_baseline.toml"
    bad = [p.values[0] for p in SCENARIOS[:5]]
    status = main(["validate", str(good), *map(str, bad)])
    cap = capsys.readouterr()
    assert status == 2
    assert cap.out.startswith(f"OK {good}")
    assert cap.err.count("terrinum: error:") == len(bad)


def test_bom_is_accepted_and_changes_nothing(tmp_path):
    text = (ROOT / "tests/data/scenarios/good_synthetic_tax.toml").read_text(encoding="utf-8")
    plain = tmp_path / "plain.toml"
    bom = tmp_path / "bom.toml"
    plain.write_text(text, encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    a, b = load_scenario(plain), load_scenario(bom)
    assert a.policy_dicts() == b.policy_dicts() and a.params == b.params and a.map == b.map


def test_all_territories_is_still_written_all(tmp_path):
    f = tmp_path / "all.toml"
    f.write_text('[run]\nmap = "synthetic"\nyears = 2\n\n[[policies]]\ntype = "tiers_lieux"\n'
                 'territories = "all"\nplaces = 1\n')
    sc = load_scenario(f)
    assert sc.policies[0].territories == "all"
    assert sc.policies[0]._selector().resolve(sc.load_map()).size == sc.load_map().n


def test_shortened_run_exports_and_reloads_with_partial_policies(tmp_path):
    sc = load_scenario("teaching_synthetic").with_overrides(years=0.5)
    text = sc.to_toml()
    assert "partial_policies = true" in text
    f = tmp_path / "short.toml"
    f.write_text(text)
    again = load_scenario(f)
    assert again.policy_dicts() == sc.policy_dicts() and again.years == 0.5
    # without the flag, the same file is refused: a ramp that ends after the run
    f.write_text(text.replace("partial_policies = true", ""))
    with pytest.raises(ScenarioError, match=r"ramp"):
        load_scenario(f)


# ============================================================================ maps
def _map_args(path: Path, head: dict[str, str]) -> tuple[Path, Path | None]:
    if "edges" in head:
        return path, path.parent / head["edges"].strip()
    return path, None


@pytest.mark.parametrize("path, head", MAPS)
def test_map_python_loaders_raise_map_error(path, head):
    nodes, edges = _map_args(path, head)
    shown = edges or nodes
    with pytest.raises(MapError) as info:
        load_csv_map(nodes, edges)
    assert isinstance(info.value, InputError)
    check_message(str(info.value), shown, head)
    with pytest.raises(MapError):
        load_map(str(nodes), **({"edges": str(edges)} if edges else {}))


@pytest.mark.parametrize("path, head", MAPS)
def test_map_through_validate_and_run(path, head, capsys, tmp_path):
    nodes, edges = _map_args(path, head)
    shown = edges or nodes
    scen = tmp_path / "uses_map.toml"
    opts = f"\nmap_options = {{ edges = {str(edges)!r} }}" if edges else ""
    scen.write_text(f'[run]\nmap = "{nodes}"\nyears = 1\nn_households = 500{opts}\n')
    err = check_cli(["validate", str(scen)], capsys, shown, head)
    assert ("run.map_options.edges" if edges else "run.map") in err
    if edges is None:
        out = tmp_path / "out"
        check_cli(["run", "teaching_baseline", "--map", str(nodes), "--out", str(out),
                   "--quiet", "--no-plots", "--workers", "1"], capsys, shown, head, out)


def test_too_many_territories_refused_before_building(tmp_path):
    rows = "\n".join(f"T{i},t{i},100,10,{i * 0.001},{i * 0.001}" for i in range(2_001))
    f = tmp_path / "big.csv"
    f.write_text("code,name,population,area_km2,x_km,y_km\n" + rows + "\n")
    t0 = time.perf_counter()
    with pytest.raises(MapError, match=r"at most 2,000"):
        load_csv_map(f)
    assert time.perf_counter() - t0 < MAX_SECONDS


def test_zero_population_map_is_refused_but_one_populated_territory_is_enough(tmp_path):
    head = "code,name,population,area_km2,x_km,y_km\n"
    f = tmp_path / "zero.csv"
    f.write_text(head + "A,a,0,10,0,0\nB,b,0,10,5,0\n")
    with pytest.raises(MapError, match=r"population 0"):
        load_csv_map(f)
    f.write_text(head + "A,a,0,10,0,0\nB,b,500,10,5,0\n")
    assert load_csv_map(f).n == 2


def test_generator_options_have_declared_ranges():
    from simulation.world.maps import MAP_OPTIONS

    with pytest.raises(MapError, match=r"n_rural.*out of range") as info:
        load_map("synthetic", n_rural=1_000_000_000)
    assert info.value.option == "n_rural"
    with pytest.raises(MapError, match=r"k_neighbours.*whole number"):
        load_map("synthetic", k_neighbours="many")
    with pytest.raises(MapError, match=r"finite"):
        load_map("random-geometric", radius=float("nan"))
    # the largest declared synthetic map still builds quickly
    biggest = {k: int(o.hi) for k, o in MAP_OPTIONS["synthetic"].items()
               if k.startswith("n_")}
    t0 = time.perf_counter()
    m = load_map("synthetic", **biggest)
    assert m.n == 1 + sum(biggest.values())
    assert time.perf_counter() - t0 < 3 * MAX_SECONDS


# ============================================================================ experiments
@pytest.mark.parametrize("path, head", EXPERIMENTS)
def test_experiment_python_loader_raises_a_typed_error(path, head):
    quick = head.get("quick") == "true"
    with pytest.raises(ExperimentError) as info:
        load_experiment(path, quick=quick)
    assert isinstance(info.value, InputError)
    check_message(str(info.value), path, head)


@pytest.mark.parametrize("path, head", EXPERIMENTS)
def test_experiment_validate_and_sweep_exit_2_before_the_folder_exists(path, head, capsys,
                                                                       tmp_path):
    quick = ["--quick"] if head.get("quick") == "true" else []
    if not quick:
        check_cli(["validate", str(path)], capsys, path, head)
    out = tmp_path / "sweep"
    check_cli(["sweep", str(path), "--out", str(out), "--quiet", "--workers", "1", *quick],
              capsys, path, head, out)


# ============================================================================ generated paths
def _targets(tmp: Path) -> dict[str, str]:
    """Paths that are not regular files: directories, devices, a FIFO, links, long names."""
    d = tmp / "a_directory.toml"
    d.mkdir()
    fifo = tmp / "pipe.toml"
    os.mkfifo(fifo)
    links = {"link_to_dev_zero.toml": "/dev/zero", "link_to_urandom.csv": "/dev/urandom",
             "link_to_dir.toml": str(d), "broken_link.toml": str(tmp / "nowhere"),
             "loop_a.toml": str(tmp / "loop_b.toml"), "loop_b.toml": str(tmp / "loop_a.toml")}
    for name, target in links.items():
        (tmp / name).symlink_to(target)
    return {
        "directory": str(d), "dot": ".", "root": "/", "dev_zero": "/dev/zero",
        "dev_urandom": "/dev/urandom", "fifo": str(fifo),
        "link_dev_zero": str(tmp / "link_to_dev_zero.toml"),
        "link_urandom": str(tmp / "link_to_urandom.csv"),
        "link_dir": str(tmp / "link_to_dir.toml"),
        "broken_link": str(tmp / "broken_link.toml"), "link_loop": str(tmp / "loop_a.toml"),
        "name_300": str(tmp / ("n" * 300 + ".toml")),
        "path_5000": "/".join(["p" * 50] * 100) + ".toml",
    }


TARGETS = ["directory", "dot", "root", "dev_zero", "dev_urandom", "fifo", "link_dev_zero",
           "link_urandom", "link_dir", "broken_link", "link_loop", "name_300", "path_5000"]
ROLES = ["scenario", "extends", "map", "edges", "experiment", "experiment_scenario"]
ROLE_KEY = {"scenario": "-", "extends": "extends", "map": "run.map",
            "edges": "run.map_options.edges", "experiment": "-",
            "experiment_scenario": "experiment.scenario"}


def _write_role(role: str, target: str, tmp: Path) -> tuple[str, str]:
    """(file to give the command, file the message must name) for one role of a bad path."""
    good_nodes = CORPUS / "maps" / "_good_nodes.csv"
    if role in ("scenario", "experiment"):
        return target, target
    if role == "extends":
        text = f"extends = {target!r}\n"
    elif role == "map":
        text = f'[run]\nmap = {target!r}\nyears = 1\n'
    elif role == "edges":
        text = f'[run]\nmap = "{good_nodes}"\nyears = 1\nmap_options = {{ edges = {target!r} }}\n'
    else:
        exp = (CORPUS / "experiments" / "params_nan.toml").read_text()
        text = exp.replace('scenario = "teaching_synthetic"', f"scenario = {target!r}").replace(
            "formation_rate = nan", "formation_rate = 0.01")
    f = tmp / f"uses_{role}.toml"
    f.write_text(text)
    return str(f), str(f)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", TARGETS)
def test_paths_that_are_not_files(role, which, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = _targets(tmp_path)[which]
    given, named = _write_role(role, target, tmp_path)
    head = {"expect": ROLE_KEY[role]}
    if role in ("scenario", "experiment"):
        head["expect"] = "-"
        named = target if len(target) < 150 else target[:60]
    loader = load_experiment if role.startswith("experiment") else load_scenario
    t0 = time.perf_counter()
    with pytest.raises(InputError) as info:
        loader(given)
    assert time.perf_counter() - t0 < MAX_SECONDS
    text = str(info.value)
    assert len(text) < MAX_OUTPUT
    assert head["expect"] == "-" or head["expect"] in text, text
    assert re.search(r"director|device|pipe|characters|not found|no such|link|loop|"
                     r"not a regular", text), text
    out = tmp_path / "out"
    argv = (["sweep", given, "--out", str(out), "--quiet", "--workers", "1"]
            if role.startswith("experiment") else
            ["run", given, "--out", str(out), "--quiet", "--no-plots", "--workers", "1"])
    check_cli(argv, capsys, named if len(named) < 150 else named[:60], head, out)


def test_five_megabyte_file_is_refused_before_reading(tmp_path, capsys):
    f = tmp_path / "huge.toml"
    f.write_text('name = "' + "x" * 5_000_000 + '"\n')
    head = {"expect": "-", "says": "too large"}
    for argv in (["validate", str(f)], ["sweep", str(f), "--out", str(tmp_path / "o")]):
        check_cli(argv, capsys, f, head, tmp_path / "o")


@pytest.mark.parametrize("where", ["name", "run.map", "parameters", "description.en",
                                   "experiment"])
def test_long_strings_are_not_echoed(where, tmp_path, capsys):
    big = "z" * 500_000
    text = {"name": f'name = "{big}"\n',
            "run.map": f'[run]\nmap = "{big}"\n',
            "parameters": f'[parameters]\n{big} = 1\n',
            "description.en": f'[description]\nen = "x"\ncolour = "{big}"\n',
            "experiment": f'[experiment]\nname = "{big}"\nscenario = 3\n'}[where]
    f = tmp_path / "long.toml"
    f.write_text(text)
    err = check_cli(["validate", str(f)], capsys, f, {"expect": "-"})
    assert "z" * 100 not in err
    if "zzz" in err:  # a quoted value says how long it was
        assert "500,000 characters" in err


def test_deep_nesting_generated_far_beyond_the_recursion_limit(tmp_path, capsys):
    f = tmp_path / "deep.toml"
    f.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    check_cli(["validate", str(f)], capsys, f, {"expect": "-", "says": "nested"})


# ============================================================================ typed API
def test_every_user_error_class_is_an_input_error():
    from simulation.dashboard.cli import DashboardError
    from simulation.dashboard.state import LeverError
    from simulation.engine.params import ParameterError
    from simulation.errors import UserError
    from simulation.experiments.sweep import SweepError

    for cls in (ScenarioError, ExperimentError, MapError, ParameterError, SweepError,
                UserError, LeverError, DashboardError):
        assert issubclass(cls, InputError) and issubclass(cls, ValueError), cls


def test_python_policy_api_is_strict():
    from pydantic import ValidationError

    from simulation.engine.policies import make_policy

    for spec in ({"type": "tiers_lieux", "start": "5"},
                 {"type": "public_counters", "change": "-0.5"},
                 {"type": "broadband_rollout", "target": True},
                 {"type": "tiers_lieux", "territories": {"codes": []}},
                 {"type": "tiers_lieux", "places": float("nan")}):
        with pytest.raises(ValidationError):
            make_policy(spec)
    # ints for floats and tuples for lists are still fine from Python
    p = make_policy({"type": "public_counters", "change": -1, "which": ("tax",)})
    assert p.change == -1.0 and p.which == ["tax"]


# ============================================================================ dashboard
def test_dashboard_scenario_picker_shows_the_error_and_keeps_the_session():
    from simulation.dashboard.state import LeverError, Session

    s = Session("teaching_baseline", households=500)
    before = (s.scenario_name, s.live)
    for bad in ("policy_start_string", "map_dev_zero", "nested_inline_tables_1000"):
        with pytest.raises(LeverError) as info:
            s.load(str(CORPUS / "scenarios" / f"{bad}.toml"))
        assert f"{bad}.toml" in str(info.value) and len(str(info.value)) < MAX_OUTPUT
        assert (s.scenario_name, s.live) == before
    with pytest.raises(LeverError, match=r"not a scenario file"):
        s.load("/dev/urandom")
    s.step()  # the session still runs
    assert s.steps == 1


# ============================================================================ subprocesses
# A forked child's ru_maxrss starts at its parent's resident size (Linux keeps the
# high-water mark across fork and exec), so measuring the CLI as a direct child of a pytest
# process that has grown to 500 MB reports 500 MB whatever the CLI uses. A small launcher
# (a fresh interpreter of ~10 MB) sets the limits, runs the CLI as its own child and reports
# that grandchild's peak from wait4.
_LAUNCHER = """
import json, os, resource, subprocess, sys
gib = 1024 ** 3
resource.setrlimit(resource.RLIMIT_AS, (3 * gib, 3 * gib))
resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
report, argv = sys.argv[1], sys.argv[2:]
proc = subprocess.Popen(argv, stdout=open("stdout", "wb"), stderr=open("stderr", "wb"))
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = 0
json.dump({"status": status, "maxrss_kib": usage.ru_maxrss}, open(report, "w"))
"""


SUBPROCESS_CASES = [
    ("validate", "scenarios/map_dev_urandom.toml"),
    ("validate", "scenarios/nested_inline_tables_1000.toml"),
    ("run", "scenarios/map_option_n_rural_1e9.toml"),
    ("sweep", "experiments/factor_values_nan.toml"),
    ("validate", "/dev/zero"),
]


@pytest.mark.parametrize("command, case", SUBPROCESS_CASES)
def test_real_subprocess_with_capped_memory(command, case, tmp_path):
    path = case if case.startswith("/") else str(CORPUS / case)
    head = _header(Path(path)) if not case.startswith("/") else {"expect": "-"}
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "simulation.cli", command, path]
    if command != "validate":
        argv += ["--out", str(out), "--quiet", "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    report = tmp_path / "usage.json"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _LAUNCHER, str(report), *argv], env=env,
                   cwd=tmp_path, check=True, timeout=120)
    elapsed = time.perf_counter() - t0
    usage = json.loads(report.read_text())
    err = (tmp_path / "stderr").read_text("utf-8", "replace")
    text = err + (tmp_path / "stdout").read_text("utf-8", "replace")
    assert os.waitstatus_to_exitcode(usage["status"]) == 2, text
    assert err.count("terrinum: error:") == 1
    check_message(text, path, head)
    assert usage["maxrss_kib"] / 1024 < 500, f"{usage['maxrss_kib'] / 1024:.0f} MB"
    assert elapsed < 60
    assert not out.exists()


# ============================================================================ options
@pytest.mark.parametrize("extra, says", [
    (["--map", "/dev/zero"], "character device"),
    (["--map", "/dev/urandom"], "character device"),
    (["--map", "."], "directory"),
    (["--set", "benefit_months=nan"], "finite"),
    (["--set", "formation_rate=inf"], "finite"),
    (["--set", "benefit_months=1e400"], "finite"),
    (["--set", "x" * 5000 + "=1"], "unknown parameter"),
    (["--years", "nan"], "years"),
    (["--years", "inf"], "years"),
    (["--households", "99999999999"], "out of range"),
])
def test_command_line_options_that_are_not_usable(extra, says, capsys, tmp_path):
    out = tmp_path / "out"
    err = check_cli(["run", "teaching_baseline", "--out", str(out), "--quiet", "--no-plots",
                     "--workers", "1", *extra], capsys, "", {"expect": "-", "says": says},
                    out)
    assert "x" * 200 not in err


@pytest.mark.parametrize("which", ["file", "device", "under_a_file", "link_to_device",
                                   "long_name"])
@pytest.mark.parametrize("command", ["run", "compare", "sweep", "analyse"])
def test_output_folders_that_cannot_be_folders(which, command, capsys, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me\n")
    (tmp_path / "dev_link").symlink_to("/dev/null")
    out = {"file": a_file, "device": Path("/dev/null"), "under_a_file": a_file / "sub",
           "link_to_device": tmp_path / "dev_link", "long_name": tmp_path / ("o" * 300)}[which]
    argv = {"run": ["run", "teaching_baseline", "--quiet", "--no-plots", "--workers", "1"],
            "compare": ["compare", "teaching_baseline", "teaching_counters", "--quiet",
                        "--no-plots", "--workers", "1", "--reps", "1"],
            "sweep": ["sweep", str(ROOT / "tests/data/experiments/tiny_grid.toml"), "--quiet",
                      "--workers", "1"],
            "analyse": ["analyse", str(tmp_path), "--no-plots"]}[command]
    check_cli([*argv, "--out", str(out)], capsys, "", {"expect": "-", "says": "--out"}
              if command != "analyse" else {"expect": "-"})
    assert a_file.read_text() == "keep me\n"  # nothing written over it


def test_sweep_manifest_that_is_not_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "manifest.json").symlink_to("/dev/zero")
    check_cli(["analyse", str(tmp_path)], capsys, "manifest.json",
              {"expect": "-", "says": "character device"})
    check_cli(["sweep", str(ROOT / "tests/data/experiments/tiny_grid.toml"), "--out",
               str(tmp_path), "--quiet", "--workers", "1"], capsys, "manifest.json",
              {"expect": "-", "says": "character device"})
