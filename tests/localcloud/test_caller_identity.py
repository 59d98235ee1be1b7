"""Who calls, on the local cloud: a Lambda function with a session of its execution role, a state
machine's tasks with a session of the state machine's role; STS judges AssumeRole by that caller.

* Lambda: "When your function is invoked, Lambda ... provides your function with temporary
  credentials" of the execution role, in the reserved environment variables ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` (Lambda developer guide, execution role and
  defined runtime environment variables); GetCallerIdentity answers the assumed-role session's ARN.
* Step Functions calls a task's service with the state machine's execution role.
* STS AssumeRole: a caller the role's trust policy does not trust gets ``AccessDenied`` with HTTP
  403 ("User: arn:aws:sts::<account>:assumed-role/<role>/<session> is not authorized to perform:
  sts:AssumeRole on resource: ..."); a trust condition on ``aws:PrincipalArn`` is matched against
  the calling role's ARN, path included.
* The caller's own permission: a role trust policy is an exception to "either the identity-based or
  the resource-based policy suffices" within an account ("Policy evaluation logic", IAM user
  guide): a trust naming the caller's account (its root, its id) delegates to the caller's
  identity-based policies, which must allow ``sts:AssumeRole`` on the role; a trust naming the
  caller's role itself suffices in its own account; across accounts both must allow ("Cross-account
  policy evaluation logic"); an explicit deny in the caller's policies refuses. ``AccessDenied``,
  403, with the same message.
* Role chaining: "Role chaining limits your AWS CLI or AWS API role session to a maximum of one
  hour ... if you assume a role using role chaining and provide a DurationSeconds parameter value
  greater than one hour, the operation fails" (STS AssumeRole API reference, DurationSeconds):
  ``ValidationError`` "The requested DurationSeconds exceeds the 1 hour session limit for roles
  assumed by role chaining." (AWS knowledge center, iam-role-chaining-limit).
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tapcase.localcloud.cloud import ACCOUNT_ID
from tests.localcloud.sfn_support import run

TRUSTED_PATH = "/tapcase-member/"


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(template=None, time_scale=0) as local:
        yield local


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("placeholder.py", "")
    return buf.getvalue()


def _role(cloud, name: str, trust: dict, path: str = "/", max_session: int = 3600) -> str:
    return cloud.client("iam").create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust),
                                           MaxSessionDuration=max_session)["Role"]["Arn"]


def _service_trust(service: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                                                    "Action": "sts:AssumeRole"}]}


ASSUME_ANY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}


def _function(cloud, name: str, handler: str, role_path: str = "/", policy: dict | None = ASSUME_ANY) -> str:
    role = _role(cloud, f"{name}-role", _service_trust("lambda.amazonaws.com"), path=role_path)
    if policy is not None:
        cloud.client("iam").put_role_policy(RoleName=f"{name}-role", PolicyName="assume",
                                            PolicyDocument=json.dumps(policy))
    cloud.client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler=handler,
                                           Code={"ZipFile": _zip()}, Timeout=30)
    return role


def _invoke(cloud, name: str, payload: dict) -> dict:
    answer = cloud.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def _path_trust() -> dict:
    """A member role's trust: the account, and within it only roles under one path."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT_ID}:role{TRUSTED_PATH}*"}}}]}


def test_a_local_function_runs_with_a_session_of_its_execution_role(cloud):
    """Two functions in the same process each call as their own role (GetCallerIdentity), through
    the workflow's cached clients: no client or credentials of one leak to the other."""
    _function(cloud, "who-a", "tests.localcloud.identity_handlers.whoami")
    _function(cloud, "who-b", "tests.localcloud.identity_handlers.whoami")
    for _ in range(2):  # the second round reuses the cached clients
        a, b = _invoke(cloud, "who-a", {}), _invoke(cloud, "who-b", {})
        assert a == {"Arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/who-a-role/who-a", "Account": ACCOUNT_ID}
        assert b == {"Arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/who-b-role/who-b", "Account": ACCOUNT_ID}


def test_a_function_whose_role_the_trust_does_not_name_gets_403_access_denied(cloud):
    member = _role(cloud, "member-by-path", _path_trust())
    _function(cloud, "outsider", "tests.localcloud.identity_handlers.assume")
    _function(cloud, "insider", "tests.localcloud.identity_handlers.assume", role_path=TRUSTED_PATH)
    refused = _invoke(cloud, "outsider", {"role": member})
    assert refused == {
        "code": "AccessDenied", "status": 403,
        "message": f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/outsider-role/outsider is not authorized to "
                   f"perform: sts:AssumeRole on resource: {member}"}
    assert _invoke(cloud, "insider", {"role": member}) == {"code": None}


