"""The import graph of the project's own modules, read from their source, for the architecture tests.

Every import counts, at module level or inside a function: an import cycle held together by
function-level imports is still a cycle, only one that fails at run time instead of at start-up.
"""

import ast
from collections.abc import Iterable
from pathlib import Path


def modules_under(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name to file, for every module of the packages (migrations left out)."""
    found: dict[str, Path] = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            if "migrations" in file.parts:
                continue
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = file
    return found


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module `name` is, or the nearest enclosing one (`trading.models.Order` is trading.models)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """Module to the project modules it imports."""
    modules = modules_under(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, file in modules.items():
        package = name if file.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_known(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in modules else _known(base, modules))
            graph[name].update(target for target in targets if target and target != name)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each set of modules that import each other, directly or round a loop (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a long chain of imports cannot exhaust the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        cycles.append(sorted(members))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(cycles)


def _layer_of(module: str, layers: list[list[str]]) -> int | None:
    for position, layer in enumerate(layers):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in layer):
            return position
    return None


def layer_breaches(graph: dict[str, set[str]], layers: list[list[str]]) -> list[str]:
    """Imports that point up: `layers` runs from the top (entry points) down, and a module may import
    its own layer and the layers below it. Modules in no layer are not checked."""
    breaches = []
    for module, imported in sorted(graph.items()):
        own = _layer_of(module, layers)
        if own is None:
            continue
        for target in sorted(imported):
            theirs = _layer_of(target, layers)
            if theirs is not None and theirs < own:
                breaches.append(f"{module} imports {target}, a layer above it")
    return breaches


def forbidden_imports(graph: dict[str, set[str]], importer: str, imported: str) -> list[str]:
    """Imports from modules under `importer` of modules under `imported`."""

    def under(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if under(module, importer)
        for target in sorted(targets)
        if under(target, imported)
    ]
