"""Static coherence of template.yaml, the ASL files and the function code (no cloud needed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tapcase.localcloud.cfn import load_template
from tapcase.localcloud.lambda_runtime import resolve_handler
from tapcase_workflow import errors
from tests.conftest import REPO

TEMPLATE = load_template(REPO / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
STATE_MACHINES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::StateMachine"}
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}


def _states(definition: dict) -> dict:
    """All states, including those nested in Parallel branches and Map iterators."""
    found = {}
    for name, state in definition.get("States", {}).items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_states(branch))
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                found.update(_states(state[key]))
    return found


def test_cfn_lint_passes():
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(REPO / "template.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_substitutions_match_placeholders(logical_id):
    props = STATE_MACHINES[logical_id]["Properties"]
    text = (REPO / props["DefinitionUri"]).read_text()
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    assert placeholders == set(props.get("DefinitionSubstitutions", {}))


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_custom_error_names_are_raised_by_the_code(logical_id):
    definition = json.loads((REPO / STATE_MACHINES[logical_id]["Properties"]["DefinitionUri"]).read_text())
    names = set()
    for state in _states(definition).values():
        for block in state.get("Retry", []) + state.get("Catch", []):
            names.update(block["ErrorEquals"])
    custom = {n for n in names if "." not in n}
    known = {name for name in dir(errors) if isinstance(getattr(errors, name), type)
             and issubclass(getattr(errors, name), Exception)}
    assert custom <= known, f"ErrorEquals names with no exception class: {custom - known}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handlers_import(logical_id):
    handler = FUNCTIONS[logical_id]["Properties"]["Handler"]
    assert callable(resolve_handler(handler))


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_one_name_per_task(logical_id):
    # PlanFunction <-> tapcase_workflow/handlers/plan.py <-> ${PlanFunctionArn} <-> state "Plan"
    handler = FUNCTIONS[logical_id]["Properties"]["Handler"]
    task = logical_id.removesuffix("Function")
    module = handler.split(".")[-2]
    assert module == re.sub(r"(?<!^)(?=[A-Z])", "_", task).lower()
    used = False
    for sm in STATE_MACHINES.values():
        subs = sm["Properties"].get("DefinitionSubstitutions", {})
        if f"{logical_id}Arn" in subs:
            definition = json.loads((REPO / sm["Properties"]["DefinitionUri"]).read_text())
            assert task in _states(definition), f"no state named {task} for {logical_id}"
            used = True
    # or the target of an EventBridge rule (the janitor: an execution's status change, a schedule)
    rules = [r for r in RESOURCES.values() if r["Type"] == "AWS::Events::Rule"]
    used = used or any(t["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]} for r in rules for t in r["Properties"]["Targets"])
    assert used, f"{logical_id} is not used by any state machine or rule"


def _depends_on(logical_id: str) -> set[str]:
    depends = RESOURCES[logical_id].get("DependsOn", [])
    return set([depends] if isinstance(depends, str) else depends)


def test_every_lifecycle_resource_outlives_what_could_start_work_after_its_delete():
    """A custom resource whose Delete cleans up (``CoverageLifecycle``: every coverage session;
    ``JanitorLifecycle``: every running investigation) must be deleted after every rule, schedule
    and schedule group that invokes its function or starts the state machine it names.
    CloudFormation's "DependsOn attribute" page: if A depends on B, "Resource A is deleted before
    resource B": so each of those depends on it, and nothing starts again after its Delete."""
    customs = {k: v for k, v in RESOURCES.items() if v["Type"].startswith("Custom::")}
    assert set(customs) == {"CoverageLifecycle", "JanitorLifecycle"}
    for logical_id, resource in customs.items():
        names = {v for v in json.dumps(resource["Properties"]).replace('"', " ").split() if v in RESOURCES}
        workers = {n for n in names if RESOURCES[n]["Type"] in {"AWS::Serverless::Function",
                                                               "AWS::Serverless::StateMachine"}}
        triggers: set[str] = set()
        for k, r in RESOURCES.items():
            if r["Type"] not in {"AWS::Events::Rule", "AWS::Scheduler::Schedule"}:
                continue
            targets = r["Properties"].get("Targets") or [r["Properties"].get("Target")]
            if {json.dumps(t["Arn"]).split('"')[3] for t in targets} & workers:
                triggers.add(k)
                group = r["Properties"].get("GroupName")
                if isinstance(group, dict) and "Ref" in group:
                    triggers.add(group["Ref"])
        assert triggers, f"nothing triggers {workers}"
        missing = {t for t in triggers if logical_id not in _depends_on(t)}
        assert not missing, f"{sorted(missing)} start work for {logical_id} but do not depend on it"
    # the janitor tears down in this account through the member role: it must still exist then
    assert "AccountAccessRole" in _depends_on("JanitorLifecycle")
