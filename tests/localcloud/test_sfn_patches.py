"""Every Step Functions fix of the local cloud names the moto behaviour it relies on; these tests
fail when that moto code changes, naming the fix to review (``tapcase/localcloud/sfn/``).

The AWS behaviour each fix reproduces is tested through real state machines in
``test_sfn.py``; here each record of
:mod:`tapcase.localcloud.sfn.patching` is checked against the installed moto.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from tapcase.localcloud import patches, sfn
from tapcase.localcloud.sfn import patching

patches.apply_all()

SFN_DIR = Path(sfn.__file__).parent
PATCHES = list(patching.INSTALLED.values())


def _id(patch: patching.Patch) -> str:
    return patch.target.rsplit(".", 1)[-1].replace(":", "-") + "--" + patch.fixes[:60]


@pytest.mark.parametrize("patch", PATCHES, ids=_id)
def test_moto_code_each_fix_relies_on_is_the_one_it_was_written_for(patch: patching.Patch) -> None:
    """moto's source under each fix is unchanged (the pin of moto 5.2.5, per fix)."""
    assert patch.watch, f"{patch.target}: a fix must watch the moto code it relies on"
    changed = patching.stale_watches(patch)
    assert not changed, (
        f"moto changed under the fix {patch.target!r} ({patch.fixes}); it relies on: {patch.relies_on}. "
        f"Changed: {changed}. Review the fix, then update its fingerprints (patching.print_fingerprints())."
    )


@pytest.mark.parametrize("patch", PATCHES, ids=_id)
def test_each_fix_is_installed_where_moto_looks_it_up(patch: patching.Patch) -> None:
    owner = importlib.import_module(patch.module_name)
    *path, attr = patch.attr_path
    for part in path:
        owner = getattr(owner, part)
    found = inspect.getattr_static(owner, attr) if isinstance(owner, type) else getattr(owner, attr)
    assert found is patching.REPLACEMENTS[patch.target]
    assert patch.fixes and patch.relies_on


def test_every_sfn_module_is_small_and_patches_only_through_records() -> None:
    for path in SFN_DIR.glob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 300, f"{path.name} has {len(lines)} lines (split it by concern)"
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            # A moto attribute assigned directly (Class.attr = …) bypasses the patch records.
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                        assert target.value.id[:1].islower() or target.value.id == "cls", (
                            f"{path.name}:{node.lineno} assigns {target.value.id}.{target.attr}; use patching.install"
                        )


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` a file imports, at module level or inside functions
    (``from package import module`` depends on the module, not on the package's ``__init__``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {node.module})
    return found & known


def test_no_import_circle_goes_through_the_sfn_package() -> None:
    root = SFN_DIR.parent  # tapcase/localcloud
    modules = {f"tapcase.localcloud.{p.stem}": p for p in root.glob("*.py") if p.stem != "__init__"}
    modules.update({f"tapcase.localcloud.sfn.{p.stem}": p for p in SFN_DIR.glob("*.py") if p.stem != "__init__"})
    modules["tapcase.localcloud.sfn"] = SFN_DIR / "__init__.py"
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*trail, start]
                if nxt not in trail:
                    stack.append((nxt, [*trail, nxt]))
        return None

    for name in modules:
        if name.startswith("tapcase.localcloud.sfn"):
            assert cycle_from(name) is None, " -> ".join(cycle_from(name) or [])
