"""Which account an investigation acts in, and whether the stack may act there (pure).

A GuardDuty delegated administrator (or a Security Hub aggregation account) receives its member
accounts' findings: the finding's ``accountId`` names the account the instance lives in, while the
EventBridge envelope's ``account`` is the account the event was delivered in. A request may name
the account (``account_id``). The stack acts in its own account and in the accounts of its
``MemberAccounts`` parameter only, each through the member role (``MemberRoleName``) that the
member template deploys there; any other account is refused before anything is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tapcase_workflow.errors import AccountNotAllowed, FindingFromAnotherAccount
from tapcase_workflow.models.plan import AccountAccess
from tapcase_workflow.models.request import ACCOUNT_ID_PATTERN

#: IAM role names: 1-64 characters of ``[\w+=,.@-]`` (IAM API reference, CreateRole RoleName).
ROLE_NAME_PATTERN = r"^[\w+=,.@-]{1,64}$"
DEFAULT_MEMBER_ROLE_NAME = "tapcase-member"


@dataclass(frozen=True)
class AccountPolicy:
    """The stack's account and the member accounts it may act in (the ``MemberAccounts`` parameter)."""

    #: The stack's own account (None: unknown, nothing is checked: local tools without a context).
    own: str | None = None
    members: frozenset[str] = field(default_factory=frozenset)
    member_role_name: str = DEFAULT_MEMBER_ROLE_NAME
    partition: str = "aws"
    region: str = "us-east-1"

    def allows(self, account: str) -> bool:
        return account == self.own or account in self.members


def parse_member_accounts(text: str) -> frozenset[str]:
    """``MemberAccounts``: account ids separated by commas or spaces (empty: this account only).

    Raises ``ValueError`` naming a value that is not a 12-digit account id."""
    values = [v for v in re.split(r"[\s,]+", text or "") if v]
    bad = [v for v in values if not re.fullmatch(ACCOUNT_ID_PATTERN, v)]
    if bad:
        raise ValueError(f"MemberAccounts: {', '.join(bad)} is not a 12-digit AWS account id")
    return frozenset(values)


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def sensor_name(member_role_name: str) -> str:
    """The sensor's role and launch template in every account: ``<MemberRoleName>-sensor``."""
    return f"{member_role_name}-sensor"


def _refusal_hint(policy: AccountPolicy) -> str:
    allowed = sorted(policy.members)
    listed = f"{policy.own} and its MemberAccounts ({', '.join(allowed)})" if allowed else \
        f"{policy.own} only (MemberAccounts is empty)"
    return f"this stack acts in {listed}"


def check_finding_account(account: str | None, policy: AccountPolicy, what: str) -> str | None:
    """The account a finding's instance lives in, if the stack may act there; else
    :class:`FindingFromAnotherAccount` (nothing created). None: the finding names no account."""
    if account is None or policy.own is None:
        return account
    if not policy.allows(str(account)):
        raise FindingFromAnotherAccount(
            f"{what} is about account {account}, {_refusal_hint(policy)}: add the account to MemberAccounts "
            "and deploy the member template there to investigate it"
        )
    return str(account)


def check_request_account(account: str | None, policy: AccountPolicy) -> str | None:
    """The account a request names (``account_id``), if the stack may act there; else
    :class:`AccountNotAllowed` (nothing created)."""
    if account is None or policy.own is None:
        return account
    if not policy.allows(account):
        raise AccountNotAllowed(f"account_id: {account} is not allowed, {_refusal_hint(policy)}")
    return account


def access_for(account: str | None, policy: AccountPolicy) -> AccountAccess | None:
    """The account and role an investigation acts through (None: the stack's account is unknown).

    Uniform for every account, the stack's own included: the main template deploys the same member
    role in its own account, as the ``Credentials`` field of a Task state is fixed in the state
    machine's definition (a task cannot run with a role for some executions and without for others)."""
    target = account or policy.own
    if target is None:
        return None
    p, region, name = policy.partition, policy.region, policy.member_role_name
    return AccountAccess(
        account_id=target, role_arn=role_arn(target, name, p), member=target != policy.own,
        launch_template_name=sensor_name(name), sensor_role_arn=role_arn(target, sensor_name(name), p),
        instance_arn_prefix=f"arn:{p}:ec2:{region}:{target}:instance/",
        queue_arn_prefix=f"arn:{p}:sqs:{region}:{target}:",
    )


#: Separates the account from the instance in a lock key.
LOCK_KEY_SEPARATOR = "/"


def lock_key(account_id: str | None, instance_id: str) -> str:
    """The key of an instance's lock item (the lock table's ``instance_id`` attribute): the account
    and the instance, ``<account>/<instance>``, as instance ids are not promised unique across
    accounts. The one definition: the plan carries it to the Lock and ReleaseLock states, Teardown
    releases it, the janitor reads it back (:func:`parse_lock_key`).

    Without an account (a plan made without a Lambda context) the key is the instance id alone,
    which is also what every lock was keyed by before locks named their account."""
    return f"{account_id}{LOCK_KEY_SEPARATOR}{instance_id}" if account_id else instance_id


def parse_lock_key(key: str) -> tuple[str | None, str]:
    """``(account, instance)`` of a lock key; an instance id alone (an item written before locks
    named their account) has no account: the stack's own."""
    account, sep, instance = key.rpartition(LOCK_KEY_SEPARATOR)
    return (account or None, instance) if sep else (None, key)
