"""A member account that is allowed (``MemberAccounts``) but never deployed the member template:
STS refuses the stack's roles (``AccessDenied``, HTTP 403), so the investigation is refused by Plan,
whose lookups in that account are the first thing acting there, with the error named
(``MemberRoleUnavailable``: the account, the role, what to deploy), and nothing created in either
account (no lock, no slot, no sensor); the janitor's scheduled sweep skips that account and still
sweeps the others. A task of the state machine whose ``Credentials`` role cannot be assumed fails
with ``States.Permissions`` (tests/localcloud/test_cross_account.py); the definition's ``Investigate``
catches every error but ``States.Runtime`` (``States.ALL``) and tears down.
"""

from __future__ import annotations

import json

import pytest

from tapcase.localcloud.cloud import ACCOUNT_ID
from tests.conftest import wait_for_execution
from tests.e2e.conftest import TIME_SCALE, investigation_leftovers, make_instance

MEMBER = "222222222222"
WITHOUT_ROLE = "444444444444"


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=TIME_SCALE, parameters={"MemberAccounts": f"{MEMBER},{WITHOUT_ROLE}"}) as local:
        local.deploy_member_account(MEMBER)
        yield local



def test_an_allowed_account_without_the_member_role_is_refused_with_the_error_named_and_nothing_created(cloud):
    instance = make_instance(cloud, cidr="10.61", account=WITHOUT_ROLE)["instance_id"]
    sfn = cloud.client("stepfunctions")
    name = "no-member-role"
    arn = sfn.start_execution(stateMachineArn=cloud.resource("InvestigationStateMachine"), name=name,
                              input=json.dumps({"instance_id": instance, "account_id": WITHOUT_ROLE}))["executionArn"]
    done = wait_for_execution(sfn, arn, timeout=60)
    role = f"arn:aws:iam::{WITHOUT_ROLE}:role/tapcase-member"
    assert (done["status"], done["error"]) == ("FAILED", "MemberRoleUnavailable"), done
    assert f"account {WITHOUT_ROLE}: its member role {role} cannot be assumed" in done["cause"]
    assert "assumed-role/" in done["cause"] and "PlanFunction" in done["cause"]  # STS names the calling role
    assert "deploy sensor_image/member/member.yaml there" in done["cause"]
    for account in (WITHOUT_ROLE, None):
        left = investigation_leftovers(cloud, name, instance, account=account)
        assert not any(left.values()), (account, left)
    entered = [e["stateEnteredEventDetails"]["name"] for e in sfn.get_execution_history(
        executionArn=arn, maxResults=1000)["events"] if e["type"] == "TaskStateEntered"]
    assert entered == ["Plan"]  # refused before the lock, the slot or anything in the account


def test_the_janitors_sweep_skips_the_account_without_its_role_and_sweeps_the_others(cloud):
    lam = cloud.client("lambda")
    scheduled = {"version": "0", "id": "5a7c9f3e-0000-4000-8000-000000000001", "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": ACCOUNT_ID, "time": "2026-01-01T00:00:00Z",
                 "region": cloud.region, "resources": [], "detail": {}}
    answer = lam.invoke(FunctionName=cloud.resource("JanitorFunction"), Payload=json.dumps(scheduled).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    out = json.loads(answer["Payload"].read())
    skipped = [s for s in out["skipped"] if WITHOUT_ROLE in s]
    assert len(skipped) == 1 and "cannot be assumed" in skipped[0], out
    swept = (f"arn:aws:iam::{MEMBER}:", f"arn:aws:iam::{ACCOUNT_ID}:")  # each skip starts with its role
    assert not [s for s in out["skipped"] if s.startswith(swept)], out
