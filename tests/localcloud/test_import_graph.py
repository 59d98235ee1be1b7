"""No import circle in the local cloud (issue 9): every module of ``tapcase/localcloud``, packages
included, can be read after the modules it imports.

An import counts wherever it is written (module level, inside functions, under ``TYPE_CHECKING``);
``from package import module`` depends on that module, ``from package.module import name`` on
``package.module``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tapcase.localcloud

ROOT = Path(tapcase.localcloud.__file__).parent
#: Circles tolerated for now: none is left (the last, ``cloud`` <-> ``deploy``, ended when ``deploy``
#: named what it needs of a cloud as a Protocol); any circle fails.
KNOWN_CIRCLES: list[set[str]] = []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """The local-cloud modules ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            submodules = {f"{module}.{alias.name}" for alias in node.names} & MODULES.keys()
            found.update(submodules or {module})
    return (found & MODULES.keys()) - {name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_graph_sees_the_packages_and_their_imports() -> None:
    assert {"tapcase.localcloud.athena", "tapcase.localcloud.athena.api", "tapcase.localcloud.sfn"} <= GRAPH.keys()
    assert "tapcase.localcloud.athena" in GRAPH["tapcase.localcloud.patches"]
    assert "tapcase.localcloud.athena.engine" in GRAPH["tapcase.localcloud.athena.executions"]
    assert "tapcase.localcloud.moto_version" in GRAPH["tapcase.localcloud.athena"]


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_local_cloud() -> None:
    unexpected = [circle for circle in _circles(GRAPH) if circle not in KNOWN_CIRCLES]
    assert not unexpected, "import circles: " + "; ".join(" <-> ".join(sorted(c)) for c in unexpected)


def test_deploy_no_longer_imports_cloud() -> None:
    """The former circle ``cloud`` <-> ``deploy``: ``deploy`` types its cloud with a Protocol."""
    assert "tapcase.localcloud.deploy" in GRAPH["tapcase.localcloud.cloud"]
    assert "tapcase.localcloud.cloud" not in GRAPH["tapcase.localcloud.deploy"]


def test_athena_no_longer_imports_patches() -> None:
    """The former circle ``athena`` <-> ``patches``: the moto pin lives in ``moto_version``."""
    athena_modules = [name for name in GRAPH if name.startswith("tapcase.localcloud.athena")]
    assert all("tapcase.localcloud.patches" not in GRAPH[name] for name in athena_modules)
