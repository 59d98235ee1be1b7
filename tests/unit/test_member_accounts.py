"""Member accounts (issue 14 item 1), the pure part: which account a finding or a request is about,
whether the stack may act there (its own account and ``MemberAccounts``), and the role it acts
through. A GuardDuty delegated administrator receives its members' findings with the member's
``detail.accountId`` and its own account in the EventBridge envelope's ``account``."""

from __future__ import annotations

import json

import pytest

from tapcase_workflow.errors import AccountNotAllowed, FindingFromAnotherAccount
from tapcase_workflow.logic.accounts import AccountPolicy, access_for, parse_member_accounts, role_arn
from tapcase_workflow.logic.request import EntryPolicy, parse_entry
from tapcase_workflow.models.request import InvestigationRequest, SelectionRequest
from tapcase_workflow.settings import PlanSettings
from tests.conftest import REPO

ADMIN, MEMBER, STRANGER = "111111111111", "222222222222", "333333333333"
POLICY = EntryPolicy(account_id=ADMIN, member_accounts=frozenset({MEMBER}))


def _finding(account: str, envelope: str = ADMIN) -> dict:
    event = json.loads((REPO / "samples" / "findings" / "c2-dns.json").read_text())
    event["account"] = envelope
    event["detail"]["accountId"] = account
    return event


def test_a_members_finding_delivered_to_the_administrator_is_investigated_in_the_member_account():
    request = parse_entry(_finding(MEMBER), policy=POLICY)
    assert isinstance(request, InvestigationRequest) and request.account_id == MEMBER
    assert request.finding is not None and request.finding.account_id == MEMBER


def test_the_stacks_own_findings_name_no_other_account():
    assert parse_entry(_finding(ADMIN), policy=POLICY).account_id is None


def test_a_finding_of_an_account_not_allowed_is_refused_naming_the_allowed_ones():
    with pytest.raises(FindingFromAnotherAccount, match=f"about account {STRANGER}, this stack acts in {ADMIN} and "
                       rf"its MemberAccounts \({MEMBER}\)"):
        parse_entry(_finding(STRANGER), policy=POLICY)


def test_without_detail_account_the_envelopes_account_counts():
    event = _finding(MEMBER, envelope=STRANGER)
    del event["detail"]["accountId"]
    with pytest.raises(FindingFromAnotherAccount, match=STRANGER):
        parse_entry(event, policy=POLICY)


def test_a_request_names_its_account_and_one_not_allowed_is_refused():
    request = parse_entry({"instance_id": "i-0123456789abcdef0", "account_id": MEMBER}, execution_name="x",
                          policy=POLICY)
    assert isinstance(request, InvestigationRequest) and request.account_id == MEMBER
    own = parse_entry({"instance_id": "i-0123456789abcdef0", "account_id": ADMIN}, execution_name="x", policy=POLICY)
    assert own.account_id is None
    with pytest.raises(AccountNotAllowed, match=f"account_id: {STRANGER} is not allowed"):
        parse_entry({"instance_id": "i-0123456789abcdef0", "account_id": STRANGER}, execution_name="x", policy=POLICY)


def test_a_selection_in_a_member_account_hands_the_account_to_each_child():
    selection = parse_entry({"tags": {"team": "payments"}, "account_id": MEMBER}, policy=POLICY)
    assert isinstance(selection, SelectionRequest) and selection.account_id == MEMBER
    child = selection.for_instance("i-0123456789abcdef0", None, None)
    assert child["account_id"] == MEMBER
    assert parse_entry(child, execution_name="c", policy=POLICY).account_id == MEMBER


def test_an_account_id_that_is_not_twelve_digits_is_invalid():
    from tapcase_workflow.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="account_id"):
        parse_entry({"instance_id": "i-0123456789abcdef0", "account_id": "12345"}, policy=POLICY)


def test_every_account_is_reached_through_the_member_role_of_that_account():
    accounts = AccountPolicy(own=ADMIN, members=frozenset({MEMBER}), member_role_name="tapcase-member")
    member = access_for(MEMBER, accounts)
    assert member is not None and member.member and member.role_arn == f"arn:aws:iam::{MEMBER}:role/tapcase-member"
    own = access_for(None, accounts)
    assert own is not None and not own.member and own.role_arn == role_arn(ADMIN, "tapcase-member")


def test_member_accounts_parameter_is_parsed_and_a_bad_id_named():
    assert parse_member_accounts(f"{MEMBER}, {STRANGER}") == {MEMBER, STRANGER}
    assert parse_member_accounts("") == frozenset()
    with pytest.raises(ValueError, match="MemberAccounts: 2222 is not a 12-digit AWS account id"):
        parse_member_accounts(f"{MEMBER},2222")
    with pytest.raises(ValueError, match="MemberAccounts"):
        PlanSettings(member_accounts="nope")


def test_the_lock_key_names_the_account_and_the_instance():
    """Instance ids are not promised unique across accounts: the lock item's key names both, so the
    same instance id in two accounts holds two locks; a key without an account (an item written
    before locks named theirs) reads back as the stack's own account's."""
    from tapcase_workflow.logic.accounts import lock_key, parse_lock_key

    instance = "i-0123456789abcdef0"
    assert lock_key(ADMIN, instance) == f"{ADMIN}/{instance}" != lock_key(MEMBER, instance)
    assert parse_lock_key(lock_key(MEMBER, instance)) == (MEMBER, instance)
    assert lock_key(None, instance) == instance and parse_lock_key(instance) == (None, instance)


def test_the_plan_carries_the_lock_key_of_its_account(monkeypatch):
    """Plan puts the key in the plan: the Lock and ReleaseLock states and Teardown use it as is."""
    from tapcase_workflow.handlers import plan as plan_handler
    from tapcase_workflow.logic.accounts import lock_key

    monkeypatch.setattr(plan_handler, "_plan_here", lambda cfg, request, run_name: _FakePlan(request.instance_id))
    cfg = PlanSettings(evidence_bucket="b", aws_region="us-east-1")
    accounts = AccountPolicy(own=ADMIN, members=frozenset({MEMBER}))
    request = parse_entry(_finding(MEMBER), policy=POLICY)
    plan = plan_handler._plan(cfg, request, "run", accounts)
    assert plan.lock_key == lock_key(MEMBER, request.instance_id)
    own = plan_handler._plan(cfg, parse_entry(_finding(ADMIN), policy=POLICY), "run", accounts)
    assert own.lock_key == lock_key(ADMIN, request.instance_id)


class _FakePlan:
    """What ``_plan`` sets on the plan ``_plan_here`` made (the rest is EC2's, tested elsewhere)."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        self.account = None
        self.lock_key = None
