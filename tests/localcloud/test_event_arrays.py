"""EventBridge matches fields of objects inside arrays: Security Hub's rules filter the ASFF
attributes of ``detail.findings`` (a list) with ``"detail": {"findings": {...}}`` (Security Hub
user guide, "Configuring an EventBridge rule for Security Hub CSPM findings"); each field is matched
against the values of every element. moto stops at the array; the local cloud does not."""

from __future__ import annotations

import json

from tapcase.localcloud import events


def _matches(pattern: dict, event: dict) -> bool:
    from moto.events.models import EventPattern

    events.apply()
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


EVENT = {"source": "aws.securityhub", "detail-type": "Security Hub Findings - Imported", "detail": {"findings": [
    {"AwsAccountId": "222222222222", "RecordState": "ACTIVE",
     "Resources": [{"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:us-east-1:222222222222:instance/i-1"}],
     "FindingProviderFields": {"Severity": {"Label": "HIGH"}}}]}}


def test_a_pattern_matches_fields_of_objects_in_arrays():
    pattern = {"source": ["aws.securityhub"], "detail": {"findings": {
        "AwsAccountId": ["222222222222"], "Resources": {"Type": ["AwsEc2Instance"]},
        "FindingProviderFields": {"Severity": {"Label": ["HIGH", "CRITICAL"]}}}}}
    assert _matches(pattern, EVENT)


def test_a_field_of_objects_in_arrays_that_differs_does_not_match():
    assert not _matches({"detail": {"findings": {"Resources": {"Type": ["AwsIamAccessKey"]}}}}, EVENT)
    assert not _matches({"detail": {"findings": {"FindingProviderFields": {"Severity": {"Label": ["CRITICAL"]}}}}},
                        EVENT)
    assert _matches({"detail": {"findings": {"RecordState": [{"anything-but": "ARCHIVED"}]}}}, EVENT)


def test_scalars_and_arrays_of_scalars_match_as_before():
    event = {"source": "aws.ec2", "resources": ["arn:a", "arn:b"], "detail": {"state": "running"}}
    assert _matches({"resources": ["arn:b"], "detail": {"state": ["running"]}}, event)
    assert not _matches({"detail": {"state": ["stopped"]}}, event)
