"""The edges between the state machine, the functions, the sensor and the template, checked offline.

* every field a Lambda state's ``Payload`` passes is a field of that handler's input model (and
  every field the model needs is passed); the fragments the payload takes from earlier states
  (``$.sensor``, ``$.mirror_sessions``, ...) have the shape their ``ResultSelector`` builds; every
  ``$.Payload.x`` a state selects is a field of the handler's output model;
* every environment variable the template gives a function is a field of its settings model;
* the control messages the ASL sends are :class:`tapcase_contract.control.ControlMessage` bodies
  whose action is the sending state's name;
* the prefixes and tag keys the template names (lifecycle rules, IAM) are the contract's.
"""

from __future__ import annotations

import importlib
import json
import typing
from fnmatch import fnmatch
from typing import Any

import pytest
from pydantic import BaseModel

from tapcase.localcloud.cfn import load_template
from tapcase_contract import layout, tags
from tapcase_contract.control import ACTIONS, ControlMessage
from tapcase_workflow.logic.plan import StackSettings, make_plan
from tapcase_workflow.logic.request import normalise
from tapcase_workflow.models.plan import InvestigationPlan
from tapcase_workflow.settings import RUNTIME_VARIABLES
from tests.conftest import REPO
from tests.test_template import FUNCTIONS, STATE_MACHINES, _states

TEMPLATE = load_template(REPO / "template.yaml")
DEFINITION = json.loads((REPO / STATE_MACHINES["InvestigationStateMachine"]["Properties"]["DefinitionUri"]).read_text())
STATES = _states(DEFINITION)


def _handler_module(logical_id: str) -> Any:
    module, _, _ = FUNCTIONS[logical_id]["Properties"]["Handler"].rpartition(".")
    return importlib.import_module(module)


def _lambda_states() -> dict[str, str]:
    """State name -> logical id of the function it invokes."""
    out = {}
    for name, state in STATES.items():
        if state.get("Resource") in ("arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken"):
            placeholder = state["Parameters"]["FunctionName"]
            out[name] = placeholder.removeprefix("${").removesuffix("Arn}")
    return out


LAMBDA_STATES = _lambda_states()


def _keys(block: dict[str, Any]) -> set[str]:
    return {k.removesuffix(".$") for k in block}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (itself, an item of a list, or the non-None member)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        model = _model_of(arg)
        if model is not None:
            return model
    return None


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model a field may hold (the members of a union, e.g. a sensor of its own or the fleet)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_of(arg)]


def _producers(path: str) -> list[tuple[str, dict[str, Any]]]:
    """The states that write ``path`` (their ResultPath)."""
    return [(n, s) for n, s in STATES.items() if s.get("ResultPath") == path]


def _built_keys(state: dict[str, Any]) -> list[set[str]]:
    """The object(s) a state puts at its ResultPath, as key sets (None: not built by the ASL)."""
    if "ResultSelector" in state:
        return [_keys(state["ResultSelector"])]
    if state["Type"] == "Pass":
        return [_keys(state.get("Parameters") or state.get("Result") or {})]
    if state["Type"] == "Map":  # each item: what the item processor's end states build
        ends = [s for s in state["ItemProcessor"]["States"].values() if s.get("End")]
        return [keys for end in ends for keys in _built_keys(end)]
    return []


def _rule_targets() -> set[str]:
    """Functions an EventBridge rule invokes (the janitor)."""
    return {t["Arn"]["Fn::GetAtt"][0] for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Events::Rule"
            for t in r["Properties"]["Targets"] if isinstance(t["Arn"], dict) and "Fn::GetAtt" in t["Arn"]}


def test_every_function_is_invoked_by_a_state_and_declares_its_models():
    assert sorted(set(LAMBDA_STATES.values()) | (_rule_targets() & set(FUNCTIONS))) == sorted(FUNCTIONS)
    for logical_id in FUNCTIONS:
        module = _handler_module(logical_id)
        assert issubclass(module.EVENT_MODEL, BaseModel) and issubclass(module.RESULT_MODEL, BaseModel)
        assert issubclass(module.SETTINGS_MODEL, BaseModel)


@pytest.mark.parametrize("state_name", sorted(LAMBDA_STATES))
def test_payload_fields_are_the_input_models_fields(state_name):
    model = _handler_module(LAMBDA_STATES[state_name]).EVENT_MODEL
    passed = _keys(STATES[state_name]["Parameters"]["Payload"])
    assert passed <= set(model.model_fields), f"{state_name} passes fields {model.__name__} does not have"
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    assert required <= passed, f"{state_name} does not pass {required - passed}"


