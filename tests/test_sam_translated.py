"""The SAM-translated template, as `sam deploy` hands it to CloudFormation (aws-sam-translator).

EventBridge's numeric matching takes JSON numbers only ("Value of >= must be numeric"): a severity
threshold that reached the deployed pattern as a string would make the rule invalid. The trigger
rule's pattern is JSON text in the template (``Fn::Sub``); here it is rendered from the translated
template for every value of the parameters that shape it, parsed, and its threshold checked to be
a JSON number, and the whole pattern checked against EventBridge's pattern rules. The scheduled
capture's input is rendered the same way and checked against the request schema.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tapcase.localcloud.cfn import Evaluator, load_template, resolve_parameters
from tapcase.localcloud.event_patterns import check_pattern
from tapcase_workflow.models.request import ManualRequest
from tests.conftest import REPO

ACCOUNT = "123456789012"


def translated() -> dict[str, Any]:
    """template.yaml through the SAM transform, after `sam package` put the code in S3."""
    template = copy.deepcopy(load_template(REPO / "template.yaml"))
    template["Globals"]["Function"]["CodeUri"] = "s3://artifacts/functions.zip"
    template["Resources"]["InvestigationStateMachine"]["Properties"]["DefinitionUri"] = "s3://artifacts/asl.json"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    return translator.translate(template, parameter_values={}, get_managed_policy_map=lambda: {})


TRANSLATED = translated()


def evaluator(parameters: dict[str, Any]) -> Evaluator:
    def no_resource(name: str, *_: Any) -> Any:
        raise AssertionError(f"the value depends on resource {name}")

    return Evaluator(
        pseudo={"AWS::AccountId": ACCOUNT, "AWS::Region": "us-east-1", "AWS::Partition": "aws",
                "AWS::StackName": "tapcase", "AWS::URLSuffix": "amazonaws.com"},
        parameters=resolve_parameters(TRANSLATED, {"SensorAmiId": "ami-0123456789abcdef0", **parameters}),
        conditions=TRANSLATED.get("Conditions", {}),
        ref=no_resource, get_att=no_resource, mappings=TRANSLATED["Mappings"],
    )


def rendered_pattern(parameters: dict[str, Any]) -> Any:
    rule = TRANSLATED["Resources"]["TriggerRule"]
    text = evaluator(parameters).evaluate(rule["Properties"]["EventPattern"])
    assert isinstance(text, str), "the deployed pattern is JSON text"
    return json.loads(text)


SEVERITIES = {"LOW": 1, "MEDIUM": 4, "HIGH": 7, "CRITICAL": 9}
INCLUDES = ["", "Backdoor:EC2/", "Backdoor:EC2/,CryptoCurrency:EC2/,Trojan:EC2/"]
EXCLUDES = ["", "Recon:EC2/"]


def test_the_trigger_rule_is_an_eventbridge_rule_with_a_text_pattern():
    rule = TRANSLATED["Resources"]["TriggerRule"]
    assert rule["Type"] == "AWS::Events::Rule"
    assert set(rule["Properties"]["EventPattern"]) == {"Fn::Sub"}


@pytest.mark.parametrize(("severity", "include", "exclude", "samples"),
                         list(itertools.product(SEVERITIES, INCLUDES, EXCLUDES, ["true", "false"])))
def test_the_deployed_severity_match_is_numeric(severity, include, exclude, samples):
    pattern = rendered_pattern({"MinFindingSeverity": severity, "FindingTypePrefixes": include,
                                "ExcludedFindingTypePrefix": exclude, "IgnoreSampleFindings": samples})
    check_pattern(pattern)  # EventBridge would take it
    ((operator, threshold),) = [tuple(m["numeric"]) for m in pattern["detail"]["severity"]]
    assert operator == ">="
    assert type(threshold) is int and threshold == SEVERITIES[severity]  # a JSON number, never "7"
    detail = pattern["detail"]
    assert detail["accountId"] == [ACCOUNT] and detail["resource"] == {"resourceType": ["Instance"]}
    included = [{"prefix": p} for p in include.split(",") if p]
    excluded = [{"anything-but": {"prefix": exclude}}] if exclude else None
    if included and excluded:
        assert detail["type"] == excluded and detail["$or"] == [{"type": included}, {"type": included}]
    else:
        assert detail.get("type") == (included or excluded) and "$or" not in detail
    sample = {"additionalInfo": {"sample": [False, {"exists": False}]}}
    assert detail.get("service") == (sample if samples == "true" else None)


def test_a_threshold_from_a_parameter_would_be_text():
    # why the pattern is text: a Number parameter referenced in a pattern object reaches it as a
    # string (CloudFormation passes parameter values as strings), which EventBridge refuses
    from tapcase.localcloud.event_patterns import PatternError

    value = evaluator({}).evaluate({"Ref": "MirrorPacketLength"})  # a Number parameter
    assert value == "8500"
    with pytest.raises(PatternError, match="Value of >= must be numeric"):
        check_pattern({"detail": {"severity": [{"numeric": [">=", value]}]}})


def test_the_scheduled_capture_sends_a_valid_request():
    schedule = TRANSLATED["Resources"]["CaptureSchedule"]
    assert schedule["Condition"] == "HasSchedule"
    parameters = {"ScheduleExpression": "rate(1 day)", "ScheduleTagKey": "team", "ScheduleTagValue": "payments",
                  "ScheduleDurationSeconds": "900"}
    ev = evaluator(parameters)
    assert ev.condition("HasSchedule")
    text = ev.evaluate(schedule["Properties"]["Target"]["Input"])
    for attribute, value in {"schedule-arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/tapcase/tapcase-capture",
                             "scheduled-time": "2024-06-03T14:00:00Z"}.items():
        text = text.replace(f"<aws.scheduler.{attribute}>", value)
    request = ManualRequest.model_validate(json.loads(text))
    assert request.tags == {"team": "payments"} and request.duration_seconds == 900
    assert request.trigger == "scheduled" and request.requested_by.startswith("arn:aws:scheduler:")
    assert not evaluator({}).condition("HasSchedule")  # no schedule by default


def test_a_schedule_without_a_tag_is_refused_before_deploying():
    from tapcase.localcloud.cfn import TemplateError, check_rules

    with pytest.raises(TemplateError, match="ScheduleTagKey"):
        check_rules(TRANSLATED, evaluator({"ScheduleExpression": "rate(1 day)"}))
    check_rules(TRANSLATED, evaluator({"ScheduleExpression": "rate(1 day)", "ScheduleTagKey": "team"}))


@pytest.mark.parametrize("members", ["", "222222222222", "222222222222,333333333333"])
def test_both_entry_rules_match_the_stacks_account_and_its_member_accounts(members):
    """A GuardDuty delegated administrator's (or Security Hub aggregation account's) members'
    findings name the member (detail.accountId, AwsAccountId): both rules match them too."""
    accounts = [ACCOUNT, *[m for m in members.split(",") if m]]
    parameters = {"MemberAccounts": members, "SecurityHubEntry": "true"}
    assert rendered_pattern(parameters)["detail"]["accountId"] == accounts
    rule = TRANSLATED["Resources"]["SecurityHubRule"]
    pattern = json.loads(evaluator(parameters).evaluate(rule["Properties"]["EventPattern"]))
    check_pattern(pattern)
    assert pattern["detail"]["findings"]["AwsAccountId"] == accounts


@pytest.mark.parametrize("severity", list(SEVERITIES))
def test_the_security_hub_rule_takes_the_same_threshold_on_labels(severity):
    rule = TRANSLATED["Resources"]["SecurityHubRule"]
    assert rule["Condition"] == "SecurityHubEntryOn"
    pattern = json.loads(evaluator({"MinFindingSeverity": severity}).evaluate(rule["Properties"]["EventPattern"]))
    check_pattern(pattern)
    assert (pattern["source"], pattern["detail-type"]) == (["aws.securityhub"], ["Security Hub Findings - Imported"])
    findings = pattern["detail"]["findings"]
    labels = [label for label, value in SEVERITIES.items() if value >= SEVERITIES[severity]]
    assert findings["FindingProviderFields"] == {"Severity": {"Label": labels}}
    assert findings["ProductArn"] == ["arn:aws:securityhub:us-east-1::product/aws/guardduty"]
    assert findings["Resources"] == {"Type": ["AwsEc2Instance"]} and findings["RecordState"] == ["ACTIVE"]
    assert findings["Workflow"] == {"Status": ["NEW", "NOTIFIED"]}
