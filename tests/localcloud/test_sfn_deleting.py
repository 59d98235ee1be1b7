"""DeleteStateMachine while an execution runs (Step Functions API reference, DeleteStateMachine:
"It sets the state machine's status to DELETING ... A state machine is deleted only when all its
executions are completed. On the next state transition, the state machine's executions are
terminated"; AWS re:Post knowledge center "state machine stuck in DELETING": the execution fails
with States.Runtime, "State machine <name> has been deleted."; StartExecution's error
StateMachineDeleting, "The specified state machine is being deleted.")."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud import LocalCloud

ROLE = "arn:aws:iam::123456789012:role/local"
WAIT_THEN_PASS = {"StartAt": "Wait", "States": {
    "Wait": {"Type": "Wait", "Seconds": 2, "Next": "After"},
    "After": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(time_scale=1, template=None) as c:
        yield c


def machine(sfn, definition) -> str:
    return sfn.create_state_machine(name=f"m-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                    roleArn=ROLE)["stateMachineArn"]


def ended(sfn, arn: str, timeout: float = 20.0) -> dict:
    give_up = time.monotonic() + timeout
    while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING" and time.monotonic() < give_up:
        time.sleep(0.05)
    return desc


def test_without_running_executions_it_is_gone_at_once(cloud):
    sfn = cloud.client("stepfunctions")
    arn = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    done = ended(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert done["status"] == "SUCCEEDED"
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        sfn.describe_state_machine(stateMachineArn=arn)


def test_a_running_execution_fails_at_its_next_transition_and_then_the_machine_is_gone(cloud):
    sfn = cloud.client("stepfunctions")
    arn = machine(sfn, WAIT_THEN_PASS)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    time.sleep(0.3)  # in the Wait state
    sfn.delete_state_machine(stateMachineArn=arn)
    # DELETING while the execution waits; no new execution
    assert sfn.describe_state_machine(stateMachineArn=arn)["status"] == "DELETING"
    with pytest.raises(ClientError, match="StateMachineDeleting") as refused:
        sfn.start_execution(stateMachineArn=arn)
    assert refused.value.response["Error"]["Message"] == "The specified state machine is being deleted."
    # the Wait ends; entering "After" fails the execution with States.Runtime
    done = ended(sfn, execution)
    assert done["status"] == "FAILED", done
    assert done["error"] == "States.Runtime"
    assert done["cause"] == f"State machine {arn.rsplit(':', 1)[-1]} has been deleted."
    entered = [e["stateEnteredEventDetails"]["name"] for e in sfn.get_execution_history(executionArn=execution)["events"]
               if "stateEnteredEventDetails" in e]
    assert entered == ["Wait"]  # "After" was never entered
    # then the state machine is gone, its executions with it
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        sfn.describe_state_machine(stateMachineArn=arn)
