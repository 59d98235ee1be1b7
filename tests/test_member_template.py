"""The member template (sensor_image/member/member.yaml): generated from template.yaml's own
definitions (one definition), plain CloudFormation for a StackSet, and its member role exactly what
the tasks running with its credentials call (tests/test_iam.py's derivation)."""

from __future__ import annotations

import copy

from tapcase.localcloud.cfn import load_template
from tapcase.member_template import ANSWER_STATEMENT, MEMBER_TEMPLATE, RESOURCES, render
from tests.test_iam import MEMBER_ROLE, _document, allowed_actions, derived, role_problems
from tests.test_template import TEMPLATE


def _member_statements(template: dict) -> list[dict]:
    role = template["Resources"][MEMBER_ROLE]["Properties"]
    return [st for policy in role["Policies"] if "PolicyDocument" in policy for st in _document(policy)["Statement"]]


def test_the_member_template_is_generated_from_template_yaml():
    assert MEMBER_TEMPLATE.read_text(encoding="utf-8") == render(), \
        "sensor_image/member/member.yaml is stale: run python -m tapcase.member_template"


def test_it_holds_the_same_sensor_and_member_role_definitions_as_the_stack():
    member = load_template(MEMBER_TEMPLATE)
    assert "Transform" not in member  # plain CloudFormation: a StackSet cannot run the SAM transform
    assert set(member["Resources"]) == set(RESOURCES)
    for name in ("SensorInstanceProfile", "SensorLaunchTemplate"):
        assert member["Resources"][name] == TEMPLATE["Resources"][name]
    # the sensor role's: the same but the role it answers through, the administrator account's
    stack_sensor = copy.deepcopy(TEMPLATE["Resources"]["SensorRole"])
    for policy in stack_sensor["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Sid"] == ANSWER_STATEMENT:
                statement["Resource"]["Fn::Sub"] = statement["Resource"]["Fn::Sub"].replace(
                    "${AWS::AccountId}", "${AdministratorAccountId}")
    assert member["Resources"]["SensorRole"] == stack_sensor
    assert _member_statements(member) == _member_statements(TEMPLATE)


def test_the_member_accounts_sensor_answers_through_the_administrators_answer_role():
    """A member account's sensor assumes ``<MemberRoleName>-answer`` in the administrator account
    (tapcase_sensor.answers): that role's trust names the member accounts' sensor roles."""
    role = load_template(MEMBER_TEMPLATE)["Resources"]["SensorRole"]["Properties"]
    statements = [st for policy in role["Policies"] for st in policy["PolicyDocument"]["Statement"]]
    assert {"Sid": ANSWER_STATEMENT, "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AdministratorAccountId}:role/${MemberRoleName}-answer"}} in statements
    assert not [st for st in statements if "states:" in str(st["Action"])]
    answer = TEMPLATE["Resources"]["SensorAnswerRole"]["Properties"]
    assert answer["RoleName"] == {"Fn::Sub": "${MemberRoleName}-answer"}


def test_the_member_role_trusts_the_administrator_stacks_member_role_callers_only():
    """The administrator account as principal, and within it only the roles under the path
    /<MemberRoleName>/ (aws:PrincipalArn): the stack's roles that assume the member role
    (tests/test_iam.py derives them and evaluates the trust)."""
    trust = load_template(MEMBER_TEMPLATE)["Resources"][MEMBER_ROLE]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AdministratorAccountId}:root"}},
        "Condition": {"ArnLike": {"aws:PrincipalArn": {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${AdministratorAccountId}:role/${MemberRoleName}/*"}}}}]


def test_the_member_role_allows_exactly_what_the_tasks_with_its_credentials_call():
    statements = _member_statements(load_template(MEMBER_TEMPLATE))
    assert role_problems(MEMBER_ROLE, statements) == []
    assert allowed_actions(statements) == derived()[MEMBER_ROLE]


def test_removing_a_member_permission_fails():
    statements = copy.deepcopy(_member_statements(load_template(MEMBER_TEMPLATE)))
    queues = next(s for s in statements if s["Sid"] == "ControlQueues")
    queues["Action"] = [a for a in queues["Action"] if a != "sqs:DeleteQueue"]
    assert f"{MEMBER_ROLE}: sqs:DeleteQueue is called but not allowed" in role_problems(MEMBER_ROLE, statements)
