"""No import cycles among gaitgen's own modules, function-local imports included.

A cycle means two modules cannot be read (or imported) without each other; it grows until
nothing can be changed alone. The graph is built from the source with :mod:`ast`, so an
import inside a function counts as much as one at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"gaitgen": ROOT / "gaitgen", "gaitgen.runtime": ROOT / "runtime"}


def module_files() -> dict[str, Path]:
    """Every module of gaitgen and gaitgen.runtime, by dotted name."""
    found = {}
    for package, folder in PACKAGES.items():
        for file in folder.rglob("*.py"):
            parts = list(file.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = file
    return found


def imported_modules(name: str, file: Path, known: dict[str, Path]) -> set[str]:
    """The known modules that ``name`` (defined in ``file``) imports anywhere in its body."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def nearest(dotted: str) -> str:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted

    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(nearest(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                # "from pkg import mod" imports the module pkg.mod; "from mod import name", mod
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else nearest(base))
    targets.discard("")
    targets.discard(name)
    return targets


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected sets of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    return {name: imported_modules(name, file, known) for name, file in known.items()}


def test_the_cycle_finder_finds_a_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_function_local_imports_are_edges_of_the_graph() -> None:
    graph = import_graph()
    # gaitgen.runtime.model builds backbones through the component table inside a method
    assert "gaitgen.runtime.components" in graph["gaitgen.runtime.model"]
    assert "gaitgen.runtime.config.schema" in graph["gaitgen.runtime.components.lookup"]


def test_no_module_of_gaitgen_or_its_runtime_is_in_an_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(sorted(c)) for c in found)
