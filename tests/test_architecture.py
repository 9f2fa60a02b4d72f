"""The project's imports: no import cycles, and imports that run one way.

The graph is read from the source with ``ast`` (nothing is imported): every ``import`` and
``from ... import`` anywhere in a module, inside functions too, relative imports resolved,
plus ``importlib.import_module("literal")``. An edge goes to the module named (``from
data.bars import make`` -> ``data.bars.make``; a name that is not a module -> the package).
Importing ``data.bars.make`` also runs the packages' ``__init__`` files on the way; they are
not counted, which is why the ``__init__`` of a package below the top imports nothing.

Packages, lowest first; a module may import its own package and those before it:

    data <- indicators <- strategies <- execution <- research <- reports <- run_backtest (with its parser,
    run_backtest_options), tools, lambda_handler

Inside ``data``, floors (:data:`DATA_FLOORS`), lowest first; a module may import its own
floor and those below:

    shared pieces <- reading <- bars <- store <- entry points (data itself, data.api, data.feed, data.timeframes,
    live data)

An import against either order, or an import cycle (of any length, in one package or
across them), fails the test, named. :data:`KNOWN_VIOLATIONS` would list edges tolerated for
a while (it is empty); the test also fails when one of them no longer exists or no longer
breaks a rule, so that the list only shrinks.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package (or top-level script) -> rank: a module imports only ranks at or below its own.
PACKAGE_RANKS = {
    "data": 0,
    "indicators": 1,
    "strategies": 2,
    "execution": 3,
    "research": 4,
    "reports": 5,
    "run_backtest": 6,
    "run_backtest_options": 6,  # the command line's parser: imported by run_backtest alone
    "tools": 6,
    "lambda_handler": 6,
}

# The floors of data, lowest first. An entry ``"data.reading.*"`` is that package and all its
# modules; any other entry is one module. A module's floor is its most specific entry; every
# module of data must have one (a new module is placed here when it is added).
DATA_FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # what several floors share: names, errors, option objects, futures contracts and their
    # calendar, ticks as arrays, bar specs and the assignment of ticks to bars, side codes and
    # the classifiers of sides, paths on disk or S3, and the exchange's stream protocol (stream
    # names, gap notes) that the capture reader and live data share
    ("shared", ("data.errors", "data.schema", "data.options", "data.contracts", "data.ticks", "data.bars.spec",
                "data.sides.*", "data.storage", "data.live.protocol")),
    ("reading", ("data.reading.*",)),
    ("bars", ("data.bars.*",)),
    ("store", ("data.store.*",)),
    # the public entry points, which take a frame or a source and dispatch once
    ("entry points", ("data", "data.api", "data.feed", "data.timeframes", "data.live.*", "data.record",
                      "data.replay")),
)

# Edges that break the rules and are tolerated for now: (importer, imported). None is: an import
# against the rules is fixed in the code, not listed here. The test fails when a listed edge is
# gone or breaks no rule any more, so that the list can only shrink.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()


# --------------------------------------------------------------------------- the graph


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the ranked packages and scripts."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        top = rel.parts[0]
        if top.endswith(".py"):
            top = top[:-3]
            if len(rel.parts) > 1:
                continue
        if top not in PACKAGE_RANKS or any(part.startswith(".") for part in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported_names(module: str, path: Path, tree: ast.AST) -> list[str]:
    """Every dotted name the module imports, as written (relative ones resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names += [f"{base}.{alias.name}" for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            names.append(node.args[0].value)
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports (itself excluded)."""
    modules = project_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module, path in modules.items():
        for name in _imported_names(module, path, ast.parse(path.read_text(), str(path))):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def cycle_path(graph: dict[str, set[str]], component: list[str], start: str) -> list[str]:
    """One cycle through ``start`` inside ``component``: ``[start, ..., start]``."""
    members = set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


def _matches(module: str, entry: str) -> bool:
    if entry.endswith(".*"):
        package = entry[:-2]
        return module == package or module.startswith(package + ".")
    return module == entry


def data_floor(module: str) -> int:
    """The floor of a data module (0 = shared pieces), by its most specific entry in :data:`DATA_FLOORS`."""
    best: tuple[int, int] | None = None  # (specificity, floor)
    for floor, (_, entries) in enumerate(DATA_FLOORS):
        for entry in entries:
            if _matches(module, entry):
                specificity = len(entry) + (1 if not entry.endswith(".*") else 0)
                if best is None or specificity > best[0]:
                    best = (specificity, floor)
    if best is None:
        raise LookupError(module)
    return best[1]


def against_order(importer: str, imported: str) -> str | None:
    """Why the import breaks the layer order, or None when it follows it."""
    a, b = importer.split(".")[0], imported.split(".")[0]
    if PACKAGE_RANKS[b] > PACKAGE_RANKS[a]:
        return f"{a} is below {b}"
    if a == b == "data":
        fa, fb = data_floor(importer), data_floor(imported)
        if fb > fa:
            return f"data's floor {DATA_FLOORS[fa][0]!r} is below {DATA_FLOORS[fb][0]!r}"
    return None


def violations(graph: dict[str, set[str]]) -> tuple[list[str], set[tuple[str, str]]]:
    """The problems not listed in :data:`KNOWN_VIOLATIONS` (as sentences), and every edge that
    breaks a rule (listed or not)."""
    problems: list[str] = []
    breaking: set[tuple[str, str]] = set()
    for importer in sorted(graph):
        for imported in sorted(graph[importer]):
            why = against_order(importer, imported)
            if why is not None:
                breaking.add((importer, imported))
                if (importer, imported) not in KNOWN_VIOLATIONS:
                    problems.append(f"{importer} imports {imported}, against the layer order ({why})")
    for component in cycles(graph):
        members = set(component)
        inside = {(a, b) for a in component for b in graph[a] & members}
        breaking |= inside
        new = sorted(inside - KNOWN_VIOLATIONS)
        if new:
            path = cycle_path(graph, component, new[0][0])
            problems.append(f"import cycle: {' -> '.join(path)} (among {', '.join(component)})")
    return problems, breaking


# --------------------------------------------------------------------------- the tests


GRAPH = import_graph()


def test_the_graph_is_read_from_every_package():
    assert {"data", "data.api", "data.bars.make", "research.engine", "reports.html", "run_backtest",
            "lambda_handler"} <= set(GRAPH)
    # an import inside a function counts (the engine reads CumulativeVolumeDelta in a function)
    assert "indicators" in GRAPH["research.engine"]
    # relative imports are resolved (research.engine: from .config import RunConfig)
    assert "research.config" in GRAPH["research.engine"]


def test_every_data_module_has_a_floor():
    unplaced = []
    for module in GRAPH:
        if module.split(".")[0] == "data":
            try:
                data_floor(module)
            except LookupError:
                unplaced.append(module)
    assert not unplaced, f"place these modules on a floor of DATA_FLOORS: {unplaced}"


def test_every_floor_entry_names_a_module():
    missing = [entry for _, entries in DATA_FLOORS for entry in entries
               if not any(_matches(module, entry) for module in GRAPH)]
    assert not missing, f"DATA_FLOORS names modules that do not exist (remove them): {missing}"


def test_no_cycle_and_no_import_against_the_layer_order():
    problems, _ = violations(GRAPH)
    assert not problems, "\n".join(problems)


def test_known_violations_still_exist():
    _, breaking = violations(GRAPH)
    fixed = sorted(KNOWN_VIOLATIONS - breaking)
    assert not fixed, f"these imports are gone or break no rule now: remove them from KNOWN_VIOLATIONS: {fixed}"


def test_a_new_bad_import_is_caught(tmp_path):
    """The checks fail on an import against the order and on a cycle, naming them."""
    bad = {name: set(targets) for name, targets in GRAPH.items()}
    bad["data.reading.loader"].add("data.bars.make")
    problems, _ = violations(bad)
    assert any("data.reading.loader imports data.bars.make" in p and "'reading' is below 'bars'" in p
               for p in problems), problems
    bad = {name: set(targets) for name, targets in GRAPH.items()}
    bad["data.bars.spec"].add("data.bars.make")  # make imports spec: a cycle, and against the floors
    problems, _ = violations(bad)
    assert any(p.startswith("import cycle: data.bars.") and "data.bars.make" in p and "data.bars.spec" in p
               for p in problems), problems
    bad = {name: set(targets) for name, targets in GRAPH.items()}
    bad["indicators"].add("strategies")
    assert any("indicators imports strategies" in p for p in violations(bad)[0])


def test_the_command_line_parser_is_imported_by_the_command_line_alone():
    importers = sorted(module for module, targets in GRAPH.items() if "run_backtest_options" in targets)
    assert importers == ["run_backtest"]


@pytest.mark.skipif(sys.platform == "win32", reason="paths")
def test_relative_and_dynamic_imports_are_resolved(tmp_path):
    package = tmp_path / "data"
    (package / "bars").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "bars" / "__init__.py").write_text("from . import make\n")
    (package / "bars" / "make.py").write_text("def f():\n    from ..errors import OrderFlowError\n")
    (package / "bars" / "spec.py").write_text("import importlib\nm = importlib.import_module('data.bars.make')\n")
    (package / "errors.py").write_text("from data.bars import spec\n")
    graph = import_graph(tmp_path)
    assert graph["data.bars"] == {"data.bars.make"}
    assert graph["data.bars.make"] == {"data.errors"}
    assert graph["data.bars.spec"] == {"data.bars.make"}
    assert graph["data.errors"] == {"data.bars.spec"}
    assert cycles(graph) == [["data.bars.make", "data.bars.spec", "data.errors"]]