@pytest.mark.parametrize("state_name", sorted(LAMBDA_STATES))
def test_payload_fragments_have_the_shape_their_producers_build(state_name):
    model = _handler_module(LAMBDA_STATES[state_name]).EVENT_MODEL
    for key, path in STATES[state_name]["Parameters"]["Payload"].items():
        field = model.model_fields[key.removesuffix(".$")]
        if not key.endswith(".$") or not path.startswith("$."):
            continue
        top, _, rest = path[2:].partition(".")
        if top == "plan":  # Plan's output, the InvestigationPlan
            target = InvestigationPlan
            for part in filter(None, rest.split(".")):
                assert part in target.model_fields, f"{path}: no field {part!r} in {target.__name__}"
                target = _model_of(target.model_fields[part].annotation) or target
            continue
        nested = _model_of(field.annotation)
        producers = _producers(f"$.{top}")
        assert producers, f"{state_name}: nothing writes $.{top}"
        for producer, state in producers:
            for keys in _built_keys(state):
                if rest:  # a value inside the fragment
                    assert rest.split(".")[0] in keys, f"{state_name} reads {path}, {producer} does not build it"
                    continue
                assert nested is not None, f"$.{top} is built by {producer} but {key} is not a model"
                # the fragment is one of the models the field may hold, all its required fields built
                fits = [m for m in _models_of(field.annotation) if keys <= set(m.model_fields)
                        and {n for n, f in m.model_fields.items() if f.is_required()} <= keys]
                assert fits, (f"{producer} builds {sorted(keys)}, which is none of "
                              f"{[m.__name__ for m in _models_of(field.annotation)]}")


@pytest.mark.parametrize("state_name", sorted(LAMBDA_STATES))
def test_selected_results_are_output_model_fields(state_name):
    result_model = _handler_module(LAMBDA_STATES[state_name]).RESULT_MODEL
    for path in (STATES[state_name].get("ResultSelector") or {}).values():
        field = path.removeprefix("$.Payload").lstrip(".")
        assert not field or field in result_model.model_fields, f"{state_name} selects {path}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_environment_is_the_settings_model(logical_id):
    props = FUNCTIONS[logical_id]["Properties"]
    variables = {**TEMPLATE["Globals"]["Function"]["Environment"]["Variables"],
                 **props.get("Environment", {}).get("Variables", {})}
    ours = {k for k in variables if not k.startswith("POWERTOOLS_")}
    fields = {f.upper() for f in _handler_module(logical_id).SETTINGS_MODEL.model_fields} - RUNTIME_VARIABLES
    assert ours == fields, f"{logical_id}: set but not read {ours - fields}, read but not set {fields - ours}"


