"""A member account whose sensor may not assume the administrator's answer role (its member template
predates ``SensorAnswerRole``: the sensor role still has the old ``states:SendTask*`` statement and
no ``sts:AssumeRole``) cannot answer the administrator's task tokens: the agent logs
``SensorAnswerRoleRefused`` and keeps the message, the investigation ends at ``WaitForSensor``'s
timeout (``States.Timeout``) and is torn down in both accounts, as any sensor that never answers.

AWS behaviour reproduced by the local cloud: a role session assuming a role of another account
needs both the role's trust and its own identity-based permission ("Cross-account policy evaluation
logic", IAM user guide); without it STS answers ``AccessDenied`` (403).
"""

from __future__ import annotations

import json

import pytest

from tapcase.localcloud.cloud import ACCOUNT_ID
from tests.conftest import wait_for_execution
from tests.e2e.conftest import TIME_SCALE, investigation_leftovers
from tests.e2e.test_member_accounts import _tagged, start_member_finding

STALE = "444444444444"
#: The member template's sensor policy before SensorAnswerRole: it answered with its own role.
OLD_SENSOR_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ControlQueues", "Effect": "Allow",
     "Action": ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
     "Resource": f"arn:aws:sqs:us-east-1:{STALE}:tapcase-*-control"},
    {"Sid": "AnswerTaskTokens", "Effect": "Allow",
     "Action": ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"], "Resource": "*"}]}


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=TIME_SCALE, parameters={"MemberAccounts": STALE}) as local:
        local.deploy_member_account(STALE)
        iam = local.client("iam", account=STALE)
        assert [p for p in iam.list_role_policies(RoleName="tapcase-member-sensor")["PolicyNames"]] == ["tapcase-sensor"]
        iam.put_role_policy(RoleName="tapcase-member-sensor", PolicyName="tapcase-sensor",
                            PolicyDocument=json.dumps(OLD_SENSOR_POLICY))
        yield local


def test_a_sensor_that_may_not_assume_the_answer_role_ends_in_a_timeout_and_a_full_teardown(cloud, tmp_path):
    from moto.sts.models import sts_backends

    request, details, arn = start_member_finding(cloud, STALE, tmp_path)
    sfn = cloud.client("stepfunctions")
    done = wait_for_execution(sfn, arn, timeout=180)
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    timed_out = [e for e in history if e["type"] == "TaskTimedOut"]
    assert timed_out and timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout", done
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"] == "TaskStateEntered"]
    assert "WaitForSensor" in entered and "CollectEvidence" not in entered
    assert "Teardown" in entered, entered
    # no session of the answer role was ever made for this investigation's sensor
    answer_role = f"arn:aws:iam::{ACCOUNT_ID}:role/tapcase-member-answer"
    assert not [r for r in sts_backends[ACCOUNT_ID]["aws"].assumed_roles
                if r.role_arn == answer_role and r.session_name.endswith(request.investigation_id)]
    # and nothing is left in either account
    for account in (STALE, None):
        left = investigation_leftovers(cloud, request.investigation_id, details["instanceId"], account=account)
        assert not any(left.values()), (account, left)
    assert not any(_tagged(cloud, STALE).values()), _tagged(cloud, STALE)
