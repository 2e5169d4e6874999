"""The layering rules import-linter cannot state (its contracts are in pyproject.toml,
``[tool.importlinter]``, checked by ``make lint``):

- no import cycle between any two modules of the project, whatever the packages (import-linter's
  ``acyclic_siblings`` only compares the children of one package). Function-local imports count,
  as they do for grimp and import-linter;
- no module longer than 900 lines;
- the contracts list every module where it belongs, so a new module cannot slip past them.
"""

from __future__ import annotations

import tomllib
from collections import deque
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 900

# What is not project code, or not held to the rules: tests, the benchmark harness, migrations.
SKIPPED_DIRS = {".venv", "var", "tests", "bench", "migrations", "node_modules", "build"}

# orderflow/ modules that wire the project together (they may import the apps).
WIRING = {"settings", "urls", "celery", "wsgi", "asgi", "management"}
# An app's modules that are not its domain: adapters and what sits on top of them, the
# AppConfig and migrations.
NON_DOMAIN = {"api", "admin", "resources", "tasks", "presenters", "demo", "apps", "migrations",
              "urls", "views", "templatetags", "management"}


def _importlinter() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]


def _contract(contract_id: str) -> dict:
    for contract in _importlinter()["contracts"]:
        if contract.get("id") == contract_id:
            return contract
    raise AssertionError(f"no import-linter contract with id {contract_id!r} in pyproject.toml")


def _root_packages() -> list[str]:
    return list(_importlinter()["root_packages"])


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*_root_packages(), cache_dir=None)


def _project_modules(graph) -> set[str]:
    return {m for m in graph.modules if ".migrations" not in f".{m}."}


def _children(graph, package: str) -> set[str]:
    """The direct submodules of a package, by their last name."""
    return {m.rsplit(".", 1)[1] for m in graph.find_children(package)}


def _strongly_connected_components(modules: set[str], edges: dict[str, set[str]]):
    """Tarjan's algorithm, iteratively (the graph is deeper than the recursion limit allows)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    counter = 0
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _shortest_cycle(start: str, component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest import path from ``start`` back to itself inside its component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(edges[node] & component):
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if successor not in previous:
                previous[successor] = node
                queue.append(successor)
    raise AssertionError(f"{start} is in a cycle but no path leads back to it")


def _line(graph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = ", ".join(f"l.{d['line_number']}" for d in details)
    return f"{importer} -> {imported} ({lines})"


def test_no_import_cycle_between_modules(graph):
    modules = _project_modules(graph)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & modules for m in modules}
    cycles = [c for c in _strongly_connected_components(modules, edges)
              if len(c) > 1 or any(m in edges[m] for m in c)]
    report = []
    for component in sorted(cycles, key=lambda c: (-len(c), sorted(c))):
        cycle = _shortest_cycle(min(component), component, edges)
        pairs = zip(cycle, cycle[1:], strict=False)
        steps = "\n".join(f"    {_line(graph, a, b)}" for a, b in pairs)
        report.append(f"{len(component)} modules in one cycle: {', '.join(sorted(component))}\n"
                      f"  for example:\n{steps}")
    assert not report, (
        f"{len(report)} import cycle(s) (function-local imports count):\n\n"
        + "\n\n".join(report)
    )


def _python_files():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        yield relative


def test_no_module_over_900_lines():
    too_long = []
    for relative in _python_files():
        with open(ROOT / relative, encoding="utf-8") as f:
            count = sum(1 for _ in f)
        if count > MAX_LINES:
            too_long.append(f"{relative}: {count} lines")
    assert not too_long, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(too_long)


def test_root_packages_are_the_installed_packages():
    """Every package pyproject.toml installs is checked by the import contracts."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    installed = {pattern.rstrip("*").rstrip(".") for pattern in include}
    assert set(_root_packages()) == installed


def test_kernel_contract_leaves_out_only_the_wiring():
    """The kernel contract covers all of orderflow/; only the wiring's imports are ignored."""
    contract = _contract("kernel")
    assert contract["source_modules"] == ["orderflow"]
    importers = {expression.split("->")[0].strip() for expression in contract["ignore_imports"]}
    allowed = {f"orderflow.{name}" for name in WIRING} | {f"orderflow.{name}.**" for name in WIRING}
    assert sorted(importers - allowed) == [], "only project wiring may be left out of the kernel"


def _matching(graph, expressions) -> set[str]:
    modules = set()
    for expression in expressions:
        modules |= (set(graph.find_matching_modules(expression)) if "*" in expression
                    else {expression})
    return modules


def test_domain_contract_lists_every_domain_module(graph):
    apps = [p for p in _root_packages() if p not in {"orderflow", "bridges"}]
    domain = {f"{app}.{name}" for app in apps for name in _children(graph, app) - NON_DOMAIN}
    listed = _matching(graph, _contract("domain")["source_modules"])
    assert sorted(domain - listed) == [], "add these domain modules to the 'domain' contract"


def test_api_independence_contract_lists_every_app_api(graph):
    """Every ``api`` package but the kernel's base classes is one of the independent APIs."""
    members = _matching(graph, _contract("api-independence")["modules"])
    apis = {m for m in graph.modules if m.rsplit(".", 1)[-1] == "api" and m != "orderflow.api"}
    assert sorted(apis - members) == [], "add these to the 'api-independence' contract"
