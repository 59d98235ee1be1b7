"""The janitor's decisions (tapcase_workflow.logic.janitor) and what an execution recorded
(tapcase_workflow.logic.recorded): pure, events and listings in."""

from __future__ import annotations

import json

from tapcase_contract import tags
from tapcase_workflow.logic.janitor import Live, Lock, Tagged, group, orphans, stale_locks
from tapcase_workflow.logic.recorded import recorded

RUN = "0a1b2c3d"
ARN = "arn:aws:states:us-east-1:123456789012:execution:tapcase-InvestigationStateMachine:"


def tagged(kind, rid, inv="inv-one", run=RUN, started=1_000, **extra):
    values = {tags.INVESTIGATION_ID: inv, tags.STARTED_AT: str(started), **extra}
    if run is not None:
        values[tags.RUN] = run
    return Tagged(kind, rid, values)


def test_resources_group_by_investigation_and_run_and_crafted_tags_are_set_apart():
    groups, invalid = group([
        tagged("security_groups", "sg-0123456789abcdef0"),
        tagged("sensor_instances", "i-0123456789abcdef0", **{tags.INSTANCE_ID: "i-0fedcba9876543210"}),
        tagged("mirror_filters", "tmf-0123456789abcdef0", run="ffffffff"),
        tagged("security_groups", "sg-0123456789abcdef1", inv="x'; DROP TABLE locks;--"),
        tagged("security_groups", "sg-0123456789abcdef2", run="not-a-run"),
        tagged("mirror_targets", "i-0123456789abcdef0"),  # not an id of that kind
    ])
    assert [(g.key, g.ids, g.instance_id) for g in groups] == [
        (f"inv-one/{RUN}", {"sensor_instances": ["i-0123456789abcdef0"], "security_groups": ["sg-0123456789abcdef0"]},
         "i-0fedcba9876543210"),
        ("inv-one/ffffffff", {"mirror_filters": ["tmf-0123456789abcdef0"]}, None),
    ]
    assert len(invalid) == 3 and any("DROP TABLE" in note for note in invalid)


def test_orphans_are_runs_nobody_runs_or_past_their_deadline():
    groups, _ = group([tagged("security_groups", "sg-0123456789abcdef0"),
                       tagged("security_groups", "sg-0123456789abcdef1", inv="inv-two"),
                       tagged("security_groups", "sg-0123456789abcdef2", inv="inv-three"),
                       tagged("security_groups", "sg-0123456789abcdef3", inv="inv-young", started=9_990)])
    live = [Live(ARN + "a", "inv-one", RUN, deadline=20_000),  # running, in time: kept
            Live(ARN + "b", "inv-two", RUN, deadline=5_000)]  # running past its deadline: removed
    decided = {g.investigation_id: reason for g, reason in orphans(groups, live, now=10_000, older_than=60)}
    assert decided == {"inv-two": f"past its deadline ({ARN}b)", "inv-three": "no running execution"}


def test_stale_locks_are_expired_or_not_held_by_a_running_execution():
    live = [Live(ARN + "a", "inv-one", RUN, deadline=20_000)]
    locks = [Lock("i-1", "inv-one", ARN + "a", 30_000),  # held, running: kept
             Lock("i-2", "inv-one", ARN + "a", 9_000),  # expired (TTL deletes eventually)
             Lock("i-3", "inv-two", ARN + "gone", 30_000),  # its execution is not running
             Lock("i-4", None, None, None)]  # malformed: nobody holds it
    assert [lock.key for lock in stale_locks(locks, live, now=10_000)] == ["i-2", "i-3", "i-4"]


def _succeeded(resource, output, resource_type="aws-sdk:ec2"):
    return {"type": "TaskSucceeded", "taskSucceededEventDetails": {
        "resourceType": resource_type, "resource": resource, "output": json.dumps(output)}}


def test_recorded_ids_come_from_the_raw_answers_and_crafted_ones_are_rejected():
    events = [
        _succeeded("createSecurityGroup", {"GroupId": "sg-0123456789abcdef0"}),
        _succeeded("runInstances", {"Instances": [{"InstanceId": "i-0123456789abcdef0"}]}),
        _succeeded("createTrafficMirrorTarget", {"TrafficMirrorTarget": {"TrafficMirrorTargetId": "tmt-0123456789abcdef0"}}),
        _succeeded("createTrafficMirrorSession", {"TrafficMirrorSession": {"TrafficMirrorSessionId": "tms-01234567"}}),
        _succeeded("createQueue", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/tapcase-inv-one-control"},
                   "aws-sdk:sqs"),
        _succeeded("createTrafficMirrorSession", {"TrafficMirrorSession": {"TrafficMirrorSessionId": "tms-1; rm -rf"}}),
        _succeeded("createQueue", {"QueueUrl": "https://evil.example/123456789012/other queue"}, "aws-sdk:sqs"),
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "X"}},
        _succeeded("createSecurityGroup", "not json at all"),
    ]
    events[-1]["taskSucceededEventDetails"]["output"] = "{not json"
    found = recorded(events)
    assert found.ids == {
        "security_groups": ["sg-0123456789abcdef0"], "sensor_instances": ["i-0123456789abcdef0"],
        "mirror_targets": ["tmt-0123456789abcdef0"], "mirror_sessions": ["tms-01234567"],
        "control_queues": ["https://sqs.us-east-1.amazonaws.com/123456789012/tapcase-inv-one-control"]}
    assert len(found.rejected) == 2 and found.plan is None
