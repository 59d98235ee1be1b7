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


def test_every_custom_resource_outlives_the_triggers_of_its_function():
    """A custom resource whose Delete cleans up after its function (``CoverageLifecycle`` removes
    every coverage session) must be deleted after every rule or schedule that invokes that function.
    CloudFormation's "DependsOn attribute" page: if A depends on B, "Resource A is deleted before
    resource B": so each trigger depends on it, and nothing re-creates coverage after its Delete."""
    customs = {k: v for k, v in RESOURCES.items() if v["Type"].startswith("Custom::")}
    assert customs, "no custom resource in the template"
    for logical_id, resource in customs.items():
        function = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        triggers = [k for k, r in RESOURCES.items() if r["Type"] == "AWS::Events::Rule"
                    and any(t["Arn"] == {"Fn::GetAtt": [function, "Arn"]} for t in r["Properties"]["Targets"])]
        assert triggers, f"{function} has no trigger"
        for trigger in triggers:
            depends = RESOURCES[trigger].get("DependsOn", [])
            assert logical_id in ([depends] if isinstance(depends, str) else depends), \
                f"{trigger} invokes {function} but does not depend on {logical_id}"
