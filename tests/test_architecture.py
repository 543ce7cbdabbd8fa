"""The package's layers import only downwards, and no module imports another in a circle.

Every ``import`` statement of every module of ``simulation`` counts, including those inside
functions and under ``if TYPE_CHECKING:`` (an import a type checker needs is still a
dependency). The layers, from the bottom up, are listed in :data:`LAYERS`; a module may
import modules of its own layer or of layers below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PKG = Path(__file__).resolve().parents[1] / "simulation"

# bottom first; a module's layer is the first prefix that matches its dotted name
LAYERS: list[tuple[str, ...]] = [
    ("simulation.errors", "simulation.resources", "simulation.safe_io"),
    ("simulation.world",),
    ("simulation.engine",),
    ("simulation.reports",),  # plots and maps of results: used by every layer above
    ("simulation.scenarios",),
    ("simulation.experiments",),
    ("simulation.calibration",),  # uses the experiments' store and engines
    ("simulation.cli", "simulation.dashboard"),
    ("simulation",),  # the public API (simulation/__init__.py)
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``path`` imports (any statement, anywhere)."""
    name = module_name(path)
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "simulation":
                    out.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "simulation":
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in modules else mod)
    return {m for m in out if m in modules and m != name}


def layer_of(mod: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if mod == p or mod.startswith(p + "."):
                return i
    raise AssertionError(f"module {mod} is in no layer of LAYERS")


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    modules = all_modules()
    g = nx.DiGraph()
    g.add_nodes_from(modules)
    for name, path in modules.items():
        for dep in imports_of(path, modules):
            g.add_edge(name, dep)
    return g


def test_the_graph_is_read(graph: nx.DiGraph) -> None:
    # the parser must see the real dependencies, or the tests below prove nothing
    assert graph.has_edge("simulation.engine.model", "simulation.engine.markets")
    assert graph.has_edge("simulation.engine.model", "simulation.world.maps")
    assert graph.number_of_edges() > 80


def test_no_import_cycle(graph: nx.DiGraph) -> None:
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:10])


def test_layers_import_only_downwards(graph: nx.DiGraph) -> None:
    up = [(a, b) for a, b in graph.edges if layer_of(b) > layer_of(a)]
    assert not up, "upward imports: " + "; ".join(f"{a} -> {b}" for a, b in up)


def test_no_module_imports_the_public_api(graph: nx.DiGraph) -> None:
    # simulation/__init__.py re-exports the API; modules import what they use from where it lives
    users = [a for a, b in graph.edges if b == "simulation"]
    assert not users, f"modules importing the top-level package: {users}"


def test_benchmarks_are_not_in_the_package() -> None:
    assert not list(PKG.rglob("bench*.py"))
    assert (PKG.parent / "benchmarks" / "bench.py").is_file()