def test_control_messages_are_the_contracts():
    """Each control message's action is the name of the state that waits for its answer: sent by
    the state itself (``sqs:sendMessage.waitForTaskToken``) or by the function of the same name it
    invokes (``lambda:invoke.waitForTaskToken``: CollectEvidence, whose message carries upload
    credentials that must not appear in the execution's history)."""
    from tapcase_workflow.logic.collect import collect_message
    from tapcase_workflow.models.payloads import CollectEvidenceInput

    sent = {n: s for n, s in STATES.items() if s.get("Resource") == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"}
    handed = {n: s for n, s in STATES.items() if s.get("Resource") == "arn:aws:states:::lambda:invoke.waitForTaskToken"}
    assert sorted(sent) + sorted(handed) == ["WaitForSensor", "CollectEvidence"] and sorted(ACTIONS) == sorted(
        [*sent, *handed])
    fields = {f.name for f in ControlMessage.__dataclass_fields__.values()}
    for name, state in sent.items():
        body = state["Parameters"]["MessageBody"]
        assert body["action"] == name  # the action is the sending state's name
        assert _keys(body) <= fields
        assert {"action", "task_token", "investigation_id"} <= _keys(body)
    assert {n: LAMBDA_STATES[n] for n in handed} == {"CollectEvidence": "CollectEvidenceFunction"}
    assert "$$.Task.Token" in STATES["CollectEvidence"]["Parameters"]["Payload"].values()
    from datetime import UTC, datetime

    from tapcase_contract.upload_access import UploadCredentials

    creds = UploadCredentials("ASIAEXAMPLE", "secret", "token", datetime(2030, 1, 1, tzinfo=UTC))
    inp = CollectEvidenceInput(task_token="t", investigation_id="gd-0123456789abcdef",
                               queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/tapcase-x-control",
                               prefix=layout.evidence_prefix("gd-0123456789abcdef"), collect_timeout_seconds=60)
    body = collect_message(inp, "bucket", creds)
    assert body["action"] == "CollectEvidence" and set(body) <= fields
    assert ControlMessage.from_dict(body).upload_credentials == creds


def test_template_prefixes_and_tags_are_the_contracts():
    resources = TEMPLATE["Resources"]
    lifecycle = resources["EvidenceBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    rules = {r["Id"]: r["Prefix"] for r in lifecycle if "Prefix" in r}
    assert rules == {"athena-results": f"{layout.ATHENA_RESULTS_PREFIX}/", "evidence": f"{layout.EVIDENCE_ROOT}/",
                     "coverage": f"{layout.COVERAGE_PREFIX}/"}
    assert [r["Id"] for r in lifecycle if "Prefix" not in r] == ["incomplete-uploads"]  # the whole bucket
    output = resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]
    assert output["OutputLocation"]["Fn::Sub"].endswith(f"/{layout.ATHENA_RESULTS_PREFIX}/")
    # Plan reads an earlier manifest: the IAM resource covers the contract's manifest key
    plan_policy = resources["PlanFunction"]["Properties"]["Policies"][0]["Statement"]
    manifest_arn = next(s["Resource"]["Fn::Sub"] for s in plan_policy if s["Action"] == "s3:GetObject")
    example = layout.manifest_key(layout.evidence_prefix("gd-0123456789abcdef"))
    assert fnmatch(example, manifest_arn.removeprefix("${EvidenceBucket.Arn}/"))
    # Teardown and the janitor delete through the member role, which may only delete what carries
    # the investigation tag; their own roles hold no EC2 or SQS permission at all
    member = resources["AccountAccessRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    delete = next(s for s in member if s["Sid"] == "DeleteOnlyTaggedResources")
    assert delete["Condition"] == {"Null": {f"aws:ResourceTag/{tags.INVESTIGATION_ID}": "false"}}
    for function in ("TeardownFunction", "JanitorFunction"):
        statements = resources[function]["Properties"]["Policies"][0]["Statement"]
        assert not [a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
                    if a.startswith(("ec2:", "sqs:"))]
    # Coverage creates only with the coverage tag, and changes or deletes only what carries it
    statements = resources["CoverageFunction"]["Properties"]["Policies"][0]["Statement"]
    conditions = {s["Sid"]: s["Condition"] for s in statements if "Condition" in s}
    assert conditions["CreateTaggedFiltersAndSessions"] == {
        "StringEquals": {f"aws:RequestTag/{tags.COVERAGE}": tags.COVERAGE_ON}}
    assert conditions["MirrorWithTheTaggedFilter"] == {
        "StringEquals": {f"aws:ResourceTag/{tags.COVERAGE}": tags.COVERAGE_ON}}


def test_planned_names_fit_the_templates_iam_patterns():
    request = normalise({"instance_id": "i-0123456789abcdef0"}, execution_name="x" * 80)
    instance = {"InstanceId": "i-0123456789abcdef0", "InstanceType": "m5.large", "State": {"Name": "running"},
                "Placement": {"AvailabilityZone": "us-east-1a"}, "VpcId": "vpc-1",
                "NetworkInterfaces": [{"NetworkInterfaceId": "eni-a", "SubnetId": "subnet-1",
                                       "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.10"}]}]}
    plan = make_plan(request, instance, {}, set(), stack=StackSettings(bucket="evidence", region="us-east-1"),
                     now_epoch=1, run_name="x" * 80)
    queue_arn = TEMPLATE["Resources"]["TeardownFunction"]["Properties"]["Policies"][0]["Statement"][2]["Resource"]
    assert fnmatch(plan.control_queue_name, queue_arn["Fn::Sub"].rpartition(":")[2])
    assert len(plan.control_queue_name) <= 80  # SQS queue names
    assert {t["Key"] for t in plan.sensor_tags} >= {tags.INVESTIGATION_ID, tags.ROLE}
    assert plan.evidence_prefix == plan.sensor_config.prefix == layout.evidence_prefix(plan.investigation_id)
