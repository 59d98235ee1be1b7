"""Deleting the stack while investigations run (issue 11's "nothing is ever left running", issue 14's
"the same teardown guarantees"). Deleting a state machine only ends its executions at their next
state transition, with no Teardown (Step Functions API reference, DeleteStateMachine: "On the next
state transition, the state machine's executions are terminated"), and the janitor's rules go with
the stack. So ``JanitorLifecycle`` has CloudFormation ask the janitor, before the state machine and
functions are deleted and after every rule and schedule that could start an investigation is,
to stop every running investigation and tear down everything it made (CloudFormation user guide,
"Custom resources"; "DependsOn attribute": "Resource A is deleted before resource B")."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud import LocalCloud, undeploy
from tapcase.localcloud.custom_resources import send_request
from tapcase.localcloud.undeploy import StackDeletionFailed
from tapcase_contract.tags import INVESTIGATION_ID as TAG_KEY
from tapcase_contract.tags import ROLE
from tests.e2e.conftest import TIME_SCALE, investigation_leftovers, make_instance
from tests.e2e.test_fault_table import _entered


@pytest.fixture
def cloud():
    with LocalCloud(time_scale=TIME_SCALE) as local:
        yield local


def tapcase_made(cloud: LocalCloud) -> dict[str, list[str]]:
    """Everything carrying an investigation tag that still exists (sensors: not terminated)."""
    ec2, tagged = cloud.client("ec2"), [{"Name": "tag-key", "Values": [TAG_KEY]}]
    sensors = [i["InstanceId"] for r in ec2.describe_instances(
        Filters=[*tagged, {"Name": f"tag:{ROLE}", "Values": ["sensor"]}])["Reservations"] for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")]
    sqs = cloud.client("sqs")
    return {
        "sessions": [s["TrafficMirrorSessionId"] for s in
                     ec2.describe_traffic_mirror_sessions(Filters=tagged)["TrafficMirrorSessions"]],
        "targets": [t["TrafficMirrorTargetId"] for t in
                    ec2.describe_traffic_mirror_targets(Filters=tagged)["TrafficMirrorTargets"]],
        "filters": [f["TrafficMirrorFilterId"] for f in
                    ec2.describe_traffic_mirror_filters(Filters=tagged)["TrafficMirrorFilters"]],
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]],
        "sensors": sensors,
        "queues": sqs.list_queues(QueueNamePrefix="tapcase-").get("QueueUrls", []),
    }


def test_deleting_the_stack_stops_running_investigations_and_leaves_nothing(cloud, monkeypatch):
    # Given an investigation that is capturing (its sensor, target, filter, session and queue exist)
    suspect = make_instance(cloud, cidr="10.61")["instance_id"]
    sfn, machine = cloud.client("stepfunctions"), cloud.resource("InvestigationStateMachine")
    arn = sfn.start_execution(stateMachineArn=machine, name="deleted-mid-capture", input=json.dumps(
        {"instance_id": suspect, "duration_seconds": 3600, "reason": "stack deletion test"}))["executionArn"]
    _entered(sfn, arn, "Capture")
    made = investigation_leftovers(cloud, "deleted-mid-capture", suspect)
    assert made["mirror_sessions"] and made["sensor_instances"] and made["control_queues"], made
    # When the stack is deleted (what CloudFormation hears from each lifecycle resource is kept, and
    # the execution looked at right after the janitor answered: the state machine still exists then)
    answers, seen = {}, {}

    def heard(*args, **kwargs):
        answer = send_request(*args, **kwargs)
        answers[kwargs["logical_id"]] = answer
        if kwargs["logical_id"] == "JanitorLifecycle":
            seen.update(sfn.describe_execution(executionArn=arn))
        return answer

    monkeypatch.setattr(undeploy, "send_request", heard)
    cloud.delete_stack()
    # Then the janitor stopped the investigation, with the reason, and tore it down before the
    # state machine went; coverage (off here) answered its Delete too
    assert answers["JanitorLifecycle"]["Data"] == {"Stopped": "1", "TornDown": "1"}, answers
    assert seen["status"] == "ABORTED" and seen["error"] == "tapcase.StackDeleted", seen
    assert answers["CoverageLifecycle"]["Status"] == "SUCCESS"
    # and nothing it made is left: no session, target, filter, security group, running sensor or queue
    assert not any(tapcase_made(cloud).values()), tapcase_made(cloud)
    # and the stack is gone: its state machine, its functions, its rules
    with pytest.raises(ClientError, match="StateMachineDoesNotExist|does not exist"):
        sfn.describe_state_machine(stateMachineArn=machine)
    assert not [f for f in cloud.client("lambda").list_functions()["Functions"] if f["FunctionName"].startswith("tapcase-")]
    assert not [r for r in cloud.client("events").list_rules()["Rules"] if r["Name"].startswith("tapcase-")]


MEMBER = "210987654321"


def test_a_sweep_that_cannot_finish_stops_the_deletion_and_a_retry_completes_it():
    """If the janitor cannot make sure everything is torn down (here: a member account in
    MemberAccounts whose member role does not exist, so nothing there can be looked at), its
    Delete answers FAILED: the deletion stops in DELETE_FAILED with the reason, and the state
    machine and functions stay, rather than going with nothing left to remove what may run there.
    What it could tear down (this account's investigation) is torn down; deleting again once the
    member role exists completes."""
    with LocalCloud(time_scale=TIME_SCALE, parameters={"MemberAccounts": MEMBER}) as cloud:
        suspect = make_instance(cloud, cidr="10.62")["instance_id"]
        sfn, machine = cloud.client("stepfunctions"), cloud.resource("InvestigationStateMachine")
        arn = sfn.start_execution(stateMachineArn=machine, name="deletion-retried", input=json.dumps(
            {"instance_id": suspect, "duration_seconds": 3600}))["executionArn"]
        _entered(sfn, arn, "Capture")

        with pytest.raises(StackDeletionFailed, match=f"DELETE_FAILED at JanitorLifecycle: .*cannot sweep .*{MEMBER}"):
            cloud.delete_stack()
        assert sfn.describe_state_machine(stateMachineArn=machine)["status"] == "ACTIVE"
        assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"  # stopped: nothing new starts
        assert not any(tapcase_made(cloud).values()), tapcase_made(cloud)  # this account: torn down
        rules = {r["Name"] for r in cloud.client("events").list_rules()["Rules"]}
        assert not rules & {"tapcase-TriggerRule", "tapcase-JanitorAfterExecutionRule", "tapcase-JanitorSchedule"}
        assert "tapcase-JanitorFunction" in {f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]}

        cloud.deploy_member_account(MEMBER)
        cloud.delete_stack()
        assert cloud.stack is None
        with pytest.raises(ClientError):
            sfn.describe_state_machine(stateMachineArn=machine)
