"""Every fix the local cloud makes to moto names the moto behaviour it relies on; these tests fail
when that moto code changes, naming the fix to review.

The records are :class:`tapcase.localcloud.patching.Patch` objects, one per replacement, made by
the Step Functions fixes (``tapcase/localcloud/sfn/``), the Athena package
(``tapcase/localcloud/athena/``) and the EC2 traffic-mirroring package
(``tapcase/localcloud/mirroring/``). The AWS behaviour each fix reproduces is tested through the
service itself: ``test_sfn.py``, ``test_sfn_failures.py``, ``test_athena.py``,
``test_ec2_mirroring*.py`` and ``test_mirroring_table.py``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from tapcase.localcloud import athena, mirroring, patches, patching, sfn
from tapcase.localcloud.mirroring import moto_fixes

patches.apply_all()

PATCHES = list(patching.INSTALLED.values())
#: The packages that patch moto only through Patch records.
PATCH_PACKAGES = {
    "tapcase.localcloud.sfn": sfn,
    "tapcase.localcloud.athena": athena,
    "tapcase.localcloud.mirroring": mirroring,
}


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


@pytest.mark.parametrize("package", sorted(PATCH_PACKAGES))
def test_every_record_of_a_package_is_installed(package: str) -> None:
    records = patching.records_of(package)
    assert records, f"{package} defines no Patch record"
    for record in records:
        assert patching.INSTALLED.get(record.target) is record, f"{record.target} is recorded but not installed"


def test_athena_checks_what_it_relies_on_before_patching() -> None:
    """The Athena package refuses to patch a moto whose code under its fixes changed."""
    assert {p.target for p in athena.PATCHES} == {p.target for p in patching.records_of("tapcase.localcloud.athena")}
    assert athena.check_moto_internals() == []
    record = athena.PATCHES[0]
    reference = next(iter(record.watch))
    stale = patching.Patch(record.target, record.fixes, record.relies_on, {**record.watch, reference: "0" * 12})
    assert patching.stale_watches(stale) == {reference: ("0" * 12, record.watch[reference])}


def test_mirroring_checks_what_it_relies_on_before_patching() -> None:
    """The traffic-mirroring package refuses to patch a moto whose code under its fixes changed."""
    recorded = {p.target for p in patching.records_of("tapcase.localcloud.mirroring")}
    assert {p.target for p in moto_fixes.PATCHES} == recorded
    assert moto_fixes.check_moto_compatibility() == []
    assert moto_fixes.is_applied()


def test_an_addition_is_refused_once_moto_has_it() -> None:
    """A record with ``adds=True`` is for what moto lacks: installing it where moto has the name fails."""
    from moto.ec2.responses.traffic_mirrors import TrafficMirrors

    addition = patching.Patch(
        target="moto.ec2.responses.traffic_mirrors:TrafficMirrors.error_on_dryrun",
        fixes="(test) an addition of something moto has",
        relies_on="(test)",
        watch={"moto.core.responses:BaseResponse.call_action": "0" * 12},
        adds=True,
    )
    before = TrafficMirrors.error_on_dryrun
    with pytest.raises(RuntimeError, match="moto now has"):
        patching.install(addition, lambda self: None)
    assert TrafficMirrors.error_on_dryrun is before
    assert addition.target not in patching.INSTALLED
    added = [p for p in moto_fixes.PATCHES if p.adds]
    assert added and all(patching.ORIGINALS[p.target] is None for p in added)


def _moto_names(tree: ast.AST) -> set[str]:
    """Names a module binds to moto modules or objects (``from moto… import X``, ``import moto…``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "moto")
    return names


@pytest.mark.parametrize("package", sorted(PATCH_PACKAGES))
def test_every_module_is_small_and_patches_only_through_records(package: str) -> None:
    directory = Path(PATCH_PACKAGES[package].__file__).parent
    for path in directory.glob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 300, f"{path.name} has {len(lines)} lines (split it by concern)"
        tree = ast.parse("\n".join(lines))
        moto_names = _moto_names(tree)
        for node in ast.walk(tree):
            # A moto attribute assigned directly (Class.attr = …, module.attr = …, setattr(moto_obj, …))
            # bypasses the patch records.
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                targets = [ast.Attribute(value=node.args[0], attr="?")] if node.args else []
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    owner = target.value.id
                    bypasses = owner in moto_names or not (owner[:1].islower() or owner == "cls")
                    where = f"{path.name}:{node.lineno}"
                    assert not bypasses, f"{where} assigns {owner}.{target.attr}; use patching.install"