def _refused(cloud, caller: str, role: str) -> dict:
    return {"code": "AccessDenied", "status": 403,
            "message": f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/{caller}-role/{caller} is not authorized to "
                       f"perform: sts:AssumeRole on resource: {role}"}


def test_a_trust_naming_the_account_needs_the_callers_own_permission_too(cloud):
    """The trust lets the account's roles under the path in; a caller there whose own policies do
    not allow sts:AssumeRole on the role is refused, one whose policies deny it too."""
    member = _role(cloud, "member-needs-identity", _path_trust())
    _function(cloud, "no-permission", "tests.localcloud.identity_handlers.assume", role_path=TRUSTED_PATH,
              policy=None)
    assert _invoke(cloud, "no-permission", {"role": member}) == _refused(cloud, "no-permission", member)
    other_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Resource": f"{member}-other"}]}
    _function(cloud, "wrong-resource", "tests.localcloud.identity_handlers.assume", role_path=TRUSTED_PATH,
              policy=other_only)
    assert _invoke(cloud, "wrong-resource", {"role": member}) == _refused(cloud, "wrong-resource", member)
    denied = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Deny", "Action": "sts:*", "Resource": member}]}
    _function(cloud, "denied", "tests.localcloud.identity_handlers.assume", role_path=TRUSTED_PATH, policy=denied)
    assert _invoke(cloud, "denied", {"role": member}) == _refused(cloud, "denied", member)


def test_a_trust_naming_the_callers_role_suffices_in_its_own_account(cloud):
    caller_role = f"arn:aws:iam::{ACCOUNT_ID}:role/named-caller-role"
    target = _role(cloud, "trusts-a-named-role", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": caller_role}, "Action": "sts:AssumeRole"}]})
    _function(cloud, "named-caller", "tests.localcloud.identity_handlers.assume", policy=None)
    assert _invoke(cloud, "named-caller", {"role": target}) == {"code": None}
    # but an explicit deny of its own still refuses it
    cloud.client("iam").put_role_policy(RoleName="named-caller-role", PolicyName="deny", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    assert _invoke(cloud, "named-caller", {"role": target}) == _refused(cloud, "named-caller", target)


def test_a_role_session_cannot_ask_for_more_than_an_hour_role_chaining(cloud):
    """The role allows 12 hours (MaxSessionDuration): a principal that is not a role session gets
    them, a function (a role session) asking for two hours gets ValidationError; one hour passes."""
    target = _role(cloud, "long-sessions", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}]},
        max_session=43200)
    _function(cloud, "chainer", "tests.localcloud.identity_handlers.assume")
    chained = _invoke(cloud, "chainer", {"role": target, "duration": 7200})
    assert chained == {"code": "ValidationError", "status": 400,
                       "message": "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                                  "assumed by role chaining."}
    assert _invoke(cloud, "chainer", {"role": target, "duration": 3600}) == {"code": None}
    creds = cloud.client("sts").assume_role(RoleArn=target, RoleSessionName="operator", DurationSeconds=7200)
    assert creds["Credentials"]["AccessKeyId"]


def test_a_state_machines_tasks_call_as_its_execution_role(cloud, sfn):
    from tests.localcloud.sfn_support import ROLE

    machine = {"StartAt": "Who", "States": {"Who": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "Parameters": {},
        "ResultSelector": {"arn.$": "$.Arn"}, "End": True}}}
    done = run(sfn, machine)
    assert done["status"] == "SUCCEEDED", done
    role_name = ROLE.rsplit("/", 1)[1]
    assert json.loads(done["output"])["arn"].startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/")


def test_a_task_whose_credentials_role_does_not_trust_the_execution_role_fails_with_states_permissions(cloud, sfn):
    """The member role trusts only roles under a path the state machine's role is not under: the
    task fails with States.Permissions (Step Functions' error for a task without the privileges to
    run), its cause STS's refusal of the execution role, and no retry of a service error catches it."""
    member = _role(cloud, "member-by-path-sfn", _path_trust())
    machine = {"StartAt": "Describe", "States": {"Describe": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeVpcs", "Credentials": {"RoleArn": member},
        "Retry": [{"ErrorEquals": ["Ec2.Ec2Exception", "States.TaskFailed"], "MaxAttempts": 3, "IntervalSeconds": 1}],
        "End": True}}}
    done = run(sfn, machine)
    assert (done["status"], done["error"]) == ("FAILED", "States.Permissions"), done
    assert "assumed-role/tapcase-sfn-test/" in done["cause"]
    assert f"is not authorized to perform: sts:AssumeRole on resource: {member}" in done["cause"]
